/* acmectl: the facts of one domain from the store (acmectl_domain.h). */
#include <string.h>

#include <apr_date.h>
#include <apr_strings.h>
#include <jansson.h>

#include "acme_layout.h"
#include "acmectl_domain.h"

#define ARI_ASPECT "ari.json"   /* the watchdog's ARI state (mod_acme_ari.c) */

const char *acmectl_domain_reason_name(acme_schedule_reason_e reason)
{
    switch (reason) {
    case ACME_SCHEDULE_BY_WINDOW:   return "window";
    case ACME_SCHEDULE_BY_FALLBACK: return "fallback";
    case ACME_SCHEDULE_BY_ARI:      return "ari";
    case ACME_SCHEDULE_BY_MISSING:  return "missing";
    case ACME_SCHEDULE_BY_CHANGED:  return "changed";
    case ACME_SCHEDULE_BY_EXPIRED:  return "expired";
    }
    return "unknown";
}

/* The scheduler's view of the LIVE set, as the watchdog builds it: latest
 * notBefore and earliest notAfter of the usable pairs; "changed" when a key
 * spec has no usable pair or one misses a name. */
static void live_input(acme_schedule_input_t *in, const acmectl_domain_t *dom)
{
    int i;

    memset(in, 0, sizeof(*in));
    for (i = 0; i < dom->live->pairs->nelts; ++i) {
        const acme_certset_pair_t *pair = &APR_ARRAY_IDX(dom->live->pairs, i,
                                                         acme_certset_pair_t);
        if (pair->status != APR_SUCCESS) {
            in->changed = 1;
            continue;
        }
        acme_schedule_input_add(in, pair->not_before, pair->not_after, pair->names_ok);
    }
    in->renew_window = dom->md->renew_window;
    in->warn_window = dom->md->warn_window;
}

/* ari.json, when it is about the live certificate (the watchdog matches it
 * by notAfter in the same way); NULL otherwise. */
static acme_ari_state_t *ari_load(apr_pool_t *p, acme_store_t *store, const char *name,
                                  apr_time_t not_after)
{
    acme_ari_state_t *st;
    const char *data, *why;
    apr_size_t len;

    if (acme_store_load(&data, &len, p, store, ACME_STORE_JOBS, name, ARI_ASPECT)
        != APR_SUCCESS
        || acme_ari_state_parse(&st, p, data, len, &why) != APR_SUCCESS
        || st->not_after != not_after) {
        return NULL;
    }
    return st;
}

static void schedule(acmectl_domain_t *dom, apr_pool_t *p, acme_store_t *store,
                     apr_time_t now)
{
    acme_schedule_input_t in;
    acme_schedule_t sched;
    apr_time_t at;

    live_input(&in, dom);
    if (acme_schedule_compute(&sched, &in, now) != APR_SUCCESS) {
        /* impossible dates: the watchdog renews at once (ACME1442) */
        dom->renew_planned = 1;
        dom->renew_at = now;
        dom->renew_reason = "changed";
        return;
    }
    dom->warn_at = sched.warn_at;
    dom->renew_at = sched.renew_at;
    dom->renew_reason = acmectl_domain_reason_name(sched.reason);
    dom->renew_planned = 1;
    if (in.has_cert && sched.state == ACME_SCHEDULE_NOT_DUE
        && (dom->ari = ari_load(p, store, dom->md->name, in.not_after)) != NULL
        && acme_ari_renew_at(&at, dom->ari, &in.renew_window, &in.warn_window,
                             sched.renew_at, now)) {
        dom->renew_at = at;
        dom->renew_reason = "ari";
    }
    if (dom->md->static_files) {
        dom->renew_planned = 0;
        dom->renew_none = "static-files";
    }
    else if (!strcmp(dom->md->renew_mode, "manual")) {
        dom->renew_planned = 0;
        dom->renew_none = "manual";
    }
}

/* When the job's last error happened: its newest "renewal-error" entry in
 * the job's log (mod_md's form, RFC 822 dates), else its last save. */
static apr_time_t error_time(const acme_job_t *job)
{
    json_t *entries = json_object_get(job->log, "entries");
    size_t i;

    for (i = 0; entries && i < json_array_size(entries); ++i) {
        json_t *e = json_array_get(entries, i);
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *when = json_string_value(json_object_get(e, "when"));
        if (type && when && !strcmp(type, "renewal-error")) {
            apr_time_t t = apr_date_parse_rfc(when);
            return t != APR_DATE_BAD ? t : job->updated;
        }
    }
    return job->updated;
}

static void state_decide(acmectl_domain_t *dom, apr_time_t now)
{
    const acme_job_t *job = dom->job;

    if (dom->staged && acme_certset_is_issued(dom->staged)) {
        dom->state = "staged";
    }
    else if (job && job->last_error && job->errors > 0) {
        dom->state = "errored";
    }
    else if (job && job->step != ACME_JOB_DONE) {
        dom->state = "renewing";
    }
    else if (dom->live->usable == 0) {
        dom->state = "no-cert";
    }
    else if (dom->warn_at > 0 && now >= dom->warn_at) {
        dom->state = "expiring";
    }
    else {
        dom->state = "ok";
    }
}

apr_status_t acmectl_domain_load(acmectl_domain_t **pdom, apr_pool_t *p, acme_store_t *store,
                                 const acmectl_md_t *md, apr_time_t now, const char **pwhat)
{
    acmectl_domain_t *dom = apr_pcalloc(p, sizeof(*dom));
    acme_certset_check_t *staged;
    const char *why = NULL;
    apr_status_t rv;

    dom->md = md;
    *pwhat = "the live certificates";
    rv = acme_certset_check(&dom->live, p, store, ACME_STORE_LIVE, md->name, md->pkey_specs,
                            md->names, now);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *pwhat = "the staged certificates";
    rv = acme_store_exists(store, p, ACME_STORE_STAGING, md->name, NULL);
    if (rv == APR_SUCCESS) {
        rv = acme_certset_check(&staged, p, store, ACME_STORE_STAGING, md->name,
                                md->pkey_specs, md->names, now);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        dom->staged = staged;
        dom->staged_complete = acme_certset_is_complete(staged);
    }
    else if (!APR_STATUS_IS_ENOENT(rv)) {
        return rv;
    }
    *pwhat = "the renewal job";
    rv = acme_job_load(&dom->job, p, store, md->name, &why);
    if (rv == APR_EINVAL) {
        dom->job = NULL;
        dom->job_invalid = why ? why : "invalid";
    }
    else if (APR_STATUS_IS_ENOENT(rv)) {
        dom->job = NULL;
    }
    else if (rv != APR_SUCCESS) {
        return rv;
    }
    if (dom->job && dom->job->last_error) {
        dom->error_at = error_time(dom->job);
    }
    schedule(dom, p, store, now);
    state_decide(dom, now);
    *pdom = dom;
    return APR_SUCCESS;
}
