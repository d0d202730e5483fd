/* A scripted fake transport for unit tests (linked into unit programs only).
 *
 * A test lists the exchanges it expects, in order: each step names the
 * request it expects (method and URL) and the answer to give (an HTTP
 * response, or a transport failure). The transport plays the steps one per
 * request, records a copy of every request it receives, and notes the first
 * mismatch (wrong method/URL, a request after the last step, or a failed
 * step check) so the test can assert that the conversation went as planned:
 *
 *     acme_http_transport_t *t;
 *     acme_http_script_t *s = acme_http_script_create(&t, pool);
 *     step = acme_http_script_add(s, ACME_HTTP_HEAD, url, 200, NULL, NULL);
 *     acme_http_script_step_header(step, "Replay-Nonce", "abc");
 *     ... run the client against t ...
 *     ck_assert_ptr_null(acme_http_script_error(s));
 *     ck_assert_int_eq(acme_http_script_pending(s), 0);
 *
 * Everything lives in the pool given to acme_http_script_create(). */
#ifndef ACME_HTTP_SCRIPT_H
#define ACME_HTTP_SCRIPT_H

#include <apr_pools.h>

#include "acme_http.h"

typedef struct acme_http_script_t acme_http_script_t;
typedef struct acme_http_script_step_t acme_http_script_step_t;

/* Optional per-step check of the request, e.g. to verify a JWS body.
 * Returns NULL when the request is fine, else a message (in `p`); the step
 * then fails like a mismatch. */
typedef const char *acme_http_script_check_cb(void *baton, const acme_http_request_t *req,
                                              apr_pool_t *p);

/* Creates an empty script and the transport that plays it. */
acme_http_script_t *acme_http_script_create(acme_http_transport_t **ptransport,
                                            apr_pool_t *p);

/* Appends a step: expects `method` on `url` (NULL: any URL) and answers
 * `status` with `body` (NUL-terminated text or NULL; copied) and, when not
 * NULL, a Content-Type header. */
acme_http_script_step_t *acme_http_script_add(acme_http_script_t *s,
                                              acme_http_method_e method, const char *url,
                                              int status, const char *content_type,
                                              const char *body);

/* Appends a step that fails with transport error `rv` and `message`. */
acme_http_script_step_t *acme_http_script_add_error(acme_http_script_t *s,
                                                    acme_http_method_e method,
                                                    const char *url, apr_status_t rv,
                                                    const char *message);

/* Adds a response header to a step (repeatable, e.g. several Link headers). */
void acme_http_script_step_header(acme_http_script_step_t *step, const char *name,
                                  const char *value);

/* Sets a binary-safe body. */
void acme_http_script_step_body(acme_http_script_step_t *step, const char *body,
                                apr_size_t len);

/* Loads the body from a file (e.g. under ACME_TEST_DATA). */
apr_status_t acme_http_script_step_body_file(acme_http_script_step_t *step,
                                             const char *path);

/* Runs `cb` on the request before answering. */
void acme_http_script_step_check(acme_http_script_step_t *step,
                                 acme_http_script_check_cb *cb, void *baton);

/* Steps not played yet. */
int acme_http_script_pending(const acme_http_script_t *s);

/* Requests received so far, and a copy of the i-th (0-based; NULL when out
 * of range). */
int acme_http_script_count(const acme_http_script_t *s);
const acme_http_request_t *acme_http_script_request(const acme_http_script_t *s, int i);

/* The first mismatch, or NULL when every request was as expected. */
const char *acme_http_script_error(const acme_http_script_t *s);

#endif /* ACME_HTTP_SCRIPT_H */
