/* ARI (RFC 9773) and profiles in the renewal watchdog (see mod_acme_drive.h).
 *
 * For each driven domain with a LIVE certificate that is not due anyway,
 * MDRenewViaARI on (the default) and a CA whose directory has renewalInfo,
 * the watchdog asks GET <renewalInfo>/<certID> now and then, in the worker
 * that has the domain in flight, with that worker's CA client (connection,
 * directory and nonces are shared with the renewals). The "lead"
 * certificate is asked about: the one with the earliest notAfter, which
 * drives the schedule anyway. Certificates are read there, at the check,
 * not at start: a start with many domains reads only the small ari.json
 * (matched to the certificate by its notAfter, then by its id at the first
 * check).
 *
 * The answer's window moves the renewal time (acme_schedule_compute: a
 * stable random point inside it, never before its start; a window in the
 * past means now); the answer's Retry-After says when to ask again
 * (acme_ari.h, bounded below by min(ACME_ARI_WAIT_MIN, MDCheckInterval)).
 * First checks are spread: a domain without a stored answer is first asked
 * at a random point of min(MDCheckInterval, domains x 1 s) after start
 * (acme_ari_first_check_at), so a server with many domains does not ask
 * for all of them at once.
 *
 * Every check's result goes to JOBS/<md>/ari.json (acme_ari_state_t): a
 * restart keeps the window, the random point and the next check time, so
 * it neither asks again at once nor moves the renewal. A state about
 * another certificate (or unreadable) is ignored; a crash between check and
 * save costs one extra request.
 *
 * A failing check (transport, CA error, invalid answer) is logged and
 * retried after min(1 h, MDCheckInterval), later when the CA's Retry-After
 * says so (acme_ari_retry_at); the renewal time stays what it was: the last
 * good window, else MDRenewWindow (acme_ari_renew_at).
 * ARI never holds back a renewal that is due for another reason.
 *
 * Threads: acme_ari_md_init runs in the watchdog thread before the workers
 * start; the others in the worker that has dm in flight (dm's owner). Log
 * numbers ACME1460-1479. */
#ifndef MOD_ACME_ARI_H
#define MOD_ACME_ARI_H

#include <apr_pools.h>
#include <apr_time.h>

#include "acme_client.h"
#include "mod_acme_drive.h"
#include "mod_acme_status_slot.h"

/* Sets up dm's ARI state (in d->pool) from the LIVE set and ari.json, moves
 * dm->renew_at by a stored window, and returns `due` lowered to the next
 * check or renewal time where those come earlier. Call after
 * acme_drive_md_init (and after a resumed job set dm->cycle). */
apr_time_t acme_ari_md_init(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                            apr_time_t due, apr_time_t now);

/* Asks the CA when a check is due (and the domain is neither renewing nor
 * staged), then updates dm->renew_at and ari.json. Never fails: errors are
 * logged and kept for the status. */
void acme_ari_check(acme_drive_t *d, acme_drive_md_t *dm, acme_drive_clients_t *clients,
                    apr_pool_t *p, apr_time_t now);

/* `next` lowered to the next ARI check when one is planned. */
apr_time_t acme_ari_next(const acme_drive_md_t *dm, apr_time_t next);

/* The ARI ids of the LIVE certificates, one per key spec of the domain (NULL
 * where unknown), for acme_renew_spec_t.replaces, read from the store into
 * p (a job run's pool); NULL when ARI is off or there is no certificate. */
apr_array_header_t *acme_ari_replaces(const acme_drive_t *d, const acme_drive_md_t *dm,
                                       apr_pool_t *p);

/* Notes whether the CA behind `client` (directory loaded, else nothing is
 * learnt) offers the domain's MDProfile, for the status. */
void acme_ari_profile_seen(acme_drive_md_t *dm, const acme_client_t *client);

/* Copies dm's ARI window, next check, explanation, last error and the
 * profile's state into the status slot. */
void acme_ari_status_fill(acme_status_slot_t *slot, const acme_drive_md_t *dm);

#endif /* MOD_ACME_ARI_H */
