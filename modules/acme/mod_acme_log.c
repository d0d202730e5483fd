/* The core library logs through a callback (acme_log.h); here it becomes
 * ap_log_error on the main server, so its lines carry the module's name and
 * obey `LogLevel acme:...`. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "acme_log.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

/* The core's levels are syslog's, like httpd's; trace is APLOG_TRACE1. */
static int log_level_to_httpd(acme_log_level_e level)
{
    switch (level) {
    case ACME_LOG_ERR:     return APLOG_ERR;
    case ACME_LOG_WARNING: return APLOG_WARNING;
    case ACME_LOG_NOTICE:  return APLOG_NOTICE;
    case ACME_LOG_INFO:    return APLOG_INFO;
    case ACME_LOG_DEBUG:   return APLOG_DEBUG;
    default:               return APLOG_TRACE1;
    }
}

apr_status_t acme_glue_log_rv(apr_status_t rv)
{
    /* httpd renders a status as "(code)text"; for the core's own codes in
     * APR's user range that text would be "APR does not understand this error
     * code", so those go without it (the message itself says what failed). */
    return rv >= APR_OS_START_USERERR && rv < APR_OS_START_CANONERR ? 0 : rv;
}

static void log_cb(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    server_rec *s = baton;

    ap_log_error(APLOG_MARK, log_level_to_httpd(level), acme_glue_log_rv(rv), s, "%s", msg);
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
