/* What mod_md's status outputs name differently from mod_acme: the key
 * spec names ("rsa", "secp256r1" where mod_acme says "rsa2048", "P-256")
 * and the configured key types as mod_md's "privkey" list. Tools written
 * for mod_md's md-status and /.httpd/certificate-status look these up. */
#include <string.h>

#include <apr_strings.h>

#include "acme_pkey.h"
#include "mod_acme_status.h"

const char *acme_status_spec_md_name(const char *spec)
{
    if (spec == NULL) {
        return "rsa";
    }
    if (strncmp(spec, "rsa", 3) == 0) {
        return "rsa";
    }
    if (strcmp(spec, "P-256") == 0) {
        return "secp256r1";
    }
    if (strcmp(spec, "P-384") == 0) {
        return "secp384r1";
    }
    if (strcmp(spec, "P-521") == 0) {
        return "secp521r1";
    }
    return spec;
}

const char *acme_status_spec_key(json_t *obj, const char *spec)
{
    const char *name = acme_status_spec_md_name(spec);

    /* a second RSA size keeps mod_acme's name rather than hide the first */
    return json_object_get(obj, name) ? spec : name;
}

json_t *acme_status_privkey_json(const apr_array_header_t *specs)
{
    json_t *arr = json_array();
    int i;

    for (i = 0; specs && i < specs->nelts; ++i) {
        const acme_pkey_spec_t *spec = &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t);

        if (spec->type == ACME_PKEY_RSA) {
            json_array_append_new(arr, json_pack("{s:s, s:I}", "type", "RSA", "bits",
                                                 (json_int_t)spec->bits));
        }
        else {
            json_array_append_new(arr, json_pack("{s:s, s:s}", "type", "EC", "curve",
                                                 spec->curve == ACME_PKEY_P384 ? "secp384r1"
                                                                               : "secp256r1"));
        }
    }
    return arr;
}

json_t *acme_status_spec_names_json(apr_pool_t *p, const apr_array_header_t *specs)
{
    json_t *obj = json_object();
    int i;

    for (i = 0; specs && i < specs->nelts; ++i) {
        const char *name = acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t));

        json_object_set_new(obj, acme_status_spec_key(obj, name), json_object());
    }
    return obj;
}
