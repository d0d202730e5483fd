/* The renewal job's driver: opening the job, running steps, recording errors
 * with backoff, and the outcome. See acme_renew.h; the steps are in
 * acme_renew_steps.c and acme_renew_cert.c, the spec's checks and its saved
 * form in acme_renew_spec.c. */
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "acme_assert.h"
#include "acme_backoff.h"
#include "acme_job_log.h"
#include "acme_json.h"
#include "acme_log.h"
#include "acme_names.h"
#include "acme_renew_challenge.h"
#include "acme_renew_int.h"

/* Transitions one run may make per key spec (a run never waits, so a CA that
 * keeps bouncing an order between states must not keep it busy). */
#define RUN_TRANSITIONS_PER_KEY 8

const acme_pkey_spec_t *acme_renew_key_spec(const acme_renew_ctx_t *ctx)
{
    return &APR_ARRAY_IDX(ctx->spec->pkey_specs, ctx->job->key_index, acme_pkey_spec_t);
}

const char *acme_renew_key_name(const acme_renew_ctx_t *ctx)
{
    return acme_pkey_spec_name(ctx->p, acme_renew_key_spec(ctx));
}

apr_status_t acme_renew_job_save(acme_renew_ctx_t *ctx)
{
    apr_status_t rv = acme_job_save(ctx->job, ctx->p, ctx->store, ctx->now);

    if (rv != APR_SUCCESS) {
        acme_result_fail(ctx->r, rv, "saving the job of %s", ctx->spec->md_name);
        ctx->r->action = ACME_ACTION_RETRY;
    }
    return rv;
}

/* Tears down a dns-01 record the job set up (see acme_renew_dns01_t). */
static void dns01_teardown(const acme_renew_dns01_t *dns01, apr_pool_t *p,
                           const acme_job_t *job, const acme_job_answer_t *a)
{
    const char *why = NULL;
    apr_status_t rv;

    if (dns01 == NULL || dns01->teardown_cb == NULL) {
        acme_log(ACME_LOG_WARNING, 0, "ACME0911 acme[md=%s]: no dns-01 hook to remove the"
                 " TXT record of %s; it is left behind", job->md_name, a->identifier);
        return;
    }
    rv = dns01->teardown_cb(dns01->baton, p, a->identifier, a->value, &why);
    if (rv != APR_SUCCESS) {
        acme_log(ACME_LOG_WARNING, rv, "ACME0912 acme[md=%s]: dns-01 teardown of %s failed:"
                 " %s", job->md_name, a->identifier, why ? why : "?");
    }
}

static void answers_remove(acme_store_t *store, apr_pool_t *p, acme_job_t *job,
                           const acme_renew_dns01_t *dns01)
{
    apr_status_t rv;
    int i;

    for (i = 0; i < job->answers->nelts; ++i) {
        const acme_job_answer_t *a = &APR_ARRAY_IDX(job->answers, i, acme_job_answer_t);
        if (a->value) {
            dns01_teardown(dns01, p, job, a);
            continue;
        }
        rv = acme_renew_challenge_remove(store, p, a->identifier, a->type, a->token);
        if (rv != APR_SUCCESS) {
            acme_log(ACME_LOG_WARNING, rv, "ACME0900 acme[md=%s]: cannot remove the %s answer"
                     " for %s", job->md_name, a->type, a->identifier);
        }
    }
    apr_array_clear(job->answers);
}

void acme_renew_answers_remove(acme_renew_ctx_t *ctx)
{
    answers_remove(ctx->store, ctx->p, ctx->job, ctx->spec->dns01);
}

void acme_renew_restart_order(acme_renew_ctx_t *ctx)
{
    acme_renew_answers_remove(ctx);
    ctx->job->answered_by = 0;
    acme_job_set_order(ctx->job, NULL);
    ctx->order = NULL;
    ctx->job->step = ctx->job->account_id ? ACME_JOB_ORDER : ACME_JOB_ACCOUNT;
}

/* ------------------------------------------------------------ the job */

/* A fresh job: what was staged before belongs to no job any more. */
static apr_status_t job_fresh(acme_renew_ctx_t *ctx, const json_t *spec)
{
    apr_status_t rv;

    rv = acme_store_purge(ctx->store, ctx->p, ACME_STORE_STAGING, ctx->spec->md_name);
    if (rv != APR_SUCCESS && rv != APR_ENOENT) {
        return rv;
    }
    ctx->job = acme_job_create(ctx->p, ctx->spec->md_name, spec,
                               ctx->spec->pkey_specs->nelts, ctx->now);
    acme_job_log_add(&ctx->job->log, ctx->p, ctx->now, "starting", NULL, NULL);
    acme_log(ACME_LOG_INFO, 0, "ACME0901 acme[md=%s]: new renewal job", ctx->spec->md_name);
    return acme_job_save(ctx->job, ctx->p, ctx->store, ctx->now);
}

/* Loads the job of the spec's domain, or starts one. */
static apr_status_t job_open(acme_renew_ctx_t *ctx)
{
    const char *md = ctx->spec->md_name, *why = NULL;
    json_t *spec = acme_renew_spec_json(ctx->p, ctx->spec, ctx->challenges);
    apr_status_t rv;

    rv = acme_job_load(&ctx->job, ctx->p, ctx->store, md, &why);
    if (rv == APR_SUCCESS && !json_equal(ctx->job->spec, spec)) {
        acme_log(ACME_LOG_NOTICE, 0, "ACME0902 acme[md=%s]: the configuration changed,"
                 " the job at step %s starts afresh", md, acme_job_step_name(ctx->job->step));
        answers_remove(ctx->store, ctx->p, ctx->job, ctx->spec->dns01);
        rv = APR_ENOENT;
    }
    else if (rv == APR_EINVAL) {
        acme_log(ACME_LOG_WARNING, rv, "ACME0903 acme[md=%s]: job.json unusable (%s),"
                 " starting afresh", md, why ? why : "?");
        rv = APR_ENOENT;
    }
    if (rv == APR_ENOENT) {
        rv = job_fresh(ctx, spec);
    }
    return rv;
}

/* The account the job uses, checked against the spec, with its key from the
 * custody; back to "account" when it is gone, unregistered, not the right
 * one any more or its key is unusable. A custody that cannot be reached now
 * is an error (RETRY in ctx->r) that leaves the job where it is. */
static apr_status_t job_account_load(acme_renew_ctx_t *ctx)
{
    acme_account_want_t want = { 0 };
    acme_account_record_t *rec = NULL;
    const char *why = NULL;
    apr_status_t rv = APR_ENOENT;

    want.ca_url = ctx->spec->ca_url;
    want.contact = ctx->spec->contact;
    want.eab_kid = ctx->spec->eab_kid;
    if (ctx->job->account_id) {
        rv = acme_account_store_load(&rec, ctx->p, ctx->store, ctx->job->account_id, &why);
    }
    if (rv == APR_SUCCESS && rec->url && acme_account_store_matches(rec, &want)) {
        rv = acme_keys_account_key(&rec->key, ctx->p, ctx->keys, rec->id, 0, &why);
        if (rv == APR_SUCCESS) {
            ctx->account = rec;
            acme_client_set_account(ctx->client, rec->key, rec->url);
            return APR_SUCCESS;
        }
        if (!acme_account_store_key_unusable(rv)) {
            acme_result_fail(ctx->r, rv, "the key of account %s (%s custody): %s", rec->id,
                             acme_keys_kind(ctx->keys), why ? why : "?");
            ctx->r->action = ACME_ACTION_RETRY;
            return rv;
        }
    }
    acme_log(ACME_LOG_NOTICE, rv, "ACME0904 acme[md=%s]: account %s is not usable (%s),"
             " looking for the account again", ctx->spec->md_name,
             ctx->job->account_id ? ctx->job->account_id : "-",
             why ? why : (rv == APR_SUCCESS ? "not registered" : "cannot load it"));
    ctx->job->account_id = NULL;
    acme_renew_restart_order(ctx);
    return APR_SUCCESS;
}

static apr_status_t step_run(acme_renew_ctx_t *ctx)
{
    switch (ctx->job->step) {
    case ACME_JOB_ACCOUNT:
        return acme_renew_step_account(ctx);
    case ACME_JOB_ORDER:
        return acme_renew_step_order(ctx);
    case ACME_JOB_AUTHZ:
        return acme_renew_step_authz(ctx);
    case ACME_JOB_POLL_AUTHZ:
        return acme_renew_step_poll_authz(ctx);
    case ACME_JOB_FINALIZE:
        return acme_renew_step_finalize(ctx);
    case ACME_JOB_POLL_ORDER:
        return acme_renew_step_poll_order(ctx);
    case ACME_JOB_DOWNLOAD:
        return acme_renew_step_download(ctx);
    case ACME_JOB_SAVE:
        return acme_renew_step_save(ctx);
    case ACME_JOB_DONE:
        break;
    }
    ACME_ASSERT(!"step_run on a done job");
    return APR_EGENERAL;
}

/* ------------------------------------------------------------ outcomes */

static void outcome_set(acme_renew_outcome_t *out, acme_renew_ctx_t *ctx,
                        acme_renew_status_e status, apr_time_t next_at,
                        const acme_result_t *result)
{
    out->status = status;
    out->next_at = next_at;
    out->result = result ? acme_result_copy(ctx->p, result) : NULL;
    out->step = acme_job_step_name(ctx->job->step);
}

static apr_status_t outcome_save(acme_renew_outcome_t *out, acme_renew_ctx_t *ctx)
{
    apr_status_t rv = acme_renew_job_save(ctx);

    if (rv != APR_SUCCESS) {
        outcome_set(out, ctx, ACME_RENEW_FAILED, 0, ctx->r);
    }
    return rv;
}

static uint32_t random_u32(void)
{
    uint32_t v = 0;

    if (apr_generate_random_bytes((unsigned char *)&v, sizeof(v)) != APR_SUCCESS) {
        v = (uint32_t)apr_time_now();   /* jitter only: predictability is harmless */
    }
    return v;
}

/* A failed validation of answers that another process asked the CA to check
 * is no proof of a configuration error: that process may have died (a crash,
 * a stop) before the CA looked, and nobody answered. Once per run it is
 * retried with a new order at the normal backoff instead of waiting
 * ACME_RENEW_FAILED_DELAY. */
static void job_failed_unanswered(acme_renew_ctx_t *ctx)
{
    static const char *const validation[] = {
        "connection", "dns", "tls", "incorrectResponse", "unauthorized"
    };
    apr_size_t i;

    if (!ctx->answers_foreign || ctx->r->action != ACME_ACTION_FIX_CONFIG) {
        return;
    }
    for (i = 0; i < sizeof(validation) / sizeof(validation[0]); ++i) {
        if (acme_result_is(ctx->r, validation[i])) {
            ctx->answers_foreign = 0;
            ctx->r->action = ACME_ACTION_RETRY;
            acme_log(ACME_LOG_NOTICE, 0, "ACME0913 acme[md=%s]: the CA could not validate"
                     " answers an earlier process asked for (it may have stopped before the"
                     " CA looked): a new order after the normal backoff", ctx->job->md_name);
            return;
        }
    }
}

/* Records the error of a step, computes when to try again and saves. */
static apr_status_t job_failed(acme_renew_outcome_t *out, acme_renew_ctx_t *ctx)
{
    acme_job_t *job = ctx->job;
    acme_result_t *r = ctx->r;
    apr_time_t next;

    job_failed_unanswered(ctx);
    ++job->errors;
    acme_job_set_error(job, r);
    if (r->action == ACME_ACTION_GIVE_UP && job->order_url) {
        acme_renew_restart_order(ctx);   /* the operation is moot: start it afresh */
    }
    next = acme_backoff_retry_at(ctx->now, ctx->spec->retry_delay, job->errors, r->retry_at,
                                 random_u32());
    job->failed = r->action != ACME_ACTION_RETRY;
    if (job->failed && next < ctx->now + ACME_RENEW_FAILED_DELAY) {
        next = ctx->now + ACME_RENEW_FAILED_DELAY;
    }
    job->next_at = next;
    job->backoff = 1;
    acme_job_log_add(&job->log, ctx->p, ctx->now, "renewal-error", r->problem_type,
                     acme_result_render(r, ctx->p));
    acme_log(job->failed ? ACME_LOG_ERR : ACME_LOG_WARNING, r->status,
             "ACME0905 acme[md=%s]: %s (%s, error %u); next attempt at step %s at %s",
             job->md_name, acme_result_render(r, ctx->p), acme_problem_action_name(r->action),
             job->errors, acme_job_step_name(job->step), acme_job_time_format(ctx->p, next));
    outcome_set(out, ctx, job->failed ? ACME_RENEW_FAILED : ACME_RENEW_AGAIN_AT, next, r);
    return outcome_save(out, ctx);
}

/* The CA forgot the account (accountDoesNotExist): register its key again
 * and start a new order, once per run. */
static int job_reregister(acme_renew_ctx_t *ctx, int *pdone)
{
    if (*pdone || !acme_result_is(ctx->r, "accountDoesNotExist") || !ctx->job->account_id) {
        return 0;
    }
    *pdone = 1;
    acme_job_set_error(ctx->job, ctx->r);
    if (acme_account_store_forget_url(ctx->store, ctx->p, ctx->job->account_id)) {
        return 0;
    }
    ctx->job->account_id = NULL;
    acme_renew_restart_order(ctx);
    return 1;
}

/* A DONE job whose staged set does not verify is redone from the order. */
static apr_status_t job_check_done(acme_renew_ctx_t *ctx, int *pdone)
{
    const char *why = "?";
    apr_status_t rv = acme_renew_staging_verify(ctx, &why);

    *pdone = rv == APR_SUCCESS;
    if (rv == APR_SUCCESS || (rv != APR_ENOENT && rv != APR_EINVAL)) {
        return rv;
    }
    acme_log(ACME_LOG_WARNING, rv, "ACME0906 acme[md=%s]: the staged set is not complete"
             " (%s), renewing again", ctx->spec->md_name, why);
    rv = acme_store_purge(ctx->store, ctx->p, ACME_STORE_STAGING, ctx->spec->md_name);
    if (rv != APR_SUCCESS && rv != APR_ENOENT) {
        return rv;
    }
    ctx->job->key_index = 0;
    acme_renew_restart_order(ctx);
    return acme_job_save(ctx->job, ctx->p, ctx->store, ctx->now);
}

/* The log's entry for a step done: mod_md says "progress" with what it did. */
static void job_log_step(acme_renew_ctx_t *ctx, acme_job_step_e prev)
{
    acme_job_t *job = ctx->job;

    if (job->step == ACME_JOB_DONE) {
        acme_job_log_add(&job->log, ctx->p, ctx->now, "finished", NULL, NULL);
        return;
    }
    acme_job_log_add(&job->log, ctx->p, ctx->now, "progress", NULL,
                     apr_psprintf(ctx->p, "%s done, next: %s (key %s)",
                                  acme_job_step_name(prev), acme_job_step_name(job->step),
                                  acme_renew_key_name(ctx)));
}

/* Runs steps until the job waits, fails or is done. */
static apr_status_t job_drive(acme_renew_outcome_t *out, acme_renew_ctx_t *ctx)
{
    int n, max = RUN_TRANSITIONS_PER_KEY * (ctx->job->key_count + 2), reregistered = 0;
    acme_job_t *job = ctx->job;
    acme_job_step_e prev;
    apr_status_t rv;

    if (job->step != ACME_JOB_ACCOUNT && job_account_load(ctx) != APR_SUCCESS) {
        return job_failed(out, ctx);
    }
    ctx->answers_foreign = job->answered_by > 0 && job->answered_by != (long)getpid();
    for (n = 0; n < max; ++n) {
        prev = job->step;
        ctx->wait_at = 0;
        ctx->r = acme_result_create(ctx->p);
        if ((rv = step_run(ctx)) != APR_SUCCESS) {
            if (job_reregister(ctx, &reregistered)) {
                if ((rv = acme_renew_job_save(ctx)) != APR_SUCCESS) {
                    outcome_set(out, ctx, ACME_RENEW_FAILED, 0, ctx->r);
                    return rv;
                }
                continue;
            }
            return job_failed(out, ctx);
        }
        if (ctx->wait_at) {
            job->next_at = ctx->wait_at;
            outcome_set(out, ctx, ACME_RENEW_AGAIN_AT, ctx->wait_at, NULL);
            return outcome_save(out, ctx);
        }
        if (job->step == prev) {
            /* A CA answer that moves nothing (an order "processing" without
             * a poll time): look again soon rather than spin. */
            job->next_at = ctx->now + ACME_RENEW_POLL_INTERVAL;
            outcome_set(out, ctx, ACME_RENEW_AGAIN_AT, job->next_at, NULL);
            return outcome_save(out, ctx);
        }
        acme_log(ACME_LOG_DEBUG, 0, "ACME0907 acme[md=%s]: %s -> %s", job->md_name,
                 acme_job_step_name(prev), acme_job_step_name(job->step));
        job_log_step(ctx, prev);
        if (job->step == ACME_JOB_DONE) {
            job->errors = 0;
            job->next_at = 0;
            acme_job_set_error(job, NULL);
            acme_log(ACME_LOG_NOTICE, 0, "ACME0908 acme[md=%s]: certificates staged",
                     job->md_name);
            outcome_set(out, ctx, ACME_RENEW_DONE, 0, NULL);
            return outcome_save(out, ctx);
        }
        if ((rv = acme_renew_job_save(ctx)) != APR_SUCCESS) {
            outcome_set(out, ctx, ACME_RENEW_FAILED, 0, ctx->r);
            return rv;
        }
    }
    /* Only a CA that keeps moving its order around gets here. */
    job->next_at = ctx->now + ACME_RENEW_POLL_INTERVAL;
    outcome_set(out, ctx, ACME_RENEW_AGAIN_AT, job->next_at, NULL);
    return outcome_save(out, ctx);
}

/* Opens the job and runs it unless it waits out an error. */
static apr_status_t job_run(acme_renew_outcome_t *out, acme_renew_ctx_t *ctx)
{
    acme_job_t *job;
    apr_status_t rv;
    int done;

    if ((rv = job_open(ctx)) != APR_SUCCESS) {
        acme_result_fail(ctx->r, rv, "opening the job of %s", ctx->spec->md_name);
        ctx->r->action = ACME_ACTION_RETRY;
        return rv;
    }
    job = ctx->job;
    if (job->backoff && ctx->now < job->next_at) {
        outcome_set(out, ctx, job->failed ? ACME_RENEW_FAILED : ACME_RENEW_AGAIN_AT,
                    job->next_at, job->last_error);
        return APR_SUCCESS;
    }
    /* a poll wait's length, to pace the next one (acme_renew_poll_at) */
    ctx->loaded_step = job->step;
    ctx->last_wait = !job->backoff && job->next_at > job->updated
                     ? job->next_at - job->updated : 0;
    job->backoff = 0;
    job->failed = 0;
    if (job->step == ACME_JOB_DONE) {
        if ((rv = job_check_done(ctx, &done)) != APR_SUCCESS) {
            acme_result_fail(ctx->r, rv, "checking STAGING/%s", ctx->spec->md_name);
            ctx->r->action = ACME_ACTION_RETRY;
            return rv;
        }
        if (done) {
            outcome_set(out, ctx, ACME_RENEW_DONE, 0, NULL);
            return APR_SUCCESS;
        }
    }
    return job_drive(out, ctx);
}

apr_status_t acme_renew_run(acme_renew_outcome_t *out, apr_pool_t *p, acme_store_t *store,
                            acme_client_t *client, const acme_renew_spec_t *spec,
                            apr_time_t now)
{
    acme_renew_ctx_t ctx;
    const char *why = NULL;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    memset(&ctx, 0, sizeof(ctx));
    ctx.p = p;
    ctx.store = store;
    ctx.keys = spec->keys ? spec->keys : acme_keys_local(p, store);
    ctx.client = client;
    ctx.spec = spec;
    ctx.now = now;
    ctx.r = acme_result_create(p);
    out->status = ACME_RENEW_FAILED;
    out->result = ctx.r;
    if ((rv = acme_renew_spec_check(spec, p, &why)) != APR_SUCCESS) {
        acme_result_fail(ctx.r, rv, "renewal of %s: %s",
                         spec->md_name ? acme_names_printable(p, spec->md_name) : "?", why);
        ctx.r->action = ACME_ACTION_FIX_CONFIG;
        acme_log(ACME_LOG_ERR, rv, "ACME0909 %s", acme_result_render(ctx.r, p));
        return rv;
    }
    ctx.challenges = acme_renew_spec_challenges(p, spec);
    rv = job_run(out, &ctx);
    if (rv != APR_SUCCESS && ctx.job == NULL) {
        out->result = ctx.r;
    }
    else if (rv != APR_SUCCESS) {
        outcome_set(out, &ctx, ACME_RENEW_FAILED, 0, ctx.r);
    }
    /* The account key lives in p: the client must not keep pointing at it. */
    acme_client_set_account(client, NULL, NULL);
    return rv;
}

apr_status_t acme_renew_reset(acme_store_t *store, apr_pool_t *p, const char *md_name,
                              const acme_renew_dns01_t *dns01)
{
    acme_job_t *job;
    const char *why = NULL;
    apr_status_t rv;

    if (acme_names_check_domain(md_name, ACME_NAMES_WILDCARD) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    rv = acme_job_load(&job, p, store, md_name, &why);
    if (rv == APR_SUCCESS) {
        answers_remove(store, p, job, dns01);
    }
    else if (rv != APR_ENOENT && rv != APR_EINVAL) {
        return rv;
    }
    rv = acme_store_purge(store, p, ACME_STORE_JOBS, md_name);
    if (rv == APR_SUCCESS) {
        acme_log(ACME_LOG_DEBUG, 0, "ACME0910 acme[md=%s]: job removed", md_name);
    }
    return rv == APR_ENOENT ? APR_SUCCESS : rv;
}

apr_status_t acme_renew_info_load(acme_renew_info_t **pinfo, apr_pool_t *p,
                                  acme_store_t *store, const char *md_name)
{
    acme_renew_info_t *info;
    acme_job_t *job;
    const json_t *keys;
    const char *why = NULL;
    apr_status_t rv;

    if (acme_names_check_domain(md_name, ACME_NAMES_WILDCARD) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((rv = acme_job_load(&job, p, store, md_name, &why)) != APR_SUCCESS) {
        return rv;
    }
    info = apr_pcalloc(p, sizeof(*info));
    info->md_name = job->md_name;
    info->step = acme_job_step_name(job->step);
    info->failed = job->failed;
    info->errors = (int)job->errors;
    info->next_at = job->next_at;
    info->started = job->started;
    info->updated = job->updated;
    info->order_url = job->order_url;
    info->last_error = job->last_error;
    keys = json_object_get(job->spec, "pkey-specs");
    info->pkey_spec = json_string_value(json_array_get(keys, (size_t)job->key_index));
    *pinfo = info;
    return APR_SUCCESS;
}
