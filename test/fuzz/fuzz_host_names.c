/* Fuzz target: host names as requests and handshakes bring them (Host
 * header, SNI, ServerName) and the name rules of acme_names.h. The input,
 * up to a NUL byte, is one host.
 *
 * Properties:
 * - acme_names_dns_check() agrees with an independent reading of the rule
 *   (LDH labels of 1..63, at most 253 characters, case, wildcard, digit
 *   top-level labels) for every flag combination;
 * - acme_names_domain_normalize(): a canonical name is a fixed point, is
 *   valid (acme_names_check_domain), has no uppercase, no trailing dot, no
 *   brackets or zone, at most 253 characters; the input's ASCII case does
 *   not matter; a name valid without ACME_NAMES_WILDCARD is the same with it;
 * - acme_names_host_lookup(): APR_EINVAL exactly when normalisation fails;
 *   a hit is the canonical name itself or the wildcard exactly one label
 *   up, never anything else; a miss has neither filed;
 * - store keys: a valid name's key is the name itself (mod_md's directory
 *   name, "*.x" too), never "", "." or ".." and without '/';
 *   acme_names_domain_from_key(acme_names_domain_to_key(d)) is d, and a key
 *   that maps to a name maps back to itself;
 * - ids, aspects and tokens pass exactly when their documented alphabet and
 *   lengths say so;
 * - acme_names_printable() writes printable ASCII only, at most 80 input
 *   bytes, and can be read back to those bytes. */
#include <arpa/inet.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "acme_names.h"
#include "fuzz_common.h"

/* What the names in the table map to: their own index + 1. */
static const char *const filed[] = {
    "example.org", "*.example.org", "www.example.net", "192.0.2.1", "2001:db8::1",
    "xn--bcher-kva.example", "*.a.example.com", "a.example.com"
};
#define FILED_COUNT (sizeof(filed) / sizeof(filed[0]))

static int is_lower_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* The rule of acme_names_dns_check(), read from acme_names.h independently. */
static int dns_oracle(const char *name, int flags)
{
    const char *s = name, *label, *last = NULL;
    size_t len = strlen(name), n;
    unsigned char addr[4];
    int labels = 0, wildcard = 0;

    if (len == 0 || len > ACME_NAMES_DOMAIN_MAX) {
        return 0;
    }
    if ((flags & ACME_NAMES_WILDCARD) && s[0] == '*' && s[1] == '.') {
        s += 2;
        wildcard = 1;
    }
    for (label = s;; label = s + 1) {
        for (s = label; *s && *s != '.'; ++s) {
            char c = *s;
            if (!(is_lower_ldh(c) || ((flags & ACME_NAMES_ANYCASE) && c >= 'A' && c <= 'Z'))) {
                return 0;
            }
        }
        n = (size_t)(s - label);
        if (n < 1 || n > ACME_NAMES_LABEL_MAX || label[0] == '-' || label[n - 1] == '-') {
            return 0;
        }
        labels++;
        last = label;
        if (*s == '\0') {
            break;
        }
    }
    if (wildcard && labels < 2) {
        return 0;
    }
    if (!(flags & ACME_NAMES_KEY) && strspn(last, "0123456789") == strlen(last)
        && inet_pton(AF_INET, name, addr) != 1) {
        return 0;
    }
    return 1;
}

/* ids and aspects: [A-Za-z0-9._-], 1..max, no leading '.', no "..". */
static int file_name_oracle(const char *s, size_t max)
{
    size_t len = strlen(s), i;

    if (len < 1 || len > max || s[0] == '.' || strstr(s, "..")) {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        if (!(is_lower_ldh(s[i]) || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '.'
              || s[i] == '_')) {
            return 0;
        }
    }
    return 1;
}

static int token_oracle(const char *s)
{
    size_t len = strlen(s), i;

    if (len < 1 || len > ACME_NAMES_TOKEN_MAX) {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        if (!(is_lower_ldh(s[i]) || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_')) {
            return 0;
        }
    }
    return 1;
}

static char *ascii_case(apr_pool_t *p, const char *in, int upper)
{
    char *s = apr_pstrdup(p, in), *c;

    for (c = s; *c; ++c) {
        if (upper && *c >= 'a' && *c <= 'z') {
            *c = (char)(*c - 'a' + 'A');
        }
        else if (!upper && *c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    return s;
}

/* A canonical name as acme_names.h promises it. */
static void check_canonical(apr_pool_t *p, const char *out, int flags)
{
    const char *again = NULL;
    size_t len = strlen(out);

    FUZZ_CHECK(len >= 1 && len <= ACME_NAMES_DOMAIN_MAX);
    FUZZ_CHECK(out[len - 1] != '.');
    FUZZ_CHECK(strpbrk(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ[]%") == NULL);
    FUZZ_CHECK(acme_names_check_domain(out, flags) == APR_SUCCESS);
    FUZZ_CHECK(acme_names_domain_normalize(&again, p, out, flags) == APR_SUCCESS);
    FUZZ_CHECK(strcmp(again, out) == 0);
}

static apr_status_t normalize(const char **pout, apr_pool_t *p, const char *in, int flags)
{
    *pout = NULL;
    return acme_names_domain_normalize(pout, p, in, flags);
}

static void check_normalize(apr_pool_t *p, const char *in, const char **pcanon)
{
    const char *n0, *nw, *other;
    apr_status_t rv0, rvw, rv;
    int upper;

    rv0 = normalize(&n0, p, in, 0);
    rvw = normalize(&nw, p, in, ACME_NAMES_WILDCARD);
    FUZZ_CHECK(rv0 == APR_SUCCESS || rv0 == APR_EINVAL);
    FUZZ_CHECK(rvw == APR_SUCCESS || rvw == APR_EINVAL);
    FUZZ_CHECK((rv0 == APR_SUCCESS) == (n0 != NULL));
    FUZZ_CHECK((rvw == APR_SUCCESS) == (nw != NULL));
    if (rv0 == APR_SUCCESS) {
        check_canonical(p, n0, 0);
        FUZZ_CHECK(rvw == APR_SUCCESS && strcmp(n0, nw) == 0);
    }
    if (rvw == APR_SUCCESS) {
        check_canonical(p, nw, ACME_NAMES_WILDCARD);
        /* a wildcard is the only thing the flag lets through */
        FUZZ_CHECK(rv0 == APR_SUCCESS || strncmp(nw, "*.", 2) == 0);
    }
    for (upper = 0; upper <= 1; ++upper) {
        rv = normalize(&other, p, ascii_case(p, in, upper), 0);
        FUZZ_CHECK(rv == rv0);
        FUZZ_CHECK(rv != APR_SUCCESS || strcmp(other, n0) == 0);
    }
    *pcanon = n0;
}

static void check_lookup(apr_pool_t *p, const char *in, const char *canon)
{
    apr_hash_t *names = apr_hash_make(p);
    const char *name = NULL, *dot;
    void *value = NULL, *direct;
    apr_status_t rv;
    size_t i;

    for (i = 0; i < FILED_COUNT; ++i) {
        apr_hash_set(names, filed[i], APR_HASH_KEY_STRING, (void *)(filed + i));
    }
    FUZZ_CHECK(acme_names_host_lookup(&value, &name, p, NULL, in) == APR_EINVAL);
    rv = acme_names_host_lookup(&value, &name, p, names, in);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_EINVAL || rv == APR_NOTFOUND);
    FUZZ_CHECK((rv == APR_EINVAL) == (canon == NULL));
    if (canon == NULL) {
        return;
    }
    direct = apr_hash_get(names, canon, APR_HASH_KEY_STRING);
    dot = strchr(canon, ':') ? NULL : strchr(canon, '.');
    if (rv == APR_NOTFOUND) {
        FUZZ_CHECK(direct == NULL);
        FUZZ_CHECK(dot == NULL
                   || apr_hash_get(names, apr_pstrcat(p, "*", dot, NULL),
                                   APR_HASH_KEY_STRING) == NULL);
        return;
    }
    FUZZ_CHECK(name != NULL && strcmp(name, canon) == 0);
    if (direct) {
        FUZZ_CHECK(value == direct);
    }
    else {
        /* the wildcard one label up: "*." + everything after the first label */
        const char *w = *(const char *const *)value;
        FUZZ_CHECK(dot != NULL && strncmp(w, "*.", 2) == 0);
        FUZZ_CHECK(strcmp(w + 1, dot) == 0);
        FUZZ_CHECK(memchr(canon, '.', (size_t)(dot - canon)) == NULL);
    }
    /* looking up the canonical name finds the same */
    FUZZ_CHECK(acme_names_host_lookup(&direct, NULL, p, names, canon) == APR_SUCCESS
               && direct == value);
}

static void check_keys(apr_pool_t *p, const char *in)
{
    const char *nw, *key, *back;

    if (normalize(&nw, p, in, ACME_NAMES_WILDCARD) == APR_SUCCESS) {
        key = acme_names_domain_to_key(p, nw);
        FUZZ_CHECK(strcmp(key, nw) == 0 && strchr(key, '/') == NULL && key[0] != '\0'
                   && strcmp(key, ".") != 0 && strcmp(key, "..") != 0);
        back = acme_names_domain_from_key(p, key, ACME_NAMES_WILDCARD);
        FUZZ_CHECK(back != NULL && strcmp(back, nw) == 0);
    }
    back = acme_names_domain_from_key(p, in, ACME_NAMES_WILDCARD);
    if (back) {
        FUZZ_CHECK(acme_names_check_domain(back, ACME_NAMES_WILDCARD) == APR_SUCCESS);
        /* a key maps back to itself */
        FUZZ_CHECK(strcmp(acme_names_domain_to_key(p, back), in) == 0);
    }
    back = acme_names_domain_from_key(p, in, 0);
    FUZZ_CHECK(back == NULL || strcmp(back, in) == 0);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void check_printable(apr_pool_t *p, const char *in)
{
    const char *out = acme_names_printable(p, in);
    size_t in_len = strlen(in), out_len = strlen(out), shown, i, j;
    char *back;

    FUZZ_CHECK(strcmp(acme_names_printable(p, NULL), "(null)") == 0);
    FUZZ_CHECK(out_len <= 80 * 4 + 3);
    for (i = 0; i < out_len; ++i) {
        FUZZ_CHECK(out[i] >= 0x20 && out[i] < 0x7f);
    }
    shown = in_len > 80 ? 80 : in_len;
    if (in_len > 80) {
        FUZZ_CHECK(out_len >= 3 && strcmp(out + out_len - 3, "...") == 0);
        out_len -= 3;
    }
    back = apr_palloc(p, out_len + 1);
    for (i = j = 0; i < out_len; ++j) {
        if (out[i] == '\\') {
            FUZZ_CHECK(i + 4 <= out_len && out[i + 1] == 'x');
            FUZZ_CHECK(hexval(out[i + 2]) >= 0 && hexval(out[i + 3]) >= 0);
            back[j] = (char)(hexval(out[i + 2]) * 16 + hexval(out[i + 3]));
            i += 4;
        }
        else {
            back[j] = out[i++];
        }
    }
    FUZZ_CHECK(j == shown && memcmp(back, in, shown) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int flag_sets[] = {
        0, ACME_NAMES_WILDCARD, ACME_NAMES_ANYCASE, ACME_NAMES_KEY,
        ACME_NAMES_WILDCARD | ACME_NAMES_ANYCASE | ACME_NAMES_KEY
    };
    apr_pool_t *p = fuzz_pool_create();
    const char *in = fuzz_strdup(p, data, size), *why, *canon = NULL;
    size_t i;

    for (i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); ++i) {
        apr_status_t rv;
        why = NULL;
        rv = acme_names_dns_check(in, flag_sets[i], &why);
        FUZZ_CHECK((rv == APR_SUCCESS) == dns_oracle(in, flag_sets[i]));
        FUZZ_CHECK(rv == APR_SUCCESS || (why != NULL && why[0] != '\0'));
    }
    FUZZ_CHECK(acme_names_dns_check(NULL, 0, NULL) == APR_EINVAL);
    FUZZ_CHECK((acme_names_check_id(in) == APR_SUCCESS)
               == (file_name_oracle(in, ACME_NAMES_ID_MAX) && in[0] != '-'));
    FUZZ_CHECK((acme_names_check_aspect(in) == APR_SUCCESS)
               == file_name_oracle(in, ACME_NAMES_ASPECT_MAX));
    FUZZ_CHECK((acme_names_check_token(in) == APR_SUCCESS) == token_oracle(in));
    check_normalize(p, in, &canon);
    check_lookup(p, in, canon);
    check_keys(p, in);
    check_printable(p, in);
    apr_pool_destroy(p);
    return 0;
}
