/* Directives for renewal, serving and OCSP of a domain (scope A: server level
 * as the default, or inside <MDomain>). Generic handlers find their field
 * through the command table's cmd_data: an offset into acme_config_props_t. */
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "acme_names.h"

#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

APLOG_USE_MODULE(acme);

#define PROPS_FIELD(props, type, cmd) \
    ((type *)(void *)((char *)(props) + (apr_size_t)(apr_uintptr_t)(cmd)->info))

const char *acme_cmd_renew_mode(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    /* "automatic" and "stick" are mod_md's old spellings */
    if (!strcasecmp(arg, "auto") || !strcasecmp(arg, "automatic")) {
        props->renew_mode = ACME_RENEW_AUTO;
    }
    else if (!strcasecmp(arg, "always")) {
        props->renew_mode = ACME_RENEW_ALWAYS;
    }
    else if (!strcasecmp(arg, "manual") || !strcasecmp(arg, "stick")) {
        props->renew_mode = ACME_RENEW_MANUAL;
    }
    else {
        return acme_config_bad_value(cmd, arg, "is not a renew mode; use auto, always or "
                                     "manual");
    }
    return NULL;
}

/* MDRenewWindow, MDWarnWindow, MDStaplingRenewWindow: a bare number counts
 * days, as in mod_md. */
const char *acme_cmd_window(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    acme_config_window_t *window;
    const char *err, *why;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    window = apr_palloc(cmd->pool, sizeof(*window));
    if (acme_config_window_parse(window, arg, ACME_CONFIG_DAY, &why) != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, why);
    }
    *PROPS_FIELD(props, const acme_config_window_t *, cmd) = window;
    return NULL;
}

const char *acme_cmd_flag(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err, *why;
    int on;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (acme_config_flag_parse(&on, arg, &why) != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, why);
    }
    *PROPS_FIELD(props, int, cmd) = on;
    return NULL;
}

const char *acme_cmd_require_https(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (!strcasecmp(arg, "off")) {
        props->require_https = ACME_REQUIRE_HTTPS_OFF;
    }
    else if (!strcasecmp(arg, "temporary")) {
        props->require_https = ACME_REQUIRE_HTTPS_TEMPORARY;
    }
    else if (!strcasecmp(arg, "permanent")) {
        props->require_https = ACME_REQUIRE_HTTPS_PERMANENT;
    }
    else {
        return acme_config_bad_value(cmd, arg, "is not understood; use off, temporary or "
                                     "permanent");
    }
    return NULL;
}

const char *acme_cmd_cert_check(cmd_parms *cmd, void *dc, const char *name, const char *url)
{
    acme_config_props_t *props;
    const char *err;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (acme_config_url_check(cmd->pool, url, 0, NULL) != APR_SUCCESS) {
        /* mod_md shows any value as given (server-status ?auto CheckAtURL): so
         * do we, and say so */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1169 %s (%s:%d): '%s' "
                     "is not an absolute http(s) URL; it is shown as given, the prefix of a link to a certificate "
                     "search (e.g. https://crt.sh?q=)", cmd->cmd->name,
                     cmd->directive->filename, cmd->directive->line_num,
                     acme_names_printable(cmd->pool, url));
    }
    props->cert_check_name = name;
    props->cert_check_url = url;
    return NULL;
}

const char *acme_cmd_stapling_keep(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_props_t *props;
    const char *err, *why;

    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (acme_config_duration_parse(&props->stapling_keep, arg, ACME_CONFIG_DAY, &why)
        != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, why);
    }
    return NULL;
}
