/* acmectl: the domains a store holds, for `--store DIR` without a
 * configuration: every name of LIVE and STAGING, described by its md.json
 * (ours: "names", "pkey-specs", "ca-url"; mod_md's: "domains"). What the
 * configuration would say (windows, renew mode) takes the defaults. */
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "acme_json.h"
#include "acme_layout.h"
#include "acmectl.h"

static void md_from_json(acmectl_md_t *md, apr_pool_t *p, json_t *json)
{
    json_t *names = json_object_get(json, "names"), *specs, *v;
    apr_array_header_t *parsed;
    const char *ca = json_string_value(json_object_get(json, "ca-url"));
    acme_pkey_spec_t spec;
    const char *err;
    size_t i;

    if (!json_is_array(names)) {
        names = json_object_get(json, "domains");       /* mod_md's md.json */
    }
    json_array_foreach(names, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), md->name) != 0) {
            APR_ARRAY_PUSH(md->names, const char *) = apr_pstrdup(p, json_string_value(v));
        }
    }
    parsed = apr_array_make(p, 2, sizeof(acme_pkey_spec_t));
    specs = json_object_get(json, "pkey-specs");
    json_array_foreach(specs, i, v) {
        if (json_is_string(v)
            && acme_pkey_spec_parse(&spec, p, json_string_value(v), &err) == APR_SUCCESS) {
            APR_ARRAY_PUSH(parsed, acme_pkey_spec_t) = spec;
        }
    }
    if (parsed->nelts > 0) {
        md->pkey_specs = parsed;    /* else the default stays */
    }
    if (ca) {
        APR_ARRAY_IDX(md->ca_urls, 0, const char *) = apr_pstrdup(p, ca);
    }
}

static acmectl_md_t *md_make(apr_pool_t *p, acme_store_t *store, const char *name,
                             acme_store_group_e group)
{
    static const acme_config_window_t window_33 = { 1, 33, 0 };
    static const acme_config_window_t window_10 = { 1, 10, 0 };
    acmectl_md_t *md = apr_pcalloc(p, sizeof(*md));
    acme_pkey_spec_t *rsa;
    const char *data;
    apr_size_t len;
    json_t *json;

    md->name = name;
    md->names = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(md->names, const char *) = name;
    md->pkey_specs = apr_array_make(p, 1, sizeof(acme_pkey_spec_t));
    rsa = apr_array_push(md->pkey_specs);
    rsa->type = ACME_PKEY_RSA;
    rsa->bits = ACME_PKEY_RSA_DEFAULT_BITS;
    rsa->curve = ACME_PKEY_CURVE_NONE;
    md->ca_urls = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->ca_urls, const char *) = "unknown";
    md->renew_window = window_33;
    md->warn_window = window_10;
    md->renew_mode = "auto";
    md->file = "(store)";
    if (acme_store_load(&data, &len, p, store, group, name, ACME_ASPECT_MD) == APR_SUCCESS
        && acme_json_parse(&json, p, data, len, ACME_JSON_OBJECT, NULL) == APR_SUCCESS) {
        md_from_json(md, p, json);
    }
    return md;
}

apr_status_t acmectl_mds_from_store(apr_array_header_t **pmds, apr_pool_t *p,
                                    acme_store_t *store)
{
    static const acme_store_group_e groups[] = { ACME_STORE_LIVE, ACME_STORE_STAGING };
    apr_array_header_t *mds = apr_array_make(p, 8, sizeof(acmectl_md_t *));
    apr_array_header_t *names;
    apr_status_t rv;
    int g, i, j, seen;

    for (g = 0; g < 2; ++g) {
        if ((rv = acme_store_list(&names, p, store, groups[g], NULL)) != APR_SUCCESS) {
            return rv;
        }
        for (i = 0; i < names->nelts; ++i) {
            const char *name = APR_ARRAY_IDX(names, i, const char *);
            for (seen = 0, j = 0; j < mds->nelts && !seen; ++j) {
                seen = !strcmp(APR_ARRAY_IDX(mds, j, acmectl_md_t *)->name, name);
            }
            if (!seen) {
                APR_ARRAY_PUSH(mds, acmectl_md_t *) = md_make(p, store, name, groups[g]);
            }
        }
    }
    *pmds = mds;
    return APR_SUCCESS;
}
