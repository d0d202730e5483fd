/* Redis URLs (acme_redis_url.h): strict parsing, and masking of the password
 * in everything that is printed. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_redis_url.h"

#define URL_HOST_MAX 253

/* RFC 3986 unreserved and sub-delims: what userinfo may hold unencoded. */
static int url_userinfo_char(char c)
{
    return apr_isalnum(c) || strchr("-._~!$&'()*+,;=", c) != NULL;
}

static int url_host_char(char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_';
}

static int url_all_digits(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        if (!apr_isdigit(s[i])) {
            return 0;
        }
    }
    return 1;
}

const char *acme_redis_url_mask(apr_pool_t *p, const char *text)
{
    const char *start, *at, *colon, *end;
    char *out, *c;

    if (text == NULL) {
        return "";
    }
    start = strstr(text, "://");
    start = start ? start + 3 : text;
    /* the last '@': a password with a raw '@' or '/' is masked whole */
    if ((at = strrchr(start, '@')) != NULL) {
        colon = memchr(start, ':', (apr_size_t)(at - start));
        out = apr_pstrcat(p, apr_pstrmemdup(p, text, (apr_size_t)((colon ? colon + 1 : start)
                                                                  - text)),
                          "***", at, NULL);
    }
    else {
        /* "redis://user:secret" (the host forgotten): what follows a colon
         * and is no port may be a password */
        end = start + strcspn(start, "/");
        colon = *start == '[' ? NULL : memchr(start, ':', (apr_size_t)(end - start));
        if (colon && !url_all_digits(colon + 1, (apr_size_t)(end - colon - 1))) {
            out = apr_pstrcat(p, apr_pstrmemdup(p, text, (apr_size_t)(colon + 1 - text)),
                              "***", end, NULL);
        }
        else {
            out = apr_pstrdup(p, text);
        }
    }
    for (c = out; *c; ++c) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f) {
            *c = '?';
        }
    }
    return out;
}

static int url_hexval(char c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
}

/* Percent-decodes [s, s+len) of userinfo; `colon_ok` for the password. */
static const char *url_decode(apr_pool_t *p, const char *s, apr_size_t len, int colon_ok,
                              const char **pwhy)
{
    char *out = apr_palloc(p, len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        if (s[i] == '%') {
            if (i + 2 >= len || !apr_isxdigit(s[i + 1]) || !apr_isxdigit(s[i + 2])) {
                *pwhy = "bad percent-encoding in user or password (write %XX)";
                return NULL;
            }
            *o = (char)(url_hexval(s[i + 1]) * 16 + url_hexval(s[i + 2]));
            if (*o++ == '\0') {
                *pwhy = "%00 in user or password";
                return NULL;
            }
            i += 2;
        }
        else if (url_userinfo_char(s[i]) || (colon_ok && s[i] == ':')) {
            *o++ = s[i];
        }
        else {
            *pwhy = s[i] == '@' ? "'@' in user or password must be written %40"
                                : "character in user or password must be percent-encoded";
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

/* "user:password" or ":password" in [s, end). */
static int url_userinfo(acme_redis_url_t *u, apr_pool_t *p, const char *s, const char *end,
                        const char **pwhy)
{
    const char *colon = memchr(s, ':', (apr_size_t)(end - s));

    if (colon == NULL) {
        *pwhy = "user without password (write user:password@ or :password@)";
        return 0;
    }
    if (colon + 1 == end) {
        *pwhy = "empty password";
        return 0;
    }
    if (colon > s && (u->user = url_decode(p, s, (apr_size_t)(colon - s), 0, pwhy)) == NULL) {
        return 0;
    }
    u->password = url_decode(p, colon + 1, (apr_size_t)(end - colon - 1), 1, pwhy);
    return u->password != NULL;
}

static int url_port(acme_redis_url_t *u, const char *s, apr_size_t len, const char **pwhy)
{
    apr_size_t i;
    long port = 0;

    if (len == 0) {
        *pwhy = "empty port";
        return 0;
    }
    if (!url_all_digits(s, len)) {
        *pwhy = "port is not a number";
        return 0;
    }
    for (i = 0; i < len && port <= 65535; ++i) {
        port = port * 10 + (s[i] - '0');
    }
    if (port < 1 || port > 65535) {
        *pwhy = "port out of range";
        return 0;
    }
    u->port = (apr_port_t)port;
    return 1;
}

static const char *url_bad_char(char c)
{
    return c == '?' || c == '#' ? "query or fragment not supported"
                                : "invalid character in host";
}

/* host[:port] in [s, end). */
static int url_hostport(acme_redis_url_t *u, apr_pool_t *p, const char *s, const char *end,
                        const char **pwhy)
{
    const char *host_end;
    struct in6_addr a6;
    const char *c;

    if (*s == '[') {
        if ((host_end = memchr(s, ']', (apr_size_t)(end - s))) == NULL) {
            *pwhy = "'[' without ']' around the IPv6 address";
            return 0;
        }
        u->host = apr_pstrmemdup(p, s + 1, (apr_size_t)(host_end - s - 1));
        if (inet_pton(AF_INET6, u->host, &a6) != 1) {
            *pwhy = "invalid IPv6 address in brackets";
            return 0;
        }
        if (++host_end < end && *host_end != ':') {
            *pwhy = "unexpected characters after ']'";
            return 0;
        }
    }
    else {
        host_end = memchr(s, ':', (apr_size_t)(end - s));
        host_end = host_end ? host_end : end;
        if (host_end < end && memchr(host_end + 1, ':', (apr_size_t)(end - host_end - 1))) {
            *pwhy = "an IPv6 address must be in brackets ([::1])";
            return 0;
        }
        if (host_end == s) {
            *pwhy = "empty host";
            return 0;
        }
        if (host_end - s > URL_HOST_MAX) {
            *pwhy = "host name too long";
            return 0;
        }
        for (c = s; c < host_end; ++c) {
            if (!url_host_char(*c)) {
                *pwhy = url_bad_char(*c);
                return 0;
            }
        }
        u->host = apr_pstrmemdup(p, s, (apr_size_t)(host_end - s));
    }
    u->port = ACME_REDIS_PORT_DEFAULT;
    return host_end == end || url_port(u, host_end + 1, (apr_size_t)(end - host_end - 1), pwhy);
}

/* What follows the '/' after the host. */
static int url_db(acme_redis_url_t *u, const char *s, const char **pwhy)
{
    apr_size_t len = strlen(s);

    if (strpbrk(s, "?#") != NULL) {
        *pwhy = url_bad_char('?');
        return 0;
    }
    if (!url_all_digits(s, len)) {
        *pwhy = "database must be a number from 0 to 15";
        return 0;
    }
    if (len > 2 || (len > 0 && atoi(s) > ACME_REDIS_DB_MAX)) {
        *pwhy = "database out of range (0 to 15)";
        return 0;
    }
    u->db = len > 0 ? atoi(s) : 0;
    return 1;
}

/* The URL as parsed, with the user as written (validated: printable) and
 * the password as "***". */
static const char *url_printable(apr_pool_t *p, const acme_redis_url_t *u,
                                 const char *userinfo)
{
    const char *user = "";

    if (u->password != NULL) {
        user = apr_pstrcat(p, apr_pstrmemdup(p, userinfo, strcspn(userinfo, ":")), ":***@",
                           NULL);
    }
    return apr_psprintf(p, "%s://%s%s%s%s:%u/%d", u->tls ? "rediss" : "redis", user,
                        strchr(u->host, ':') ? "[" : "", u->host,
                        strchr(u->host, ':') ? "]" : "", (unsigned)u->port, u->db);
}

apr_status_t acme_redis_url_parse(acme_redis_url_t **purl, apr_pool_t *p, const char *text,
                                  const char **perr)
{
    acme_redis_url_t *u = apr_pcalloc(p, sizeof(*u));
    const char *why = "empty", *s, *at, *slash, *userinfo;

    if (text == NULL || *text == '\0') {
        goto fail;
    }
    for (s = text; *s; ++s) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f) {
            why = "white space or control character";
            goto fail;
        }
    }
    if (strncasecmp(text, "redis://", 8) == 0) {
        s = text + 8;
    }
    else if (strncasecmp(text, "rediss://", 9) == 0) {
        u->tls = 1;
        s = text + 9;
    }
    else {
        why = "not a redis:// or rediss:// URL";
        goto fail;
    }
    userinfo = s;
    if ((at = strrchr(s, '@')) != NULL) {
        if (!url_userinfo(u, p, s, at, &why)) {
            goto fail;
        }
        s = at + 1;
    }
    slash = s + strcspn(s, "/");
    if (!url_hostport(u, p, s, slash, &why) || (*slash && !url_db(u, slash + 1, &why))) {
        goto fail;
    }
    u->printable = url_printable(p, u, userinfo);
    *purl = u;
    return APR_SUCCESS;

fail:
    if (perr) {
        *perr = apr_psprintf(p, "MDSharedStore: '%s': %s", acme_redis_url_mask(p, text), why);
    }
    return APR_EINVAL;
}
