/* Directory parsing: see acme_directory.h. */
#include <string.h>

#include <apr_strings.h>

#include "acme_directory.h"
#include "acme_json.h"

/* An optional URL member: absent/null gives NULL, anything else must be a
 * valid absolute http(s) URL. */
static apr_status_t get_url_opt(const char **purl, apr_pool_t *p, const json_t *obj,
                                const char *key, const char **perr)
{
    const char *url, *why;
    apr_status_t rv;

    *purl = NULL;
    rv = acme_json_get_string_opt(&url, p, obj, key, perr);
    if (rv != APR_SUCCESS || url == NULL) {
        return rv;
    }
    if (acme_json_check_url(url, &why) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "member '%s': %s", key, why);
        return APR_EINVAL;
    }
    *purl = url;
    return APR_SUCCESS;
}

/* meta termsOfService / website: informational links, shown to admins and
 * never fetched. Any absolute URI is accepted (pebble sends a "data:" URL),
 * as long as it is printable ASCII without blanks and bounded. */
static apr_status_t get_link_opt(const char **plink, apr_pool_t *p, const json_t *obj,
                                 const char *key, const char **perr)
{
    const char *link, *c;
    apr_status_t rv;

    *plink = NULL;
    rv = acme_json_get_string_opt(&link, p, obj, key, perr);
    if (rv != APR_SUCCESS || link == NULL) {
        return rv;
    }
    c = link + strspn(link, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "0123456789+-.");
    if (c == link || *c != ':' || !((*link | 0x20) >= 'a' && (*link | 0x20) <= 'z')
        || strlen(link) > ACME_JSON_MAX_URL_LEN) {
        *perr = apr_psprintf(p, "meta member '%s' is not an absolute URI", key);
        return APR_EINVAL;
    }
    for (; *c; ++c) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            *perr = apr_psprintf(p, "meta member '%s' holds blanks or control characters",
                                 key);
            return APR_EINVAL;
        }
    }
    *plink = link;
    return APR_SUCCESS;
}

/* Cuts CA-supplied text to the bound, on a UTF-8 character boundary. */
static const char *text_bounded(apr_pool_t *p, const char *s)
{
    apr_size_t len = strlen(s);

    if (len <= ACME_DIRECTORY_MAX_TEXT) {
        return s;
    }
    len = ACME_DIRECTORY_MAX_TEXT;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) {
        --len;
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, s, len), "...", NULL);
}

/* meta.profiles: {"name": "description", ...}. */
static apr_status_t parse_profiles(acme_directory_t *dir, apr_pool_t *p, const json_t *meta,
                                   const char **perr)
{
    const json_t *profiles, *desc;
    const char *name;

    dir->profiles = apr_array_make(p, 4, sizeof(acme_directory_profile_t));
    profiles = json_object_get(meta, "profiles");
    if (profiles == NULL || json_is_null(profiles)) {
        return APR_SUCCESS;
    }
    if (!json_is_object(profiles)) {
        *perr = "meta member 'profiles' is not an object";
        return APR_EINVAL;
    }
    if (json_object_size(profiles) > ACME_DIRECTORY_MAX_PROFILES) {
        *perr = "meta member 'profiles' lists too many profiles";
        return APR_EINVAL;
    }
    json_object_foreach((json_t *)profiles, name, desc) {
        acme_directory_profile_t *prof;
        if (!*name || strlen(name) > 64) {
            *perr = "meta 'profiles': a profile name is empty or too long";
            return APR_EINVAL;
        }
        if (!json_is_string(desc)) {
            *perr = apr_psprintf(p, "meta 'profiles': description of '%s' is not a string",
                                 name);
            return APR_EINVAL;
        }
        prof = apr_array_push(dir->profiles);
        prof->name = apr_pstrdup(p, name);
        prof->description = text_bounded(p, apr_pstrmemdup(p, json_string_value(desc),
                                                           json_string_length(desc)));
    }
    return APR_SUCCESS;
}

static apr_status_t parse_meta(acme_directory_t *dir, apr_pool_t *p, const json_t *root,
                               const char **perr)
{
    const json_t *meta = json_object_get(root, "meta");
    apr_array_header_t *caa = NULL;
    apr_status_t rv;
    int i;

    dir->caa_identities = apr_array_make(p, 0, sizeof(const char *));
    if (meta == NULL || json_is_null(meta)) {
        dir->profiles = apr_array_make(p, 0, sizeof(acme_directory_profile_t));
        return APR_SUCCESS;
    }
    if (!json_is_object(meta)) {
        *perr = "member 'meta' is not an object";
        return APR_EINVAL;
    }
    if ((rv = get_link_opt(&dir->terms_of_service, p, meta, "termsOfService", perr))
        || (rv = get_link_opt(&dir->website, p, meta, "website", perr))
        || (rv = acme_json_get_strings_opt(&caa, p, meta, "caaIdentities", perr))) {
        return rv;
    }
    if (caa != NULL) {
        if (caa->nelts > ACME_DIRECTORY_MAX_CAA) {
            *perr = "meta member 'caaIdentities' lists too many names";
            return APR_EINVAL;
        }
        for (i = 0; i < caa->nelts; ++i) {
            const char *name = APR_ARRAY_IDX(caa, i, const char *);
            if (!*name || strlen(name) > 253) {
                *perr = "meta 'caaIdentities': a name is empty or too long";
                return APR_EINVAL;
            }
        }
        dir->caa_identities = caa;
    }
    if (json_object_get(meta, "externalAccountRequired") != NULL
        && !json_is_null(json_object_get(meta, "externalAccountRequired"))) {
        rv = acme_json_get_bool(&dir->external_account_required, p, meta,
                                "externalAccountRequired", perr);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return parse_profiles(dir, p, meta, perr);
}

apr_status_t acme_directory_from_json(acme_directory_t **pdir, apr_pool_t *p,
                                      const json_t *json, acme_result_t *r)
{
    acme_directory_t *dir = apr_pcalloc(p, sizeof(*dir));
    const char *why = NULL;
    apr_status_t rv;

    if (!json_is_object(json)) {
        return acme_result_fail(r, APR_EINVAL, "directory: not a JSON object");
    }
    if ((rv = acme_json_get_url(&dir->new_nonce, p, json, "newNonce", &why))
        || (rv = acme_json_get_url(&dir->new_account, p, json, "newAccount", &why))
        || (rv = acme_json_get_url(&dir->new_order, p, json, "newOrder", &why))
        || (rv = get_url_opt(&dir->new_authz, p, json, "newAuthz", &why))
        || (rv = get_url_opt(&dir->revoke_cert, p, json, "revokeCert", &why))
        || (rv = get_url_opt(&dir->key_change, p, json, "keyChange", &why))
        || (rv = get_url_opt(&dir->renewal_info, p, json, "renewalInfo", &why))
        || (rv = parse_meta(dir, p, json, &why))) {
        return acme_result_fail(r, rv, "directory: %s", why);
    }
    *pdir = dir;
    return APR_SUCCESS;
}

apr_status_t acme_directory_parse(acme_directory_t **pdir, apr_pool_t *p, const char *body,
                                  apr_size_t len, acme_result_t *r)
{
    json_t *json = NULL;
    const char *why = NULL;
    apr_status_t rv;

    rv = acme_json_parse(&json, p, body, len, ACME_JSON_OBJECT, &why);
    if (rv != APR_SUCCESS) {
        acme_result_fail(r, rv, "directory: %s", why);
        /* a garbled or cut-off answer is a fault on the way: ask again later */
        r->action = ACME_ACTION_RETRY;
        return rv;
    }
    return acme_directory_from_json(pdir, p, json, r);
}

const acme_directory_profile_t *acme_directory_get_profile(const acme_directory_t *dir,
                                                           const char *name)
{
    int i;

    for (i = 0; name && i < dir->profiles->nelts; ++i) {
        const acme_directory_profile_t *prof =
            &APR_ARRAY_IDX(dir->profiles, i, acme_directory_profile_t);
        if (strcmp(prof->name, name) == 0) {
            return prof;
        }
    }
    return NULL;
}
