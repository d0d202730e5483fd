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

const char *acme_layout_http01(apr_pool_t *p, const char *token)
{
    return apr_pstrcat(p, "http-01.", token, NULL);
}
