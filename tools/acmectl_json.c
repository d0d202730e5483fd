/* acmectl: the --json form of a domain (documented in docs/acmectl.md;
 * members are only ever added, never renamed or retyped). */
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "acme_job_log.h"
#include "acmectl.h"

const char *acmectl_time_text(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static json_t *time_json(apr_pool_t *p, apr_time_t t)
{
    return t > 0 ? json_string(acmectl_time_text(p, t)) : json_null();
}

static json_t *str_json(const char *s)
{
    return s ? json_string(s) : json_null();
}

const char *acmectl_pair_status(const acme_certset_pair_t *pair)
{
    return pair->status == APR_SUCCESS ? "ok"
           : APR_STATUS_IS_ENOENT(pair->status) ? "missing" : "invalid";
}

static json_t *certs_json(apr_pool_t *p, const acme_certset_check_t *set)
{
    json_t *arr = json_array();
    int i;

    for (i = 0; i < set->pairs->nelts; ++i) {
        const acme_certset_pair_t *pair = &APR_ARRAY_IDX(set->pairs, i, acme_certset_pair_t);
        json_array_append_new(arr, json_pack(
            "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:b}",
            "key-type", pair->spec_name,
            "status", acmectl_pair_status(pair),
            "problem", str_json(pair->problem),
            "not-before", time_json(p, pair->not_before),
            "not-after", time_json(p, pair->not_after),
            "serial", str_json(pair->serial),
            "issuer", str_json(pair->issuer),
            "expired", pair->expired,
            "names-ok", pair->names_ok));
    }
    return arr;
}

static json_t *strings_json(const apr_array_header_t *arr)
{
    json_t *out = json_array();
    int i;

    for (i = 0; i < arr->nelts; ++i) {
        json_array_append_new(out, json_string(APR_ARRAY_IDX(arr, i, const char *)));
    }
    return out;
}

static json_t *problem_json(apr_pool_t *p, const acme_result_t *err)
{
    json_t *subs = json_array();
    int i;

    for (i = 0; i < err->subproblems->nelts; ++i) {
        const acme_subproblem_t *s = APR_ARRAY_IDX(err->subproblems, i, acme_subproblem_t *);
        json_array_append_new(subs, json_pack("{s:o, s:o, s:o}", "type", str_json(s->type),
                                              "detail", str_json(s->detail),
                                              "identifier", str_json(s->id_value)));
    }
    return json_pack("{s:o, s:o, s:o, s:i, s:o, s:o}",
                     "type", str_json(err->problem_type),
                     "detail", str_json(err->detail ? err->detail
                                        : acme_result_status_text(p, err->status)),
                     "activity", str_json(err->activity),
                     "http-status", err->http_status,
                     "retry-at", time_json(p, err->retry_at),
                     "subproblems", subs);
}

static json_t *renewal_json(apr_pool_t *p, const acmectl_domain_t *dom)
{
    return json_pack("{s:b, s:o, s:o, s:o, s:o}",
                     "planned", dom->renew_planned,
                     "at", dom->renew_planned ? time_json(p, dom->renew_at) : json_null(),
                     "reason", str_json(dom->renew_reason),
                     "not-renewed", str_json(dom->renew_none),
                     "warn-at", time_json(p, dom->warn_at));
}

static json_t *last_error_json(apr_pool_t *p, const acmectl_domain_t *dom)
{
    const acme_result_t *err = dom->job ? dom->job->last_error : NULL;

    if (err == NULL) {
        return json_null();
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:i}",
                     "at", time_json(p, dom->error_at),
                     "problem", str_json(err->problem_type),
                     "detail", str_json(err->detail ? err->detail
                                        : acme_result_status_text(p, err->status)),
                     "activity", str_json(err->activity),
                     "errors", (int)dom->job->errors);
}

static json_t *job_json(apr_pool_t *p, const acmectl_domain_t *dom)
{
    const acme_job_t *job = dom->job;

    if (job == NULL) {
        return dom->job_invalid ? json_pack("{s:s}", "invalid", dom->job_invalid) : json_null();
    }
    return json_pack("{s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:i, s:b, s:o, s:o, s:O?}",
                     "step", acme_job_step_name(job->step),
                     "key-index", job->key_index, "key-count", job->key_count,
                     "account", str_json(job->account_id),
                     "order", str_json(job->order_url),
                     "started", time_json(p, job->started),
                     "updated", time_json(p, job->updated),
                     "next-at", time_json(p, job->next_at),
                     "errors", (int)job->errors,
                     "failed", job->failed,
                     "problem", job->last_error ? problem_json(p, job->last_error)
                                                : json_null(),
                     "backoff", job->backoff ? json_true() : json_false(),
                     "log", json_object_get(job->log, "entries"));
}

static json_t *ari_json(apr_pool_t *p, const acme_ari_state_t *st)
{
    if (st == NULL) {
        return json_null();
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
                     "cert-id", str_json(st->cert_id),
                     "window-start", st->has_window ? time_json(p, st->start) : json_null(),
                     "window-end", st->has_window ? time_json(p, st->end) : json_null(),
                     "explanation", str_json(st->explanation),
                     "next-check", time_json(p, st->next_check),
                     "error", str_json(st->error));
}

json_t *acmectl_domain_json(apr_pool_t *p, const acmectl_domain_t *dom, int full)
{
    const acmectl_md_t *md = dom->md;
    json_t *keys = json_array(), *staged = json_null(), *obj;
    int i;

    for (i = 0; i < md->pkey_specs->nelts; ++i) {
        json_array_append_new(keys, json_string(acme_pkey_spec_name(
            p, &APR_ARRAY_IDX(md->pkey_specs, i, acme_pkey_spec_t))));
    }
    if (dom->staged) {
        staged = json_pack("{s:b, s:o, s:o}", "complete", dom->staged_complete,
                           "problem", str_json(dom->staged->problem),
                           "certificates", certs_json(p, dom->staged));
    }
    obj = json_pack("{s:s, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o}",
                    "name", md->name,
                    "names", strings_json(md->names),
                    "state", dom->state,
                    "key-types", keys,
                    "renew-mode", md->renew_mode,
                    "ca", strings_json(md->ca_urls),
                    "certificates", certs_json(p, dom->live),
                    "renewal", renewal_json(p, dom),
                    "staged", staged,
                    "last-error", last_error_json(p, dom));
    if (full && obj) {
        json_object_set_new(obj, "job", job_json(p, dom));
        json_object_set_new(obj, "ari", ari_json(p, dom->ari));
        json_object_set_new(obj, "config", json_pack("{s:s, s:i}", "file", md->file,
                                                     "line", md->line));
    }
    return obj;
}
