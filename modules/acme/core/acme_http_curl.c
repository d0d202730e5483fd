/* libcurl behind the transport interface, see acme_http_curl.h. */
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <curl/curl.h>

#include "acme_http_curl.h"
#include "acme_log.h"

typedef struct {
    CURL *curl;
    apr_size_t max_body;
    char errbuf[CURL_ERROR_SIZE];
    /* State of the request in flight. */
    apr_pool_t *pool;
    apr_table_t *headers;
    apr_size_t header_bytes;
    int header_overflow;
    char *body;               /* malloc'ed, so a growing buffer is freed */
    apr_size_t body_len;
    apr_size_t body_cap;
    int body_overflow;
    volatile apr_uint32_t *cancel;  /* see acme_http_options_t */
} curl_baton_t;

apr_status_t acme_http_curl_global_init(void)
{
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);

    if (cc != CURLE_OK) {
        acme_log(ACME_LOG_ERR, APR_EGENERAL, "ACME0410 libcurl initialization failed: %s",
                 curl_easy_strerror(cc));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* Called once per header line, including each response's status line: with
 * redirects (or a 1xx interim answer) several responses arrive, and only the
 * last one's headers and body are the answer. */
static size_t curl_header_cb(char *buf, size_t size, size_t n, void *baton)
{
    curl_baton_t *cb = baton;
    size_t len = size * n, end = len, start, colon;

    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        apr_table_clear(cb->headers);
        cb->header_bytes = 0;
        cb->body_len = 0;
    }
    cb->header_bytes += len;
    if (cb->header_bytes > ACME_HTTP_MAX_HEADER_BYTES) {
        cb->header_overflow = 1;
        return 0;  /* aborts the transfer */
    }
    while (end > 0 && (buf[end - 1] == '\r' || buf[end - 1] == '\n')) {
        --end;
    }
    for (colon = 0; colon < end && buf[colon] != ':'; ++colon)
        ;
    /* Status lines, the blank end line and obsolete folded lines carry no
     * header we need (ACME servers do not fold). */
    if (colon == 0 || colon == end || buf[0] == ' ' || buf[0] == '\t') {
        return len;
    }
    for (start = colon + 1; start < end && (buf[start] == ' ' || buf[start] == '\t');
         ++start)
        ;
    while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t')) {
        --end;
    }
    apr_table_addn(cb->headers, apr_pstrmemdup(cb->pool, buf, colon),
                   apr_pstrmemdup(cb->pool, buf + start, end - start));
    return len;
}

static size_t curl_write_cb(char *data, size_t size, size_t n, void *baton)
{
    curl_baton_t *cb = baton;
    size_t len = size * n;
    apr_size_t cap;
    char *grown;

    if (len > cb->max_body - cb->body_len) {
        cb->body_overflow = 1;
        return 0;  /* aborts the transfer */
    }
    if (cb->body_len + len > cb->body_cap) {
        cap = cb->body_cap ? cb->body_cap : 16 * 1024;
        while (cap < cb->body_len + len) {
            cap *= 2;
        }
        if (cap > cb->max_body) {
            cap = cb->max_body;
        }
        if ((grown = realloc(cb->body, cap)) == NULL) {
            return 0;
        }
        cb->body = grown;
        cb->body_cap = cap;
    }
    memcpy(cb->body + cb->body_len, data, len);
    cb->body_len += len;
    return len;
}

/* libcurl calls this at least once a second while a request runs, also
 * while it waits for the peer: a non-zero return aborts the request. */
static int curl_progress_cb(void *baton, curl_off_t dltotal, curl_off_t dlnow,
                            curl_off_t ultotal, curl_off_t ulnow)
{
    const curl_baton_t *cb = baton;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return apr_atomic_read32(cb->cancel) != 0;
}

static apr_status_t curl_status(const curl_baton_t *cb, CURLcode cc)
{
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        return APR_EINTR;
    }
    if (cb->body_overflow || cb->header_overflow || cc == CURLE_FILESIZE_EXCEEDED) {
        return ACME_HTTP_ETOOLARGE;
    }
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return ACME_HTTP_ETIMEOUT;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return ACME_HTTP_ECONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
        return ACME_HTTP_ETLS;
    case CURLE_URL_MALFORMAT:
        return APR_EINVAL;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_WRITE_ERROR:  /* our callbacks fail only on overflow or realloc */
        return APR_ENOMEM;
    default:
        return ACME_HTTP_EPROTOCOL;
    }
}

typedef struct {
    struct curl_slist *list;
    int invalid;
} header_list_t;

/* A CR or LF in a header would let its value inject further headers. */
static int header_add_cb(void *baton, const char *name, const char *value)
{
    header_list_t *hl = baton;
    struct curl_slist *grown;
    char *line;

    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n") || *name == '\0') {
        hl->invalid = 1;
        return 0;
    }
    line = malloc(strlen(name) + strlen(value) + 3);
    if (line == NULL) {
        hl->invalid = 1;
        return 0;
    }
    strcpy(line, name);
    strcat(line, ": ");
    strcat(line, value);
    grown = curl_slist_append(hl->list, line);
    free(line);
    if (grown == NULL) {
        hl->invalid = 1;
        return 0;
    }
    hl->list = grown;
    return 1;
}

/* The handle is reused, so every per-request setting is set each time. */
static apr_status_t curl_request_setup(curl_baton_t *cb, const acme_http_request_t *req,
                                       struct curl_slist **phdrs)
{
    CURL *c = cb->curl;
    header_list_t hl = { NULL, 0 };

    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (req->method == ACME_HTTP_HEAD) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    else if (req->method == ACME_HTTP_POST) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    }
    if (req->content_type != NULL) {
        header_add_cb(&hl, "Content-Type", req->content_type);
    }
    if (req->headers != NULL) {
        apr_table_do(header_add_cb, &hl, req->headers, NULL);
    }
    /* No "Expect: 100-continue" round trip for small JWS bodies. */
    if (!hl.invalid && (hl.list = curl_slist_append(hl.list, "Expect:")) == NULL) {
        hl.invalid = 1;
    }
    *phdrs = hl.list;
    if (hl.invalid) {
        return APR_EINVAL;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl.list);
    return APR_SUCCESS;
}

static void curl_request_reset(curl_baton_t *cb, apr_pool_t *p)
{
    cb->pool = p;
    cb->headers = apr_table_make(p, 16);
    cb->header_bytes = 0;
    cb->header_overflow = 0;
    cb->body_len = 0;
    cb->body_overflow = 0;
    cb->errbuf[0] = '\0';
}

static const char *curl_error_text(apr_pool_t *p, const curl_baton_t *cb, CURLcode cc)
{
    if (cb->body_overflow || cc == CURLE_FILESIZE_EXCEEDED) {
        return apr_psprintf(p, "response body exceeds %" APR_SIZE_T_FMT " bytes",
                            cb->max_body);
    }
    if (cb->header_overflow) {
        return apr_psprintf(p, "response headers exceed %d bytes",
                            ACME_HTTP_MAX_HEADER_BYTES);
    }
    return apr_pstrdup(p, cb->errbuf[0] ? cb->errbuf : curl_easy_strerror(cc));
}

static apr_status_t curl_perform(acme_http_response_t **presp, apr_pool_t *p, void *baton,
                                 const acme_http_request_t *req, const char **perror)
{
    curl_baton_t *cb = baton;
    struct curl_slist *hdrs = NULL;
    acme_http_response_t *resp;
    char *effective_url = NULL;
    long status = 0;
    CURLcode cc;
    apr_status_t rv;

    *presp = NULL;
    if (cb->cancel && apr_atomic_read32(cb->cancel)) {
        *perror = "cancelled: the process is ending";
        return APR_EINTR;
    }
    curl_request_reset(cb, p);
    rv = curl_request_setup(cb, req, &hdrs);
    if (rv != APR_SUCCESS) {
        *perror = "request header contains a line break or is empty";
        goto cleanup;
    }
    cc = curl_easy_perform(cb->curl);
    if (cc != CURLE_OK) {
        rv = curl_status(cb, cc);
        *perror = curl_error_text(p, cb, cc);
        goto cleanup;
    }
    curl_easy_getinfo(cb->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(cb->curl, CURLINFO_EFFECTIVE_URL, &effective_url);
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->status = (int)status;
    resp->headers = cb->headers;
    resp->body = apr_pstrmemdup(p, cb->body ? cb->body : "", cb->body_len);
    resp->body_len = cb->body_len;
    resp->effective_url = apr_pstrdup(p, effective_url ? effective_url : req->url);
    *presp = resp;

cleanup:
    curl_easy_setopt(cb->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    free(cb->body);
    cb->body = NULL;
    cb->body_cap = 0;
    cb->pool = NULL;
    cb->headers = NULL;
    return rv;
}

static void curl_destroy(void *baton)
{
    curl_baton_t *cb = baton;

    curl_easy_cleanup(cb->curl);
    cb->curl = NULL;
}

static const acme_http_transport_vtable_t curl_vtable = {
    "libcurl", curl_perform, curl_destroy
};

static long ms_or(apr_interval_time_t t, apr_interval_time_t dflt)
{
    return (long)apr_time_as_msec(t > 0 ? t : dflt);
}

/* Settings that hold for every request of the transport. */
static CURLcode curl_configure(curl_baton_t *cb, const acme_http_options_t *o)
{
    CURL *c = cb->curl;
    CURLcode cc;

#define SET(opt, val) if ((cc = curl_easy_setopt(c, opt, val)) != CURLE_OK) return cc
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, cb->errbuf);
    SET(CURLOPT_HEADERFUNCTION, curl_header_cb);
    SET(CURLOPT_HEADERDATA, cb);
    SET(CURLOPT_WRITEFUNCTION, curl_write_cb);
    SET(CURLOPT_WRITEDATA, cb);
    SET(CURLOPT_CONNECTTIMEOUT_MS, ms_or(o->connect_timeout, apr_time_from_sec(10)));
    SET(CURLOPT_TIMEOUT_MS, ms_or(o->timeout, apr_time_from_sec(60)));
    if (o->low_speed_limit > 0) {
        apr_int64_t secs = apr_time_sec(o->low_speed_time);
        SET(CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
        SET(CURLOPT_LOW_SPEED_TIME, (long)(secs > 0 ? secs : 1));
    }
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cb->max_body);
    SET(CURLOPT_FOLLOWLOCATION, o->max_redirects > 0 ? 1L : 0L);
    SET(CURLOPT_MAXREDIRS, (long)(o->max_redirects > 0 ? o->max_redirects : 0));
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_USERAGENT, o->user_agent ? o->user_agent : acme_http_user_agent());
    if (o->ca_file) {
        SET(CURLOPT_CAINFO, o->ca_file);
    }
    if (o->proxy_url) {
        SET(CURLOPT_PROXY, o->proxy_url);
        SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    }
    if (o->proxy_ca_file) {
        SET(CURLOPT_PROXY_CAINFO, o->proxy_ca_file);
    }
    if (o->cancel) {
        cb->cancel = o->cancel;
        SET(CURLOPT_XFERINFOFUNCTION, curl_progress_cb);
        SET(CURLOPT_XFERINFODATA, cb);
        SET(CURLOPT_NOPROGRESS, 0L);
    }
#undef SET
    return CURLE_OK;
}

apr_status_t acme_http_curl_create(acme_http_transport_t **ptransport, apr_pool_t *p,
                                   const acme_http_options_t *opts)
{
    acme_http_options_t defaults;
    curl_baton_t *cb;
    CURLcode cc;

    *ptransport = NULL;
    if (opts == NULL) {
        acme_http_options_init(&defaults);
        opts = &defaults;
    }
    cb = apr_pcalloc(p, sizeof(*cb));
    cb->max_body = opts->max_body > 0 ? opts->max_body : ACME_HTTP_MAX_BODY_DEFAULT;
    cb->curl = curl_easy_init();
    if (cb->curl == NULL) {
        acme_log(ACME_LOG_ERR, APR_EGENERAL, "ACME0411 libcurl could not create a handle");
        return APR_EGENERAL;
    }
    /* libcurl copies string options, so `opts` need not outlive this call. */
    cc = curl_configure(cb, opts);
    if (cc != CURLE_OK) {
        acme_log(ACME_LOG_ERR, APR_ENOTIMPL, "ACME0412 libcurl rejected an option: %s",
                 curl_easy_strerror(cc));
        curl_easy_cleanup(cb->curl);
        return APR_ENOTIMPL;
    }
    acme_http_transport_create(ptransport, p, &curl_vtable, cb);
    return APR_SUCCESS;
}
