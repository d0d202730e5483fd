/* Status and observability: what the module knows about its domains, shown
 * in mod_status' server-status, as JSON (SetHandler md-status and
 * /.httpd/certificate-status) and as Prometheus metrics (SetHandler
 * acme-metrics). docs/status.md documents every field.
 *
 * Two sources, neither of which blocks a request:
 *  - certificate facts (acme_status_md_t): computed once per configuration
 *    pass in the parent's post_config from the LIVE set (or the static
 *    files) and kept in pconf, which children inherit read-only;
 *  - renewal state: the shared memory slots (mod_acme_status_shm.h), seeded
 *    from the store in post_config and updated by the watchdog child.
 * Secrets (EAB HMAC, keys) never reach any of the outputs. */
#ifndef MOD_ACME_STATUS_H
#define MOD_ACME_STATUS_H

#include <apr_tables.h>

#include <jansson.h>

#include <httpd.h>

#include "acme_renew.h"
#include "acme_store.h"
#include "mod_acme_config.h"
#include "mod_acme_drive.h"
#include "mod_acme_status_shm.h"

/* The handler names of SetHandler. */
#define ACME_STATUS_HANDLER "md-status"
#define ACME_METRICS_HANDLER "acme-metrics"
#define ACME_CERT_STATUS_PATH "/.httpd/certificate-status"

/* Public facts of one certificate. Strings in pconf. */
typedef struct {
    const char *spec;           /* key spec name ("rsa2048", "P-256") */
    apr_time_t valid_from;
    apr_time_t valid_until;
    const char *serial;         /* uppercase hex */
    const char *sha256;         /* lowercase hex of the DER */
    const char *issuer;         /* one-line issuer name */
    const char *issuer_name;    /* the issuer as mod_md shows it ("/CN=..."); may be NULL */
    const char *ari_cert_id;    /* the ARI certificate id; NULL without an AKI */
} acme_status_cert_t;

/* What the parent learnt about a domain's served certificates. */
typedef struct {
    const acme_config_md_t *md;
    int index;                  /* its slot (order in g->mds) */
    apr_array_header_t *live;   /* acme_status_cert_t: the LIVE set (or static files) */
    apr_time_t valid_until;     /* earliest notAfter of `live`, 0 if none */
    apr_time_t renew_at;        /* from the schedule; 0 when not driven */
    apr_time_t warn_at;         /* MDWarnWindow start, 0 without a certificate */
    const char *account;        /* the store's id of its registered account, or NULL */
} acme_status_md_t;

/* ------------------------------------------------ mod_acme_status_facts.c */

/* post_config (parent, after the activation): the shared segment, the facts
 * of every domain and the seeded slots. Never fails the start. */
int acme_status_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s);

/* The facts of the domain at slot index i / named `name`; NULL if none. */
const acme_status_md_t *acme_status_md_at(int i);
const acme_status_md_t *acme_status_md_get(const char *name);

/* The leaf facts of the pubcert of every key spec of md found in (group,
 * md->name), in spec order; specs without a readable certificate are left
 * out. Allocated from p. Store errors other than "absent" are returned. */
apr_status_t acme_status_certs_load(apr_array_header_t **pcerts, apr_pool_t *p,
                                    acme_store_t *store, acme_store_group_e group,
                                    const acme_config_md_t *md);

/* The job's step, `errors` and, while errors > 0, its last problem (type,
 * detail, activity) into the slot; with no errors the problem is cleared
 * and the activity names the step. info NULL: no job. */
void acme_status_slot_set_job(acme_status_slot_t *slot, const acme_renew_info_t *info,
                              int errors, apr_pool_t *p);

/* Fills the slot's staged facts (first ACME_STATUS_SPECS_MAX of `certs`,
 * acme_status_cert_t) and staged_until; NULL or empty: no staged set. */
void acme_status_slot_set_staged(acme_status_slot_t *slot, const apr_array_header_t *certs);

/* How many orders the job described by info (NULL: none) has created so
 * far: a job makes one order per key spec of md, in spec order, so the specs
 * before the current one, plus the current one's when it holds an order
 * URL; all of them once it is saving or done. */
int acme_status_job_orders(const acme_renew_info_t *info, const acme_config_md_t *md,
                           apr_pool_t *p);

/* The state a domain is in, from its slot and facts at `now`. */
acme_status_state_e acme_status_state_of(const acme_status_slot_t *slot,
                                         const acme_status_md_t *smd, apr_time_t now);

/* ------------------------------------------------ mod_acme_status_drive.c */

/* After a job run of the watchdog (worker thread, domain in flight):
 * publishes the job's persisted state, counts new orders and staged sets
 * (with their duration) and records the staged set's facts. `started` is
 * when the run began, `next` when the domain is looked at again. */
void acme_status_drive_report(const acme_drive_t *d, const acme_drive_md_t *dm, apr_pool_t *p,
                              apr_time_t started, apr_time_t next);

/* ------------------------------------------------ renderers */

/* handler: SetHandler md-status (mod_acme_status_json.c) */
int acme_status_json_handler(request_rec *r);
/* handler: GET /.httpd/certificate-status on a managed domain's host */
int acme_status_cert_handler(request_rec *r);
/* handler: SetHandler acme-metrics (mod_acme_status_metrics.c) */
int acme_status_metrics_handler(request_rec *r);
/* mod_status' status_hook (mod_acme_status_page.c) */
int acme_status_page_hook(request_rec *r, int flags);

/* ------------------------------------------------ mod_acme_status_compat.c */

/* mod_md's name of a key spec in its status: "rsa" for any RSA size,
 * "secp256r1" / "secp384r1" for "P-256" / "P-384"; others unchanged. */
const char *acme_status_spec_md_name(const char *spec);
/* The key to use for spec in obj: mod_md's name, or spec itself when obj
 * already has that name (a second RSA size). */
const char *acme_status_spec_key(json_t *obj, const char *spec);
/* mod_md's "privkey": [{"type":"RSA","bits":2048}, {"type":"EC","curve":
 * "secp256r1"}] of specs (acme_pkey_spec_t). New reference. */
json_t *acme_status_privkey_json(const apr_array_header_t *specs);
/* {"<spec>": {}} for every spec (acme_pkey_spec_t), mod_md's names: what
 * /.httpd/certificate-status shows before any certificate. New reference. */
json_t *acme_status_spec_names_json(apr_pool_t *p, const apr_array_header_t *specs);
/* mod_md's "ca.account": the id (ACCOUNTS name, "ACME-<host>-0001") of the
 * registered, usable account that md's renewals use (first CA URL, contact,
 * EAB kid), or NULL. Parent only (the accounts are root's); `cache` (in
 * pconf) keeps one lookup per distinct account wanted. */
const char *acme_status_account_id(apr_pool_t *pconf, apr_hash_t *cache, acme_store_t *store,
                                   const acme_config_md_t *md);
/* NULL when every configured key spec of the domain has a live certificate
 * (mod_md's state "complete"), else mod_md's description of what is not
 * ("certificate(secp256r1) is missing"): its state-descr and the text of
 * server-status?auto's "Status: incomplete: ...". */
const char *acme_status_incomplete_text(apr_pool_t *p, const acme_status_md_t *smd);
/* mod_md's "proto": {"acme-tls/1": [the names whose https vhost lists
 * acme-tls/1 in Protocols]}. New reference. */
json_t *acme_status_proto_json(const acme_config_md_t *md);

/* mod_md's text of a time, RFC 1123 in GMT ("Sun, 06 Dec 2026 22:32:12
 * GMT"), as every time in the status outputs; allocated from p. */
const char *acme_status_time_text(apr_pool_t *p, apr_time_t t);
/* The UTC day of t ("2026-12-06"), as server-status?auto's ValidUntil. */
const char *acme_status_day_text(apr_pool_t *p, apr_time_t t);

#endif /* MOD_ACME_STATUS_H */
