/* The ACME client: one CA, one transport, one account (RFC 8555 6).
 *
 * The client knows the CA's directory, keeps a pool of Replay-Nonces and
 * signs requests with the account key: either with the account URL ("kid")
 * once the account exists, or with an explicit key's JWK (newAccount,
 * revokeCert by certificate key). A POST that the CA answers with badNonce is
 * re-signed with a fresh nonce and sent again, at most ACME_CLIENT_NONCE_TRIES
 * times in all. Nonces from every response are pooled.
 *
 * The client never sleeps: a 429 or 503 fills the result's retry_at and
 * returns. Requests still block on the network (bounded by the transport's
 * timeouts). One client is used by one thread at a time.
 *
 * Ownership: the transport and the account key are borrowed and must outlive
 * the client; the client's own state lives in a child pool of the pool it was
 * created in, with bounded growth (nonces use fixed storage). Responses and
 * documents are allocated in the per-call pool `p`.
 *
 * Errors: every function that talks to the CA returns an apr_status_t and
 * fills the acme_result_t (keeping the activity the caller set):
 *   ACME_EPROBLEM  the CA answered with an error (problem document, HTTP
 *                  status, retry_at from Retry-After)
 *   ACME_HTTP_E*   no usable answer (acme_http.h)
 *   APR_EINVAL     the CA's answer (or our input) is invalid
 *   APR_ENOTIMPL   the CA does not offer what was asked (no keyChange...) */
#ifndef ACME_CLIENT_H
#define ACME_CLIENT_H

#include <apr_pools.h>
#include <jansson.h>

#include "acme_directory.h"
#include "acme_http.h"
#include "acme_pkey.h"
#include "acme_result.h"

/* How many times one POST is sent when the CA keeps answering badNonce. A
 * real CA sends badNonce rarely (an expired nonce); pebble's fault knob
 * PEBBLE_WFE_NONCEREJECT=50 rejects half of all good nonces, where 5 tries
 * would fail 1 request in 32. 16 tries fail 1 in 65536 there, and a CA that
 * refuses 16 fresh nonces in a row is broken: the loop stays bounded. */
#define ACME_CLIENT_NONCE_TRIES 16

typedef struct acme_client_t acme_client_t;

/* Creates a client for the directory at `directory_url` (absolute http(s),
 * copied). Nothing is sent yet. APR_EINVAL for a bad URL (in r). */
apr_status_t acme_client_create(acme_client_t **pclient, apr_pool_t *p,
                                acme_http_transport_t *transport,
                                const char *directory_url, acme_result_t *r);

/* Fetches and parses the directory (again, if already loaded). Requests that
 * need it load it on first use, so calling this is optional. */
apr_status_t acme_client_load_directory(acme_client_t *c, apr_pool_t *p, acme_result_t *r);

/* The directory, or NULL until loaded. Valid until the next load. */
const acme_directory_t *acme_client_get_directory(const acme_client_t *c);

/* Sets the account key (borrowed) and the account URL (copied; NULL until
 * the account is registered or looked up). */
void acme_client_set_account(acme_client_t *c, const acme_pkey_t *key, const char *kid);
const acme_pkey_t *acme_client_get_key(const acme_client_t *c);
const char *acme_client_get_kid(const acme_client_t *c);

/* Nonces currently pooled (for tests and status). */
int acme_client_nonce_count(const acme_client_t *c);

/* Unsigned GET of `url` (directory, renewalInfo). Non-2xx: ACME_EPROBLEM. */
apr_status_t acme_client_get(acme_http_response_t **presp, apr_pool_t *p, acme_client_t *c,
                             const char *url, acme_result_t *r);

/* Signed POST of `payload` (an object, or NULL for POST-as-GET) to `url`,
 * with the account key and kid (the account must be set). Success is any
 * 2xx answer, returned in *presp; anything else fills r. */
apr_status_t acme_client_post(acme_http_response_t **presp, apr_pool_t *p, acme_client_t *c,
                              const char *url, const json_t *payload, acme_result_t *r);

/* POST-as-GET (RFC 8555 6.3): acme_client_post() with an empty payload. */
apr_status_t acme_client_post_as_get(acme_http_response_t **presp, apr_pool_t *p,
                                     acme_client_t *c, const char *url, acme_result_t *r);

/* Signed POST with `key`'s JWK in the protected header instead of a kid:
 * newAccount (key = the account key) and revokeCert by certificate key. */
apr_status_t acme_client_post_jwk(acme_http_response_t **presp, apr_pool_t *p,
                                  acme_client_t *c, const char *url, const json_t *payload,
                                  const acme_pkey_t *key, acme_result_t *r);

/* The body of a successful answer as a JSON object (owned by `p`).
 * APR_EINVAL / APR_ENOSPC in r, naming `what`, when it is not. */
apr_status_t acme_client_response_json(json_t **pjson, apr_pool_t *p,
                                       const acme_http_response_t *resp, const char *what,
                                       acme_result_t *r);

/* The Location header of an answer, checked as an absolute http(s) URL.
 * APR_EINVAL in r, naming `what`, when missing or invalid. */
apr_status_t acme_client_response_location(const char **purl, apr_pool_t *p,
                                           const acme_http_response_t *resp,
                                           const char *what, acme_result_t *r);

#endif /* ACME_CLIENT_H */
