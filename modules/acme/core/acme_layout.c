/* Aspect names of the store layout, see acme_layout.h. */
#include <apr_strings.h>

#include "acme_layout.h"

const char *acme_layout_privkey(apr_pool_t *p, const char *spec_name)
{
    return apr_pstrcat(p, "privkey.", spec_name, ".pem", NULL);
}

const char *acme_layout_pubcert(apr_pool_t *p, const char *spec_name)
{
    return apr_pstrcat(p, "pubcert.", spec_name, ".pem", NULL);
}

const char *acme_layout_http01(apr_pool_t *p, const char *token)
{
    return apr_pstrcat(p, "http-01.", token, NULL);
}
