/* mod_acme: hook registration and the module record, nothing else.
 *
 * Each concern lives in its own mod_acme_<noun>.c; this file only wires them
 * into httpd. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>
#include <mpm_common.h>

#include "mod_acme_child.h"
#include "mod_acme_config.h"
#include "mod_acme_drive.h"
#include "mod_acme_keyholder.h"
#include "mod_acme_ocsp.h"
#include "mod_acme_restart.h"
#include "mod_acme_secrets.h"
#include "mod_acme_selftest.h"
#include "mod_acme_serve.h"
#include "mod_acme_status.h"
#include "mod_status.h"

static int acme_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s)
{
    return acme_config_check_config(pconf, plog, ptemp, s);
}

static int acme_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    return acme_config_post_config(pconf, plog, ptemp, s);
}

/* Before mod_ssl's post_config: it asks for the certificate files. */
static int acme_post_config_serve(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                  server_rec *s)
{
    acme_config_global_t *g = acme_config_global_get(s);

    (void)plog;
    acme_glue_log_install(s, pconf);
    if (g->mds->nelts == 0) {
        return OK;
    }
    if (acme_glue_store_open(s, pconf, ptemp) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!acme_glue_is_dry_run()) {
        /* a set that failed its self-test first gives way to the previous one */
        acme_rollback_run(g, ptemp, s);
        acme_activation_run(g, acme_glue_store_get(), ptemp, s);
    }
    acme_served_prepare(g, acme_glue_store_get(), pconf, ptemp, s);
    return OK;
}

static void acme_register_hooks(apr_pool_t *p)
{
    static const char *const mod_ssl[] = { "mod_ssl.c", NULL };
    static const char *const mod_watchdog[] = { "mod_watchdog.c", NULL };

    /* pre_config also runs for `httpd -t`: refuses mod_md next to us */
    ap_hook_pre_config(acme_config_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* check_config also runs for `httpd -t`, post_config does not */
    ap_hook_check_config(acme_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* first of all: processes forked while the configuration is processed
     * keep no secret (mod_acme_secrets.c) */
    ap_hook_post_config(acme_glue_secrets_guard_post_config, NULL, NULL,
                        APR_HOOK_REALLY_FIRST);
    ap_hook_post_config(acme_post_config, NULL, NULL, APR_HOOK_MIDDLE);

    /* serving: store, activation, certificates for mod_ssl, challenges */
    ap_hook_post_config(acme_post_config_serve, NULL, mod_ssl, APR_HOOK_MIDDLE);
    /* renewals: libcurl, hook commands and the watchdog, registered before
     * mod_watchdog's post_config (hooked last) looks for callbacks */
    ap_hook_post_config(acme_drive_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* a stopping child ends its renewals and OCSP fetches, and waits for
     * our watchdog threads before it exits */
    ap_hook_child_stopping(acme_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(acme_child_init, NULL, mod_watchdog, APR_HOOK_MIDDLE);
    ap_hook_child_init(acme_child_init_after_watchdog, mod_watchdog, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_add_cert_files(acme_ssl_add_cert_files, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_add_fallback_cert_files(acme_ssl_add_fallback_cert_files, NULL, NULL,
                                        APR_HOOK_MIDDLE);
    ap_hook_ssl_answer_challenge(acme_alpn_answer_challenge, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_propose(acme_alpn_propose, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_switch(acme_alpn_switch, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_get(acme_alpn_get, NULL, NULL, APR_HOOK_MIDDLE);
    /* before any access control of the site can refuse the CA */
    ap_hook_post_read_request(acme_challenge_http01, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(acme_https_require, mod_ssl, NULL, APR_HOOK_MIDDLE);
    /* status: facts and shared slots after the serving post_config (LIVE is
     * final then); server-status section, md-status, acme-metrics and
     * /.httpd/certificate-status */
    ap_hook_post_config(acme_status_post_config, NULL, NULL, APR_HOOK_LAST);
    /* MDActivation graceful: after the slots are seeded; the parent's loop */
    ap_hook_post_config(acme_restart_post_config, NULL, NULL, APR_HOOK_LAST);
    ap_hook_monitor(acme_restart_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    /* the self-test of what a restart activated, and the rollback */
    ap_hook_post_config(acme_selftest_post_config, NULL, NULL, APR_HOOK_LAST);
    /* the key holder: after the store is open, before the MPM forks children */
    ap_hook_post_config(acme_glue_keyholder_post_config, NULL, NULL, APR_HOOK_LAST);
    ap_hook_monitor(acme_glue_keyholder_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(acme_glue_keyholder_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(acme_selftest_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, acme_status_page_hook, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(acme_status_cert_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(acme_status_json_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(acme_status_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* OCSP stapling: mod_ssl primes certificates in its post_config; slots
     * and the OCSP watchdog come after it (and before mod_watchdog's) */
    ap_hook_ssl_ocsp_prime_hook(acme_ocsp_prime, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_ocsp_get_resp_hook(acme_ocsp_get_resp, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(acme_ocsp_post_config, mod_ssl, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(acme) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config creator */
    NULL,                       /* per-directory config merger */
    acme_config_create_srv,     /* server config creator */
    acme_config_merge_srv,      /* server config merger */
    acme_config_cmds,           /* command table */
    acme_register_hooks
};
