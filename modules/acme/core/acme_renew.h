/* The renewal job of one managed domain: an explicit, persisted, resumable
 * state machine that obtains a certificate set into STAGING/<md>.
 *
 * The job lives in the store (JOBS/<md>/job.json, see acme_layout.h) and
 * moves through these steps, saving job.json after EVERY transition:
 *
 *   account    find or register the ACME account for (ca_url, contact, eab_kid)
 *              in ACCOUNTS (shared by every domain using that CA and contact)
 *   order      newOrder for spec->names; the order URL is saved at once
 *   authz      fetch each authorization; for a pending one, pick a challenge
 *              by spec->challenges, write its answer to CHALLENGES/<identifier>
 *              (dns-01: record it in the job, then spec->dns01->setup_cb)
 *              and tell the CA to validate
 *   poll-authz wait until every authorization is valid, then remove the
 *              answers (dns-01: spec->dns01->teardown_cb per recorded setup)
 *   finalize   make (once) and save STAGING/<md>/privkey.<spec>.pem, send the CSR
 *   poll-order wait until the order is valid
 *   download   fetch the chain, check it matches the key and covers the names,
 *              save STAGING/<md>/pubcert.<spec>.pem
 *   (order .. download are done once per key spec: ONE ORDER PER KEY SPEC)
 *   save       write STAGING/<md>/md.json, remove the challenge answers
 *   done       a verified set is in STAGING/<md>, waiting for activation
 *
 * Nothing sleeps: where the job must wait (polling, the CA's Retry-After, a
 * backoff after an error) acme_renew_run() returns the time to call it again.
 *
 * Resuming: a job found in JOBS resumes at its saved step. A known order URL
 * is fetched again instead of creating a new order, so a crash costs at most
 * one extra order (a crash between the CA creating the order and the job
 * saving its URL). A key saved in STAGING is reused. An order that the CA
 * declares invalid restarts the job at `order` with the CA's problem recorded.
 * A `done` job whose STAGING files are gone (or do not verify) is redone.
 * A job made for another spec (names, key specs, CA, contact, EAB key id,
 * challenge types, must-staple changed) is discarded and started afresh.
 *
 * Errors: the failing step's acme_result_t (activity, problem type, detail,
 * subproblems, Retry-After) is saved in the job and its error count goes up
 * (it counts the failed attempts of this job and is cleared when the job is
 * done, so an order that keeps going invalid backs off further each time).
 * The job then waits until acme_backoff_retry_at(now, spec->retry_delay,
 * errors, the CA's retry_at, random): never before the CA's Retry-After. By
 * the error's action (acme_problem.h):
 *   RETRY       ACME_RENEW_AGAIN_AT at that time, at the same step (badNonce
 *               never gets here: the client re-sends with a fresh nonce).
 *   GIVE_UP     ACME_RENEW_FAILED; the order is abandoned (the job restarts at
 *               `order` when it runs again): repeating the request cannot work.
 *   FIX_CONFIG  ACME_RENEW_FAILED: an admin must act (a wrong EAB HMAC, a CA
 *               requiring EAB, a name the CA refuses, an unreachable
 *               challenge port, a wildcard without a dns-01 hook, a failing
 *               dns-01 setup command, ...).
 * A FAILED job's next_at is at least ACME_RENEW_FAILED_DELAY away, growing
 * with the backoff to about a day, so that e.g. a wrong EAB HMAC does not hit
 * the CA every few seconds. An order, authorization or challenge the CA
 * declared invalid always abandons the order (whatever the action).
 * The CA saying accountDoesNotExist makes the run register the account's key
 * again (once per run) and start a new order.
 * A failed validation (connection, dns, tls, incorrectResponse, unauthorized)
 * of answers that ANOTHER process asked the CA to validate (job answered_by,
 * a pid) is RETRY once per run, not FIX_CONFIG: that process may have died
 * before the CA looked, so nobody answered (ACME0913).
 * While a job waits out an error (until next_at), acme_renew_run() called
 * earlier does not contact the CA: it returns the saved outcome. A spec
 * change, or acme_renew_reset(), starts afresh at once. Waits for polling
 * are not binding: an early call polls.
 *
 * Concurrency: one run per domain at a time, in one process of the fleet;
 * the caller serializes (e.g. with acme_store_lock(JOBS, md)). Accounts are
 * created under the store lock (ACCOUNTS, ACME_RENEW_ACCOUNT_LOCK), taken
 * without waiting (when another job holds it, the run returns AGAIN_AT
 * ACME_RENEW_ACCOUNT_WAIT later); once it exists, jobs only read it, so jobs
 * of several domains run in parallel, each with its own client.
 *
 * Keys: the run never handles a private key itself. The account key, the
 * EAB binding, the staged domain keys and the CSRs come from a key custody
 * (acme_keys.h, spec->keys): the keys it returns may be public halves that
 * sign JWS through it. The run checks certificates against public keys.
 *
 * Secrets: the EAB HMAC and private keys are never logged nor written to the
 * job; the custody saves keys ACME_STORE_PRIVATE. Log numbers ACME0850-0999. */
#ifndef ACME_RENEW_H
#define ACME_RENEW_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "acme_account_store.h"
#include "acme_client.h"
#include "acme_keys.h"
#include "acme_result.h"
#include "acme_store.h"

/* The shortest wait after a FIX_CONFIG failure. */
#define ACME_RENEW_FAILED_DELAY (apr_time_from_sec(3600))
/* Polling an authorization or order: the first wait in a step is
 * ACME_RENEW_POLL_FIRST, each further one twice the last, up to
 * ACME_RENEW_POLL_MAX; never before the CA's Retry-After. A CA validating
 * at once (most answer within a few hundred milliseconds) is seen quickly,
 * a slow one is not asked more often than every ACME_RENEW_POLL_MAX. */
#define ACME_RENEW_POLL_FIRST (apr_time_from_msec(100))
#define ACME_RENEW_POLL_MAX (apr_time_from_sec(2))
/* The wait when a CA answer moves nothing and asks for no time. */
#define ACME_RENEW_POLL_INTERVAL ACME_RENEW_POLL_MAX
/* How long a job waits when another one is creating the account. */
#define ACME_RENEW_ACCOUNT_WAIT (apr_time_from_msec(100))
/* The store lock (group ACCOUNTS) under which accounts are created. */
#define ACME_RENEW_ACCOUNT_LOCK ACME_ACCOUNT_STORE_LOCK

/* The dns-01 hook. The core runs no commands: the glue publishes and removes
 * the TXT record "_acme-challenge.<domain>" (e.g. with MDChallengeDns01).
 *
 * setup_cb    publishes `value` for `domain` (the authorization's identifier:
 *             "w.test" for "*.w.test" too; several values may be wanted for
 *             one domain at once). Returns APR_SUCCESS when the record is
 *             live, else an error with *pwhy (from p) saying why; the job
 *             then fails FIX_CONFIG, its record of the setup is kept, so the
 *             teardown still comes.
 * teardown_cb removes it; errors are logged and otherwise ignored.
 *
 * Every setup the job makes is recorded in job.json (with its value) BEFORE
 * setup_cb is called, and torn down once: when every authorization of the
 * order is valid, when the order is abandoned (an invalid authorization, a
 * GIVE_UP error), when the configuration changes, and by acme_renew_reset().
 * So a crash at any point leaves no record behind for long: the next run
 * (or the reset) tears down what was recorded. Called from the thread that
 * runs the job; `baton` is the glue's. */
typedef struct acme_renew_dns01_t {
    apr_status_t (*setup_cb)(void *baton, apr_pool_t *p, const char *domain,
                             const char *value, const char **pwhy);
    apr_status_t (*teardown_cb)(void *baton, apr_pool_t *p, const char *domain,
                                const char *value, const char **pwhy);
    void *baton;
} acme_renew_dns01_t;

/* mod_md's "challenge-setup" event: called once an http-01 or tls-alpn-01
 * answer is in the store, before the CA is asked to validate it, with the
 * challenge type, the identifier and the challenge's token (a cluster copies
 * the answer to its other nodes; mod_md runs MDMessageCmd
 * challenge-setup:<type>:<domain>).
 * Anything but APR_SUCCESS leaves the challenge unanswered: the run fails
 * (*pwhy says why) and is retried later. Called from the job's thread. */
typedef struct acme_renew_events_t {
    apr_status_t (*challenge_setup_cb)(void *baton, apr_pool_t *p, const char *type,
                                       const char *domain, const char *token,
                                       const char **pwhy);
    void *baton;
} acme_renew_events_t;

/* What to obtain; filled by the glue from the configuration. Borrowed for
 * the call: nothing here is kept after acme_renew_run() returns. */
typedef struct acme_renew_spec_t {
    const char *md_name;               /* store name of the domain (domain rule) */
    apr_array_header_t *names;         /* const char *: DNS names / IPs to certify */
    apr_array_header_t *pkey_specs;    /* acme_pkey_spec_t: one certificate per spec,
                                        * no spec twice */
    apr_array_header_t *challenges;    /* const char *: challenge types in order of
                                        * preference ("http-01", "tls-alpn-01",
                                        * "dns-01"); NULL or empty: http-01, then
                                        * tls-alpn-01 */
    const acme_renew_dns01_t *dns01;   /* the dns-01 hook; NULL: dns-01 cannot be
                                        * answered (a wildcard then fails FIX_CONFIG) */
    const acme_renew_events_t *events; /* the challenge-setup event, or NULL */
    const char *ca_url;                /* directory URL: the client's CA */
    const char *contact;               /* "mailto:..." or a bare email, or NULL */
    int tos_agreed;                    /* MDCertificateAgreement accepted */
    const char *eab_kid;               /* EAB key id, NULL when no EAB */
    const char *eab_hmac;              /* SECRET base64url HMAC key; NULL without EAB */
    int must_staple;                   /* ask for the TLS Feature status_request */
    const char *profile;               /* ACME profile, or NULL */
    int profile_mandatory;             /* 1: a CA that does not offer `profile` fails
                                        * the order (FIX_CONFIG); 0: it is ordered
                                        * without a profile, with a warning */
    apr_array_header_t *replaces;      /* const char *, one per pkey_specs entry: the
                                        * ARI id (RFC 9773) of the certificate this
                                        * order replaces, or NULL; sent only when the
                                        * CA offers renewalInfo. NULL array: none */
    const char *preferred_chain;       /* issuer CN of the preferred chain, or NULL */
    apr_interval_time_t retry_delay;   /* MDRetryDelay: backoff base; <= 0: default
                                        * (ACME_BACKOFF_BASE_DEFAULT) */
    acme_keys_t *keys;                 /* the key custody; NULL: acme_keys_local() of
                                        * the store, made for the run */
} acme_renew_spec_t;

typedef enum {
    ACME_RENEW_AGAIN_AT,   /* call acme_renew_run() again at next_at (polling,
                            * Retry-After, backoff after a transient error) */
    ACME_RENEW_DONE,       /* a verified set is in STAGING/<md>; activate it,
                            * then acme_renew_reset() */
    ACME_RENEW_FAILED      /* FIX_CONFIG or GIVE_UP (result says why): an admin
                            * should look; retried at next_at nevertheless,
                            * at least ACME_RENEW_FAILED_DELAY later */
} acme_renew_status_e;

typedef struct acme_renew_outcome_t {
    acme_renew_status_e status;
    apr_time_t next_at;        /* AGAIN_AT, FAILED: when to run again; DONE: 0 */
    acme_result_t *result;     /* the last error (in the run's pool), or NULL */
    const char *step;          /* the job's step name ("authz", "done", ...) */
} acme_renew_outcome_t;

/* Runs the job of spec->md_name as far as it can go now without waiting:
 * loads JOBS/<md>/job.json (creating a job when absent or made for another
 * spec), performs steps, persists the job after every step transition, and
 * fills *out. `client` (transport and nonce pool of the CA at spec->ca_url;
 * one thread at a time) gets the account key and URL set during the run and
 * cleared before it returns. Everything is allocated from p.
 *
 * Returns APR_SUCCESS whenever *out says what happened, CA and network errors
 * included (they are in out->result and in the job). Other returns are
 * errors of the caller or the store: APR_EINVAL for an invalid spec (no names,
 * no or duplicate key specs, an invalid md name or CA URL, an EAB key id
 * without HMAC or the reverse, a dns-01 hook without both callbacks), store
 * I/O errors (the job could not be
 * loaded or saved); *out is then FAILED with out->result saying why, and
 * out->step is NULL when no job could be opened.
 *
 * After DONE, the caller activates the staged set and then calls
 * acme_renew_reset(): a DONE job whose staged set is gone is redone, so a
 * job left behind after activation would order a new certificate. */
apr_status_t acme_renew_run(acme_renew_outcome_t *out, apr_pool_t *p, acme_store_t *store,
                            acme_client_t *client, const acme_renew_spec_t *spec,
                            apr_time_t now);

/* Forgets the job of md_name (after activation, or when the configuration
 * changed what it is for): removes its challenge answers (dns-01 ones with
 * dns01->teardown_cb; with dns01 NULL they are only logged as left behind)
 * and JOBS/<md>. The STAGING set is left alone (activation moves it).
 * APR_SUCCESS also when there was no job. */
apr_status_t acme_renew_reset(acme_store_t *store, apr_pool_t *p, const char *md_name,
                              const acme_renew_dns01_t *dns01);

/* A job's persisted state, for status pages and logs. No secrets inside. */
typedef struct acme_renew_info_t {
    const char *md_name;
    const char *step;            /* as in acme_renew_outcome_t */
    int failed;                  /* 1: waiting for a configuration fix */
    int errors;                  /* failed attempts of this job (0 once done) */
    apr_time_t next_at;          /* when the job wants to run again; 0: now */
    apr_time_t started;          /* when the job was created */
    apr_time_t updated;          /* its last save */
    const char *pkey_spec;       /* the key spec being worked on, or NULL */
    const char *order_url;       /* its order, or NULL */
    acme_result_t *last_error;   /* the last error (activity, problem type, detail,
                                  * subproblems, retry_at), or NULL */
} acme_renew_info_t;

/* Reads the job of md_name. APR_ENOENT when there is none; APR_EINVAL when
 * job.json is corrupt (a run then starts a new job). */
apr_status_t acme_renew_info_load(acme_renew_info_t **pinfo, apr_pool_t *p,
                                  acme_store_t *store, const char *md_name);

#endif /* ACME_RENEW_H */
