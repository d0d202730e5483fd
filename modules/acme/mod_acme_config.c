/* Directive parsing and validation. Every error names the directive and says
 * what would be accepted, so `apachectl -t` tells the admin how to fix it. */
#include <apr_strings.h>
#include <apr_lib.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mod_acme_config.h"

extern module AP_MODULE_DECLARE_DATA acme_module;

static acme_config_global_t *config_global(cmd_parms *cmd)
{
    acme_config_srv_t *sc = ap_get_module_config(cmd->server->module_config, &acme_module);
    return sc->global;
}

void *acme_config_create_srv(apr_pool_t *p, server_rec *s)
{
    /* All vhosts share the global record of the main server: the first
     * created record (the main server's) creates it. */
    static acme_config_global_t *shared;
    acme_config_srv_t *sc = apr_pcalloc(p, sizeof(*sc));

    if (!s->is_virtual || !shared) {
        shared = apr_pcalloc(p, sizeof(*shared));
        shared->mds = apr_array_make(p, 8, sizeof(acme_config_md_t *));
        shared->renew_mode = ACME_RENEW_AUTO;
    }
    sc->global = shared;
    return sc;
}

void *acme_config_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    acme_config_srv_t *add = addv;
    acme_config_srv_t *merged = apr_pcalloc(p, sizeof(*merged));
    merged->global = add->global ? add->global : ((acme_config_srv_t *)basev)->global;
    return merged;
}

/* A DNS name as accepted in a managed domain: LDH labels, optional leading
 * "*." wildcard, at most 253 characters. */
static const char *config_check_name(apr_pool_t *p, const char *name)
{
    const char *s = name;
    size_t label = 0, total = strlen(name);

    if (total == 0 || total > 253) {
        return "must be 1 to 253 characters long";
    }
    if (s[0] == '*' && s[1] == '.') {
        s += 2;
    }
    for (; *s; ++s) {
        if (*s == '.') {
            if (label == 0) {
                return "has an empty label";
            }
            label = 0;
            continue;
        }
        if (!apr_isalnum(*s) && *s != '-') {
            return apr_psprintf(p, "contains '%c', which is not allowed in a DNS name", *s);
        }
        if (++label > 63) {
            return "has a label longer than 63 characters";
        }
    }
    return label == 0 ? "ends with an empty label" : NULL;
}

static const char *cmd_managed_domain(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acme_config_global_t *g = config_global(cmd);
    acme_config_md_t *md;
    const char *err;
    int i;

    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    if (argc == 0) {
        return apr_psprintf(cmd->pool, "%s needs at least one domain name", cmd->cmd->name);
    }
    md = apr_pcalloc(cmd->pool, sizeof(*md));
    md->names = apr_array_make(cmd->pool, argc, sizeof(const char *));
    md->defn_file = cmd->directive->filename;
    md->defn_line = cmd->directive->line_num;
    for (i = 0; i < argc; ++i) {
        char *name = apr_pstrdup(cmd->pool, argv[i]);
        ap_str_tolower(name);
        if ((err = config_check_name(cmd->pool, name))) {
            return apr_psprintf(cmd->pool, "%s: '%s' %s", cmd->cmd->name, argv[i], err);
        }
        APR_ARRAY_PUSH(md->names, const char *) = name;
    }
    md->name = APR_ARRAY_IDX(md->names, 0, const char *);
    APR_ARRAY_PUSH(g->mds, acme_config_md_t *) = md;
    return NULL;
}

static const char *cmd_renew_mode(cmd_parms *cmd, void *dc, const char *value)
{
    acme_config_global_t *g = config_global(cmd);

    if (!strcasecmp(value, "auto")) {
        g->renew_mode = ACME_RENEW_AUTO;
    }
    else if (!strcasecmp(value, "always")) {
        g->renew_mode = ACME_RENEW_ALWAYS;
    }
    else if (!strcasecmp(value, "manual")) {
        g->renew_mode = ACME_RENEW_MANUAL;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: unknown value '%s'; use auto, always or manual",
                            cmd->cmd->name, value);
    }
    return NULL;
}

const command_rec acme_config_cmds[] = {
    AP_INIT_TAKE_ARGV("ManagedDomain", cmd_managed_domain, NULL, RSRC_CONF,
                      "A managed domain: its names, the first one naming it"),
    AP_INIT_TAKE_ARGV("MDomain", cmd_managed_domain, NULL, RSRC_CONF,
                      "A managed domain (alias of ManagedDomain)"),
    AP_INIT_TAKE1("MDRenewMode", cmd_renew_mode, NULL, RSRC_CONF,
                  "auto, always or manual: which domains are renewed"),
    AP_INIT_TAKE1("MDDriveMode", cmd_renew_mode, NULL, RSRC_CONF,
                  "Old name of MDRenewMode"),
    { NULL }
};

int acme_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    acme_config_srv_t *sc = ap_get_module_config(s->module_config, &acme_module);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME0100 %d managed domain(s) configured",
                 sc->global->mds->nelts);
    return OK;
}
