/* Aspect names of the store layout, see acme_layout.h. */
#include <string.h>

#include <apr_strings.h>

#include "acme_layout.h"

/* mod_md's suffix for a key spec: none for RSA (any size: a domain has at
 * most one RSA key), the curve's lower-case SECG name for EC keys. */
static const char *mod_md_suffix(apr_pool_t *p, const char *spec_name)
{
    if (!strncmp(spec_name, "rsa", 3)) {
        return NULL;
    }
    if (!strcmp(spec_name, "P-256")) {
        return "secp256r1";
    }
    if (!strcmp(spec_name, "P-384")) {
        return "secp384r1";
    }
    return apr_pstrdup(p, spec_name);
}

static const char *set_file(apr_pool_t *p, const char *base, const char *spec_name)
{
    const char *suffix = mod_md_suffix(p, spec_name);

    return suffix ? apr_pstrcat(p, base, ".", suffix, ".pem", NULL)
                  : apr_pstrcat(p, base, ".pem", NULL);
}

const char *acme_layout_privkey(apr_pool_t *p, const char *spec_name)
{
    return set_file(p, "privkey", spec_name);
}

const char *acme_layout_pubcert(apr_pool_t *p, const char *spec_name)
{
    return set_file(p, "pubcert", spec_name);
}

int acme_layout_is_private_key(const char *aspect)
{
    apr_size_t len;

    if (aspect == NULL) {
        return 0;
    }
    if (strcmp(aspect, ACME_ASPECT_ACCOUNT_KEY) == 0) {
        return 1;
    }
    len = strlen(aspect);
    /* "privkey.pem" or "privkey.<suffix>.pem", suffix without dots */
    if (len < sizeof("privkey.pem") - 1 || strncmp(aspect, "privkey.", 8) != 0
        || strcmp(aspect + len - 4, ".pem") != 0) {
        return 0;
    }
    return len == sizeof("privkey.pem") - 1
           || (len > sizeof("privkey..pem") - 1
               && memchr(aspect + 8, '.', len - 12) == NULL);
}

const char *acme_layout_http01(apr_pool_t *p, const char *token)
{
    return apr_pstrcat(p, "http-01.", token, NULL);
}
