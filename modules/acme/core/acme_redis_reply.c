/* Replies of the Redis connection (acme_redis_int.h): bounds checked on the
 * wire, parsed by hiredis' reader, converted into a pool-allocated tree. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_redis_int.h"

#define REPLY_ERROR_TEXT_MAX 200

void acme_redis_frame_reset(acme_redis_frame_t *frame)
{
    memset(frame, 0, sizeof(*frame));
}

static apr_status_t frame_fail(const char **pwhy, apr_status_t rv, const char *why)
{
    *pwhy = why;
    return rv;
}

/* The length of a '$' or '*' line: -1, or 0..10^18-1; -2 when it is no
 * length (more digits than that are no length either). */
static long long frame_length(const acme_redis_frame_t *f)
{
    apr_size_t i = 1, end = f->line_len - 2;     /* the '\r' */
    long long n = 0;

    if (f->line_len > sizeof(f->head) || end < 2 || end > 19) {
        return -2;
    }
    if (f->head[1] == '-') {
        return end == 3 && f->head[2] == '1' ? -1 : -2;
    }
    for (; i < end; ++i) {
        if (!apr_isdigit(f->head[i])) {
            return -2;
        }
        n = n * 10 + (f->head[i] - '0');
    }
    return n;
}

/* A whole line (head, CRLF) was seen. */
static apr_status_t frame_line(acme_redis_frame_t *f, apr_pool_t *p, const char **pwhy)
{
    long long n;

    if (++f->items > ACME_REDIS_ITEMS_MAX) {
        *pwhy = apr_psprintf(p, "reply with more than %d values", ACME_REDIS_ITEMS_MAX);
        return ACME_REDIS_ETOOLARGE;
    }
    switch (f->head[0]) {
    case '+': case '-': case ':':
        return APR_SUCCESS;
    default:
        break;
    }
    if ((n = frame_length(f)) == -2) {
        return frame_fail(pwhy, ACME_REDIS_EPROTOCOL, "invalid length in the reply");
    }
    if (f->head[0] == '$' && n > ACME_REDIS_BULK_MAX) {
        *pwhy = apr_psprintf(p, "reply announces a string of %" APR_INT64_T_FMT
                             " bytes (at most %d)", (apr_int64_t)n, ACME_REDIS_BULK_MAX);
        return ACME_REDIS_ETOOLARGE;
    }
    if (f->head[0] == '*' && n > (long long)(ACME_REDIS_ITEMS_MAX - f->items)) {
        *pwhy = apr_psprintf(p, "reply announces an array of %" APR_INT64_T_FMT
                             " values (at most %d)", (apr_int64_t)n, ACME_REDIS_ITEMS_MAX);
        return ACME_REDIS_ETOOLARGE;
    }
    if (f->head[0] == '$' && n >= 0) {
        f->skip = (apr_size_t)n + 2;
    }
    return APR_SUCCESS;
}

static apr_status_t frame_check(acme_redis_frame_t *f, apr_pool_t *p, const char *buf,
                                apr_size_t len, const char **pwhy)
{
    apr_size_t i = 0, k;
    apr_status_t rv;
    char c;

    if (len > ACME_REDIS_REPLY_MAX - f->total) {
        *pwhy = apr_psprintf(p, "reply larger than %d bytes", ACME_REDIS_REPLY_MAX);
        return ACME_REDIS_ETOOLARGE;
    }
    f->total += len;
    while (i < len) {
        if (f->skip > 0) {
            k = f->skip < len - i ? f->skip : len - i;
            f->skip -= k;
            i += k;
            continue;
        }
        c = buf[i++];
        if (f->line_len < sizeof(f->head)) {
            f->head[f->line_len] = c;
        }
        /* a wrong first byte fails at once, not after a line that may never end */
        if (f->line_len++ == 0 && (c == '\0' || strchr("+-:$*", c) == NULL)) {
            return frame_fail(pwhy, ACME_REDIS_EPROTOCOL, "not a Redis reply (unknown type byte)");
        }
        if (c == '\n') {
            /* CRLF only: hiredis ends lines at CRLF, and both must agree on
             * where a line ends for the bounds to hold */
            if (f->prev != '\r') {
                return frame_fail(pwhy, ACME_REDIS_EPROTOCOL, "reply line not ended by CRLF");
            }
            rv = frame_line(f, p, pwhy);
            f->line_len = 0;
            f->prev = 0;
            if (rv != APR_SUCCESS) {
                return rv;
            }
            continue;
        }
        if (f->line_len > ACME_REDIS_LINE_MAX) {
            *pwhy = apr_psprintf(p, "reply line longer than %d bytes", ACME_REDIS_LINE_MAX);
            return ACME_REDIS_ETOOLARGE;
        }
        f->prev = c;
    }
    return APR_SUCCESS;
}

/* hiredis' reply into our tree, in `p`. */
static apr_status_t reply_convert(acme_redis_reply_t **pout, apr_pool_t *p, const redisReply *r)
{
    acme_redis_reply_t *out = apr_pcalloc(p, sizeof(*out));
    apr_status_t rv;
    size_t i;

    switch (r->type) {
    case REDIS_REPLY_STRING: out->type = ACME_REDIS_REPLY_STRING; break;
    case REDIS_REPLY_STATUS: out->type = ACME_REDIS_REPLY_STATUS; break;
    case REDIS_REPLY_ERROR: out->type = ACME_REDIS_REPLY_ERROR; break;
    case REDIS_REPLY_INTEGER: out->type = ACME_REDIS_REPLY_INTEGER; break;
    case REDIS_REPLY_NIL: out->type = ACME_REDIS_REPLY_NIL; break;
    case REDIS_REPLY_ARRAY: out->type = ACME_REDIS_REPLY_ARRAY; break;
    default: return ACME_REDIS_EPROTOCOL;
    }
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS
        || r->type == REDIS_REPLY_ERROR) {
        out->str = apr_pstrmemdup(p, r->str ? r->str : "", r->str ? r->len : 0);
        out->len = r->str ? r->len : 0;
    }
    out->integer = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        out->elements = r->elements;
        out->element = apr_pcalloc(p, r->elements * sizeof(*out->element));
        for (i = 0; i < r->elements; ++i) {
            if ((rv = reply_convert(&out->element[i], p, r->element[i])) != APR_SUCCESS) {
                return rv;
            }
        }
    }
    *pout = out;
    return APR_SUCCESS;
}

apr_status_t acme_redis_reply_feed(acme_redis_reply_t **preply, apr_pool_t *p,
                                   redisReader *reader, acme_redis_frame_t *frame,
                                   const char *buf, apr_size_t len, const char **pwhy)
{
    void *obj = NULL;
    apr_status_t rv;

    *preply = NULL;
    if ((rv = frame_check(frame, p, buf, len, pwhy)) != APR_SUCCESS) {
        return rv;
    }
    if (redisReaderFeed(reader, buf, len) != REDIS_OK
        || redisReaderGetReply(reader, &obj) != REDIS_OK) {
        acme_redis_reply_t text = { ACME_REDIS_REPLY_ERROR };

        text.str = reader->errstr;
        text.len = strlen(reader->errstr);
        *pwhy = apr_pstrcat(p, "invalid reply: ", acme_redis_reply_error_text(p, &text, NULL),
                            NULL);
        return ACME_REDIS_EPROTOCOL;
    }
    if (obj == NULL) {
        return APR_SUCCESS;
    }
    if (reader->pos < reader->len) {
        rv = frame_fail(pwhy, ACME_REDIS_EPROTOCOL, "unexpected data after the reply");
    }
    else if ((rv = reply_convert(preply, p, obj)) != APR_SUCCESS) {
        *preply = NULL;
        *pwhy = "unknown reply type";
    }
    freeReplyObject(obj);
    return rv;
}

const char *acme_redis_reply_error_text(apr_pool_t *p, const acme_redis_reply_t *r,
                                        const char *secret)
{
    const char *text = r->str ? r->str : "", *hit;
    apr_size_t slen = secret ? strlen(secret) : 0;
    char *out, *c;

    /* masked before anything is cut or replaced, so no part of it survives */
    if (slen > 0) {
        const char *masked = "";

        while ((hit = strstr(text, secret)) != NULL) {
            masked = apr_pstrcat(p, masked, apr_pstrmemdup(p, text, (apr_size_t)(hit - text)),
                                 "***", NULL);
            text = hit + slen;
        }
        text = apr_pstrcat(p, masked, text, NULL);
    }
    out = apr_pstrndup(p, text, REPLY_ERROR_TEXT_MAX);
    for (c = out; *c; ++c) {
        if (!apr_isprint(*c)) {
            *c = '?';
        }
    }
    return out;
}

static int reply_error_is(const acme_redis_reply_t *r, const char *code)
{
    apr_size_t n = strlen(code);

    return r->len >= n && strncmp(r->str, code, n) == 0
           && (r->str[n] == ' ' || r->str[n] == '\0');
}

apr_status_t acme_redis_reply_error_status(const acme_redis_reply_t *r)
{
    if (reply_error_is(r, "WRONGPASS") || reply_error_is(r, "NOAUTH")
        || reply_error_is(r, "NOPERM")) {
        return ACME_REDIS_EAUTH;
    }
    return ACME_REDIS_ESERVER;
}
