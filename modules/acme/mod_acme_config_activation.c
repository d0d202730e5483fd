/* MDActivation and MDActivationInterval (scope G): whether the server
 * restarts itself gracefully to activate staged certificates, and how often
 * it may (mod_acme_restart.c does it; docs/operations.md). */
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>

#include "mod_acme_config.h"
#include "mod_acme_config_int.h"
#include "mod_acme_restart.h"

const char *acme_cmd_activation(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err;

    if ((err = acme_config_scope_check(cmd, dc, ACME_SCOPE_GLOBAL)) != NULL) {
        return err;
    }
    if (!strcasecmp(arg, "manual")) {
        acme_config_global_of(cmd)->activation_mode = ACME_ACTIVATION_MANUAL;
    }
    else if (!strcasecmp(arg, "graceful")) {
        acme_config_global_of(cmd)->activation_mode = ACME_ACTIVATION_GRACEFUL;
    }
    else {
        return acme_config_bad_value(cmd, arg, "is not understood; use manual (a graceful "
                                     "restart by the admin activates new certificates) or "
                                     "graceful (the server restarts itself gracefully)");
    }
    return NULL;
}

const char *acme_cmd_activation_interval(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_interval_time_t d;
    const char *err, *why;

    if ((err = acme_config_scope_check(cmd, dc, ACME_SCOPE_GLOBAL)) != NULL) {
        return err;
    }
    if (acme_config_duration_parse(&d, arg, ACME_CONFIG_SECOND, &why) != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, why);
    }
    if (d < ACME_RESTART_INTERVAL_MIN) {
        return acme_config_bad_value(cmd, arg, "is shorter than the minimum of 10s (the "
                                     "parent process looks about every 10 seconds)");
    }
    acme_config_global_of(cmd)->activation_interval = d;
    return NULL;
}
