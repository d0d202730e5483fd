/* Hand-over of certificates to mod_ssl (the ssl_add_cert_files and
 * ssl_add_fallback_cert_files hooks of http_ssl.h).
 *
 * Per domain, decided once per configuration pass (acme_served_prepare):
 *  - static MDCertificateFile/MDCertificateKeyFile pairs: handed over as given;
 *  - else the usable pairs of LIVE/<md>, one per configured key spec. A pair
 *    that is broken is left out (with an error line): mod_ssl would refuse
 *    to start with it, taking every other site down too;
 *  - else nothing here, and mod_ssl asks for fallbacks: a self-signed
 *    certificate (mod_acme_fallback.c) so that https answers (mod_ssl
 *    answers requests with 503 while it serves a fallback).
 * Vhosts without a managed domain are not touched: mod_ssl keeps their own
 * SSLCertificateFile. */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "acme_certset.h"
#include "acme_layout.h"
#include "acme_store_fs.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

typedef enum {
    SERVED_NONE = 0,    /* fallback */
    SERVED_LIVE,
    SERVED_STATIC
} served_kind_e;

typedef struct {
    served_kind_e kind;
    apr_array_header_t *cert_files;     /* const char *, paired with key_files */
    apr_array_header_t *key_files;
    apr_array_header_t *live_pairs;     /* acme_certset_pair_t served from LIVE, or NULL */
    const char *fallback_cert;          /* made on first use */
    const char *fallback_key;
} served_t;

/* md name -> served_t, for this configuration pass */
static apr_hash_t *served_by_md;

static apr_status_t served_forget(void *data)
{
    (void)data;
    served_by_md = NULL;
    return APR_SUCCESS;
}

static served_t *served_get(const acme_config_md_t *md)
{
    return (served_by_md && md) ? apr_hash_get(served_by_md, md->name, APR_HASH_KEY_STRING)
                                : NULL;
}

int acme_served_has_cert(const acme_config_md_t *md)
{
    served_t *served = served_get(md);

    return served && served->kind != SERVED_NONE;
}

const apr_array_header_t *acme_served_live_pairs(const acme_config_md_t *md)
{
    served_t *served = served_get(md);

    return served && served->kind == SERVED_LIVE ? served->live_pairs : NULL;
}

/* The facts of a served pair, in pconf: what the status pages show. */
static void live_keep(served_t *served, apr_pool_t *pconf, const acme_certset_pair_t *pair)
{
    acme_certset_pair_t *kept;

    if (!served->live_pairs) {
        served->live_pairs = apr_array_make(pconf, 1, sizeof(acme_certset_pair_t));
    }
    kept = apr_array_push(served->live_pairs);
    memset(kept, 0, sizeof(*kept));
    kept->spec_name = apr_pstrdup(pconf, pair->spec_name);
    kept->status = pair->status;
    kept->has_key = pair->has_key;
    kept->has_cert = pair->has_cert;
    kept->names_ok = pair->names_ok;
    kept->expired = pair->expired;
    kept->not_before = pair->not_before;
    kept->not_after = pair->not_after;
    kept->serial = pair->serial ? apr_pstrdup(pconf, pair->serial) : NULL;
    kept->leaf_sha256 = pair->leaf_sha256 ? apr_pstrdup(pconf, pair->leaf_sha256) : NULL;
    kept->issuer = pair->issuer ? apr_pstrdup(pconf, pair->issuer) : NULL;
    kept->issuer_name = pair->issuer_name ? apr_pstrdup(pconf, pair->issuer_name) : NULL;
    kept->ari_cert_id = pair->ari_cert_id ? apr_pstrdup(pconf, pair->ari_cert_id) : NULL;
}

/* Logs what is wrong with the pairs of a live set. */
static void live_report(const acme_config_md_t *md, const acme_certset_check_t *check,
                        server_rec *s)
{
    int i;

    for (i = 0; i < check->pairs->nelts; ++i) {
        const acme_certset_pair_t *pair = &APR_ARRAY_IDX(check->pairs, i,
                                                         acme_certset_pair_t);
        if (pair->status == APR_EINVAL) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1220 %s: the live %s certificate "
                         "is not served: %s", md->name, pair->spec_name, pair->problem);
        }
        else if (pair->status == APR_SUCCESS && pair->problem) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ACME1221 %s: serving the live %s "
                         "certificate, although %s", md->name, pair->spec_name,
                         pair->problem);
        }
    }
}

/* The usable pairs of LIVE/<md> as paths into *served. A set whose stamp
 * still applies is not decoded (mod_ssl is about to); one that changed is
 * checked fully and stamped again when every pair is usable. */
static void live_collect(served_t *served, apr_pool_t *pconf, apr_pool_t *ptemp,
                         acme_store_t *store, const acme_config_md_t *md, server_rec *s)
{
    acme_certset_check_t *check;
    apr_status_t rv;
    int i;

    rv = acme_certset_check_stamped(&check, ptemp, store, ACME_STORE_LIVE, md->name,
                                    md->props.pkey_specs, md->names, apr_time_now(),
                                    ACME_CERTSET_RESTAMP);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1222 %s: cannot read the live "
                     "certificates; serving the fallback", md->name);
        return;
    }
    live_report(md, check, s);
    for (i = 0; i < check->pairs->nelts; ++i) {
        const acme_certset_pair_t *pair = &APR_ARRAY_IDX(check->pairs, i,
                                                         acme_certset_pair_t);
        const char *cert, *key;

        if (pair->status != APR_SUCCESS
            || acme_store_fs_live_path(&cert, pconf, store, md->name,
                                       acme_layout_pubcert(ptemp, pair->spec_name))
                   != APR_SUCCESS
            || acme_store_fs_live_path(&key, pconf, store, md->name,
                                       acme_layout_privkey(ptemp, pair->spec_name))
                   != APR_SUCCESS) {
            continue;
        }
        APR_ARRAY_PUSH(served->cert_files, const char *) = cert;
        APR_ARRAY_PUSH(served->key_files, const char *) = key;
        live_keep(served, pconf, pair);
        served->kind = SERVED_LIVE;
    }
}

void acme_served_prepare(acme_config_global_t *g, acme_store_t *store, apr_pool_t *pconf,
                         apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *scratch;
    int i;

    /* one domain's decoded keys and chains at a time, not all of them until
     * ptemp goes: the parent's heap (inherited by every child) stays small */
    apr_pool_create(&scratch, ptemp);
    apr_pool_tag(scratch, "acme_served_scratch");

    served_by_md = apr_hash_make(pconf);
    apr_pool_cleanup_register(pconf, NULL, served_forget, apr_pool_cleanup_null);
    for (i = 0; i < g->mds->nelts; ++i) {
        const acme_config_md_t *md = APR_ARRAY_IDX(g->mds, i, const acme_config_md_t *);
        served_t *served = apr_pcalloc(pconf, sizeof(*served));

        served->cert_files = apr_array_make(pconf, 2, sizeof(const char *));
        served->key_files = apr_array_make(pconf, 2, sizeof(const char *));
        if (md->cert_files && md->cert_files->nelts > 0) {
            apr_array_cat(served->cert_files, md->cert_files);
            apr_array_cat(served->key_files, md->key_files);
            served->kind = SERVED_STATIC;
        }
        else if (store && !md->config_error) {
            live_collect(served, pconf, scratch, store, md, s);
        }
        apr_hash_set(served_by_md, md->name, APR_HASH_KEY_STRING, served);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1223 %s: serves %s", md->name,
                     served->kind == SERVED_STATIC ? "its static certificate files"
                     : served->kind == SERVED_LIVE
                         ? apr_psprintf(scratch, "%d live certificate(s)",
                                        served->cert_files->nelts)
                         : "a fallback certificate until it has one");
        apr_pool_clear(scratch);
    }
    apr_pool_destroy(scratch);
}

/* The domain whose certificate the (SSL) server s presents, or NULL. */
static const acme_config_md_t *md_of_server(server_rec *s)
{
    acme_config_srv_t *sc = acme_config_srv_get(s);

    return sc ? sc->md : NULL;
}

int acme_ssl_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                            apr_array_header_t *key_files)
{
    const acme_config_md_t *md = md_of_server(s);
    served_t *served = served_get(md);

    (void)p;
    if (!served || served->kind == SERVED_NONE) {
        return DECLINED;
    }
    if (cert_files->nelts > 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1224 %s: vhost %s also has its own "
                     "SSLCertificateFile; the domain's certificates are added after it",
                     md->name, s->server_hostname);
    }
    apr_array_cat(cert_files, served->cert_files);
    apr_array_cat(key_files, served->key_files);
    return OK;
}

int acme_ssl_add_fallback_cert_files(server_rec *s, apr_pool_t *p,
                                     apr_array_header_t *cert_files,
                                     apr_array_header_t *key_files)
{
    const acme_config_md_t *md = md_of_server(s);
    served_t *served = served_get(md);
    acme_store_t *store = acme_glue_store_get();
    apr_status_t rv;

    (void)p;
    if (!served || served->kind != SERVED_NONE || !store) {
        return DECLINED;
    }
    if (!served->fallback_cert) {
        /* pconf (the hash's pool) keeps the paths for every vhost of md */
        rv = acme_fallback_files(&served->fallback_cert, &served->fallback_key,
                                 apr_hash_pool_get(served_by_md), store, md, s);
        if (rv != APR_SUCCESS) {
            served->fallback_cert = served->fallback_key = NULL;
            return DECLINED;
        }
    }
    APR_ARRAY_PUSH(cert_files, const char *) = served->fallback_cert;
    APR_ARRAY_PUSH(key_files, const char *) = served->fallback_key;
    return OK;
}
