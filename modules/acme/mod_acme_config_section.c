/* Declaring managed domains: MDomain/ManagedDomain, the <MDomain> section
 * (also <MDomainSet>, <ManagedDomain>), MDMember(s) and the static
 * certificate files of a domain.
 *
 * A section walks its children itself (ap_walk_config) with a configuration
 * vector of its own, in which our module's slot points to the domain being
 * defined: httpd hands that slot to every handler as `dc`. Outside a section
 * our slot is empty (the module has no per-directory config), so `dc` tells
 * handlers where they are, with no global "current domain" state. */
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "acme_names.h"
#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

static const char *const section_names[] = {
    "<MDomain", "<MDomainSet", "<ManagedDomain", NULL
};

static int is_section_directive(const char *directive)
{
    int i;

    for (i = 0; section_names[i]; ++i) {
        if (!strcasecmp(directive, section_names[i])) {
            return 1;
        }
    }
    return 0;
}

acme_config_md_t *acme_config_section_md(cmd_parms *cmd, void *dc)
{
    const ap_directive_t *d;

    /* Both must hold: our vector came in (dc) and the directive really sits
     * in one of our sections (a per-dir config added to the module one day
     * must not make server-level directives look sectioned). */
    if (!dc || !cmd->directive) {
        return NULL;
    }
    for (d = cmd->directive->parent; d; d = d->parent) {
        if (is_section_directive(d->directive)) {
            return ((acme_config_section_t *)dc)->md;
        }
    }
    return NULL;
}

/* Adds the names in argv to md; "auto"/"manual" set MDMembers instead (as
 * mod_md allows on these lines). A name that is no DNS name or address
 * (`a_b.example`) is the domain's configuration error, as mod_md starts with
 * it: left out of the names, the domain is not managed (md->config_error). */
static const char *names_add(cmd_parms *cmd, acme_config_md_t *md, int argc,
                             char *const argv[])
{
    const char *why, *bad = NULL;
    int i;

    for (i = 0; i < argc; ++i) {
        const char *name;
        char *lower;

        if (!strcasecmp(argv[i], "auto") || !strcasecmp(argv[i], "manual")) {
            md->props.transitive = !strcasecmp(argv[i], "auto");
            continue;
        }
        /* DNS names, and IP addresses in their one spelling (RFC 8738) */
        if (acme_config_identifier_parse(&name, cmd->pool, argv[i], &why) != APR_SUCCESS) {
            if (!md->config_error) {
                md->config_error = acme_config_bad_value(cmd, acme_names_printable(cmd->pool,
                                                                                   argv[i]),
                                                         why);
            }
            bad = bad ? bad : argv[i];
            if (!md->bad_names) {
                md->bad_names = apr_array_make(cmd->pool, 1, sizeof(const char *));
            }
            lower = apr_pstrdup(cmd->pool, argv[i]);
            ap_str_tolower(lower);
            APR_ARRAY_PUSH(md->bad_names, const char *) = lower;
            continue;
        }
        acme_config_md_name_add(md, cmd->pool, name);
    }
    if (md->names->nelts == 0 && !bad) {
        return acme_config_error(cmd, "needs at least one domain name, e.g. example.org");
    }
    if (!md->name) {        /* named for messages and status only, never a store key */
        char *lower = apr_pstrdup(cmd->pool, acme_names_printable(cmd->pool, bad));
        ap_str_tolower(lower);
        md->name = lower;
    }
    return NULL;
}

const char *acme_cmd_mdomain(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acme_config_md_t *md;
    const char *err;

    if ((err = acme_config_scope_check(cmd, dc, ACME_SCOPE_DECLARE))) {
        return err;
    }
    md = acme_config_md_make(cmd->pool, cmd);
    if ((err = names_add(cmd, md, argc, argv))) {
        return err;
    }
    APR_ARRAY_PUSH(acme_config_global_of(cmd)->mds, acme_config_md_t *) = md;
    return NULL;
}

static int is_our_directive(const char *name)
{
    const command_rec *c;

    for (c = acme_config_cmds; c->name; ++c) {
        if (!strcasecmp(c->name, name)) {
            return 1;
        }
    }
    return 0;
}

/* Only our directives inside a section: another module's directive there
 * would silently apply to the whole server. */
static const char *section_children_check(cmd_parms *cmd, const char *section)
{
    const ap_directive_t *d;

    for (d = cmd->directive->first_child; d; d = d->next) {
        if (is_section_directive(d->directive)) {
            return apr_psprintf(cmd->pool, "%s> cannot be nested in another %s> (line %d)",
                                d->directive, section, d->line_num);
        }
        if (!is_our_directive(d->directive)) {
            return apr_psprintf(cmd->pool, "%s>: %s (line %d) is not allowed inside; only "
                                "MD* settings of the domain are", section, d->directive,
                                d->line_num);
        }
    }
    return NULL;
}

/* Splits the section's arguments ("a.example b.example>") into argv. */
static const char *section_args(cmd_parms *cmd, const char *arg, int *pargc, char ***pargv)
{
    const char *end = ap_strrchr_c(arg, '>');
    apr_array_header_t *words = apr_array_make(cmd->pool, 4, sizeof(char *));
    const char *rest;

    if (!end) {
        return apr_psprintf(cmd->pool, "%s> line is missing its closing '>'",
                            cmd->cmd->name);
    }
    rest = apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(end - arg));
    while (*rest) {
        char *w = ap_getword_conf(cmd->pool, &rest);
        if (*w) {
            APR_ARRAY_PUSH(words, char *) = w;
        }
    }
    *pargc = words->nelts;
    *pargv = (char **)words->elts;
    return NULL;
}

const char *acme_cmd_section(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_section_t *section;
    ap_conf_vector_t *vector;
    acme_config_md_t *md;
    const char *err;
    char **argv = NULL;
    int argc = 0;

    if (acme_config_section_md(cmd, dc)) {
        return apr_psprintf(cmd->pool, "%s> cannot be nested in another <MDomain>",
                            cmd->cmd->name);
    }
    if ((err = acme_config_scope_check(cmd, dc, ACME_SCOPE_DECLARE))
        || (err = section_args(cmd, arg, &argc, &argv))) {
        return err;
    }
    md = acme_config_md_make(cmd->pool, cmd);
    if ((err = names_add(cmd, md, argc, argv))
        || (err = section_children_check(cmd, cmd->cmd->name))) {
        return err;
    }
    section = apr_pcalloc(cmd->pool, sizeof(*section));
    section->md = md;
    vector = ap_create_per_dir_config(cmd->pool);
    ap_set_module_config(vector, &acme_module, section);
    if ((err = ap_walk_config(cmd->directive->first_child, cmd, vector))) {
        return err;
    }
    APR_ARRAY_PUSH(acme_config_global_of(cmd)->mds, acme_config_md_t *) = md;
    return NULL;
}

const char *acme_cmd_member(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acme_config_md_t *md = acme_config_section_md(cmd, dc);
    const char *err;

    if ((err = acme_config_scope_check(cmd, dc, ACME_SCOPE_SECTION))) {
        return err;
    }
    if (argc == 0) {
        return acme_config_error(cmd, "needs a domain name, e.g. www.example.org");
    }
    return names_add(cmd, md, argc, argv);
}

const char *acme_cmd_members(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acme_config_md_t *md = acme_config_section_md(cmd, dc);
    acme_config_props_t *props;
    const char *err;

    if (md && argc > 0) {
        return names_add(cmd, md, argc, argv);     /* mod_md: names allowed here too */
    }
    if (!(props = acme_config_props_target(cmd, dc, &err))) {
        return err;
    }
    if (argc != 1 || (strcasecmp(argv[0], "auto") && strcasecmp(argv[0], "manual"))) {
        return apr_psprintf(cmd->pool, "%s: use auto or manual (names only inside "
                            "<MDomain name ...>)", cmd->cmd->name);
    }
    props->transitive = !strcasecmp(argv[0], "auto");
    return NULL;
}

static const char *file_add(cmd_parms *cmd, void *dc, const char *arg, int is_key)
{
    acme_config_md_t *md = acme_config_section_md(cmd, dc);
    apr_array_header_t **plist;
    const char *path, *err;

    if ((err = acme_config_scope_check(cmd, dc, ACME_SCOPE_SECTION))) {
        return err;
    }
    /* existence is checked with the pairing at check_config */
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path || !*arg) {
        return acme_config_bad_value(cmd, arg, "is not a valid file path");
    }
    plist = is_key ? &md->key_files : &md->cert_files;
    if (!*plist) {
        *plist = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(*plist, const char *) = path;
    return NULL;
}

const char *acme_cmd_cert_file(cmd_parms *cmd, void *dc, const char *arg)
{
    return file_add(cmd, dc, arg, 0);
}

const char *acme_cmd_key_file(cmd_parms *cmd, void *dc, const char *arg)
{
    return file_add(cmd, dc, arg, 1);
}
