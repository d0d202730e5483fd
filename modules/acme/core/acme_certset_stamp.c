/* The stamp of a certificate set (see acme_certset.h): a full check's
 * verdict, keyed by the SHA-256 of the files it was made on.
 *
 * verified.json:
 *   {"version": 1, "name": "<set>", "names": [<names checked>],
 *    "pairs": [{"spec", "key-sha256", "cert-sha256", "leaf-sha256", "serial",
 *               "issuer", "issuer-name", "ari-cert-id" (string or null),
 *               "not-before", "not-after" (apr_time_t, µs),
 *               "names-ok", "missing" (string or null)}, ...]}
 * one pair per spec in spec order. Whatever does not fit this exactly (an
 * old or damaged stamp, a file changed since) makes the stamp not apply:
 * the set is then checked fully, so a bad stamp can cost time, never let a
 * changed set through. A stamp is only believed where nobody but this
 * process's user can have written it (acme_store_load_trusted(): in httpd's
 * parent, root's LIVE and PENDING; never STAGING, which httpd's User
 * writes): a forged stamp there would vouch for any files. */
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "acme_certset.h"
#include "acme_certset_int.h"
#include "acme_json.h"
#include "acme_layout.h"
#include "acme_pkey.h"

/* 2: stamps are trusted only where no one but this process's user can have
 * written them (acme_store_load_trusted()). Version 1 stamps in LIVE may be
 * a renewal job's, moved there by an older activation: not trusted, the
 * first pass checks such a set fully once and stamps it anew.
 * 3: pairs carry the leaf's issuer-name and ari-cert-id (the status shows
 * them as mod_md does); a version 2 stamp does not apply, so the first pass
 * after an upgrade checks each set fully once and stamps it anew. */
#define STAMP_VERSION 3

/* The SHA-256 of an aspect's bytes; NULL when it is absent or unreadable. */
static const char *aspect_sha256(apr_pool_t *p, acme_store_t *store,
                                 acme_store_group_e group, const char *name,
                                 const char *aspect)
{
    const char *data;
    apr_size_t len;

    if (acme_store_load(&data, &len, p, store, group, name, aspect) != APR_SUCCESS) {
        return NULL;
    }
    return certset_sha256_hex(p, data, len);
}

/* True when `missing` is one of `names`: what a full check records. */
static int is_one_of(const char *missing, const apr_array_header_t *names)
{
    int i;

    for (i = 0; i < names->nelts; ++i) {
        if (strcmp(missing, APR_ARRAY_IDX(names, i, const char *)) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Fills *pair from its stamp record jp when spec and both files match. */
static int pair_from_stamp(acme_certset_pair_t *pair, apr_pool_t *p, const json_t *jp,
                           const char *spec_name, const apr_array_header_t *names,
                           acme_store_t *store, acme_store_group_e group, const char *name,
                           apr_time_t now)
{
    const char *spec, *key_sha, *cert_sha, *missing, *err = NULL;
    apr_int64_t from, until;
    int names_ok;

    if (acme_json_get_string(&spec, p, jp, "spec", &err) != APR_SUCCESS
        || strcmp(spec, spec_name) != 0
        || acme_json_get_string(&key_sha, p, jp, "key-sha256", &err) != APR_SUCCESS
        || acme_json_get_string(&cert_sha, p, jp, "cert-sha256", &err) != APR_SUCCESS
        || acme_json_get_string(&pair->leaf_sha256, p, jp, "leaf-sha256", &err) != APR_SUCCESS
        || acme_json_get_string(&pair->serial, p, jp, "serial", &err) != APR_SUCCESS
        || acme_json_get_string(&pair->issuer, p, jp, "issuer", &err) != APR_SUCCESS
        || acme_json_get_string(&pair->issuer_name, p, jp, "issuer-name", &err) != APR_SUCCESS
        || acme_json_get_string_opt(&pair->ari_cert_id, p, jp, "ari-cert-id", &err)
               != APR_SUCCESS
        || acme_json_get_int(&from, p, jp, "not-before", &err) != APR_SUCCESS
        || acme_json_get_int(&until, p, jp, "not-after", &err) != APR_SUCCESS
        || acme_json_get_bool(&names_ok, p, jp, "names-ok", &err) != APR_SUCCESS
        || acme_json_get_string_opt(&missing, p, jp, "missing", &err) != APR_SUCCESS
        /* a full check names the first name missing, one of those asked
         * for, and only when one is */
        || (names_ok ? missing != NULL : (!missing || !is_one_of(missing, names)))) {
        return 0;
    }
    pair->spec_name = spec;
    pair->key_sha256 = aspect_sha256(p, store, group, name, acme_layout_privkey(p, spec));
    if (!pair->key_sha256 || strcmp(pair->key_sha256, key_sha) != 0) {
        return 0;
    }
    pair->cert_sha256 = aspect_sha256(p, store, group, name, acme_layout_pubcert(p, spec));
    if (!pair->cert_sha256 || strcmp(pair->cert_sha256, cert_sha) != 0) {
        return 0;
    }
    pair->status = APR_SUCCESS;
    pair->has_key = pair->has_cert = 1;
    pair->not_before = (apr_time_t)from;
    pair->not_after = (apr_time_t)until;
    certset_pair_verdict(pair, p, names_ok ? APR_SUCCESS : APR_EMISMATCH, missing, now);
    return 1;
}

/* True when the stamp's set name and names are `name` and `names`. */
static int stamp_is_for(const json_t *json, apr_pool_t *p, const char *name,
                        const apr_array_header_t *names)
{
    apr_array_header_t *stamped;
    const char *sname, *err = NULL;
    apr_int64_t version;
    int i;

    if (acme_json_get_int(&version, p, json, "version", &err) != APR_SUCCESS
        || version != STAMP_VERSION
        || acme_json_get_string(&sname, p, json, "name", &err) != APR_SUCCESS
        || strcmp(sname, name) != 0
        || acme_json_get_strings(&stamped, p, json, "names", &err) != APR_SUCCESS
        || stamped->nelts != names->nelts) {
        return 0;
    }
    for (i = 0; i < names->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(stamped, i, const char *),
                   APR_ARRAY_IDX(names, i, const char *)) != 0) {
            return 0;
        }
    }
    return 1;
}

/* The verdict from the stamp, or NULL when there is none that applies. */
static acme_certset_check_t *stamp_apply(apr_pool_t *p, acme_store_t *store,
                                         acme_store_group_e group, const char *name,
                                         const apr_array_header_t *specs,
                                         const apr_array_header_t *names, apr_time_t now)
{
    acme_certset_check_t *check;
    const json_t *jpairs;
    json_t *json;
    const char *data, *err = NULL;
    apr_size_t len;
    int i;

    if (acme_store_load_trusted(&data, &len, p, store, group, name, ACME_CERTSET_STAMP)
        != APR_SUCCESS
        || acme_json_parse(&json, p, data, len, ACME_JSON_OBJECT, &err) != APR_SUCCESS
        || !stamp_is_for(json, p, name, names)
        || acme_json_get_array(&jpairs, p, json, "pairs", &err) != APR_SUCCESS
        || json_array_size(jpairs) != (size_t)specs->nelts) {
        return NULL;
    }
    check = apr_pcalloc(p, sizeof(*check));
    check->name = apr_pstrdup(p, name);
    check->pairs = apr_array_make(p, specs->nelts, sizeof(acme_certset_pair_t));
    check->stamped = 1;
    for (i = 0; i < specs->nelts; ++i) {
        acme_certset_pair_t *pair = apr_array_push(check->pairs);
        const json_t *jp = json_array_get(jpairs, (size_t)i);

        memset(pair, 0, sizeof(*pair));
        if (!json_is_object(jp)
            || !pair_from_stamp(pair, p, jp,
                                acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i,
                                                                      acme_pkey_spec_t)),
                                names, store, group, name, now)) {
            return NULL;
        }
        certset_tally(check, p, pair);
    }
    return check;
}

/* One pair's record; NULL when the pair does not qualify for a stamp. */
static json_t *pair_record(const acme_certset_pair_t *pair)
{
    if (pair->status != APR_SUCCESS || !pair->key_sha256 || !pair->cert_sha256
        || !pair->leaf_sha256 || !pair->serial || !pair->issuer || !pair->issuer_name
        || (!pair->names_ok && !pair->name_missing)) {
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:I, s:I, s:b, s:s?}",
                     "spec", pair->spec_name, "key-sha256", pair->key_sha256,
                     "cert-sha256", pair->cert_sha256, "leaf-sha256", pair->leaf_sha256,
                     "serial", pair->serial, "issuer", pair->issuer,
                     "issuer-name", pair->issuer_name, "ari-cert-id", pair->ari_cert_id,
                     "not-before", (json_int_t)pair->not_before,
                     "not-after", (json_int_t)pair->not_after,
                     "names-ok", pair->names_ok, "missing", pair->name_missing);
}

apr_status_t acme_certset_stamp_save(const acme_certset_check_t *check, apr_pool_t *p,
                                     acme_store_t *store, acme_store_group_e group,
                                     const apr_array_header_t *names)
{
    json_t *json, *jpairs, *jnames, *jp;
    const char *text;
    apr_size_t len;
    apr_status_t rv = APR_ENOMEM;
    int i;

    json = acme_json_pool_adopt(p, json_pack("{s:i, s:s, s:[], s:[]}", "version",
                                             STAMP_VERSION, "name", check->name,
                                             "names", "pairs"));
    if (json == NULL) {
        return APR_ENOMEM;
    }
    jnames = json_object_get(json, "names");
    jpairs = json_object_get(json, "pairs");
    for (i = 0; i < names->nelts; ++i) {
        if (json_array_append_new(jnames, json_string(APR_ARRAY_IDX(names, i,
                                                                    const char *))) != 0) {
            return APR_ENOMEM;
        }
    }
    for (i = 0; i < check->pairs->nelts; ++i) {
        jp = pair_record(&APR_ARRAY_IDX(check->pairs, i, acme_certset_pair_t));
        if (jp == NULL) {
            return APR_EINVAL;
        }
        if (json_array_append_new(jpairs, jp) != 0) {
            return APR_ENOMEM;
        }
    }
    if (check->pairs->nelts > 0 && (rv = acme_json_dump(&text, &len, p, json)) == APR_SUCCESS) {
        rv = acme_store_save(store, p, group, check->name, ACME_CERTSET_STAMP, text, len, 0);
    }
    return rv;
}

apr_status_t acme_certset_check_stamped(acme_certset_check_t **pcheck, apr_pool_t *p,
                                        acme_store_t *store, acme_store_group_e group,
                                        const char *name, const apr_array_header_t *specs,
                                        const apr_array_header_t *names, apr_time_t now,
                                        int flags)
{
    acme_certset_check_t *check;
    apr_status_t rv;

    if (specs == NULL || specs->nelts == 0) {
        return APR_EINVAL;
    }
    check = stamp_apply(p, store, group, name, specs, names, now);
    if (check) {
        *pcheck = check;
        return APR_SUCCESS;
    }
    rv = acme_certset_check(&check, p, store, group, name, specs, names, now);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((flags & ACME_CERTSET_RESTAMP) && check->usable == check->pairs->nelts) {
        /* the store logs a failing write; the next pass checks fully again */
        acme_certset_stamp_save(check, p, store, group, names);
    }
    *pcheck = check;
    return APR_SUCCESS;
}
