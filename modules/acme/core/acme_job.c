/* The renewal job record and job.json, see acme_job.h. */
#include <string.h>

#include <apr_strings.h>

#include "acme_assert.h"
#include "acme_job.h"
#include "acme_job_log.h"
#include "acme_json.h"
#include "acme_keyauth.h"
#include "acme_layout.h"
#include "acme_names.h"
#include "acme_order.h"

/* Longest text member (activity, detail) accepted back from job.json: what
 * we write is bounded by ACME_PROBLEM_MAX_TEXT plus our own words. */
#define JOB_TEXT_MAX (4 * ACME_PROBLEM_MAX_TEXT)

static const char *const step_names[] = {
    "account", "order", "authz", "poll-authz", "finalize", "poll-order", "download",
    "save", "done"
};

#define STEP_COUNT ((int)(sizeof(step_names) / sizeof(step_names[0])))

const char *acme_job_step_name(acme_job_step_e step)
{
    return (int)step >= 0 && (int)step < STEP_COUNT ? step_names[step] : NULL;
}

apr_status_t acme_job_step_parse(acme_job_step_e *pstep, const char *name)
{
    int i;

    for (i = 0; name != NULL && i < STEP_COUNT; ++i) {
        if (strcmp(step_names[i], name) == 0) {
            *pstep = (acme_job_step_e)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

acme_job_t *acme_job_create(apr_pool_t *p, const char *md_name, const json_t *spec,
                            int key_count, apr_time_t now)
{
    acme_job_t *job = apr_pcalloc(p, sizeof(*job));

    job->pool = p;
    job->md_name = apr_pstrdup(p, md_name);
    job->step = ACME_JOB_ACCOUNT;
    job->spec = acme_json_pool_adopt(p, json_deep_copy(spec));
    ACME_ASSERT(json_is_object(job->spec));
    ACME_ASSERT(key_count >= 1 && key_count <= ACME_JOB_MAX_KEYS);
    job->key_count = key_count;
    job->answers = apr_array_make(p, 4, sizeof(acme_job_answer_t));
    job->started = now;
    return job;
}

apr_status_t acme_job_add_answer(acme_job_t *job, const char *identifier, const char *type,
                                 const char *token, const char *value)
{
    acme_job_answer_t *a;
    int i;

    for (i = 0; i < job->answers->nelts; ++i) {
        a = &APR_ARRAY_IDX(job->answers, i, acme_job_answer_t);
        if (!strcmp(a->identifier, identifier) && !strcmp(a->type, type)
            && !strcmp(a->token, token)) {
            return APR_SUCCESS;
        }
    }
    if (job->answers->nelts >= ACME_JOB_MAX_ANSWERS) {
        return APR_ENOSPC;
    }
    a = &APR_ARRAY_PUSH(job->answers, acme_job_answer_t);
    a->identifier = apr_pstrdup(job->pool, identifier);
    a->type = apr_pstrdup(job->pool, type);
    a->token = apr_pstrdup(job->pool, token);
    a->value = value ? apr_pstrdup(job->pool, value) : NULL;
    return APR_SUCCESS;
}

void acme_job_set_error(acme_job_t *job, const acme_result_t *r)
{
    job->last_error = r ? acme_result_copy(job->pool, r) : NULL;
}

void acme_job_set_order(acme_job_t *job, const char *url)
{
    job->order_url = url ? apr_pstrdup(job->pool, url) : NULL;
}

const char *acme_job_time_format(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        tm.tm_usec);
}

/* ------------------------------------------------------------ writing */

/* Sets `key` to a string, or leaves it out for NULL. */
static void set_str(json_t *obj, const char *key, const char *value)
{
    if (value != NULL) {
        json_object_set_new(obj, key, json_string(value));
    }
}

static void set_time(json_t *obj, apr_pool_t *p, const char *key, apr_time_t t)
{
    if (t > 0) {
        json_object_set_new(obj, key, json_string(acme_job_time_format(p, t)));
    }
}

static json_t *result_to_json(apr_pool_t *p, const acme_result_t *r)
{
    json_t *obj = json_object(), *subs = json_array();
    int i;

    json_object_set_new(obj, "status", json_integer(r->status));
    json_object_set_new(obj, "action", json_string(acme_problem_action_name(r->action)));
    set_str(obj, "activity", r->activity);
    if (r->http_status) {
        json_object_set_new(obj, "http-status", json_integer(r->http_status));
    }
    set_str(obj, "type", r->problem_type);
    set_str(obj, "detail", r->detail);
    set_time(obj, p, "retry-at", r->retry_at);
    for (i = 0; i < r->subproblems->nelts; ++i) {
        const acme_subproblem_t *s = APR_ARRAY_IDX(r->subproblems, i, acme_subproblem_t *);
        json_t *sub = json_object();
        set_str(sub, "type", s->type);
        set_str(sub, "detail", s->detail);
        if (s->id_value != NULL) {
            json_t *id = json_object();
            set_str(id, "type", s->id_type);
            set_str(id, "value", s->id_value);
            json_object_set_new(sub, "identifier", id);
        }
        json_array_append_new(subs, sub);
    }
    json_object_set_new(obj, "subproblems", subs);
    return obj;
}

static json_t *answers_to_json(const apr_array_header_t *answers)
{
    json_t *arr = json_array();
    int i;

    for (i = 0; i < answers->nelts; ++i) {
        const acme_job_answer_t *a = &APR_ARRAY_IDX(answers, i, acme_job_answer_t);
        json_t *obj = json_pack("{s:s, s:s, s:s}", "identifier", a->identifier, "type",
                                a->type, "token", a->token);
        if (a->value) {
            json_object_set_new(obj, "value", json_string(a->value));
        }
        json_array_append_new(arr, obj);
    }
    return arr;
}

apr_status_t acme_job_to_json(const char **ptext, apr_size_t *plen, apr_pool_t *p,
                              const acme_job_t *job)
{
    json_t *obj = acme_json_pool_adopt(p, json_object());

    json_object_set_new(obj, "format", json_integer(ACME_JOB_FORMAT));
    json_object_set_new(obj, "md", json_string(job->md_name));
    json_object_set_new(obj, "step", json_string(acme_job_step_name(job->step)));
    json_object_set(obj, "spec", job->spec);
    json_object_set_new(obj, "key-index", json_integer(job->key_index));
    json_object_set_new(obj, "key-count", json_integer(job->key_count));
    set_str(obj, "account", job->account_id);
    set_str(obj, "order", job->order_url);
    json_object_set_new(obj, "answers", answers_to_json(job->answers));
    if (job->answered_by > 0) {
        json_object_set_new(obj, "answered-by", json_integer(job->answered_by));
    }
    json_object_set_new(obj, "failed", json_boolean(job->failed));
    json_object_set_new(obj, "backoff", json_boolean(job->backoff));
    json_object_set_new(obj, "errors", json_integer(job->errors));
    set_time(obj, p, "started", job->started);
    set_time(obj, p, "updated", job->updated);
    set_time(obj, p, "next-at", job->next_at);
    if (job->last_error != NULL) {
        json_object_set_new(obj, "last-error", result_to_json(p, job->last_error));
    }
    if (job->log != NULL) {
        json_object_set(obj, "log", job->log);
    }
    return acme_json_dump(ptext, plen, p, obj);
}

/* ------------------------------------------------------------ reading */

/* An optional RFC 3339 member; absent gives 0. */
static apr_status_t get_time(apr_time_t *pt, apr_pool_t *p, const json_t *obj,
                             const char *key, const char **perr)
{
    const char *s;
    apr_status_t rv;

    *pt = 0;
    if ((rv = acme_json_get_string_opt(&s, p, obj, key, perr)) != APR_SUCCESS || s == NULL) {
        return rv;
    }
    if (strlen(s) > 64 || acme_order_parse_time(pt, s) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "'%s' is not an RFC 3339 time", key);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* An optional text member of bounded length. */
static apr_status_t get_text(const char **pval, apr_pool_t *p, const json_t *obj,
                             const char *key, const char **perr)
{
    apr_status_t rv = acme_json_get_string_opt(pval, p, obj, key, perr);

    if (rv == APR_SUCCESS && *pval != NULL && strlen(*pval) > JOB_TEXT_MAX) {
        *perr = apr_psprintf(p, "'%s' is too long", key);
        return APR_EINVAL;
    }
    return rv;
}

/* An integer member in [min, max]. */
static apr_status_t get_int_range(int *pval, apr_pool_t *p, const json_t *obj,
                                  const char *key, apr_int64_t min, apr_int64_t max,
                                  const char **perr)
{
    apr_int64_t v;
    apr_status_t rv;

    if ((rv = acme_json_get_int(&v, p, obj, key, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (v < min || v > max) {
        *perr = apr_psprintf(p, "'%s' is out of range", key);
        return APR_EINVAL;
    }
    *pval = (int)v;
    return APR_SUCCESS;
}

static apr_status_t action_parse(acme_problem_action_e *paction, const char *name)
{
    static const acme_problem_action_e actions[] = {
        ACME_ACTION_RETRY, ACME_ACTION_GIVE_UP, ACME_ACTION_FIX_CONFIG
    };
    apr_size_t i;

    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); ++i) {
        if (!strcmp(acme_problem_action_name(actions[i]), name)) {
            *paction = actions[i];
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

static apr_status_t subproblem_from_json(acme_subproblem_t **psub, apr_pool_t *p,
                                         const json_t *obj, const char **perr)
{
    acme_subproblem_t *s = apr_pcalloc(p, sizeof(*s));
    const json_t *id;
    apr_status_t rv;

    if (!json_is_object(obj)) {
        *perr = "a subproblem is not an object";
        return APR_EINVAL;
    }
    if ((rv = get_text(&s->type, p, obj, "type", perr)) != APR_SUCCESS
        || (rv = get_text(&s->detail, p, obj, "detail", perr)) != APR_SUCCESS) {
        return rv;
    }
    if ((id = json_object_get(obj, "identifier")) != NULL) {
        if (!json_is_object(id)
            || (rv = get_text(&s->id_type, p, id, "type", perr)) != APR_SUCCESS
            || (rv = get_text(&s->id_value, p, id, "value", perr)) != APR_SUCCESS) {
            *perr = "a subproblem's identifier is invalid";
            return APR_EINVAL;
        }
    }
    *psub = s;
    return APR_SUCCESS;
}

static apr_status_t result_from_json(acme_result_t **pr, apr_pool_t *p, const json_t *obj,
                                     const char **perr)
{
    acme_result_t *r = acme_result_create(p);
    const char *action;
    const json_t *subs;
    apr_int64_t status;
    apr_status_t rv;
    size_t i;

    if ((rv = acme_json_get_int(&status, p, obj, "status", perr)) != APR_SUCCESS
        || (rv = acme_json_get_string(&action, p, obj, "action", perr)) != APR_SUCCESS
        || (rv = get_text(&r->activity, p, obj, "activity", perr)) != APR_SUCCESS
        || (rv = get_text(&r->problem_type, p, obj, "type", perr)) != APR_SUCCESS
        || (rv = get_text(&r->detail, p, obj, "detail", perr)) != APR_SUCCESS
        || (rv = get_time(&r->retry_at, p, obj, "retry-at", perr)) != APR_SUCCESS
        || (rv = acme_json_get_array(&subs, p, obj, "subproblems", perr)) != APR_SUCCESS) {
        return rv;
    }
    if (status <= 0 || status > 0x7fffffff || action_parse(&r->action, action)) {
        *perr = "the error's status or action is invalid";
        return APR_EINVAL;
    }
    r->status = (apr_status_t)status;
    if (json_object_get(obj, "http-status") != NULL
        && (rv = get_int_range(&r->http_status, p, obj, "http-status", 100, 599, perr))) {
        return rv;
    }
    if (json_array_size(subs) > ACME_PROBLEM_MAX_SUBPROBLEMS) {
        *perr = "too many subproblems";
        return APR_EINVAL;
    }
    for (i = 0; i < json_array_size(subs); ++i) {
        acme_subproblem_t *s;
        if ((rv = subproblem_from_json(&s, p, json_array_get(subs, i), perr)) != APR_SUCCESS) {
            return rv;
        }
        APR_ARRAY_PUSH(r->subproblems, acme_subproblem_t *) = s;
    }
    *pr = r;
    return APR_SUCCESS;
}

static apr_status_t answers_from_json(acme_job_t *job, const json_t *arr, const char **perr)
{
    const char *identifier, *type, *token, *value;
    apr_pool_t *p = job->pool;
    size_t i;

    if (json_array_size(arr) > ACME_JOB_MAX_ANSWERS) {
        *perr = "too many answers";
        return APR_EINVAL;
    }
    for (i = 0; i < json_array_size(arr); ++i) {
        const json_t *a = json_array_get(arr, i);
        if (!json_is_object(a)
            || acme_json_get_string(&identifier, p, a, "identifier", perr)
            || acme_json_get_string(&type, p, a, "type", perr)
            || acme_json_get_string(&token, p, a, "token", perr)
            || acme_json_get_string_opt(&value, p, a, "value", perr)
            || acme_names_check_domain(identifier, 0) != APR_SUCCESS
            || (strcmp(type, "http-01") && strcmp(type, "tls-alpn-01")
                && strcmp(type, "dns-01"))
            || !acme_keyauth_token_is_valid(token)
            || (!strcmp(type, "dns-01") != (value != NULL))
            || (value && !acme_keyauth_token_is_valid(value))) {
            *perr = "an answer is invalid";
            return APR_EINVAL;
        }
        acme_job_add_answer(job, identifier, type, token, value);
    }
    return APR_SUCCESS;
}

/* The members that say where the job stands. */
static apr_status_t job_position_from_json(acme_job_t *job, const json_t *obj,
                                           const char **perr)
{
    apr_pool_t *p = job->pool;
    const char *step, *url;
    apr_status_t rv;

    if ((rv = acme_json_get_string(&step, p, obj, "step", perr)) != APR_SUCCESS) {
        return rv;
    }
    if (acme_job_step_parse(&job->step, step) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "unknown step '%s'", acme_names_printable(p, step));
        return APR_EINVAL;
    }
    if ((rv = get_int_range(&job->key_count, p, obj, "key-count", 1, ACME_JOB_MAX_KEYS, perr))
        || (rv = get_int_range(&job->key_index, p, obj, "key-index", 0, job->key_count - 1,
                               perr))
        || (rv = acme_json_get_string_opt(&job->account_id, p, obj, "account", perr))
        || (rv = acme_json_get_string_opt(&url, p, obj, "order", perr))) {
        return rv;
    }
    if (job->account_id && acme_names_check_id(job->account_id) != APR_SUCCESS) {
        *perr = "the account id is invalid";
        return APR_EINVAL;
    }
    if (url && (rv = acme_json_check_url(url, perr)) != APR_SUCCESS) {
        return rv;
    }
    job->order_url = url;
    return APR_SUCCESS;
}

static apr_status_t job_state_from_json(acme_job_t *job, const json_t *obj,
                                        const char **perr)
{
    apr_pool_t *p = job->pool;
    const json_t *answers, *err;
    int errors;
    apr_status_t rv;

    if ((rv = acme_json_get_array(&answers, p, obj, "answers", perr))
        || (rv = answers_from_json(job, answers, perr))
        || (rv = acme_json_get_bool(&job->failed, p, obj, "failed", perr))
        || (rv = acme_json_get_bool(&job->backoff, p, obj, "backoff", perr))
        || (rv = get_int_range(&errors, p, obj, "errors", 0, 1000000, perr))
        || (rv = get_time(&job->started, p, obj, "started", perr))
        || (rv = get_time(&job->updated, p, obj, "updated", perr))
        || (rv = get_time(&job->next_at, p, obj, "next-at", perr))) {
        return rv;
    }
    job->errors = (unsigned int)errors;
    if ((err = json_object_get(obj, "answered-by")) != NULL) {  /* optional */
        if (!json_is_integer(err) || json_integer_value(err) < 0
            || json_integer_value(err) > 0x7fffffff) {
            *perr = "'answered-by' is not a process id";
            return APR_EINVAL;
        }
        job->answered_by = (long)json_integer_value(err);
    }
    if ((err = json_object_get(obj, "last-error")) != NULL) {
        if (!json_is_object(err)) {
            *perr = "'last-error' is not an object";
            return APR_EINVAL;
        }
        if ((rv = result_from_json(&job->last_error, p, err, perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    if ((err = json_object_get(obj, "log")) != NULL) {         /* optional */
        return acme_job_log_from_json(&job->log, p, err, perr);
    }
    return APR_SUCCESS;
}

apr_status_t acme_job_from_json(acme_job_t **pjob, apr_pool_t *p, const char *md_name,
                                const char *text, apr_size_t len, const char **perr)
{
    acme_job_t *job = apr_pcalloc(p, sizeof(*job));
    const char *md;
    const json_t *spec;
    json_t *obj;
    apr_int64_t format;
    apr_status_t rv;

    job->pool = p;
    job->answers = apr_array_make(p, 4, sizeof(acme_job_answer_t));
    if ((rv = acme_json_parse(&obj, p, text, len, ACME_JSON_OBJECT, perr))
        || (rv = acme_json_get_int(&format, p, obj, "format", perr))
        || (rv = acme_json_get_string(&md, p, obj, "md", perr))
        || (rv = acme_json_get_object(&spec, p, obj, "spec", perr))) {
        return rv;
    }
    if (format != ACME_JOB_FORMAT) {
        *perr = apr_psprintf(p, "format %" APR_INT64_T_FMT " is not %d", format,
                             ACME_JOB_FORMAT);
        return APR_EINVAL;
    }
    if (strcmp(md, md_name) != 0) {
        *perr = apr_psprintf(p, "the job is for '%s'", acme_names_printable(p, md));
        return APR_EINVAL;
    }
    job->md_name = md;
    job->spec = acme_json_pool_adopt(p, json_deep_copy(spec));
    if ((rv = job_position_from_json(job, obj, perr)) != APR_SUCCESS
        || (rv = job_state_from_json(job, obj, perr)) != APR_SUCCESS) {
        return rv;
    }
    *pjob = job;
    return APR_SUCCESS;
}

apr_status_t acme_job_load(acme_job_t **pjob, apr_pool_t *p, acme_store_t *store,
                           const char *md_name, const char **perr)
{
    const char *text;
    apr_size_t len;
    apr_status_t rv;

    rv = acme_store_load(&text, &len, p, store, ACME_STORE_JOBS, md_name, ACME_ASPECT_JOB);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return acme_job_from_json(pjob, p, md_name, text, len, perr);
}

apr_status_t acme_job_save(acme_job_t *job, apr_pool_t *p, acme_store_t *store,
                           apr_time_t now)
{
    const char *text;
    apr_size_t len;
    apr_status_t rv;

    job->updated = now;
    if ((rv = acme_job_to_json(&text, &len, p, job)) != APR_SUCCESS) {
        return rv;
    }
    return acme_store_save(store, p, ACME_STORE_JOBS, job->md_name, ACME_ASPECT_JOB, text,
                           len, 0);
}
