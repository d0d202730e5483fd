/* Fuzz target: what a hostile Redis server can send (issue 18), and the
 * MDSharedStore URL.
 *
 * The first input byte selects what the rest is:
 * - bit 7 clear: a RESP reply. Bits 0-2 pick a chunking pattern, bits 3-6
 *   where the secret for acme_redis_reply_error_text() is taken from. The
 *   rest is fed to acme_redis_reply_feed() (fresh hiredis reader, fresh
 *   frame) chunk by chunk until the first error or the first whole reply.
 *   Checked: an error has a message and is ACME_REDIS_EPROTOCOL or
 *   ACME_REDIS_ETOOLARGE; a reply is a well-formed tree within the bounds of
 *   acme_redis.h (string lengths match their bytes, at most
 *   ACME_REDIS_ITEMS_MAX values, never more string bytes than were fed);
 *   the same bytes fed in one chunk give the same status and the same tree;
 *   a prefix that failed makes the whole input fail, a reply followed by
 *   more bytes makes the whole input fail; every error reply in the tree
 *   has an error status, and its text, masked with a secret taken from it,
 *   is short, printable and does not hold the secret.
 * - bit 7 set: the rest (up to a NUL byte) is an MDSharedStore URL for
 *   acme_redis_url_parse(). A URL that parses has a non-empty host, port
 *   1..65535, db 0..15, and its printable form is exactly
 *   scheme://[user:***@]host:port/db (user as written), so it cannot hold the
 *   password; the password (3 characters or more) is nowhere in it unless
 *   the public parts spell it. A URL that fails has a message that quotes
 *   the text masked: what may be a password (3 characters or more) is not in
 *   it unless the rest of the text holds it too. */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_redis_int.h"
#include "acme_redis_url.h"
#include "fuzz_common.h"

/* ------------------------------------------------------------------ replies */

/* Chunk sizes, cycled; pattern 7 cuts right after every '\n' (and at 64). */
static const apr_size_t fuzz_chunks[7][4] = {
    { 1, 1, 1, 1 }, { 2, 2, 2, 2 }, { 3, 3, 3, 3 }, { 7, 7, 7, 7 },
    { 16, 16, 16, 16 }, { 1, 5, 2, 13 }, { 4, 1, 3, 1 },
};

typedef struct {
    apr_status_t rv;
    acme_redis_reply_t *reply;   /* when rv is APR_SUCCESS and the reply is whole */
    const char *why;
    apr_size_t used;             /* bytes fed */
} fuzz_verdict_t;

static apr_size_t fuzz_next_chunk(int pattern, int k, const char *buf, apr_size_t left)
{
    apr_size_t n;
    const char *nl;

    if (pattern == 7) {
        nl = memchr(buf, '\n', left < 64 ? left : 64);
        n = nl ? (apr_size_t)(nl - buf) + 1 : (left < 64 ? left : 64);
    }
    else {
        n = fuzz_chunks[pattern][k % 4];
    }
    return n < left ? n : left;
}

/* Feeds [buf, buf+len) in chunks (pattern < 0: one chunk) until an error or
 * a whole reply. */
static fuzz_verdict_t fuzz_feed(apr_pool_t *p, int pattern, const char *buf, apr_size_t len)
{
    fuzz_verdict_t v = { APR_SUCCESS, NULL, NULL, 0 };
    redisReader *reader = redisReaderCreate();
    acme_redis_frame_t frame;
    apr_size_t n;
    int k = 0;

    FUZZ_CHECK(reader != NULL);
    acme_redis_frame_reset(&frame);
    while (v.used < len) {
        n = pattern < 0 ? len : fuzz_next_chunk(pattern, k++, buf + v.used, len - v.used);
        v.why = NULL;
        v.rv = acme_redis_reply_feed(&v.reply, p, reader, &frame, buf + v.used, n, &v.why);
        v.used += n;
        if (v.rv != APR_SUCCESS) {
            FUZZ_CHECK(v.reply == NULL);
            FUZZ_CHECK(v.why != NULL);
            FUZZ_CHECK(v.rv == ACME_REDIS_EPROTOCOL || v.rv == ACME_REDIS_ETOOLARGE);
            break;
        }
        if (v.reply != NULL) {
            break;
        }
    }
    redisReaderFree(reader);
    return v;
}

typedef struct {
    apr_size_t nodes;
    apr_size_t bytes;
} fuzz_tree_count_t;

static void fuzz_tree_check(const acme_redis_reply_t *r, fuzz_tree_count_t *count, int depth)
{
    apr_size_t i;

    FUZZ_CHECK(r != NULL);
    FUZZ_CHECK(depth < 64);
    count->nodes++;
    FUZZ_CHECK(count->nodes <= ACME_REDIS_ITEMS_MAX);
    switch (r->type) {
    case ACME_REDIS_REPLY_STRING:
    case ACME_REDIS_REPLY_STATUS:
    case ACME_REDIS_REPLY_ERROR:
        FUZZ_CHECK(r->str != NULL && r->str[r->len] == '\0');
        FUZZ_CHECK(r->type != ACME_REDIS_REPLY_STRING || r->len <= ACME_REDIS_BULK_MAX);
        FUZZ_CHECK(r->type == ACME_REDIS_REPLY_STRING || r->len <= ACME_REDIS_LINE_MAX);
        FUZZ_CHECK(r->elements == 0 && r->element == NULL && r->integer == 0);
        count->bytes += r->len;
        break;
    case ACME_REDIS_REPLY_INTEGER:
    case ACME_REDIS_REPLY_NIL:
        FUZZ_CHECK(r->str == NULL && r->len == 0 && r->elements == 0 && r->element == NULL);
        FUZZ_CHECK(r->type == ACME_REDIS_REPLY_INTEGER || r->integer == 0);
        break;
    case ACME_REDIS_REPLY_ARRAY:
        FUZZ_CHECK(r->str == NULL && r->len == 0 && r->integer == 0);
        FUZZ_CHECK(r->elements < ACME_REDIS_ITEMS_MAX);
        FUZZ_CHECK((r->elements == 0) == (r->element == NULL));
        for (i = 0; i < r->elements; ++i) {
            fuzz_tree_check(r->element[i], count, depth + 1);
        }
        break;
    default:
        fuzz_abort("fuzz_redis.c: reply of an unknown type");
    }
}

static int fuzz_tree_equal(const acme_redis_reply_t *a, const acme_redis_reply_t *b)
{
    apr_size_t i;

    if (a->type != b->type || a->len != b->len || a->integer != b->integer
        || a->elements != b->elements || (a->str == NULL) != (b->str == NULL)
        || (a->str && memcmp(a->str, b->str, a->len) != 0)) {
        return 0;
    }
    for (i = 0; i < a->elements; ++i) {
        if (!fuzz_tree_equal(a->element[i], b->element[i])) {
            return 0;
        }
    }
    return 1;
}

/* The error text of every error reply in the tree, with a secret cut from
 * its own text by `sel`: masked, short, printable, without the secret. Not
 * checked for secrets holding '*' or '?', the characters the masking writes
 * itself ("x**" is in the "x***" of "xx**"). */
static void fuzz_error_texts(apr_pool_t *p, const acme_redis_reply_t *r, unsigned sel)
{
    const char *out, *c;
    char *secret;
    apr_size_t i, off, n, slen;

    if (r->type == ACME_REDIS_REPLY_ARRAY) {
        for (i = 0; i < r->elements; ++i) {
            fuzz_error_texts(p, r->element[i], sel + (unsigned)i);
        }
        return;
    }
    if (r->type != ACME_REDIS_REPLY_ERROR) {
        return;
    }
    n = strlen(r->str);
    off = n > 0 ? (sel & 3) * n / 4 : 0;
    slen = 3 + ((sel >> 2) & 3) * 4;
    secret = apr_pstrndup(p, r->str + off, slen);
    out = acme_redis_reply_error_text(p, r, secret);
    FUZZ_CHECK(out != NULL && strlen(out) <= 200);
    for (c = out; *c; ++c) {
        FUZZ_CHECK(apr_isprint(*c));
    }
    if (strlen(secret) >= 3 && strpbrk(secret, "*?") == NULL) {
        FUZZ_CHECK(strstr(out, secret) == NULL);
    }
    FUZZ_CHECK(acme_redis_reply_error_text(p, r, NULL) != NULL);
    FUZZ_CHECK(acme_redis_reply_error_status(r) == ACME_REDIS_EAUTH
               || acme_redis_reply_error_status(r) == ACME_REDIS_ESERVER);
}

static void fuzz_reply(apr_pool_t *p, unsigned mode, const char *buf, apr_size_t len)
{
    fuzz_verdict_t chunked = fuzz_feed(p, (int)(mode & 7), buf, len);
    fuzz_verdict_t once, whole;
    fuzz_tree_count_t count = { 0, 0 };

    /* the bytes the chunked run fed, in one chunk: the same verdict */
    once = fuzz_feed(p, -1, buf, chunked.used);
    FUZZ_CHECK(once.used == chunked.used);
    FUZZ_CHECK(once.rv == chunked.rv);
    FUZZ_CHECK((once.reply == NULL) == (chunked.reply == NULL));
    if (chunked.reply != NULL) {
        fuzz_tree_check(chunked.reply, &count, 0);
        FUZZ_CHECK(count.bytes + 3 * count.nodes <= chunked.used);
        FUZZ_CHECK(chunked.used <= ACME_REDIS_REPLY_MAX);
        FUZZ_CHECK(fuzz_tree_equal(chunked.reply, once.reply));
        fuzz_error_texts(p, chunked.reply, mode >> 3);
    }
    /* the whole input: an error stays an error, bytes after a reply are one */
    if (chunked.used < len || chunked.rv != APR_SUCCESS) {
        whole = fuzz_feed(p, -1, buf, len);
        FUZZ_CHECK(whole.rv != APR_SUCCESS);
    }
}

/* ---------------------------------------------------------------------- URLs */

/* What acme_redis_url_mask() takes for a password: after the first ':' (or
 * all) of what precedes the last '@', or without '@', what follows a ':'
 * up to a '/' when it is not all digits. [*pstart, *pend) in text. */
static int fuzz_url_secret(const char *text, const char **pstart, const char **pend)
{
    const char *start = strstr(text, "://"), *at, *colon, *end, *c;

    start = start ? start + 3 : text;
    if ((at = strrchr(start, '@')) != NULL) {
        colon = memchr(start, ':', (apr_size_t)(at - start));
        *pstart = colon ? colon + 1 : start;
        *pend = at;
        return 1;
    }
    end = start + strcspn(start, "/");
    colon = *start == '[' ? NULL : memchr(start, ':', (apr_size_t)(end - start));
    if (colon == NULL) {
        return 0;
    }
    for (c = colon + 1; c < end; ++c) {
        if (!apr_isdigit(*c)) {
            *pstart = colon + 1;
            *pend = end;
            return 1;
        }
    }
    return 0;
}

static int fuzz_has(const char *hay, apr_size_t len, const char *needle, apr_pool_t *p)
{
    return strstr(apr_pstrmemdup(p, hay, len), needle) != NULL;
}

static void fuzz_url_ok(apr_pool_t *p, const char *text, const acme_redis_url_t *u)
{
    const char *rest = text + (u->tls ? 9 : 8), *at = strrchr(rest, '@');
    const char *user = "", *left, *right, *expect, *c;
    int v6;

    FUZZ_CHECK(strncasecmp(text, u->tls ? "rediss://" : "redis://", u->tls ? 9 : 8) == 0);
    FUZZ_CHECK(u->host != NULL && *u->host != '\0');
    FUZZ_CHECK(u->port >= 1);
    FUZZ_CHECK(u->db >= 0 && u->db <= ACME_REDIS_DB_MAX);
    FUZZ_CHECK((u->password != NULL) == (at != NULL));
    FUZZ_CHECK(u->user == NULL || u->password != NULL);
    FUZZ_CHECK(u->password == NULL || *u->password != '\0');
    for (c = u->host; *c; ++c) {
        FUZZ_CHECK(apr_isgraph(*c));
    }
    if (at != NULL) {
        user = apr_pstrmemdup(p, rest, strcspn(rest, ":"));
        FUZZ_CHECK((*user == '\0') == (u->user == NULL));
    }
    v6 = strchr(u->host, ':') != NULL;
    left = apr_pstrcat(p, u->tls ? "rediss://" : "redis://", user, at ? ":" : "", NULL);
    right = apr_psprintf(p, "%s%s%s%s:%u/%d", at ? "@" : "", v6 ? "[" : "", u->host,
                         v6 ? "]" : "", (unsigned)u->port, u->db);
    expect = apr_pstrcat(p, left, at ? "***" : "", right, NULL);
    FUZZ_CHECK(u->printable != NULL && strcmp(u->printable, expect) == 0);
    if (u->password != NULL && strlen(u->password) >= 3 && strchr(u->password, '*') == NULL) {
        FUZZ_CHECK(strstr(u->printable, u->password) == NULL
                   || strstr(left, u->password) != NULL || strstr(right, u->password) != NULL);
    }
}

static void fuzz_url_failed(apr_pool_t *p, const char *text, const char *err)
{
    const char *head = "MDSharedStore: '", *quoted_end, *start, *end, *c;
    char *quoted, *secret;

    FUZZ_CHECK(err != NULL && strncmp(err, head, strlen(head)) == 0);
    quoted_end = strstr(err, "': ");
    while (quoted_end != NULL && strstr(quoted_end + 1, "': ") != NULL) {
        quoted_end = strstr(quoted_end + 1, "': ");
    }
    FUZZ_CHECK(quoted_end != NULL && quoted_end[3] != '\0');
    quoted = apr_pstrmemdup(p, err + strlen(head), (apr_size_t)(quoted_end - err) - strlen(head));
    for (c = quoted; *c; ++c) {
        FUZZ_CHECK((unsigned char)*c >= 0x20 && (unsigned char)*c != 0x7f);
    }
    if (!fuzz_url_secret(text, &start, &end) || end - start < 3) {
        return;
    }
    secret = apr_pstrmemdup(p, start, (apr_size_t)(end - start));
    if (strpbrk(secret, "*?") != NULL || fuzz_has(text, (apr_size_t)(start - text), secret, p)
        || strstr(end, secret) != NULL) {
        return;
    }
    FUZZ_CHECK(strstr(quoted, secret) == NULL);
}

static void fuzz_url(apr_pool_t *p, const char *text)
{
    acme_redis_url_t *u = NULL;
    const char *err = NULL;
    apr_status_t rv = acme_redis_url_parse(&u, p, text, &err);

    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(u != NULL);
        fuzz_url_ok(p, text, u);
    }
    else {
        FUZZ_CHECK(rv == APR_EINVAL);
        fuzz_url_failed(p, text, err);
    }
    FUZZ_CHECK(acme_redis_url_mask(p, text) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    if (size == 0) {
        return 0;
    }
    p = fuzz_pool_create();
    if (data[0] & 0x80) {
        fuzz_url(p, fuzz_strdup(p, data + 1, size - 1));
    }
    else {
        fuzz_reply(p, data[0], (const char *)data + 1, size - 1);
    }
    apr_pool_destroy(p);
    return 0;
}
