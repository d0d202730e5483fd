/* The core library logs through a callback (acme_log.h); here it becomes
 * ap_log_error on the main server, so its lines carry the module's name and
 * obey `LogLevel acme:...`. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "acme_log.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

static void log_cb(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    server_rec *s = baton;

    /* the core's levels are syslog's, like httpd's (trace = APLOG_TRACE1) */
    switch (level) {
    case ACME_LOG_ERR:
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "%s", msg);
        break;
    case ACME_LOG_WARNING:
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "%s", msg);
        break;
    case ACME_LOG_NOTICE:
        ap_log_error(APLOG_MARK, APLOG_NOTICE, rv, s, "%s", msg);
        break;
    case ACME_LOG_INFO:
        ap_log_error(APLOG_MARK, APLOG_INFO, rv, s, "%s", msg);
        break;
    case ACME_LOG_DEBUG:
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, s, "%s", msg);
        break;
    default:
        ap_log_error(APLOG_MARK, APLOG_TRACE1, rv, s, "%s", msg);
        break;
    }
}

/* The server_rec dies with pconf: no callback may point at it afterwards. */
static apr_status_t log_uninstall(void *data)
{
    (void)data;
    acme_log_set(NULL, NULL, ACME_LOG_ERR);
    return APR_SUCCESS;
}

void acme_glue_log_install(server_rec *s, apr_pool_t *pconf)
{
    int level = ap_get_server_module_loglevel(s, APLOG_MODULE_INDEX);
    acme_log_level_e max;

    if (level >= APLOG_TRACE1) {
        max = ACME_LOG_TRACE;
    }
    else if (level <= APLOG_ERR) {
        max = ACME_LOG_ERR;
    }
    else {
        max = (acme_log_level_e)level;
    }
    acme_log_set(log_cb, s, max);
    apr_pool_cleanup_register(pconf, NULL, log_uninstall, apr_pool_cleanup_null);
}
