/* Directives for the CA, the account and the certificate of a domain (scope
 * A: server level as the default, or inside <MDomain>), and the ones that are
 * refused because the feature is not supported yet. */
#include <apr_lib.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include <openssl/crypto.h>

#include "acme_names.h"
#include "acme_order.h"
#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

APLOG_USE_MODULE(acme);

/* The EAB kid stored for "MDExternalAccountBinding none" (without an HMAC:
 * resolves to "no EAB", also over a server-level one). */
static const char eab_none[] = "none";

/* The agreement stored for a value that accepts nothing (resolves to NULL,
 * also over a server-level "accepted"). */
static const char agreement_not_accepted[] = "";

const char *acme_cmd_ca(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acme_config_props_t *props;
    const char *err, *url, *why;
    apr_array_header_t *urls;
    int i;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (argc == 0) {
        return acme_config_error(cmd, "needs a CA: a directory URL or one of LetsEncrypt, "
                                 "LetsEncrypt-Test, Buypass, Buypass-Test");
    }
    urls = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 0; i < argc; ++i) {
        if (acme_config_ca_resolve(&url, cmd->pool, argv[i], &why) != APR_SUCCESS) {
            return acme_config_bad_value(cmd, argv[i], why);
        }
        if (!strncasecmp(url, "http:", 5)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1102 %s: '%s' is "
                         "plain http; ACME requires https, use it only for a local test CA",
                         cmd->cmd->name, url);
        }
        APR_ARRAY_PUSH(urls, const char *) = url;
    }
    props->ca_urls = urls;
    return NULL;
}

const char *acme_cmd_agreement(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    /* mod_md 1.x took the URL of the terms of service: that accepts them too.
     * mod_md starts with any other value, and the CA then refuses to register
     * an account: so the terms are not accepted, said now */
    if (strcasecmp(arg, "accepted") && acme_config_url_check(cmd->pool, arg, 0, NULL)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1168 %s (%s:%d): '%s' "
                     "is not understood, so the CA's terms of service are not accepted and "
                     "no new account can be registered; use 'accepted' to accept them",
                     cmd->cmd->name, cmd->directive->filename, cmd->directive->line_num,
                     acme_names_printable(cmd->pool, arg));
        props->ca_agreement = agreement_not_accepted;
        return NULL;
    }
    props->ca_agreement = "accepted";
    return NULL;
}

const char *acme_cmd_challenges(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acme_config_props_t *props;
    apr_array_header_t *types, *known;
    const char *err, *why;
    int bad = 0, i;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (argc == 0) {
        acme_config_challenges_parse(&types, cmd->pool, argc, (const char *const *)argv,
                                     &bad, &why);
        return acme_config_bad_value(cmd, "", why);
    }
    /* mod_md starts with types it does not know (tls-sni-01, long gone) and
     * with one listed twice: it uses the ones it knows. So do we, and say so;
     * with none left it is the error of the domains that use the setting */
    known = apr_array_make(cmd->temp_pool, argc, sizeof(const char *));
    for (i = 0; i < argc; ++i) {
        const char *one[1] = { argv[i] };
        int k, twice = 0;

        if (acme_config_challenges_parse(&types, cmd->pool, 1, one, &bad, &why)
            != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1167 %s (%s:%d): "
                         "'%s' %s; it is left out", cmd->cmd->name, cmd->directive->filename,
                         cmd->directive->line_num, acme_names_printable(cmd->pool, argv[i]),
                         why);
            continue;
        }
        for (k = 0; k < known->nelts; ++k) {
            twice |= !strcmp(APR_ARRAY_IDX(known, k, const char *),
                             APR_ARRAY_IDX(types, 0, const char *));
        }
        if (!twice) {
            APR_ARRAY_PUSH(known, const char *) = APR_ARRAY_IDX(types, 0, const char *);
        }
    }
    props->challenges = NULL;
    props->challenges_error = NULL;
    if (known->nelts == 0) {
        props->challenges_error = acme_config_error(cmd, "lists no challenge type mod_acme "
                                                    "can use; use tls-alpn-01, http-01 or "
                                                    "dns-01");
        return NULL;
    }
    /* dns-01 without MDChallengeDns01 is reported at check_config (the
     * command may come later in the file) */
    acme_config_challenges_parse(&props->challenges, cmd->pool, known->nelts,
                                 (const char *const *)known->elts, &bad, &why);
    return NULL;
}

/* MDChallengeDns01 prog [args...]: the command of the dns-01 challenge, at
 * server level or for one <MDomain>. */
const char *acme_cmd_dns01(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acme_config_props_t *props;
    apr_array_header_t *list;
    const char *err;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    /* mod_md starts without the program (or without any): it is the error of
     * the domains that need dns-01 (check_config) */
    if (acme_config_argv_parse(&list, cmd, argc, argv, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1166 %s (%s:%d); "
                     "dns-01 is not used, and a domain that needs it is not managed", err,
                     cmd->directive->filename, cmd->directive->line_num);
        props->dns01_argv = NULL;
        props->dns01_error = err;
        return NULL;
    }
    props->dns01_argv = list;
    props->dns01_error = NULL;
    return NULL;
}

const char *acme_cmd_protocol(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (strcasecmp(arg, "ACME")) {
        return acme_config_bad_value(cmd, arg, "is not supported; the only protocol is ACME");
    }
    props->ca_proto = "ACME";
    return NULL;
}

const char *acme_cmd_contact(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err, *why, *email;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    /* mod_md starts with any value: an unusable one is the error of the
     * domains that use it (resolved at check_config) */
    if (acme_config_email_parse(&email, cmd->pool, arg, &why) != APR_SUCCESS) {
        props->contact = NULL;
        props->contact_error = acme_config_bad_value(cmd, acme_names_printable(cmd->pool, arg),
                                                     why);
        return NULL;
    }
    props->contact = email;
    props->contact_error = NULL;
    return NULL;
}

const char *acme_cmd_pkeys(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acme_config_props_t *props;
    const char *err, *why;
    int bad = 0;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    /* mod_md starts with any value: an unusable one is the error of the
     * domains that use it (resolved at check_config) */
    if (acme_config_keyspecs_parse(&props->pkey_specs, cmd->pool, argc,
                                   (const char *const *)argv, &bad, &why) != APR_SUCCESS) {
        if (argc && apr_isdigit(argv[bad][0])) {
            /* RSA bits out of range: mod_md refuses them at -t too */
            return acme_config_bad_value(cmd, argv[bad], why);
        }
        props->pkey_specs = NULL;
        props->pkey_error = acme_config_bad_value(cmd, argc ? acme_names_printable(cmd->pool,
                                                                                  argv[bad])
                                                            : "", why);
        return NULL;
    }
    props->pkey_error = NULL;
    return NULL;
}

/* Warns when the file holding the HMAC key can be read by every user (mod_md
 * users were bitten by world-readable EAB secrets). */
static void eab_secret_file_check(cmd_parms *cmd, const char *path)
{
    apr_finfo_t finfo;

    if (path && apr_stat(&finfo, path, APR_FINFO_PROT, cmd->temp_pool) == APR_SUCCESS
        && (finfo.protection & APR_FPROT_WREAD)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1131 %s: the HMAC key "
                     "is in '%s', which every user can read; keep it in a JSON file only "
                     "root can read", cmd->cmd->name, path);
    }
}

/* Never echoes the HMAC: errors name the key id or the file only. */
static apr_status_t secret_wipe(void *data)
{
    OPENSSL_cleanse(data, strlen(data));
    return APR_SUCCESS;
}

/* A secret in the configuration's pool is cleared when the pool is: httpd
 * clears it after the dry-run pass at start and at every restart, and the
 * freed memory (with the secret, else) is what the next children inherit. */
static void secret_wipe_with(apr_pool_t *p, const char *secret)
{
    apr_pool_cleanup_register(p, secret, secret_wipe, apr_pool_cleanup_null);
}

const char *acme_cmd_eab(cmd_parms *cmd, void *dc, const char *kid, const char *hmac)
{
    acme_config_props_t *props;
    const char *err, *why, *path;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    props->eab_error = NULL;
    if (!hmac && !strcasecmp(kid, "none")) {
        props->eab_kid = eab_none;
        props->eab_hmac = NULL;
        return NULL;
    }
    if (hmac) {
        if (acme_config_eab_check(kid, hmac, &why) != APR_SUCCESS) {
            /* mod_md starts with them: the error of the domains that use them
             * (resolved at check_config); the HMAC is never in the message */
            props->eab_kid = eab_none;
            props->eab_hmac = NULL;
            props->eab_error = apr_psprintf(cmd->pool, "%s: the credentials for key id '%s' "
                                            "are not usable; the value %s", cmd->cmd->name,
                                            acme_names_printable(cmd->pool, kid), why);
            return NULL;
        }
        props->eab_kid = kid;
        props->eab_hmac = hmac;
        secret_wipe_with(cmd->pool, hmac);
        eab_secret_file_check(cmd, cmd->directive->filename);
        return NULL;
    }
    if (!(path = acme_config_file_path(cmd, kid, &err))) {
        return apr_pstrcat(cmd->pool, err, "; give 'kid hmac', a JSON file with "
                           "{\"kid\": ..., \"hmac\": ...}, or none", NULL);
    }
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_DUMP) {
        return NULL;
    }
    if (acme_config_eab_file_read(&props->eab_kid, &props->eab_hmac, cmd->pool, path, &why)
        != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: file '%s' %s", cmd->cmd->name, path, why);
    }
    secret_wipe_with(cmd->pool, props->eab_hmac);
    eab_secret_file_check(cmd, path);
    return NULL;
}

const char *acme_cmd_proxy(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err, *why;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (acme_config_url_check(cmd->pool, arg, 0, &why) != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, why);
    }
    props->http_proxy = arg;
    return NULL;
}

const char *acme_cmd_proxy_ca_file(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    /* mod_md starts with a missing file: the error of the domains that use
     * it (trusting the system's roots instead would trust more than asked) */
    props->http_proxy_ca_file = acme_config_file_path(cmd, arg, &err);
    props->proxy_ca_file_error = err;
    return NULL;
}

const char *acme_cmd_ca_file(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    props->ca_file_error = NULL;
    if (!strcasecmp(arg, "none")) {
        props->ca_file = "none";    /* the system's roots, also over a server-level file */
        return NULL;
    }
    /* as MDHttpProxyCACertificateFile */
    props->ca_file = acme_config_file_path(cmd, arg, &err);
    props->ca_file_error = err;
    return NULL;
}

/* MDProfile <name>: a profile name as CAs spell them (draft-ietf-acme-
 * profiles gives no grammar; real ones are short tokens like "classic" or
 * "shortlived"). The name goes into orders, logs and status pages, so it is
 * held to a token alphabet and ACME_ORDER_MAX_PROFILE bytes. */
const char *acme_cmd_profile(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (arg[0] == '\0' || strlen(arg) > ACME_ORDER_MAX_PROFILE
        || strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
           != strlen(arg)) {
        return acme_config_bad_value(cmd, arg, "is not a profile name (letters, digits, "
                                     "'.', '_', '-', at most "
                                     APR_STRINGIFY(ACME_ORDER_MAX_PROFILE) " characters)");
    }
    props->profile = apr_pstrdup(cmd->pool, arg);
    return NULL;
}
