/* Inside the renewal job (acme_renew*.c only): the state of one run and the
 * step functions.
 *
 * A step function works on ctx->job and returns
 *   APR_SUCCESS with job->step changed   a transition (the driver saves it)
 *   APR_SUCCESS with ctx->wait_at set    wait until then (polling, a busy lock)
 *   anything else                        an error described by ctx->r; the step
 *                                        may have moved the job back already
 *                                        (acme_renew_restart_order) */
#ifndef ACME_RENEW_INT_H
#define ACME_RENEW_INT_H

#include "acme_account_store.h"
#include "acme_job.h"
#include "acme_order.h"
#include "acme_renew.h"

typedef struct acme_renew_ctx_t {
    apr_pool_t *p;
    acme_store_t *store;
    acme_keys_t *keys;                     /* the key custody (spec->keys, or local) */
    acme_client_t *client;
    const acme_renew_spec_t *spec;
    const apr_array_header_t *challenges;  /* effective preferences */
    apr_time_t now;
    acme_job_t *job;
    acme_result_t *r;
    acme_account_record_t *account;        /* set once the account is known */
    acme_order_t *order;                   /* the order as last seen in this run */
    apr_time_t wait_at;                    /* set by a step that must wait */
    acme_pkey_t *staged_key;               /* the staged key of staged_key_index, once
                                            * made or read in this run (finalize and
                                            * download mostly run in one): one request
                                            * to a remote custody less */
    int staged_key_index;
    acme_job_step_e loaded_step;           /* the step the run began at */
    int answers_foreign;                   /* the run began with answers another
                                            * process asked the CA to validate */
    apr_interval_time_t last_wait;         /* the poll wait that ended before this
                                            * run, 0 if it was none (see
                                            * acme_renew_poll_at) */
} acme_renew_ctx_t;

/* When to poll again in the current step, the CA having asked for
 * `retry_at` (0: nothing): ACME_RENEW_POLL_FIRST after entering the step,
 * then twice the last wait up to ACME_RENEW_POLL_MAX (the last wait is
 * derived from the saved job, so a resumed job keeps its pace); never
 * before retry_at. */
apr_time_t acme_renew_poll_at(const acme_renew_ctx_t *ctx, apr_time_t retry_at);

/* The key spec the job works on, and its canonical name. */
const acme_pkey_spec_t *acme_renew_key_spec(const acme_renew_ctx_t *ctx);
const char *acme_renew_key_name(const acme_renew_ctx_t *ctx);

/* Saves the job now (e.g. an answer before it is published). A store error
 * is recorded in ctx->r as RETRY. */
apr_status_t acme_renew_job_save(acme_renew_ctx_t *ctx);

/* Abandons the current order: removes the challenge answers, forgets the
 * order URL and goes back to step "order" (the staged key is kept). */
void acme_renew_restart_order(acme_renew_ctx_t *ctx);

/* Removes every challenge answer the job recorded. */
void acme_renew_answers_remove(acme_renew_ctx_t *ctx);

/* The job's order in ctx->order: as seen earlier in this run (an order
 * just created, finalized or polled), else fetched now; set ctx->order to
 * NULL first to force a fetch. An invalid order is an error (the CA's
 * problem in r) and restarts the job at "order". When the order's status is
 * not `want`, the job's step follows the status instead and *pmoved is set. */
apr_status_t acme_renew_order_sync(acme_renew_ctx_t *ctx, acme_order_status_e want,
                                   int *pmoved);

/* The step that an order in `status` calls for (pending: "authz", or
 * "poll-authz" when the job is there already); "order" for an invalid one. */
acme_job_step_e acme_renew_step_for_order(acme_job_step_e now, acme_order_status_e status);

/* The spec (acme_renew_spec.c). acme_renew_spec_check: APR_EINVAL with the
 * reason in *pwhy for a spec no job can run. acme_renew_spec_challenges: the
 * spec's challenge preferences, or the defaults (http-01, tls-alpn-01).
 * acme_renew_spec_json: what the job is for, as saved in job.json (owned by
 * p): everything that, changed, makes the job's work moot; the EAB HMAC is
 * secret and not part of it. */
apr_status_t acme_renew_spec_check(const acme_renew_spec_t *spec, apr_pool_t *p,
                                   const char **pwhy);
const apr_array_header_t *acme_renew_spec_challenges(apr_pool_t *p,
                                                     const acme_renew_spec_t *spec);
json_t *acme_renew_spec_json(apr_pool_t *p, const acme_renew_spec_t *spec,
                             const apr_array_header_t *challenges);

/* Steps (acme_renew_steps.c). */
apr_status_t acme_renew_step_account(acme_renew_ctx_t *ctx);
apr_status_t acme_renew_step_order(acme_renew_ctx_t *ctx);
apr_status_t acme_renew_step_authz(acme_renew_ctx_t *ctx);
apr_status_t acme_renew_step_poll_authz(acme_renew_ctx_t *ctx);

/* Steps (acme_renew_cert.c). */
apr_status_t acme_renew_step_finalize(acme_renew_ctx_t *ctx);
apr_status_t acme_renew_step_poll_order(acme_renew_ctx_t *ctx);
apr_status_t acme_renew_step_download(acme_renew_ctx_t *ctx);
apr_status_t acme_renew_step_save(acme_renew_ctx_t *ctx);

/* Checks that STAGING/<md> holds the complete set the spec asks for: md.json
 * for these names and key specs, and per key spec a key and a chain whose
 * leaf certifies that key and covers every name. APR_SUCCESS, or the reason
 * in *pwhy (APR_ENOENT: something is missing, APR_EINVAL: it does not
 * verify, other: store errors). */
apr_status_t acme_renew_staging_verify(acme_renew_ctx_t *ctx, const char **pwhy);

#endif /* ACME_RENEW_INT_H */
