/* Directives that apply to the whole server (scope G: server level only, not
 * in <VirtualHost>, not in <MDomain>). */
#include <unistd.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

APLOG_USE_MODULE(acme);

static acme_config_global_t *global_target(cmd_parms *cmd, void *dc, const char **perr)
{
    if ((*perr = acme_config_scope_check(cmd, dc, ACME_SCOPE_GLOBAL)) != NULL) {
        return NULL;
    }
    return acme_config_global_of(cmd);
}

const char *acme_cmd_port_map(cmd_parms *cmd, void *dc, const char *a1, const char *a2)
{
    acme_config_global_t *g;
    const char *args[2] = { a1, a2 };
    const char *err, *why;
    int ports[2][2], i;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    for (i = 0; i < 2 && args[i]; ++i) {
        if (acme_config_portmap_parse(&ports[i][0], &ports[i][1], args[i], &why)
            != APR_SUCCESS) {
            return acme_config_bad_value(cmd, args[i], why);
        }
    }
    if (a2 && ports[0][0] == ports[1][0]) {
        /* mod_md starts with it, the second one winning: so do we, and say so */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1165 %s: '%s' maps "
                     "public port %d a second time, after '%s'; the second one is used "
                     "(e.g. MDPortMap http:5002 https:5001 maps both)", cmd->cmd->name, a2,
                     ports[1][0], args[0] ? args[0] : "-");
    }
    for (i = 0; i < 2 && args[i]; ++i) {
        *(ports[i][0] == 80 ? &g->http_port : &g->https_port) = ports[i][1];
    }
    return NULL;
}

const char *acme_cmd_base_server(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_global_t *g;
    const char *err, *why;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    if (acme_config_flag_parse(&g->manage_base_server, arg, &why) != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, why);
    }
    return NULL;
}

const char *acme_cmd_store_dir(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_global_t *g;
    const char *err, *path;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    path = ap_server_root_relative(cmd->pool, arg);
    if (!*arg || !path) {
        return acme_config_bad_value(cmd, arg, "is not a valid directory path");
    }
    g->store_dir = path;    /* a file in the way is reported at check_config */
    return NULL;
}

apr_status_t acme_config_argv_parse(apr_array_header_t **pargv, cmd_parms *cmd, int argc,
                                    char *const argv[], const char **perr)
{
    apr_array_header_t *list;
    const char *program;
    int i;

    if (argc == 0 || !*argv[0]) {
        *perr = acme_config_error(cmd, "needs a program to run, e.g. /usr/local/bin/notify");
        return APR_EINVAL;
    }
    program = argv[0];
    if (strchr(program, '/') && !(program = ap_server_root_relative(cmd->pool, program))) {
        *perr = acme_config_bad_value(cmd, argv[0], "is not a valid path");
        return APR_EINVAL;
    }
    list = apr_array_make(cmd->pool, argc, sizeof(const char *));
    APR_ARRAY_PUSH(list, const char *) = program;
    for (i = 1; i < argc; ++i) {
        APR_ARRAY_PUSH(list, const char *) = argv[i];
    }
    *pargv = list;
    if (strchr(program, '/') && ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_CONFIG_DUMP
        && access(program, X_OK) != 0) {
        *perr = acme_config_bad_value(cmd, argv[0], "is not an executable program; give "
                                      "the full path of an existing one");
        return APR_ENOENT;
    }
    return APR_SUCCESS;
}

/* MDNotifyCmd, MDMessageCmd (cmd_data: offset of the argv in the global
 * record). The command is run with this argv, never through a shell. A
 * program named by a path must exist and be executable; a bare name is
 * looked up in PATH when it runs. */
const char *acme_cmd_hook_cmd(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acme_config_global_t *g;
    apr_array_header_t *list = NULL;
    const char *err;
    apr_status_t rv;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    /* mod_md starts with a program that is missing or not given, and fails
     * each time it would run it: we warn now, and run it if it is there then
     * (a missing one is logged as each run's error) */
    rv = acme_config_argv_parse(&list, cmd, argc, argv, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1166 %s (%s:%d); %s",
                     err, cmd->directive->filename, cmd->directive->line_num,
                     rv == APR_ENOENT ? "until it is, each run of it fails" : "none is run");
        if (rv != APR_ENOENT) {
            list = NULL;
        }
    }
    *(apr_array_header_t **)(void *)((char *)g + (apr_size_t)(apr_uintptr_t)cmd->info) = list;
    return NULL;
}

const char *acme_cmd_dns01_version(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_global_t *g;
    const char *err;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    if (acme_config_int_parse(&g->dns01_version, arg, 1, 2, NULL) != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, "is not a version; use 1 or 2");
    }
    return NULL;
}

/* A G duration of at least `min` (and at most `max`). */
static const char *duration_set(cmd_parms *cmd, void *dc, const char *arg,
                                apr_size_t offset, apr_interval_time_t bare_unit,
                                apr_interval_time_t min, apr_interval_time_t max,
                                const char *range)
{
    acme_config_global_t *g;
    apr_interval_time_t d;
    const char *err, *why;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    if (acme_config_duration_parse(&d, arg, bare_unit, &why) != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, why);
    }
    if (d < min || d > max) {
        return acme_config_bad_value(cmd, arg, range);
    }
    *(apr_interval_time_t *)(void *)((char *)g + offset) = d;
    return NULL;
}

const char *acme_cmd_check_interval(cmd_parms *cmd, void *dc, const char *arg)
{
    return duration_set(cmd, dc, arg, APR_OFFSETOF(acme_config_global_t, check_interval),
                        ACME_CONFIG_SECOND, ACME_CONFIG_SECOND, ACME_CONFIG_DURATION_MAX,
                        "is shorter than the minimum of 1s");
}

const char *acme_cmd_initial_delay(cmd_parms *cmd, void *dc, const char *arg)
{
    return duration_set(cmd, dc, arg, APR_OFFSETOF(acme_config_global_t, initial_delay),
                        ACME_CONFIG_SECOND, 0, ACME_CONFIG_DURATION_MAX, "");
}

/* mod_md takes any duration; retries double from it up to a day, so a longer
 * one means a day (said at -t). */
const char *acme_cmd_retry_delay(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = duration_set(cmd, dc, arg,
                                   APR_OFFSETOF(acme_config_global_t, retry_delay),
                                   ACME_CONFIG_SECOND, apr_time_from_msec(1),
                                   ACME_CONFIG_DURATION_MAX, "is shorter than 1ms");

    if (!err && acme_config_global_of(cmd)->retry_delay > ACME_CONFIG_DAY) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1164 %s: '%s' is more "
                     "than a day, the longest delay between retries: retries come a day "
                     "apart", cmd->cmd->name, arg);
    }
    return err;
}

const char *acme_cmd_activation_delay(cmd_parms *cmd, void *dc, const char *arg)
{
    return duration_set(cmd, dc, arg, APR_OFFSETOF(acme_config_global_t, activation_delay),
                        ACME_CONFIG_DAY, 0, ACME_CONFIG_DURATION_MAX, "");
}

const char *acme_cmd_retry_failover(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_global_t *g;
    const char *err;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    if (acme_config_int_parse(&g->retry_failover, arg, 1, 1000, NULL) != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, "is not a number of errors from 1 to 1000");
    }
    return NULL;
}

/* on, off, or how long to wait for the lock (which turns locking on; 0 off). */
const char *acme_cmd_store_locks(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_global_t *g;
    apr_interval_time_t wait;
    const char *err;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    if (acme_config_flag_parse(&g->store_locks, arg, NULL) == APR_SUCCESS) {
        return NULL;
    }
    if (acme_config_duration_parse(&wait, arg, ACME_CONFIG_SECOND, NULL) != APR_SUCCESS) {
        return acme_config_bad_value(cmd, arg, "is neither on, off nor a duration to wait "
                                     "for the lock, e.g. 5s");
    }
    g->store_locks = wait > 0;
    if (wait > 0) {
        g->store_lock_wait = wait;
    }
    return NULL;
}

const char *acme_cmd_match_names(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_global_t *g;
    const char *err;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    if (!strcasecmp(arg, "all")) {
        g->match_names = ACME_MATCH_ALL;
    }
    else if (!strcasecmp(arg, "servernames")) {
        g->match_names = ACME_MATCH_SERVERNAMES;
    }
    else {
        return acme_config_bad_value(cmd, arg, "is not understood; use all or servernames");
    }
    return NULL;
}
