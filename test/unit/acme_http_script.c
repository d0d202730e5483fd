/* The scripted fake transport, see acme_http_script.h. */
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "acme_http_script.h"

struct acme_http_script_step_t {
    apr_pool_t *pool;
    acme_http_method_e method;
    const char *url;                /* NULL: any */
    apr_status_t rv;                /* != APR_SUCCESS: fail with it */
    const char *message;
    int status;
    apr_table_t *headers;
    const char *body;
    apr_size_t body_len;
    acme_http_script_check_cb *check;
    void *check_baton;
};

struct acme_http_script_t {
    apr_pool_t *pool;
    apr_array_header_t *steps;      /* of acme_http_script_step_t * */
    int next;                       /* index of the next step to play */
    apr_array_header_t *requests;   /* of acme_http_request_t * (copies) */
    const char *error;
};

static acme_http_request_t *request_copy(apr_pool_t *p, const acme_http_request_t *req)
{
    acme_http_request_t *copy = apr_pmemdup(p, req, sizeof(*req));

    copy->url = apr_pstrdup(p, req->url);
    copy->headers = req->headers ? apr_table_copy(p, req->headers) : apr_table_make(p, 1);
    copy->content_type = req->content_type ? apr_pstrdup(p, req->content_type) : NULL;
    copy->body = req->body ? apr_pstrmemdup(p, req->body, req->body_len) : NULL;
    return copy;
}

static void script_mismatch(acme_http_script_t *s, const char *msg)
{
    if (s->error == NULL) {
        s->error = apr_pstrdup(s->pool, msg);
    }
}

static apr_status_t script_perform(acme_http_response_t **presp, apr_pool_t *p, void *baton,
                                   const acme_http_request_t *req, const char **perror)
{
    acme_http_script_t *s = baton;
    acme_http_script_step_t *step;
    acme_http_response_t *resp;
    const char *why;

    *presp = NULL;
    APR_ARRAY_PUSH(s->requests, acme_http_request_t *) = request_copy(s->pool, req);
    if (s->next >= s->steps->nelts) {
        why = apr_psprintf(p, "script: unexpected request %s %s after the last step",
                           acme_http_method_name(req->method), req->url);
        goto mismatch;
    }
    step = APR_ARRAY_IDX(s->steps, s->next, acme_http_script_step_t *);
    ++s->next;
    if (step->method != req->method || (step->url && strcmp(step->url, req->url) != 0)) {
        why = apr_psprintf(p, "script: step %d expected %s %s, got %s %s", s->next,
                           acme_http_method_name(step->method), step->url ? step->url : "*",
                           acme_http_method_name(req->method), req->url);
        goto mismatch;
    }
    if (step->check && (why = step->check(step->check_baton, req, p)) != NULL) {
        why = apr_psprintf(p, "script: step %d check failed: %s", s->next, why);
        goto mismatch;
    }
    if (step->rv != APR_SUCCESS) {
        *perror = step->message;
        return step->rv;
    }
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->status = step->status;
    resp->headers = apr_table_copy(p, step->headers);
    resp->body = apr_pstrmemdup(p, step->body ? step->body : "", step->body_len);
    resp->body_len = step->body_len;
    resp->effective_url = apr_pstrdup(p, req->url);
    *presp = resp;
    return APR_SUCCESS;

mismatch:
    script_mismatch(s, why);
    *perror = why;
    return APR_EGENERAL;
}

static const acme_http_transport_vtable_t script_vtable = {
    "script", script_perform, NULL
};

acme_http_script_t *acme_http_script_create(acme_http_transport_t **ptransport,
                                            apr_pool_t *p)
{
    acme_http_script_t *s = apr_pcalloc(p, sizeof(*s));

    s->pool = p;
    s->steps = apr_array_make(p, 8, sizeof(acme_http_script_step_t *));
    s->requests = apr_array_make(p, 8, sizeof(acme_http_request_t *));
    acme_http_transport_create(ptransport, p, &script_vtable, s);
    return s;
}

static acme_http_script_step_t *step_add(acme_http_script_t *s, acme_http_method_e method,
                                         const char *url)
{
    acme_http_script_step_t *step = apr_pcalloc(s->pool, sizeof(*step));

    step->pool = s->pool;
    step->method = method;
    step->url = url ? apr_pstrdup(s->pool, url) : NULL;
    step->rv = APR_SUCCESS;
    step->headers = apr_table_make(s->pool, 4);
    APR_ARRAY_PUSH(s->steps, acme_http_script_step_t *) = step;
    return step;
}

acme_http_script_step_t *acme_http_script_add(acme_http_script_t *s,
                                              acme_http_method_e method, const char *url,
                                              int status, const char *content_type,
                                              const char *body)
{
    acme_http_script_step_t *step = step_add(s, method, url);

    step->status = status;
    if (content_type != NULL) {
        apr_table_set(step->headers, "Content-Type", content_type);
    }
    if (body != NULL) {
        acme_http_script_step_body(step, body, strlen(body));
    }
    return step;
}

acme_http_script_step_t *acme_http_script_add_error(acme_http_script_t *s,
                                                    acme_http_method_e method,
                                                    const char *url, apr_status_t rv,
                                                    const char *message)
{
    acme_http_script_step_t *step = step_add(s, method, url);

    step->rv = rv;
    step->message = message ? apr_pstrdup(s->pool, message) : NULL;
    return step;
}

void acme_http_script_step_header(acme_http_script_step_t *step, const char *name,
                                  const char *value)
{
    apr_table_add(step->headers, name, value);
}

void acme_http_script_step_body(acme_http_script_step_t *step, const char *body,
                                apr_size_t len)
{
    step->body = apr_pstrmemdup(step->pool, body, len);
    step->body_len = len;
}

apr_status_t acme_http_script_step_body_file(acme_http_script_step_t *step,
                                             const char *path)
{
    apr_file_t *f;
    apr_finfo_t finfo;
    apr_size_t len;
    char *buf;
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, step->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_info_get(&finfo, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS) {
        len = (apr_size_t)finfo.size;
        buf = apr_palloc(step->pool, len + 1);
        rv = apr_file_read_full(f, buf, len, &len);
        if (rv == APR_SUCCESS) {
            buf[len] = '\0';
            step->body = buf;
            step->body_len = len;
        }
    }
    apr_file_close(f);
    return rv;
}

void acme_http_script_step_check(acme_http_script_step_t *step,
                                 acme_http_script_check_cb *cb, void *baton)
{
    step->check = cb;
    step->check_baton = baton;
}

int acme_http_script_pending(const acme_http_script_t *s)
{
    return s->steps->nelts - s->next;
}

int acme_http_script_count(const acme_http_script_t *s)
{
    return s->requests->nelts;
}

const acme_http_request_t *acme_http_script_request(const acme_http_script_t *s, int i)
{
    if (i < 0 || i >= s->requests->nelts) {
        return NULL;
    }
    return APR_ARRAY_IDX(s->requests, i, const acme_http_request_t *);
}

const char *acme_http_script_error(const acme_http_script_t *s)
{
    return s->error;
}
