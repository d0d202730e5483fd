/* Name validation: see acme_names.h for the rules and why they are strict. */
#include <arpa/inet.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_names.h"

#define PRINTABLE_MAX 80

static int is_file_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == '-';
}

#define WHY(text) do { if (pwhy) { *pwhy = (text); } } while (0)

/* Checks one label of s (up to '.' or the end); returns its length, or 0
 * with *pwhy. */
static apr_size_t label_check(const char *s, int flags, const char **pwhy)
{
    apr_size_t n;

    for (n = 0; s[n] && s[n] != '.'; ++n) {
        unsigned char c = (unsigned char)s[n];
        if (c & 0x80) {
            WHY("is not ASCII; write internationalized names in their xn-- form");
            return 0;
        }
        if (c == '*') {
            WHY("is not a DNS name; a wildcard must be the whole first label, as in "
                "*.example.org");
            return 0;
        }
        if (c >= 'A' && c <= 'Z' && !(flags & ACME_NAMES_ANYCASE)) {
            WHY("has uppercase letters where only the lowercase spelling is valid");
            return 0;
        }
        if (!apr_isalnum(c) && c != '-') {
            WHY("is not a DNS name; use letters, digits, '-' and '.' (a leading '*.' for "
                "a wildcard)");
            return 0;
        }
        if (n >= ACME_NAMES_LABEL_MAX) {
            WHY("has a label longer than 63 characters");
            return 0;
        }
    }
    if (n == 0) {
        WHY("has an empty label (two dots, or a dot at either end)");
    }
    else if (s[0] == '-') {
        WHY("has a label starting with '-'");
        n = 0;
    }
    else if (s[n - 1] == '-') {
        WHY("has a label ending in '-'");
        n = 0;
    }
    return n;
}

apr_status_t acme_names_dns_check(const char *name, int flags, const char **pwhy)
{
    const char *s = name, *last = name;
    unsigned char addr[4];
    apr_size_t n;
    int labels = 0;

    if (name == NULL || name[0] == '\0' || strlen(name) > ACME_NAMES_DOMAIN_MAX) {
        WHY("is not a DNS name of 1 to 253 characters");
        return APR_EINVAL;
    }
    if ((flags & ACME_NAMES_WILDCARD) && s[0] == '*' && s[1] == '.') {
        s += 2;
    }
    for (;;) {
        if ((n = label_check(s, flags, pwhy)) == 0) {
            return APR_EINVAL;
        }
        ++labels;
        last = s;
        s += n;
        if (*s == '\0') {
            break;
        }
        ++s; /* the dot; a trailing or double dot gives an empty label next */
    }
    if (s - name > 2 && name[0] == '*' && labels < 2) {
        WHY("is a wildcard for a top-level domain; use e.g. *.example.org");
        return APR_EINVAL;
    }
    if (!(flags & ACME_NAMES_KEY) && strspn(last, "0123456789") == strlen(last)
        && inet_pton(AF_INET, name, addr) != 1) {
        WHY("is neither a DNS name nor an IPv4 address (no top-level domain is all "
            "digits)");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* The RFC 5952 text of the IPv6 literal `s` (without brackets) into buf, or
 * 0 when s is none (a zone, "%eth0", is none either). */
static int ipv6_canonical(char *buf, apr_size_t len, const char *s)
{
    unsigned char addr[16];

    if (len < INET6_ADDRSTRLEN || strchr(s, ':') == NULL
        || inet_pton(AF_INET6, s, addr) != 1) {
        return 0;
    }
    return inet_ntop(AF_INET6, addr, buf, (socklen_t)len) != NULL;
}

apr_status_t acme_names_check_domain(const char *name, int flags)
{
    char canon[INET6_ADDRSTRLEN];

    if (name == NULL || strlen(name) > ACME_NAMES_DOMAIN_MAX) {
        return APR_EINVAL;
    }
    if (strchr(name, ':')) {
        return ipv6_canonical(canon, sizeof(canon), name) && !strcmp(canon, name)
            ? APR_SUCCESS : APR_EINVAL;
    }
    return acme_names_dns_check(name, (flags & ACME_NAMES_WILDCARD) | ACME_NAMES_KEY, NULL);
}

/* The common rule of ids and aspects: file alphabet, bounded length, no
 * leading dot (reserved for temp files), no ".." anywhere. */
static apr_status_t check_file_name(const char *s, apr_size_t max)
{
    apr_size_t i;

    if (s == NULL || s[0] == '\0' || s[0] == '.') {
        return APR_EINVAL;
    }
    for (i = 0; s[i]; ++i) {
        if (i >= max || !is_file_char(s[i]) || (s[i] == '.' && s[i + 1] == '.')) {
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_names_check_id(const char *id)
{
    /* No leading '-': ids end up as arguments of hook commands. */
    if (id != NULL && id[0] == '-') {
        return APR_EINVAL;
    }
    return check_file_name(id, ACME_NAMES_ID_MAX);
}

apr_status_t acme_names_check_aspect(const char *aspect)
{
    return check_file_name(aspect, ACME_NAMES_ASPECT_MAX);
}

apr_status_t acme_names_check_token(const char *token)
{
    apr_size_t i;

    if (token == NULL || token[0] == '\0') {
        return APR_EINVAL;
    }
    for (i = 0; token[i]; ++i) {
        char c = token[i];
        if (i >= ACME_NAMES_TOKEN_MAX
            || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                 || c == '_' || c == '-')) {
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_names_domain_normalize(const char **pout, apr_pool_t *p, const char *in,
                                         int flags)
{
    char canon[INET6_ADDRSTRLEN];
    char *s;
    apr_size_t i, len;

    if (in == NULL) {
        return APR_EINVAL;
    }
    if (strchr(in, ':')) {
        /* an IPv6 literal, bare or in brackets */
        len = strlen(in);
        s = (in[0] == '[' && len > 2 && in[len - 1] == ']') ? apr_pstrndup(p, in + 1, len - 2)
                                                             : apr_pstrdup(p, in);
        if (!ipv6_canonical(canon, sizeof(canon), s)) {
            return APR_EINVAL;
        }
        *pout = apr_pstrdup(p, canon);
        return APR_SUCCESS;
    }
    s = apr_pstrdup(p, in);
    len = strlen(s);
    if (len > 1 && s[len - 1] == '.') {
        s[--len] = '\0';
    }
    for (i = 0; i < len; ++i) {
        if (s[i] >= 'A' && s[i] <= 'Z') {
            s[i] = (char)(s[i] - 'A' + 'a');
        }
    }
    if (acme_names_check_domain(s, flags) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *pout = s;
    return APR_SUCCESS;
}

apr_status_t acme_names_host_lookup(void **pvalue, const char **pname, apr_pool_t *p,
                                    apr_hash_t *names, const char *host)
{
    const char *name, *dot;
    void *value;

    if (names == NULL || acme_names_domain_normalize(&name, p, host, 0) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    value = apr_hash_get(names, name, APR_HASH_KEY_STRING);
    /* valid: the first label is not empty, and an IPv6 text has no wildcard */
    if (value == NULL && !strchr(name, ':') && (dot = strchr(name, '.')) != NULL) {
        value = apr_hash_get(names, apr_pstrcat(p, "*", dot, NULL), APR_HASH_KEY_STRING);
    }
    if (value == NULL) {
        return APR_NOTFOUND;
    }
    *pvalue = value;
    if (pname) {
        *pname = name;
    }
    return APR_SUCCESS;
}

const char *acme_names_domain_to_key(apr_pool_t *p, const char *domain)
{
    (void)p;
    return domain;
}

const char *acme_names_domain_from_key(apr_pool_t *p, const char *key, int flags)
{
    (void)p;
    if (key == NULL) {
        return NULL;
    }
    return acme_names_check_domain(key, flags) == APR_SUCCESS ? key : NULL;
}

const char *acme_names_printable(apr_pool_t *p, const char *s)
{
    char *out, *o;
    apr_size_t i;

    if (s == NULL) {
        return "(null)";
    }
    /* Worst case: every byte escaped (4x), plus "..." and the NUL. */
    out = o = apr_palloc(p, PRINTABLE_MAX * 4 + 4);
    for (i = 0; s[i] && i < PRINTABLE_MAX; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            apr_snprintf(o, 5, "\\x%02x", c);
            o += 4;
        }
        else {
            *o++ = (char)c;
        }
    }
    if (s[i]) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}
