/* Retry-After, Link and media type parsing, see acme_headers.h. */
#include <string.h>
#include <strings.h>

#include <apr_date.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_headers.h"
#include "acme_log.h"

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *s)
{
    while (is_ows(*s)) {
        ++s;
    }
    return s;
}

/* ------------------------------------------------------------ Retry-After */

/* Saturates instead of overflowing: anything past the clamp is the clamp. */
static apr_time_t retry_after_delta(const char *s, const char *end, apr_time_t now)
{
    apr_int64_t secs = 0;
    const apr_int64_t cap = apr_time_sec(ACME_RETRY_AFTER_MAX) + 1;

    for (; s < end; ++s) {
        secs = secs * 10 + (*s - '0');
        if (secs > cap) {
            secs = cap;
        }
    }
    return now + apr_time_from_sec(secs);
}

apr_status_t acme_headers_parse_retry_after(apr_time_t *pretry_at, const char *value,
                                            apr_time_t now)
{
    const char *s, *end, *d;
    char date[64];
    apr_time_t at;

    *pretry_at = 0;
    if (value == NULL) {
        return APR_EINVAL;
    }
    s = skip_ows(value);
    end = s + strlen(s);
    while (end > s && is_ows(end[-1])) {
        --end;
    }
    if (s == end) {
        return APR_EINVAL;
    }
    for (d = s; d < end && apr_isdigit(*d); ++d)
        ;
    if (d == end) {
        at = retry_after_delta(s, end, now);
    }
    else {
        if ((apr_size_t)(end - s) >= sizeof(date)) {
            return APR_EINVAL;
        }
        memcpy(date, s, (apr_size_t)(end - s));
        date[end - s] = '\0';
        at = apr_date_parse_http(date);
        if (at == APR_DATE_BAD) {
            return APR_EINVAL;
        }
    }
    if (at < now) {
        at = now;
    }
    if (at > now + ACME_RETRY_AFTER_MAX) {
        at = now + ACME_RETRY_AFTER_MAX;
    }
    *pretry_at = at;
    return APR_SUCCESS;
}

apr_time_t acme_headers_retry_at(const apr_table_t *headers, apr_time_t now)
{
    const char *value = apr_table_get(headers, "Retry-After");
    apr_time_t at;

    if (value == NULL) {
        return 0;
    }
    if (acme_headers_parse_retry_after(&at, value, now) != APR_SUCCESS) {
        acme_log(ACME_LOG_DEBUG, APR_EINVAL, "ACME0420 ignoring invalid Retry-After: %.100s",
                 value);
        return 0;
    }
    return at;
}

/* ------------------------------------------------------------ Link */

/* Position just after the next comma that separates link values (commas
 * inside quotes or <...> do not count), or the end of the string. */
static const char *link_skip_value(const char *s)
{
    int in_quote = 0, in_angle = 0;

    for (; *s; ++s) {
        if (in_quote) {
            if (*s == '\\' && s[1]) {
                ++s;
            }
            else if (*s == '"') {
                in_quote = 0;
            }
        }
        else if (in_angle) {
            in_angle = (*s != '>');
        }
        else if (*s == '"') {
            in_quote = 1;
        }
        else if (*s == '<') {
            in_angle = 1;
        }
        else if (*s == ',') {
            return s + 1;
        }
    }
    return s;
}

/* A quoted-string (with backslash escapes) or a bare value, which is taken
 * leniently up to the next delimiter. Returns the position after it, NULL
 * on a syntax error. */
static const char *link_param_value(const char **pval, apr_pool_t *p, const char *s)
{
    const char *start = s;
    char *buf, *o;

    if (*s == '"') {
        buf = o = apr_palloc(p, strlen(s));
        for (++s; *s && *s != '"'; ++s) {
            if (*s == '\\' && s[1]) {
                ++s;
            }
            *o++ = *s;
        }
        if (*s != '"') {
            return NULL;
        }
        *o = '\0';
        *pval = buf;
        return s + 1;
    }
    while (*s && !is_ows(*s) && *s != ';' && *s != ',' && *s != '"') {
        ++s;
    }
    if (s == start) {
        return NULL;
    }
    *pval = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
    return s;
}

/* Parses one link-value `<target> *(; param)` starting at `s`. *prel is the
 * first rel parameter (RFC 8288 3.3: later ones are ignored) or NULL.
 * Returns the position of the following ',' or the end, NULL when malformed. */
static const char *link_parse_one(const char **ptarget, const char **prel, apr_pool_t *p,
                                  const char *s)
{
    const char *end, *name, *val;
    apr_size_t name_len;

    *prel = NULL;
    if (*s != '<' || (end = strchr(s + 1, '>')) == NULL) {
        return NULL;
    }
    *ptarget = apr_pstrmemdup(p, s + 1, (apr_size_t)(end - s - 1));
    s = skip_ows(end + 1);
    while (*s == ';') {
        s = skip_ows(s + 1);
        name = s;
        while (*s && !is_ows(*s) && *s != '=' && *s != ';' && *s != ',') {
            ++s;
        }
        name_len = (apr_size_t)(s - name);
        s = skip_ows(s);
        val = NULL;
        if (*s == '=') {
            s = link_param_value(&val, p, skip_ows(s + 1));
            if (s == NULL) {
                return NULL;
            }
            s = skip_ows(s);
        }
        if (name_len == 3 && strncasecmp(name, "rel", 3) == 0 && *prel == NULL) {
            *prel = val ? val : "";
        }
    }
    return (*s == ',' || *s == '\0') ? s : NULL;
}

/* rel values are space-separated lists of relation types. */
static int link_rel_matches(const char *rels, const char *rel)
{
    apr_size_t len = strlen(rel);
    const char *s = rels, *start;

    while (*s) {
        while (apr_isspace(*s)) {
            ++s;
        }
        start = s;
        while (*s && !apr_isspace(*s)) {
            ++s;
        }
        if ((apr_size_t)(s - start) == len && len > 0 && strncasecmp(start, rel, len) == 0) {
            return 1;
        }
    }
    return 0;
}

static int url_has_scheme(const char *url)
{
    const char *s = url;

    if (!apr_isalpha(*s)) {
        return 0;
    }
    while (apr_isalnum(*s) || *s == '+' || *s == '-' || *s == '.') {
        ++s;
    }
    return *s == ':';
}

/* Resolves the common forms of relative references (RFC 3986 5.2 without
 * dot-segment removal, which CAs have no reason to send). */
static const char *link_resolve(apr_pool_t *p, const char *target, const char *base)
{
    const char *authority, *path, *end, *slash;

    if (url_has_scheme(target)) {
        return target;
    }
    if (base == NULL || (authority = strstr(base, "://")) == NULL) {
        return NULL;
    }
    authority += 3;
    path = authority + strcspn(authority, "/?#");
    end = path + strcspn(path, "?#");
    if (target[0] == '/' && target[1] == '/') {
        return apr_pstrcat(p, apr_pstrmemdup(p, base, (apr_size_t)(authority - 3 - base)),
                           ":", target, NULL);
    }
    if (target[0] == '/') {
        return apr_pstrcat(p, apr_pstrmemdup(p, base, (apr_size_t)(path - base)), target, NULL);
    }
    if (target[0] == '\0' || target[0] == '?' || target[0] == '#') {
        return apr_pstrcat(p, apr_pstrmemdup(p, base, (apr_size_t)(end - base)), target, NULL);
    }
    for (slash = end; slash > path && slash[-1] != '/'; --slash)
        ;
    if (slash == path) {
        return apr_pstrcat(p, apr_pstrmemdup(p, base, (apr_size_t)(path - base)), "/",
                           target, NULL);
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, base, (apr_size_t)(slash - base)), target, NULL);
}

void acme_headers_parse_links(apr_array_header_t *urls, apr_pool_t *p, const char *value,
                              const char *rel, const char *base_url)
{
    const char *s = value, *next, *target, *link_rel, *url;

    if (value == NULL) {
        return;
    }
    while (*s) {
        s = skip_ows(s);
        if (*s == ',') {
            ++s;
            continue;
        }
        if (*s == '\0') {
            break;
        }
        next = link_parse_one(&target, &link_rel, p, s);
        if (next == NULL) {
            acme_log(ACME_LOG_DEBUG, APR_EINVAL, "ACME0421 skipping malformed Link: %.100s", s);
            s = link_skip_value(s);
            continue;
        }
        if (link_rel != NULL && link_rel_matches(link_rel, rel)
            && (url = link_resolve(p, target, base_url)) != NULL) {
            APR_ARRAY_PUSH(urls, const char *) = url;
        }
        s = next;
    }
}

typedef struct {
    apr_array_header_t *urls;
    apr_pool_t *pool;
    const char *rel;
    const char *base_url;
} link_collect_t;

static int link_collect_cb(void *baton, const char *key, const char *value)
{
    link_collect_t *lc = baton;

    acme_headers_parse_links(lc->urls, lc->pool, value, lc->rel, lc->base_url);
    return 1;
}

void acme_headers_links(apr_array_header_t **purls, apr_pool_t *p,
                        const apr_table_t *headers, const char *rel,
                        const char *base_url)
{
    link_collect_t lc;

    lc.urls = apr_array_make(p, 2, sizeof(const char *));
    lc.pool = p;
    lc.rel = rel;
    lc.base_url = base_url;
    apr_table_do(link_collect_cb, &lc, headers, "Link", NULL);
    *purls = lc.urls;
}

/* ------------------------------------------------------------ media types */

int acme_headers_media_type_is(const char *content_type, const char *media_type)
{
    const char *s, *end;
    apr_size_t len = strlen(media_type);

    if (content_type == NULL) {
        return 0;
    }
    s = skip_ows(content_type);
    end = s + strcspn(s, ";");
    while (end > s && is_ows(end[-1])) {
        --end;
    }
    return (apr_size_t)(end - s) == len && strncasecmp(s, media_type, len) == 0;
}
