/* Configuration records: creation, merging, where directives may appear, and
 * the check_config steps that complete the records (defaults, static files).
 * Directive handlers are in mod_acme_config_{section,cmds,renew,global}.c,
 * the table in mod_acme_config_table.c, vhost matching in mod_acme_vhosts.c. */
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include "acme_names.h"
#include "mod_acme_config.h"
#include "mod_acme_config_int.h"
#include "mod_acme_vhosts.h"

APLOG_USE_MODULE(acme);

/* The global record of the configuration pass being read. httpd creates the
 * main server's record first in every pass; the vhosts' records share it. */
static acme_config_global_t *global_current;

static apr_status_t global_forget(void *data)
{
    if (global_current == data) {
        global_current = NULL;
    }
    return APR_SUCCESS;
}

static acme_config_global_t *global_make(apr_pool_t *p)
{
    acme_config_global_t *g = apr_pcalloc(p, sizeof(*g));

    g->mds = apr_array_make(p, 16, sizeof(acme_config_md_t *));
    acme_config_props_clear(&g->props);
    g->http_port = 80;
    g->https_port = 443;
    g->match_names = ACME_MATCH_ALL;
    g->check_interval = apr_time_from_sec(12 * 3600);
    g->retry_delay = apr_time_from_sec(30);
    g->retry_failover = 13;
    g->store_lock_wait = apr_time_from_sec(5);
    g->activation_mode = ACME_ACTIVATION_MANUAL;
    g->activation_interval = apr_time_from_sec(60);
    g->dns01_version = 1;
    apr_pool_cleanup_register(p, g, global_forget, apr_pool_cleanup_null);
    return g;
}

void *acme_config_create_srv(apr_pool_t *p, server_rec *s)
{
    acme_config_srv_t *sc = apr_pcalloc(p, sizeof(*sc));

    if (!s->is_virtual || !global_current) {
        global_current = global_make(p);
    }
    sc->global = global_current;
    sc->server = s;
    return sc;
}

void *acme_config_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    acme_config_srv_t *base = basev, *add = addv;
    acme_config_srv_t *merged = apr_pcalloc(p, sizeof(*merged));

    merged->global = add->global ? add->global : base->global;
    merged->server = add->server;
    return merged;
}

acme_config_srv_t *acme_config_srv_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &acme_module);
}

acme_config_global_t *acme_config_global_get(const server_rec *s)
{
    return acme_config_srv_get(s)->global;
}

acme_config_global_t *acme_config_global_of(cmd_parms *cmd)
{
    return acme_config_global_get(cmd->server);
}

/* The <If>, <ElseIf> or <Else> the directive sits in, or NULL. */
static const ap_directive_t *cond_section_of(cmd_parms *cmd)
{
    const ap_directive_t *d;

    for (d = cmd->directive ? cmd->directive->parent : NULL; d; d = d->parent) {
        if (!strcasecmp(d->directive, "<If") || !strcasecmp(d->directive, "<ElseIf")
            || !strcasecmp(d->directive, "<Else")) {
            return d;
        }
    }
    return NULL;
}

/* mod_md takes its directives inside <If> (at server level or in a vhost)
 * and applies them as if the <If> were not there: so do we, and say so. */
static const char *cond_section_accept(cmd_parms *cmd)
{
    const ap_directive_t *cond = cond_section_of(cmd);
    /* httpd's NOT_IN_FILES also refuses <If>: <Files> is looked for here */
    const char *err = ap_check_cmd_context(cmd, NOT_IN_LIMIT | NOT_IN_DIRECTORY
                                                | NOT_IN_LOCATION | NOT_IN_PROXY
                                                | NOT_IN_HTACCESS);
    const ap_directive_t *d;

    for (d = cmd->directive->parent; d && !err; d = d->parent) {
        if (!strcasecmp(d->directive, "<Files") || !strcasecmp(d->directive, "<FilesMatch")) {
            err = apr_psprintf(cmd->pool, "%s cannot occur within %s> section",
                               cmd->cmd->name, d->directive);
        }
    }

    if (err) {
        return err;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1161 %s (%s:%d) is inside "
                 "%s> (line %d), whose condition does not apply to it (as with mod_md): it "
                 "is set as if the section were not there", cmd->cmd->name,
                 cmd->directive->filename, cmd->directive->line_num, cond->directive,
                 cond->line_num);
    return NULL;
}

/* mod_md takes every directive inside <VirtualHost>: one of the whole server
 * (G) sets the server's value as if it stood outside, and a domain setting
 * (A) is ignored there (mod_md's domains take the main server's settings
 * and their own section's only). So do we, and say so. */
static const char *vhost_accept(cmd_parms *cmd, acme_scope_e scope)
{
    const char *err = cond_section_of(cmd) ? cond_section_accept(cmd)
                                           : ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);

    if (err) {
        return err;
    }
    /* a vhost's own log level is not set while its section is read: the
     * main server's log says it */
    if (scope == ACME_SCOPE_GLOBAL) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1162 %s (%s:%d) is "
                     "inside <VirtualHost>, but applies to the whole server (as with "
                     "mod_md): it is set for all of it; put it at server level",
                     cmd->cmd->name, cmd->directive->filename, cmd->directive->line_num);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, acme_config_log_server(cmd), "ACME1163 %s (%s:%d) has "
                     "no effect inside <VirtualHost> (nor with mod_md): managed domains "
                     "take their settings from the server level or their <MDomain> "
                     "section; move it there", cmd->cmd->name, cmd->directive->filename,
                     cmd->directive->line_num);
    }
    return NULL;
}

const char *acme_config_scope_check(cmd_parms *cmd, void *dc, acme_scope_e scope)
{
    const char *name = cmd->cmd->name;
    int in_section = acme_config_section_md(cmd, dc) != NULL;

    if (in_section) {
        return scope == ACME_SCOPE_GLOBAL
            ? apr_psprintf(cmd->pool, "%s is not allowed inside <MDomain>: it applies to "
                           "the whole server; put it at server level", name)
            : NULL;
    }
    if (scope == ACME_SCOPE_SECTION) {
        return apr_psprintf(cmd->pool, "%s is only valid inside <MDomain name ...>", name);
    }
    if (cmd->server->is_virtual && scope != ACME_SCOPE_DECLARE) {
        return vhost_accept(cmd, scope);
    }
    if (cond_section_of(cmd)) {
        return cond_section_accept(cmd);
    }
    return ap_check_cmd_context(cmd, scope == ACME_SCOPE_DECLARE ? NOT_IN_DIR_CONTEXT
                                                                 : GLOBAL_ONLY);
}

acme_config_props_t *acme_config_props_target(cmd_parms *cmd, void *dc, const char **perr)
{
    acme_config_md_t *md = acme_config_section_md(cmd, dc);

    if ((*perr = acme_config_scope_check(cmd, dc, ACME_SCOPE_ANY)) != NULL) {
        return NULL;
    }
    if (!md && cmd->server->is_virtual) {
        /* ignored there (see vhost_accept): parsed, so a bad value still fails */
        acme_config_props_t *ignored = apr_palloc(cmd->temp_pool, sizeof(*ignored));
        acme_config_props_clear(ignored);
        return ignored;
    }
    return md ? &md->props : &acme_config_global_of(cmd)->props;
}

server_rec *acme_config_log_server(cmd_parms *cmd)
{
    return cmd->server->is_virtual ? NULL : cmd->server;
}

const char *acme_config_bad_value(cmd_parms *cmd, const char *value, const char *why)
{
    return apr_psprintf(cmd->pool, "%s: '%s' %s", cmd->cmd->name, value, why);
}

const char *acme_config_error(cmd_parms *cmd, const char *text)
{
    return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, text);
}

const char *acme_config_file_path(cmd_parms *cmd, const char *arg, const char **perr)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t finfo;
    apr_status_t rv;

    *perr = NULL;
    if (!path || !*arg) {
        *perr = acme_config_bad_value(cmd, arg, "is not a valid file path");
        return NULL;
    }
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_DUMP) {
        return path;    /* -D DUMP_CONFIG shows the configuration, needs no files */
    }
    rv = apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->pool);
    if (rv != APR_SUCCESS || finfo.filetype != APR_REG) {
        *perr = apr_psprintf(cmd->pool, "%s: file '%s' %s", cmd->cmd->name, path,
                             rv == APR_SUCCESS ? "is not a regular file" : "does not exist");
        return NULL;
    }
    return path;
}

void acme_config_props_clear(acme_config_props_t *props)
{
    memset(props, 0, sizeof(*props));
    props->must_staple = ACME_CONFIG_UNSET;
    props->renew_mode = ACME_CONFIG_UNSET;
    props->renew_via_ari = ACME_CONFIG_UNSET;
    props->profile_mandatory = ACME_CONFIG_UNSET;
    props->transitive = ACME_CONFIG_UNSET;
    props->require_https = ACME_CONFIG_UNSET;
    props->server_status = ACME_CONFIG_UNSET;
    props->certificate_status = ACME_CONFIG_UNSET;
    props->stapling = ACME_CONFIG_UNSET;
    props->staple_others = ACME_CONFIG_UNSET;
    props->stapling_keep = ACME_CONFIG_UNSET;
}

acme_config_md_t *acme_config_md_make(apr_pool_t *p, cmd_parms *cmd)
{
    acme_config_md_t *md = apr_pcalloc(p, sizeof(*md));

    md->names = apr_array_make(p, 4, sizeof(const char *));
    md->defn_file = cmd->directive->filename;
    md->defn_line = cmd->directive->line_num;
    acme_config_props_clear(&md->props);
    return md;
}

void acme_config_md_name_add(acme_config_md_t *md, apr_pool_t *p, const char *lowercase)
{
    int i;

    for (i = 0; i < md->names->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(md->names, i, const char *), lowercase)) {
            return;
        }
    }
    APR_ARRAY_PUSH(md->names, const char *) = apr_pstrdup(p, lowercase);
    if (!md->name) {
        md->name = APR_ARRAY_IDX(md->names, 0, const char *);
    }
}

acme_config_md_t *acme_config_md_for_name(const acme_config_global_t *g, apr_pool_t *p,
                                          const char *name, const char **pcanonical)
{
    void *md;

    if (acme_names_host_lookup(&md, pcanonical, p, g->md_by_name, name) != APR_SUCCESS) {
        return NULL;
    }
    return md;
}

apr_status_t acme_config_global_finish(acme_config_global_t *g, apr_pool_t *p, server_rec *s)
{
    apr_finfo_t finfo;

    g->base_server = s;
    if (!g->store_dir) {
        g->store_dir = ap_server_root_relative(p, "md");
    }
    if (apr_stat(&finfo, g->store_dir, APR_FINFO_TYPE, p) == APR_SUCCESS
        && finfo.filetype != APR_DIR) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1112 MDStoreDir: '%s' exists and is "
                     "not a directory; name a directory (it is created when missing)",
                     g->store_dir);
        return APR_EINVAL;
    }
    return acme_config_shared_finish(g, p, s);
}

/* Every server gets a record of its own (see acme_config_srv_t). */
static void srv_records_own(server_rec *base, apr_pool_t *p)
{
    server_rec *s;

    for (s = base; s; s = s->next) {
        acme_config_srv_t *sc = acme_config_srv_get(s);
        if (sc->server != s) {
            acme_config_srv_t *own = apr_pcalloc(p, sizeof(*own));
            own->global = sc->global;
            own->server = s;
            ap_set_module_config(s->module_config, &acme_module, own);
        }
    }
}

int acme_config_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s)
{
    acme_config_global_t *g = acme_config_global_get(s);

    srv_records_own(s, pconf);

    if (acme_config_global_finish(g, pconf, s) != APR_SUCCESS
        || acme_config_mds_resolve(g, pconf, ptemp) != APR_SUCCESS
        || acme_vhosts_link(g, pconf, ptemp) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

int acme_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    acme_config_global_t *g = acme_config_global_get(s);
    int i, driven = 0;

    for (i = 0; i < g->mds->nelts; ++i) {
        const acme_config_md_t *md = APR_ARRAY_IDX(g->mds, i, acme_config_md_t *);
        driven += md->driven;
        /* check_config said it before the error_log was open (at a start,
         * on the terminal; at a restart, nowhere): the log says it again,
         * once per generation (not on the dry run of a start) */
        if (md->config_error && ap_state_query(AP_SQ_MAIN_STATE)
                                    != AP_SQ_MS_CREATE_PRE_CONFIG) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ACME1160 managed domain '%s' "
                         "(%s:%d) is not managed until its configuration is fixed (the "
                         "other domains are): %s", md->name, md->defn_file, md->defn_line,
                         md->config_error);
        }
    }
    acme_config_shared_post_config(g, s);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1100 %d managed domain(s) configured, "
                 "%d to renew, store %s", g->mds->nelts, driven, g->store_dir);
    return OK;
}
