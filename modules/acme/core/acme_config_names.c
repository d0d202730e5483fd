/* DNS names, IP addresses, email addresses, URLs and CA names in directive
 * values. */
#include <arpa/inet.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <strings.h>
#include <apr_uri.h>

#include "acme_config_value.h"
#include "acme_names.h"

#define WHY(text) do { if (pwhy) { *pwhy = (text); } } while (0)

apr_status_t acme_config_dns_name_check(const char *s, const char **pwhy)
{
    return acme_names_dns_check(s, ACME_NAMES_WILDCARD | ACME_NAMES_ANYCASE, pwhy);
}

/* "*." before an IP address, or before a name whose last label is all
 * digits (no top-level domain is): a wildcard cannot cover an address. */
static int wildcard_on_ip(const char *s)
{
    const char *last;
    unsigned char addr[16];

    if (s[0] != '*' || s[1] != '.') {
        return 0;
    }
    last = strrchr(s + 2, '.');
    last = last ? last + 1 : s + 2;
    return inet_pton(AF_INET, s + 2, addr) == 1 || (*last && strspn(last, "0123456789")
                                                    == strlen(last));
}

/* An IPv6 literal, bare or in brackets, to its RFC 5952 text. */
static apr_status_t ipv6_parse(const char **pname, apr_pool_t *p, const char *s,
                               const char **pwhy)
{
    apr_size_t len = strlen(s);
    unsigned char addr[16];
    char text[INET6_ADDRSTRLEN];
    const char *bare = s;

    if (s[0] == '[') {
        if (len < 3 || s[len - 1] != ']') {
            WHY("is not an IPv6 address: a '[' needs its ']', as in [2001:db8::1]");
            return APR_EINVAL;
        }
        bare = apr_pstrndup(p, s + 1, len - 2);
    }
    if (strchr(bare, '%')) {
        WHY("is an IPv6 address with a zone (%...), which no certificate can name; "
            "write the address without it");
        return APR_EINVAL;
    }
    if (inet_pton(AF_INET6, bare, addr) != 1
        || inet_ntop(AF_INET6, addr, text, sizeof(text)) == NULL) {
        WHY("is neither a DNS name nor an IP address (an IPv6 address is written as "
            "2001:db8::1 or [2001:db8::1])");
        return APR_EINVAL;
    }
    *pname = apr_pstrdup(p, text);
    return APR_SUCCESS;
}

apr_status_t acme_config_identifier_parse(const char **pname, apr_pool_t *p, const char *s,
                                          const char **pwhy)
{
    char *lower;
    apr_size_t i;

    if (s && (s[0] == '[' || strchr(s, ':'))) {
        return ipv6_parse(pname, p, s, pwhy);
    }
    if (s && wildcard_on_ip(s)) {
        WHY("is a wildcard on an IP address; an IP address is named alone, as in "
            "192.0.2.1");
        return APR_EINVAL;
    }
    if (acme_config_dns_name_check(s, pwhy) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    lower = apr_pstrdup(p, s);
    for (i = 0; lower[i]; ++i) {
        lower[i] = (char)apr_tolower((unsigned char)lower[i]);
    }
    *pname = lower;
    return APR_SUCCESS;
}

/* RFC 5322 atext, which is what CAs accept in the local part. */
static int is_atext(char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

apr_status_t acme_config_email_parse(const char **pemail, apr_pool_t *p, const char *s,
                                     const char **pwhy)
{
    const char *at, *c;

    if (s && !strncasecmp(s, "mailto:", 7)) {
        s += 7;
    }
    at = s ? strchr(s, '@') : NULL;
    if (!at || strchr(at + 1, '@')) {
        WHY("is not an email address; use e.g. admin@example.org");
        return APR_EINVAL;
    }
    if (at == s || *s == '.' || at[-1] == '.' || at - s > 64) {
        WHY("has an empty or malformed part before the '@'");
        return APR_EINVAL;
    }
    for (c = s; c < at; ++c) {
        if (!is_atext(*c) && !(*c == '.' && c[1] != '.')) {
            WHY("has a character before the '@' that CAs do not accept");
            return APR_EINVAL;
        }
    }
    if (at[1] == '*' || acme_config_dns_name_check(at + 1, NULL) != APR_SUCCESS
        || !strchr(at + 1, '.')) {
        WHY("does not end in a domain name with a dot, e.g. admin@example.org");
        return APR_EINVAL;
    }
    *pemail = apr_pstrdup(p, s);
    return APR_SUCCESS;
}

apr_status_t acme_config_url_check(apr_pool_t *p, const char *s, int https_only,
                                   const char **pwhy)
{
    apr_uri_t uri;
    const char *c;

    for (c = s; c && *c; ++c) {
        if (apr_isspace(*c) || apr_iscntrl(*c)) {
            WHY("contains white space or control characters, which a URL cannot");
            return APR_EINVAL;
        }
    }
    if (!s || apr_uri_parse(p, s, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname
        || !*uri.hostname) {
        WHY(https_only ? "is not an absolute URL; use e.g. https://ca.example/directory"
                       : "is not an absolute URL; use e.g. http://proxy.example:3128");
        return APR_EINVAL;
    }
    if (strcasecmp(uri.scheme, "https")
        && (https_only || strcasecmp(uri.scheme, "http"))) {
        WHY(https_only ? "is not an https: URL" : "is not an http: or https: URL");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

typedef struct {
    const char *name;
    const char *url;
} ca_known_t;

static const ca_known_t ca_known[] = {
    { "LetsEncrypt", ACME_CONFIG_CA_LE },
    { "LetsEncrypt-Test", ACME_CONFIG_CA_LE_TEST },
    { "Buypass", ACME_CONFIG_CA_BUYPASS },
    { "Buypass-Test", ACME_CONFIG_CA_BUYPASS_TEST },
    { NULL, NULL },
};

const char *acme_config_ca_known_url(const char *name)
{
    int i;

    for (i = 0; name && ca_known[i].name; ++i) {
        if (!strcasecmp(name, ca_known[i].name)) {
            return ca_known[i].url;
        }
    }
    return NULL;
}

apr_status_t acme_config_ca_resolve(const char **purl, apr_pool_t *p, const char *s,
                                    const char **pwhy)
{
    const char *url = acme_config_ca_known_url(s);

    if (!url) {
        if (acme_config_url_check(p, s, 0, NULL) != APR_SUCCESS) {
            WHY("is neither a CA directory URL (https://...) nor a known CA name: "
                "LetsEncrypt, LetsEncrypt-Test, Buypass, Buypass-Test");
            return APR_EINVAL;
        }
        url = s;
    }
    *purl = url;
    return APR_SUCCESS;
}
