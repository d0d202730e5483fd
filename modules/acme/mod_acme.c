/* mod_acme: hook registration and the module record, nothing else.
 *
 * Each concern lives in its own mod_acme_<noun>.c; this file only wires them
 * into httpd. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mod_acme_config.h"

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

static void acme_register_hooks(apr_pool_t *p)
{
    /* check_config also runs for `httpd -t`, post_config does not */
    ap_hook_check_config(acme_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(acme_post_config, NULL, NULL, APR_HOOK_MIDDLE);
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
