/* A renewal spec (acme_renew.h): its checks, its default challenge
 * preferences, and the form saved in job.json that tells whether a saved job
 * still belongs to it. */
#include <apr_strings.h>

#include "acme_json.h"
#include "acme_names.h"
#include "acme_renew_int.h"

static const char *const default_challenges[] = { "http-01", "tls-alpn-01" };

static void set_opt(json_t *obj, const char *key, const char *value)
{
    if (value != NULL) {
        json_object_set_new(obj, key, json_string(value));
    }
}

json_t *acme_renew_spec_json(apr_pool_t *p, const acme_renew_spec_t *spec,
                             const apr_array_header_t *challenges)
{
    json_t *obj = acme_json_pool_adopt(p, json_object()), *keys = json_array();
    int i;

    for (i = 0; i < spec->pkey_specs->nelts; ++i) {
        const acme_pkey_spec_t *ks = &APR_ARRAY_IDX(spec->pkey_specs, i, acme_pkey_spec_t);
        json_array_append_new(keys, json_string(acme_pkey_spec_name(p, ks)));
    }
    json_object_set_new(obj, "names", acme_json_strings(spec->names));
    json_object_set_new(obj, "pkey-specs", keys);
    json_object_set_new(obj, "ca-url", json_string(spec->ca_url));
    set_opt(obj, "contact", acme_account_store_contact(p, spec->contact));
    set_opt(obj, "eab-kid", spec->eab_kid);
    json_object_set_new(obj, "tos-agreed", json_boolean(spec->tos_agreed));
    json_object_set_new(obj, "challenges", acme_json_strings(challenges));
    json_object_set_new(obj, "must-staple", json_boolean(spec->must_staple));
    set_opt(obj, "profile", spec->profile);
    set_opt(obj, "preferred-chain", spec->preferred_chain);
    return obj;
}

static apr_status_t spec_check_keys(const acme_renew_spec_t *spec, apr_pool_t *p,
                                    const char **pwhy)
{
    int i, j;

    if (!spec->pkey_specs || spec->pkey_specs->nelts < 1
        || spec->pkey_specs->nelts > ACME_JOB_MAX_KEYS) {
        *pwhy = "one to " APR_STRINGIFY(ACME_JOB_MAX_KEYS) " key specs are needed";
        return APR_EINVAL;
    }
    for (i = 0; i < spec->pkey_specs->nelts; ++i) {
        const acme_pkey_spec_t *a = &APR_ARRAY_IDX(spec->pkey_specs, i, acme_pkey_spec_t);
        for (j = 0; j < i; ++j) {
            if (acme_pkey_spec_eq(a, &APR_ARRAY_IDX(spec->pkey_specs, j, acme_pkey_spec_t))) {
                *pwhy = apr_psprintf(p, "key spec %s is listed twice",
                                     acme_pkey_spec_name(p, a));
                return APR_EINVAL;
            }
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_renew_spec_check(const acme_renew_spec_t *spec, apr_pool_t *p,
                                   const char **pwhy)
{
    int i;

    if (!spec->md_name || acme_names_check_domain(spec->md_name, ACME_NAMES_WILDCARD)) {
        *pwhy = "the domain's name is invalid";
        return APR_EINVAL;
    }
    if (!spec->names || spec->names->nelts < 1) {
        *pwhy = "no names to certify";
        return APR_EINVAL;
    }
    for (i = 0; i < spec->names->nelts; ++i) {
        if (APR_ARRAY_IDX(spec->names, i, const char *) == NULL) {
            *pwhy = "a name is NULL";
            return APR_EINVAL;
        }
    }
    if (!spec->ca_url || acme_json_check_url(spec->ca_url, pwhy) != APR_SUCCESS) {
        *pwhy = "the CA URL is invalid";
        return APR_EINVAL;
    }
    if ((spec->eab_kid == NULL) != (spec->eab_hmac == NULL)) {
        *pwhy = "External Account Binding needs both a key id and an HMAC key";
        return APR_EINVAL;
    }
    if (spec->dns01 && (!spec->dns01->setup_cb || !spec->dns01->teardown_cb)) {
        *pwhy = "the dns-01 hook needs a setup and a teardown callback";
        return APR_EINVAL;
    }
    return spec_check_keys(spec, p, pwhy);
}

const apr_array_header_t *acme_renew_spec_challenges(apr_pool_t *p,
                                                     const acme_renew_spec_t *spec)
{
    apr_array_header_t *arr;
    apr_size_t i;

    if (spec->challenges && spec->challenges->nelts > 0) {
        return spec->challenges;
    }
    arr = apr_array_make(p, 2, sizeof(const char *));
    for (i = 0; i < sizeof(default_challenges) / sizeof(default_challenges[0]); ++i) {
        APR_ARRAY_PUSH(arr, const char *) = default_challenges[i];
    }
    return arr;
}
