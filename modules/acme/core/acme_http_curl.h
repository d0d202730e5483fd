/* The libcurl transport (see acme_http.h for the interface and its error
 * codes).
 *
 * One transport owns one CURL easy handle that is reused for every request,
 * so consecutive requests to the CA share a kept-alive connection (and TLS
 * session). A transport is used by ONE thread at a time: concurrent jobs each
 * create their own transport (or serialize on a lock). Signals are never
 * used (CURLOPT_NOSIGNAL), so transports are safe in threaded httpd MPMs.
 *
 * Only http:// and https:// are spoken, also on redirects; TLS peers are
 * always verified. Response bodies are capped at opts->max_body: a larger
 * answer (announced or streamed) fails with ACME_HTTP_ETOOLARGE without
 * being buffered. */
#ifndef ACME_HTTP_CURL_H
#define ACME_HTTP_CURL_H

#include <apr_errno.h>
#include <apr_pools.h>

#include "acme_http.h"

/* Initializes libcurl for the whole process. Call once at start-up, before
 * any thread is created and before the first acme_http_curl_create() (httpd:
 * in post_config). APR_EGENERAL if libcurl cannot initialize. */
apr_status_t acme_http_curl_global_init(void);

/* Creates a transport in `p`; its handle is released when `p` is cleaned up
 * (or at acme_http_transport_destroy()). `opts` may be NULL for defaults;
 * its strings are copied. APR_EGENERAL when libcurl cannot create a handle,
 * APR_ENOTIMPL when this libcurl lacks a requested option (e.g. proxy CA). */
apr_status_t acme_http_curl_create(acme_http_transport_t **ptransport, apr_pool_t *p,
                                   const acme_http_options_t *opts);

#endif /* ACME_HTTP_CURL_H */
