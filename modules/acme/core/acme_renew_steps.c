/* Renewal job steps up to valid authorizations: account, order, authz,
 * poll-authz. See acme_renew_int.h for the step contract. */
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_assert.h"
#include "acme_log.h"
#include "acme_renew_challenge.h"
#include "acme_renew_int.h"

apr_time_t acme_renew_poll_at(const acme_renew_ctx_t *ctx, apr_time_t retry_at)
{
    apr_interval_time_t wait = ACME_RENEW_POLL_FIRST;

    if (ctx->job->step == ctx->loaded_step && ctx->last_wait > 0) {
        wait = ctx->last_wait * 2;
        wait = wait < ACME_RENEW_POLL_FIRST ? ACME_RENEW_POLL_FIRST : wait;
        wait = wait > ACME_RENEW_POLL_MAX ? ACME_RENEW_POLL_MAX : wait;
    }
    return retry_at > ctx->now + wait ? retry_at : ctx->now + wait;
}

apr_status_t acme_renew_step_account(acme_renew_ctx_t *ctx)
{
    const acme_renew_spec_t *spec = ctx->spec;
    acme_account_want_t want = { 0 };
    apr_status_t rv;

    want.ca_url = spec->ca_url;
    want.contact = spec->contact;
    want.tos_agreed = spec->tos_agreed;
    want.eab_kid = spec->eab_kid;
    want.eab_hmac = spec->eab_hmac;
    acme_result_set_activity(ctx->r, "finding the account for %s", spec->ca_url);
    rv = acme_account_store_ensure(&ctx->account, ctx->p, ctx->store, ctx->keys, ctx->client,
                                   &want, ctx->r);
    if (rv == APR_EBUSY && ctx->r->status == APR_SUCCESS) {
        ctx->wait_at = ctx->now + ACME_RENEW_ACCOUNT_WAIT;
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ctx->job->account_id = apr_pstrdup(ctx->job->pool, ctx->account->id);
    ctx->job->step = ACME_JOB_ORDER;
    return APR_SUCCESS;
}

/* The certificate the order replaces (RFC 9773 5): only to a CA that
 * offers renewalInfo, which is how a CA says it understands "replaces". */
static const char *order_replaces(const acme_renew_ctx_t *ctx)
{
    const apr_array_header_t *ids = ctx->spec->replaces;
    const acme_directory_t *dir = acme_client_get_directory(ctx->client);
    const acme_pkey_spec_t *key = acme_renew_key_spec(ctx);
    long i = key - (const acme_pkey_spec_t *)(const void *)ctx->spec->pkey_specs->elts;

    if (ids == NULL || dir == NULL || dir->renewal_info == NULL || i < 0
        || i >= ids->nelts) {
        return NULL;
    }
    return APR_ARRAY_IDX(ids, i, const char *);
}

/* The profile to order: the configured one, unless the CA does not offer it
 * and it is not mandatory (then the CA's default, with a warning). A
 * mandatory one the CA lacks fails in acme_order_create (FIX_CONFIG). */
static const char *order_profile(acme_renew_ctx_t *ctx)
{
    const acme_directory_t *dir = acme_client_get_directory(ctx->client);
    const char *profile = ctx->spec->profile;

    if (profile == NULL || ctx->spec->profile_mandatory || dir == NULL
        || acme_directory_get_profile(dir, profile) != NULL) {
        return profile;
    }
    acme_log(ACME_LOG_WARNING, 0, "ACME0925 acme[md=%s]: the CA does not offer the profile "
             "'%s'%s; ordering with its default (MDProfileMandatory off)",
             ctx->spec->md_name, profile, dir->profiles->nelts ? "" : " (it offers none)");
    return NULL;
}

/* Whether an order refused while it carried 'replaces' is sent once more
 * without: the certificate was replaced already (RFC 9773 5), or the CA
 * refused the request (4xx), which 'replaces' alone causes when the
 * predecessor is from another CA or account (MDCertificateAuthority
 * changed, staging to production) or shares no name. 'replaces' only helps
 * the CA, it must not keep a certificate from being renewed. Not after
 * rateLimited: a plain order fares no better. */
static int order_retry_plain(const acme_result_t *r)
{
    return acme_result_is(r, "alreadyReplaced")
           || (r->http_status >= 400 && r->http_status < 500
               && !acme_result_is(r, "rateLimited"));
}

apr_status_t acme_renew_step_order(acme_renew_ctx_t *ctx)
{
    acme_order_params_t params = { 0 };
    apr_status_t rv;

    if (!acme_client_get_directory(ctx->client)
        && (rv = acme_client_load_directory(ctx->client, ctx->p, ctx->r))) {
        return rv;
    }
    params.names = ctx->spec->names;
    params.profile = order_profile(ctx);
    params.replaces = order_replaces(ctx);
    acme_result_set_activity(ctx->r, "creating the %s order for %s",
                             acme_renew_key_name(ctx), ctx->spec->md_name);
    rv = acme_order_create(&ctx->order, ctx->p, ctx->client, &params, ctx->r);
    if (rv == ACME_EPROBLEM && params.replaces && order_retry_plain(ctx->r)) {
        acme_log(ACME_LOG_NOTICE, 0, "ACME0926 acme[md=%s]: %s; ordering without "
                 "'replaces'", ctx->spec->md_name, acme_result_is(ctx->r, "alreadyReplaced")
                 ? apr_psprintf(ctx->p, "the CA says %s was replaced already", params.replaces)
                 : apr_psprintf(ctx->p, "the CA refused the order replacing %s: %s",
                                params.replaces, acme_result_render(ctx->r, ctx->p)));
        acme_result_clear(ctx->r);
        params.replaces = NULL;
        rv = acme_order_create(&ctx->order, ctx->p, ctx->client, &params, ctx->r);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    acme_log(ACME_LOG_INFO, 0, "ACME0920 acme[md=%s order=%s]: created (%s%s%s%s%s)",
             ctx->spec->md_name, ctx->order->url, acme_renew_key_name(ctx),
             params.profile ? ", profile " : "", params.profile ? params.profile : "",
             params.replaces ? ", replaces " : "", params.replaces ? params.replaces : "");
    /* Saved with the transition: a crash before that costs one extra order. */
    acme_job_set_order(ctx->job, ctx->order->url);
    ctx->job->step = ACME_JOB_AUTHZ;
    return APR_SUCCESS;
}

acme_job_step_e acme_renew_step_for_order(acme_job_step_e now, acme_order_status_e status)
{
    switch (status) {
    case ACME_ORDER_PENDING:
        return now == ACME_JOB_POLL_AUTHZ ? ACME_JOB_POLL_AUTHZ : ACME_JOB_AUTHZ;
    case ACME_ORDER_READY:
        return ACME_JOB_FINALIZE;
    case ACME_ORDER_PROCESSING:
        return ACME_JOB_POLL_ORDER;
    case ACME_ORDER_VALID:
        return ACME_JOB_DOWNLOAD;
    case ACME_ORDER_INVALID:
        break;
    }
    return ACME_JOB_ORDER;
}

apr_status_t acme_renew_order_sync(acme_renew_ctx_t *ctx, acme_order_status_e want,
                                   int *pmoved)
{
    acme_job_t *job = ctx->job;
    apr_status_t rv;

    *pmoved = 0;
    if (ctx->order == NULL) {
        acme_result_set_activity(ctx->r, "fetching order %s", job->order_url);
        rv = acme_order_fetch(&ctx->order, ctx->p, ctx->client, job->order_url, ctx->r);
        if (rv != APR_SUCCESS) {
            ctx->order = NULL;
            return rv;
        }
    }
    if (ctx->order->status == ACME_ORDER_INVALID) {
        acme_result_set_activity(ctx->r, "order %s", job->order_url);
        if (ctx->order->error) {
            rv = acme_result_from_problem(ctx->r, ctx->order->error, 0, 0);
        }
        else {
            rv = acme_result_fail(ctx->r, ACME_EPROBLEM, "the CA declared the order invalid");
        }
        acme_renew_restart_order(ctx);
        return rv;
    }
    if (ctx->order->status != want) {
        job->step = acme_renew_step_for_order(job->step, ctx->order->status);
        *pmoved = 1;
    }
    return APR_SUCCESS;
}

/* The CA declared an authorization dead: its order is dead too. */
static apr_status_t authz_failed(acme_renew_ctx_t *ctx, const acme_authz_t *az)
{
    const acme_challenge_t *failed = NULL;
    apr_status_t rv;
    int i;

    for (i = 0; i < az->challenges->nelts && !failed; ++i) {
        const acme_challenge_t *ch = APR_ARRAY_IDX(az->challenges, i, acme_challenge_t *);
        failed = ch->error ? ch : NULL;
    }
    acme_result_set_activity(ctx->r, "authorization of %s", az->identifier.value);
    if (failed) {
        rv = acme_result_from_problem(ctx->r, failed->error, 0, 0);
    }
    else {
        rv = acme_result_fail(ctx->r, ACME_EPROBLEM, "the authorization is %s",
                              acme_authz_status_name(az->status));
        ctx->r->action = ACME_ACTION_GIVE_UP;
    }
    acme_renew_restart_order(ctx);
    return rv;
}

/* dns-01: the setup is recorded (with its value) before the hook runs, so
 * that whatever happens next, its teardown comes. */
static apr_status_t dns01_setup(acme_renew_ctx_t *ctx, const acme_authz_t *az,
                                const acme_challenge_t *ch)
{
    const acme_renew_dns01_t *dns01 = ctx->spec->dns01;
    const char *value, *why = NULL, *id = az->identifier.value;
    apr_status_t rv;

    ACME_ASSERT(dns01 != NULL && dns01->setup_cb != NULL);   /* select, spec_check */
    if ((rv = acme_renew_challenge_dns01_value(&value, ctx->p, ch, ctx->account->key, ctx->r))) {
        return rv;
    }
    if (acme_job_add_answer(ctx->job, id, ch->type, ch->token, value)) {
        return acme_result_fail(ctx->r, APR_ENOSPC, "too many challenge answers");
    }
    if ((rv = acme_renew_job_save(ctx))) {
        return rv;
    }
    acme_log(ACME_LOG_DEBUG, 0, "ACME0922 acme[md=%s]: dns-01 setup for %s",
             ctx->spec->md_name, id);
    if ((rv = dns01->setup_cb(dns01->baton, ctx->p, id, value, &why)) != APR_SUCCESS) {
        acme_result_fail(ctx->r, rv, "dns-01 setup for %s failed: %s", id, why ? why : "?");
        ctx->r->action = ACME_ACTION_FIX_CONFIG;
    }
    return rv;
}

/* The challenge-setup event of an answer in the store (acme_renew_events_t). */
static apr_status_t challenge_event(acme_renew_ctx_t *ctx, const acme_authz_t *az,
                                    const acme_challenge_t *ch)
{
    const acme_renew_events_t *ev = ctx->spec->events;
    const char *why = NULL;
    apr_status_t rv;

    if (ev == NULL || ev->challenge_setup_cb == NULL) {
        return APR_SUCCESS;
    }
    rv = ev->challenge_setup_cb(ev->baton, ctx->p, ch->type, az->identifier.value, ch->token,
                                &why);
    if (rv != APR_SUCCESS) {
        acme_result_fail(ctx->r, rv, "challenge-setup of %s for %s failed: %s", ch->type,
                         az->identifier.value, why ? why : "?");
    }
    return rv;
}

/* Publishes the answer for a pending authorization and asks the CA to
 * validate it (unless it is validating already: a resumed job). */
static apr_status_t authz_answer(acme_renew_ctx_t *ctx, const acme_authz_t *az)
{
    const acme_challenge_t *ch;
    acme_challenge_t *answered;
    apr_status_t rv;

    acme_result_set_activity(ctx->r, "authorizing %s%s", az->wildcard ? "*." : "",
                             az->identifier.value);
    /* saved with the answer, before the CA is asked (see job_failed_unanswered) */
    ctx->job->answered_by = (long)getpid();
    if ((rv = acme_renew_challenge_select(&ch, az, ctx->challenges, ctx->spec->dns01 != NULL,
                                          ctx->p, ctx->r))) {
        return rv;
    }
    if (!strcmp(ch->type, ACME_CHALLENGE_DNS01)) {
        rv = dns01_setup(ctx, az, ch);
    }
    /* Recorded before it is written: a crash cannot leave an unknown answer. */
    else if (acme_job_add_answer(ctx->job, az->identifier.value, ch->type, ch->token, NULL)) {
        return acme_result_fail(ctx->r, APR_ENOSPC, "too many challenge answers");
    }
    else if ((rv = acme_renew_job_save(ctx)) == APR_SUCCESS) {
        rv = acme_renew_challenge_setup(ctx->store, ctx->p, az, ch, ctx->account->key, ctx->r);
    }
    if (rv != APR_SUCCESS || ch->status != ACME_CHALLENGE_PENDING) {
        return rv;
    }
    if (strcmp(ch->type, ACME_CHALLENGE_DNS01) != 0
        && (rv = challenge_event(ctx, az, ch)) != APR_SUCCESS) {
        return rv;
    }
    acme_log(ACME_LOG_INFO, 0, "ACME0921 acme[md=%s]: answering %s for %s",
             ctx->spec->md_name, ch->type, az->identifier.value);
    return acme_challenge_respond(&answered, ctx->p, ctx->client, ch, ctx->r);
}

apr_status_t acme_renew_step_authz(acme_renew_ctx_t *ctx)
{
    acme_authz_t *az;
    apr_status_t rv;
    int i, moved;

    if ((rv = acme_renew_order_sync(ctx, ACME_ORDER_PENDING, &moved)) || moved) {
        return rv;
    }
    for (i = 0; i < ctx->order->authorizations->nelts; ++i) {
        const char *url = APR_ARRAY_IDX(ctx->order->authorizations, i, const char *);
        acme_result_set_activity(ctx->r, "fetching authorization %s", url);
        if ((rv = acme_authz_fetch(&az, ctx->p, ctx->client, url, ctx->r))) {
            return rv;
        }
        if (!acme_order_covers_authz(ctx->order, az)) {
            rv = acme_result_fail(ctx->r, APR_EINVAL, "authorization %s is for %s, which"
                                  " the order does not name", url, az->identifier.value);
            acme_renew_restart_order(ctx);
            return rv;
        }
        if (az->status == ACME_AUTHZ_PENDING) {
            if ((rv = authz_answer(ctx, az)) != APR_SUCCESS) {
                return rv;
            }
        }
        else if (az->status != ACME_AUTHZ_VALID) {
            return authz_failed(ctx, az);
        }
    }
    ctx->job->step = ACME_JOB_POLL_AUTHZ;
    return APR_SUCCESS;
}

apr_status_t acme_renew_step_poll_authz(acme_renew_ctx_t *ctx)
{
    apr_time_t next = 0, retry_at;
    acme_authz_t *az;
    apr_status_t rv;
    int i, moved;

    if ((rv = acme_renew_order_sync(ctx, ACME_ORDER_PENDING, &moved)) || moved) {
        return rv;
    }
    for (i = 0; i < ctx->order->authorizations->nelts && !next; ++i) {
        const char *url = APR_ARRAY_IDX(ctx->order->authorizations, i, const char *);
        acme_result_set_activity(ctx->r, "waiting for authorization %s", url);
        az = NULL;
        rv = acme_authz_look(&az, &retry_at, ctx->p, ctx->client, url, ctx->now, ctx->r);
        if (rv == ACME_EPROBLEM && az && az->status != ACME_AUTHZ_PENDING
            && az->status != ACME_AUTHZ_VALID) {
            acme_renew_restart_order(ctx);
            return rv;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (az->status == ACME_AUTHZ_PENDING) {
            next = acme_renew_poll_at(ctx, retry_at);
        }
        else if (az->status != ACME_AUTHZ_VALID) {
            return authz_failed(ctx, az);
        }
    }
    if (next) {
        ctx->wait_at = next;
        return APR_SUCCESS;
    }
    /* All valid: the answers (dns-01 records too) are not needed any more.
     * Not earlier: a wildcard and its base domain share one TXT name. */
    acme_renew_answers_remove(ctx);
    /* The order should be ready now; if the CA lags, look again soon. */
    ctx->order = NULL;
    if ((rv = acme_renew_order_sync(ctx, ACME_ORDER_PENDING, &moved)) || moved) {
        return rv;
    }
    ctx->wait_at = acme_renew_poll_at(ctx, 0);
    return APR_SUCCESS;
}
