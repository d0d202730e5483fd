/* What mod_md's status outputs name differently from mod_acme: the key
 * spec names ("rsa", "secp256r1" where mod_acme says "rsa2048", "P-256")
 * and the configured key types as mod_md's "privkey" list; the account id
 * and the acme-tls/1 names mod_md keeps with a domain. Tools written for
 * mod_md's md-status and /.httpd/certificate-status look these up. */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_vhost.h>

#include "acme_account_store.h"
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

const char *acme_status_account_id(apr_pool_t *pconf, apr_hash_t *cache, acme_store_t *store,
                                   const acme_config_md_t *md)
{
    const acme_config_props_t *props = &md->props;
    acme_account_want_t want;
    acme_account_record_t *rec;
    const char *key, *id;
    apr_pool_t *scratch;

    if (store == NULL || !md->driven || props->ca_urls == NULL || props->ca_urls->nelts == 0) {
        return NULL;
    }
    memset(&want, 0, sizeof(want));
    want.ca_url = APR_ARRAY_IDX(props->ca_urls, 0, const char *);
    want.contact = props->contact;
    want.eab_kid = props->eab_kid;
    key = apr_pstrcat(apr_hash_pool_get(cache), want.ca_url, "\n", want.contact ? want.contact : "", "\n",
                      want.eab_kid ? want.eab_kid : "", NULL);
    if ((id = apr_hash_get(cache, key, APR_HASH_KEY_STRING)) != NULL) {
        return id[0] ? id : NULL;
    }
    /* the record only while looking (its key is the custody's, not read here) */
    apr_pool_create(&scratch, pconf);
    id = "";
    if (acme_account_store_find(&rec, scratch, store, &want) == APR_SUCCESS
        && rec->url != NULL && !rec->unusable) {
        id = apr_pstrdup(pconf, rec->id);
    }
    apr_pool_destroy(scratch);
    apr_hash_set(cache, key, APR_HASH_KEY_STRING, id);
    return id[0] ? id : NULL;
}

json_t *acme_status_proto_json(const acme_config_md_t *md)
{
    json_t *names = json_array();
    request_rec r;
    int i, j;

    /* as mod_md: the names whose https vhost allows acme-tls/1 */
    memset(&r, 0, sizeof(r));
    for (i = 0; md->names && i < md->names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(md->names, i, const char *);

        for (j = 0; md->vhosts && j < md->vhosts->nelts; ++j) {
            server_rec *vs = APR_ARRAY_IDX(md->vhosts, j, server_rec *);

            if (!acme_config_srv_get(vs)->is_ssl) {
                continue;
            }
            r.server = vs;
            if (ap_matches_request_vhost(&r, name, vs->port)) {
                if (ap_is_allowed_protocol(NULL, NULL, vs, "acme-tls/1")) {
                    json_array_append_new(names, json_string(name));
                }
                break;
            }
        }
    }
    return json_pack("{s:o}", "acme-tls/1", names);
}

const char *acme_status_incomplete_text(apr_pool_t *p, const acme_status_md_t *smd)
{
    const acme_config_md_t *md = smd->md;
    const apr_array_header_t *specs = md->props.pkey_specs;
    int i, j, found;

    if (md->cert_files && md->cert_files->nelts > 0) {
        return smd->live->nelts > 0 ? NULL : "certificate is missing";
    }
    for (i = 0; specs && i < specs->nelts; ++i) {
        const char *name = acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t));

        for (found = 0, j = 0; !found && j < smd->live->nelts; ++j) {
            found = strcmp(APR_ARRAY_IDX(smd->live, j, acme_status_cert_t).spec, name) == 0;
        }
        if (!found) {
            return apr_psprintf(p, "certificate(%s) is missing",
                                acme_status_spec_md_name(name));
        }
    }
    return smd->live->nelts > 0 ? NULL : "certificate is missing";
}
