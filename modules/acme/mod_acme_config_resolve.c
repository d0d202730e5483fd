/* check_config: completes each domain's settings. A setting inside <MDomain>
 * wins over the server level, which wins over the default; after this every
 * field of md->props is resolved (see mod_acme_config.h). Also checks the
 * static certificate files of each domain. */
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

APLOG_USE_MODULE(acme);

static const acme_config_window_t window_33 = { 1, 33, 0 };
static const acme_config_window_t window_10 = { 1, 10, 0 };

#define PICK_INT(field, def) \
    (md->field != ACME_CONFIG_UNSET ? md->field \
     : srv->field != ACME_CONFIG_UNSET ? srv->field : (def))
#define PICK_PTR(field, def) (md->field ? md->field : srv->field ? srv->field : (def))

static apr_array_header_t *strings_make(apr_pool_t *p, const char *const *list)
{
    apr_array_header_t *a = apr_array_make(p, 3, sizeof(const char *));

    for (; *list; ++list) {
        APR_ARRAY_PUSH(a, const char *) = *list;
    }
    return a;
}

/* Settings of the CA account and of the certificate. */
static void props_resolve_ca(acme_config_props_t *md, const acme_config_props_t *srv,
                             apr_pool_t *p)
{
    static const char *const ca_default[] = { ACME_CONFIG_CA_DEFAULT, NULL };
    static const char *const challenges_default[] = { "tls-alpn-01", "http-01", NULL };
    static const char *const challenges_dns01[] = { "tls-alpn-01", "http-01", "dns-01", NULL };
    const char *kid;

    md->ca_urls = PICK_PTR(ca_urls, strings_make(p, ca_default));
    md->ca_agreement = PICK_PTR(ca_agreement, NULL);
    if (md->ca_agreement && !*md->ca_agreement) {
        md->ca_agreement = NULL;    /* a value that accepts nothing (ACME1168) */
    }
    md->ca_proto = PICK_PTR(ca_proto, "ACME");
    md->contact = PICK_PTR(contact, NULL);      /* ServerAdmin: mod_acme_vhosts.c */
    /* an unusable setting travels with the setting: inherited only with it */
    if (!md->contact && !md->contact_error) {
        md->contact_error = srv->contact_error;
    }
    if (!md->eab_kid) {
        md->eab_error = srv->eab_error;
    }
    if (!md->pkey_specs && !md->pkey_error) {
        md->pkey_error = srv->pkey_error;
    }
    if (!md->challenges && !md->challenges_error) {
        md->challenges_error = srv->challenges_error;
    }
    if (!md->dns01_argv && !md->dns01_error) {
        md->dns01_error = srv->dns01_error;
    }
    if (!md->ca_file && !md->ca_file_error) {
        md->ca_file_error = srv->ca_file_error;
    }
    if (!md->http_proxy_ca_file && !md->proxy_ca_file_error) {
        md->proxy_ca_file_error = srv->proxy_ca_file_error;
    }
    /* kid and hmac travel together; "none" (kid without hmac) stops inheriting */
    kid = md->eab_kid ? md->eab_kid : srv->eab_kid;
    md->eab_hmac = md->eab_kid ? md->eab_hmac : srv->eab_hmac;
    md->eab_kid = md->eab_hmac ? kid : NULL;
    md->http_proxy = PICK_PTR(http_proxy, NULL);
    md->http_proxy_ca_file = PICK_PTR(http_proxy_ca_file, NULL);
    md->ca_file = PICK_PTR(ca_file, "none");
    if (!strcmp(md->ca_file, "none")) {
        md->ca_file = NULL;
    }
    md->dns01_argv = md->dns01_error ? NULL : PICK_PTR(dns01_argv, NULL);
    md->challenges = PICK_PTR(challenges, strings_make(p, md->dns01_argv ? challenges_dns01
                                                                      : challenges_default));
    if (!md->pkey_specs && !(md->pkey_specs = md->pkey_error ? NULL : srv->pkey_specs)) {
        acme_pkey_spec_t *rsa;
        md->pkey_specs = apr_array_make(p, 1, sizeof(acme_pkey_spec_t));
        rsa = apr_array_push(md->pkey_specs);
        rsa->type = ACME_PKEY_RSA;
        rsa->bits = ACME_PKEY_RSA_DEFAULT_BITS;
        rsa->curve = ACME_PKEY_CURVE_NONE;
    }
    md->must_staple = PICK_INT(must_staple, 0);
}

/* Settings of renewal, serving and OCSP. */
static void props_resolve_renew(acme_config_props_t *md, const acme_config_props_t *srv)
{
    md->renew_mode = PICK_INT(renew_mode, ACME_RENEW_AUTO);
    md->renew_window = PICK_PTR(renew_window, &window_33);
    md->warn_window = PICK_PTR(warn_window, &window_10);
    md->renew_via_ari = PICK_INT(renew_via_ari, 1);
    md->profile = PICK_PTR(profile, NULL);
    md->profile_mandatory = PICK_INT(profile_mandatory, 0);
    md->transitive = PICK_INT(transitive, 1);
    md->require_https = PICK_INT(require_https, ACME_REQUIRE_HTTPS_OFF);
    md->server_status = PICK_INT(server_status, 1);
    md->certificate_status = PICK_INT(certificate_status, 1);
    if (!md->cert_check_name) {
        md->cert_check_name = srv->cert_check_name ? srv->cert_check_name : "crt.sh";
        md->cert_check_url = srv->cert_check_url ? srv->cert_check_url : "https://crt.sh?q=";
    }
    md->stapling = PICK_INT(stapling, 0);
    md->staple_others = PICK_INT(staple_others, 1);
    md->stapling_keep = PICK_INT(stapling_keep, 7 * ACME_CONFIG_DAY);
    md->stapling_renew_window = PICK_PTR(stapling_renew_window, &window_33);
}

/* MDCertificateFile / MDCertificateKeyFile: pairs (else the start fails, as
 * with mod_md); a missing file is the domain's error. */
static apr_status_t static_files_check(acme_config_md_t *md, apr_pool_t *p,
                                       apr_pool_t *ptemp, server_rec *s)
{
    int certs = md->cert_files ? md->cert_files->nelts : 0;
    int keys = md->key_files ? md->key_files->nelts : 0;
    const apr_array_header_t *lists[2] = { md->cert_files, md->key_files };
    const char *names[2] = { "MDCertificateFile", "MDCertificateKeyFile" };
    apr_finfo_t finfo;
    int i, k;

    if (certs != keys) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1110 <MDomain %s> (%s:%d) has %d "
                     "MDCertificateFile and %d MDCertificateKeyFile; give them in pairs, "
                     "one key file for each certificate file", md->name, md->defn_file,
                     md->defn_line, certs, keys);
        return APR_EINVAL;
    }
    for (k = 0; k < 2; ++k) {
        for (i = 0; lists[k] && i < lists[k]->nelts; ++i) {
            const char *path = APR_ARRAY_IDX(lists[k], i, const char *);
            if ((apr_stat(&finfo, path, APR_FINFO_TYPE, ptemp) != APR_SUCCESS
                 || finfo.filetype != APR_REG) && !md->config_error) {
                /* mod_md starts with it (mod_ssl then refuses a vhost that would
                 * serve it): the domain's error */
                md->config_error = apr_psprintf(p, "ACME1111 %s: file '%s' does not exist "
                                                "or is not a regular file", names[k], path);
            }
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_config_mds_resolve(acme_config_global_t *g, apr_pool_t *p,
                                     apr_pool_t *ptemp)
{
    apr_status_t rv;
    int i;

    for (i = 0; i < g->mds->nelts; ++i) {
        acme_config_md_t *md = APR_ARRAY_IDX(g->mds, i, acme_config_md_t *);

        props_resolve_ca(&md->props, &g->props, p);
        props_resolve_renew(&md->props, &g->props);
        if (!md->config_error) {
            md->config_error = md->props.pkey_error ? md->props.pkey_error
                             : md->props.eab_error ? md->props.eab_error
                             : md->props.challenges_error ? md->props.challenges_error
                             : md->props.ca_file_error ? md->props.ca_file_error
                             : md->props.proxy_ca_file_error
                                 ? md->props.proxy_ca_file_error
                             : md->props.contact_error;
        }
        if ((rv = static_files_check(md, p, ptemp, g->base_server)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}
