/* The fallback certificate of a domain that has no certificate yet: https
 * answers (mod_ssl sends 503 with it) instead of failing the handshake or
 * presenting another site's certificate.
 *
 * Cheap at every start: the P-256 key is made once and kept in LIVE/<md>;
 * the self-signed certificate is re-signed from it only when it nears its
 * end or no longer covers the domain's names. Both are root's (LIVE), the
 * key 0600. Both are saved without fsync (ACME_STORE_NOSYNC): a crash may
 * leave them missing, empty or torn, and the next start then simply makes
 * them again, since a key that does not load or a certificate that does not
 * fit it is replaced here before mod_ssl is given the files. */
#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "acme_cert.h"
#include "acme_chain.h"
#include "acme_pkey.h"
#include "acme_selfsigned.h"
#include "acme_store_fs.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

#define FALLBACK_VALIDITY apr_time_from_sec(30 * 24 * 3600)
/* re-signed when less than this is left: a server may run for weeks
 * without a restart while the CA cannot be reached */
#define FALLBACK_MARGIN apr_time_from_sec(14 * 24 * 3600)

/* The kept key, or a new one (saved) when there is none or it is unusable. */
static apr_status_t fallback_key(acme_pkey_t **pkey, int *pfresh, apr_pool_t *p,
                                 acme_store_t *store, const acme_config_md_t *md)
{
    static const acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
    const char *pem, *err = NULL;
    apr_size_t len;
    apr_status_t rv;

    *pfresh = 0;
    rv = acme_store_load(&pem, &len, p, store, ACME_STORE_LIVE, md->name, ACME_FALLBACK_KEY);
    if (rv == APR_SUCCESS && acme_pkey_from_pem(pkey, p, pem, len, &err) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        return rv;
    }
    if ((rv = acme_pkey_generate(pkey, p, &p256, &err)) != APR_SUCCESS
        || (rv = acme_pkey_to_pem(&pem, &len, p, *pkey, &err)) != APR_SUCCESS) {
        return rv;
    }
    *pfresh = 1;
    return acme_store_save(store, p, ACME_STORE_LIVE, md->name, ACME_FALLBACK_KEY, pem, len,
                           ACME_STORE_SECRET | ACME_STORE_NOSYNC);
}

/* True when the kept certificate is from `key`, covers the names and lasts. */
static int fallback_cert_fits(apr_pool_t *p, acme_store_t *store, const acme_config_md_t *md,
                              const acme_pkey_t *key)
{
    acme_cert_chain_t *chain;
    const char *pem;
    apr_size_t len;
    apr_time_t not_after;
    X509 *cert;

    if (acme_store_load(&pem, &len, p, store, ACME_STORE_LIVE, md->name, ACME_FALLBACK_CERT)
            != APR_SUCCESS
        || acme_chain_from_pem(&chain, p, pem, len) != APR_SUCCESS) {
        return 0;
    }
    cert = acme_chain_get(chain, 0);
    return acme_cert_check_key(cert, acme_pkey_get_evp(key)) == APR_SUCCESS
        && acme_cert_check_names(NULL, p, cert, md->names) == APR_SUCCESS
        && acme_cert_get_not_after(&not_after, cert) == APR_SUCCESS
        && not_after > apr_time_now() + FALLBACK_MARGIN;
}

static apr_status_t fallback_ensure(apr_pool_t *p, acme_store_t *store,
                                    const acme_config_md_t *md, server_rec *s)
{
    acme_pkey_t *key;
    const char *pem;
    apr_status_t rv;
    X509 *cert;
    int fresh;

    if ((rv = fallback_key(&key, &fresh, p, store, md)) != APR_SUCCESS) {
        return rv;
    }
    if (!fresh && fallback_cert_fits(p, store, md, key)) {
        return APR_SUCCESS;
    }
    if ((rv = acme_selfsigned_fallback_create(&cert, p, acme_pkey_get_evp(key), md->names,
                                              FALLBACK_VALIDITY)) != APR_SUCCESS
        || (rv = acme_cert_to_pem(&pem, p, cert)) != APR_SUCCESS) {
        return rv;
    }
    rv = acme_store_save(store, p, ACME_STORE_LIVE, md->name, ACME_FALLBACK_CERT, pem,
                         strlen(pem), ACME_STORE_NOSYNC);
    if (rv == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ACME1230 %s: made a fallback certificate "
                     "(self-signed, 30 days) to serve until a real one is obtained",
                     md->name);
    }
    return rv;
}

/* Writes data to a new file at path (root's, `perms`): an old file (or a
 * link planted there) is removed first, never followed. */
static apr_status_t file_write_new(const char *path, const char *data, apr_fileperms_t perms,
                                   apr_pool_t *p)
{
    apr_file_t *f;
    apr_status_t rv;

    apr_file_remove(path, p);
    rv = apr_file_open(&f, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL
                                 | APR_FOPEN_BINARY, perms, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_write_full(f, data, strlen(data), NULL);
    apr_file_close(f);
    return rv;
}

/* The fallback of a domain in error whose name can be no store key (every
 * name it declared is bad, as in "MDomain a!b.test"): mod_md starts with it
 * and its vhost gets a fallback; so it does here, made at each start in the
 * runtime directory (root's), for the reserved name "unmanaged.invalid". */
static apr_status_t fallback_unstored(const char **pcert_path, const char **pkey_path,
                                      apr_pool_t *p, const acme_config_md_t *md)
{
    static const acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(const char *));
    const char *cert_path, *key_path, *pem, *err = NULL, *base;
    apr_size_t len;
    acme_pkey_t *key;
    apr_status_t rv;
    X509 *cert;

    base = apr_psprintf(p, "acme-fallback-%08x",
                        apr_hashfunc_default(md->name, &(apr_ssize_t){ APR_HASH_KEY_STRING }));
    cert_path = ap_runtime_dir_relative(p, apr_pstrcat(p, base, ".crt", NULL));
    key_path = ap_runtime_dir_relative(p, apr_pstrcat(p, base, ".key", NULL));
    if (!cert_path || !key_path) {
        return APR_EINVAL;
    }
    APR_ARRAY_PUSH(names, const char *) = "unmanaged.invalid";
    if ((rv = acme_pkey_generate(&key, p, &p256, &err)) != APR_SUCCESS
        || (rv = acme_pkey_to_pem(&pem, &len, p, key, &err)) != APR_SUCCESS
        || (rv = file_write_new(key_path, pem, APR_FPROT_UREAD | APR_FPROT_UWRITE, p))
           != APR_SUCCESS
        || (rv = acme_selfsigned_fallback_create(&cert, p, acme_pkey_get_evp(key), names,
                                                 FALLBACK_VALIDITY)) != APR_SUCCESS
        || (rv = acme_cert_to_pem(&pem, p, cert)) != APR_SUCCESS
        || (rv = file_write_new(cert_path, pem, APR_FPROT_UREAD | APR_FPROT_UWRITE
                                                | APR_FPROT_GREAD | APR_FPROT_WREAD, p))
           != APR_SUCCESS) {
        return rv;
    }
    *pcert_path = cert_path;
    *pkey_path = key_path;
    return APR_SUCCESS;
}

apr_status_t acme_fallback_files(const char **pcert_path, const char **pkey_path,
                                 apr_pool_t *p, acme_store_t *store,
                                 const acme_config_md_t *md, server_rec *s)
{
    const char *cert = NULL, *key = NULL;
    apr_pool_t *scratch;
    apr_status_t rv;

    if (md->config_error && md->names->nelts == 0) {
        if ((rv = fallback_unstored(&cert, &key, p, md)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1233 %s: no fallback "
                         "certificate could be made in the runtime directory; mod_ssl gets "
                         "nothing from mod_acme for it", md->name);
            return rv;
        }
        *pcert_path = cert;
        *pkey_path = key;
        return APR_SUCCESS;
    }
    apr_pool_create(&scratch, p);
    rv = fallback_ensure(scratch, store, md, s);
    apr_pool_destroy(scratch);
    if (rv == APR_SUCCESS
        && (rv = acme_store_fs_live_path(&cert, p, store, md->name, ACME_FALLBACK_CERT))
               == APR_SUCCESS) {
        rv = acme_store_fs_live_path(&key, p, store, md->name, ACME_FALLBACK_KEY);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1231 %s: no fallback certificate "
                     "available; mod_ssl gets nothing from mod_acme for it", md->name);
        return rv;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1232 %s: serving the fallback "
                 "certificate", md->name);
    *pcert_path = cert;
    *pkey_path = key;
    return APR_SUCCESS;
}
