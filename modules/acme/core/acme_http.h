/* HTTP requests and responses, and the transport interface that moves them.
 *
 * Protocol code builds an acme_http_request_t and calls acme_http_perform();
 * it never touches a socket. Behind the interface sits libcurl in production
 * (acme_http_curl.h) and a scripted fake in unit tests.
 *
 * A response is an HTTP answer of any status: 4xx/5xx are APR_SUCCESS at this
 * layer (the caller turns them into an acme_result_t). A non-success return
 * means no usable response arrived; the codes below say why:
 *
 *   ACME_HTTP_ETIMEOUT   (== APR_TIMEUP) connect, total or low-speed timeout
 *   ACME_HTTP_ECONNECT   name resolution, connect, or connection lost midway
 *   ACME_HTTP_ETLS       TLS handshake or certificate verification failed
 *   ACME_HTTP_ETOOLARGE  body over the transport's max_body (its own code: a full
 *                        disk, APR_ENOSPC, must not read as "response too large"),
 *                        or headers over ACME_HTTP_MAX_HEADER_BYTES
 *   ACME_HTTP_EPROTOCOL  the peer did not speak valid HTTP, or too many
 *                        redirects
 *   APR_EINVAL           the request itself was invalid (e.g. a bad URL)
 *   APR_EINTR            the request was cancelled (acme_http_options_t.cancel)
 *
 * acme_http_transport_error() gives the transport's own text for the last
 * failure (e.g. curl's "Failed to connect to ... Connection refused"). */
#ifndef ACME_HTTP_H
#define ACME_HTTP_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/* Our own status codes sit at offset 400 of APR's user range (the HTTP/problem
 * log number range), so that other areas' codes do not collide. */
#define ACME_HTTP_ETIMEOUT  APR_TIMEUP
#define ACME_HTTP_ECONNECT  (APR_OS_START_USERERR + 401)
#define ACME_HTTP_ETLS      (APR_OS_START_USERERR + 402)
#define ACME_HTTP_ETOOLARGE (APR_OS_START_USERERR + 404)
#define ACME_HTTP_EPROTOCOL (APR_OS_START_USERERR + 403)

/* Default cap on a response body; larger bodies fail with ACME_HTTP_ETOOLARGE
 * and are never buffered whole. */
#define ACME_HTTP_MAX_BODY_DEFAULT (1024 * 1024)
/* Cap on the header block of one response (sum of header line lengths). */
#define ACME_HTTP_MAX_HEADER_BYTES (64 * 1024)

/* Media types ACME uses (compare with acme_headers_media_type_is()). */
#define ACME_MEDIA_JSON      "application/json"
#define ACME_MEDIA_PROBLEM   "application/problem+json"
#define ACME_MEDIA_JOSE      "application/jose+json"
#define ACME_MEDIA_PEM_CHAIN "application/pem-certificate-chain"

typedef enum {
    ACME_HTTP_GET,
    ACME_HTTP_HEAD,
    ACME_HTTP_POST
} acme_http_method_e;

typedef struct acme_http_request_t {
    acme_http_method_e method;
    const char *url;            /* absolute http(s) URL */
    apr_table_t *headers;       /* extra request headers; may be NULL */
    const char *content_type;   /* POST body type, e.g. ACME_MEDIA_JOSE */
    const char *body;           /* POST only; need not be NUL-terminated */
    apr_size_t body_len;
} acme_http_request_t;

typedef struct acme_http_response_t {
    int status;                 /* 100..599 */
    apr_table_t *headers;       /* lookups are case-insensitive (apr_table_get);
                                 * repeated headers are separate entries */
    const char *body;           /* NUL-terminated for convenience, but may hold
                                 * NUL bytes: use body_len */
    apr_size_t body_len;
    const char *effective_url;  /* URL that answered (after redirects) */
} acme_http_response_t;

/* What a transport implements. perform() allocates *presp and everything it
 * points to in `p`; on failure it returns one of the codes above and may set
 * *perror to a message (static or in `p`). destroy() releases the baton. */
typedef struct acme_http_transport_vtable_t {
    const char *name;
    apr_status_t (*perform)(acme_http_response_t **presp, apr_pool_t *p, void *baton,
                            const acme_http_request_t *req, const char **perror);
    void (*destroy)(void *baton);
} acme_http_transport_vtable_t;

typedef struct acme_http_transport_t acme_http_transport_t;

/* Options of real transports. Zero timeouts and a zero max_body mean the
 * defaults, so a zeroed struct is safe; acme_http_options_init() spells
 * them out. Strings are copied by the transport. */
typedef struct acme_http_options_t {
    apr_interval_time_t connect_timeout;  /* default 10 s */
    apr_interval_time_t timeout;          /* whole request, default 60 s */
    long low_speed_limit;                 /* bytes/s; 0 = no check */
    apr_interval_time_t low_speed_time;   /* below the limit this long: timeout */
    apr_size_t max_body;                  /* default ACME_HTTP_MAX_BODY_DEFAULT */
    int max_redirects;                    /* 0 (default): redirects are returned
                                           * to the caller as 3xx responses */
    const char *ca_file;        /* PEM trust roots for the CA; NULL = system */
    const char *proxy_url;      /* NULL = libcurl's default (environment
                                 * variables); "" = no proxy at all */
    const char *proxy_ca_file;  /* trust roots for an https:// proxy */
    const char *user_agent;     /* NULL = acme_http_user_agent() */
    /* Non-NULL: a request in flight is given up (APR_EINTR) soon after this
     * becomes non-zero (within about a second), and none starts after: a
     * process that is ending does not wait for a slow peer. Read without a
     * lock from the requesting thread; set it with apr_atomic_set32. */
    volatile apr_uint32_t *cancel;
} acme_http_options_t;

/* "mod_acme/<version>": the default User-Agent (RFC 8555 6.1 asks clients to
 * name themselves). */
const char *acme_http_user_agent(void);

/* Fills `opts` with the defaults: 10 s connect, 60 s total, abort below
 * 10 bytes/s for 30 s, 1 MiB body, no redirects, system trust, env proxy. */
void acme_http_options_init(acme_http_options_t *opts);

/* Wraps an implementation into a transport allocated in `p`. destroy(baton)
 * runs when `p` is cleaned up or at acme_http_transport_destroy(),
 * whichever comes first. */
void acme_http_transport_create(acme_http_transport_t **ptransport, apr_pool_t *p,
                                const acme_http_transport_vtable_t *vtable, void *baton);

/* Destroys the implementation now; the transport must not be used after. */
void acme_http_transport_destroy(acme_http_transport_t *transport);

/* Text of the last failure of acme_http_perform() on this transport ("" after
 * a success). Valid until the next call on the transport. */
const char *acme_http_transport_error(const acme_http_transport_t *transport);

/* Creates a request for `url` with an empty header table, allocated in `p`. */
acme_http_request_t *acme_http_request_make(apr_pool_t *p, acme_http_method_e method,
                                            const char *url);

/* Sends `req` and receives the answer into *presp (allocated in `p`). The URL
 * is checked first (acme_json_check_url: APR_EINVAL). A transport answer that
 * breaks the response invariants gives ACME_HTTP_EPROTOCOL. Logs the request
 * at debug and the body at trace level. A transport is used by one thread at
 * a time: the caller serializes. */
apr_status_t acme_http_perform(acme_http_response_t **presp, apr_pool_t *p,
                               acme_http_transport_t *transport,
                               const acme_http_request_t *req);

/* Header `name` of the response (first one if repeated) or NULL. */
const char *acme_http_response_header(const acme_http_response_t *resp, const char *name);

/* True when the response's Content-Type is `media_type` (parameters and case
 * ignored), e.g. acme_http_response_is_type(resp, ACME_MEDIA_PROBLEM). */
int acme_http_response_is_type(const acme_http_response_t *resp, const char *media_type);

/* "GET", "HEAD" or "POST". */
const char *acme_http_method_name(acme_http_method_e method);

/* Short English text for the ACME_HTTP_E* codes above, NULL for others. */
const char *acme_http_status_text(apr_status_t rv);

#endif /* ACME_HTTP_H */
