/* Private to the mod_acme_config*.c files: where a directive may appear,
 * helpers for messages, the directive handlers (the table is in
 * mod_acme_config_table.c) and the steps of check_config. */
#ifndef MOD_ACME_CONFIG_INT_H
#define MOD_ACME_CONFIG_INT_H

#include "mod_acme_config.h"

extern module AP_MODULE_DECLARE_DATA acme_module;

/* Where a directive may appear (the "Scope" column of docs/directives.md). */
typedef enum {
    ACME_SCOPE_GLOBAL,      /* G: server level only */
    ACME_SCOPE_ANY,         /* A: server level or inside <MDomain> */
    ACME_SCOPE_SECTION,     /* M: only inside <MDomain> */
    ACME_SCOPE_DECLARE      /* MDomain, <MDomain>: G, and inside <VirtualHost> as mod_md
                             * takes them there (a domain of the whole server all the same) */
} acme_scope_e;

/* What a <MDomain> section hands to the directives inside it: the section
 * stores it in a configuration vector of its own, so that httpd passes it as
 * the `dc` argument of every handler walked inside the section (elsewhere our
 * slot is empty). */
typedef struct {
    acme_config_md_t *md;
} acme_config_section_t;

/* The domain being defined when cmd runs inside <MDomain>, else NULL. */
acme_config_md_t *acme_config_section_md(cmd_parms *cmd, void *dc);

/* NULL when cmd may appear here, else the message (naming the directive and
 * where it belongs). */
const char *acme_config_scope_check(cmd_parms *cmd, void *dc, acme_scope_e scope);

/* For A directives: the props to set (the section's domain or the server
 * level), or NULL with *perr set when cmd is misplaced. */
acme_config_props_t *acme_config_props_target(cmd_parms *cmd, void *dc, const char **perr);

/* The server to log a directive's warning with: a vhost's own log level is
 * not set while its section is read (its warnings would be lost), so the
 * main server's log (NULL) says it there. */
server_rec *acme_config_log_server(cmd_parms *cmd);

/* "<Directive>: '<value>' <why>" */
const char *acme_config_bad_value(cmd_parms *cmd, const char *value, const char *why);

/* "<Directive>: <text>" */
const char *acme_config_error(cmd_parms *cmd, const char *text);

/* An absolute path for a file named in a directive (relative paths are
 * relative to ServerRoot); NULL with *perr when it is not a readable file. */
const char *acme_config_file_path(cmd_parms *cmd, const char *arg, const char **perr);

/* All props unset. */
void acme_config_props_clear(acme_config_props_t *props);

/* A new domain with the given names (already validated, lowercase, unique). */
acme_config_md_t *acme_config_md_make(apr_pool_t *p, cmd_parms *cmd);

/* Adds a name to md if it is not there yet (linear: domains have few names). */
void acme_config_md_name_add(acme_config_md_t *md, apr_pool_t *p, const char *lowercase);

/* The global record of this configuration pass. */
acme_config_global_t *acme_config_global_of(cmd_parms *cmd);

/* check_config steps (mod_acme_config.c, mod_acme_vhosts.c) */
apr_status_t acme_config_global_finish(acme_config_global_t *g, apr_pool_t *p, server_rec *s);
apr_status_t acme_config_mds_resolve(acme_config_global_t *g, apr_pool_t *p,
                                     apr_pool_t *ptemp);

/* ---- directive handlers ---- */
/* mod_acme_config_section.c */
const char *acme_cmd_section(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_mdomain(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *acme_cmd_member(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *acme_cmd_members(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *acme_cmd_cert_file(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_key_file(cmd_parms *cmd, void *dc, const char *arg);

/* mod_acme_config_cmds.c: CA, account and certificate settings */
const char *acme_cmd_ca(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *acme_cmd_agreement(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_challenges(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *acme_cmd_protocol(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_contact(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_pkeys(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *acme_cmd_eab(cmd_parms *cmd, void *dc, const char *kid, const char *hmac);
const char *acme_cmd_proxy(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_proxy_ca_file(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_ca_file(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_profile(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_dns01(cmd_parms *cmd, void *dc, int argc, char *const argv[]);

/* mod_acme_config_renew.c: renewal, serving and OCSP settings */
const char *acme_cmd_renew_mode(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_window(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_flag(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_require_https(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_cert_check(cmd_parms *cmd, void *dc, const char *name, const char *url);
const char *acme_cmd_stapling_keep(cmd_parms *cmd, void *dc, const char *arg);

/* mod_acme_config_global.c: settings of the whole server */
const char *acme_cmd_port_map(cmd_parms *cmd, void *dc, const char *a1, const char *a2);
const char *acme_cmd_base_server(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_store_dir(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_hook_cmd(cmd_parms *cmd, void *dc, int argc, char *const argv[]);

/* mod_acme_config_shared.c: the cluster's shared store */
const char *acme_cmd_shared_store(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_shared_store_ca_file(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_shared_store_key_file(cmd_parms *cmd, void *dc, const char *arg);
/* check_config: APR_EINVAL (logged) for an incomplete setting; a file that
 * is missing or unsafe sets g->shared_error (logged) and is no failure. */
apr_status_t acme_config_shared_finish(acme_config_global_t *g, apr_pool_t *p, server_rec *s);
/* post_config: says again why the shared store is off, once per generation
 * (check_config said it before the error log was open; not on the dry run
 * of a start). */
void acme_config_shared_post_config(const acme_config_global_t *g, server_rec *s);
/* The argv of a hook command (MDNotifyCmd, MDChallengeDns01, ...): a program
 * named by a path must exist and be executable (relative to ServerRoot), a
 * bare name is looked up in PATH when it runs. APR_EINVAL with *perr when
 * there is no program; APR_ENOENT with *perr and *pargv set when the program
 * named by a path is not (yet) an executable file. */
apr_status_t acme_config_argv_parse(apr_array_header_t **pargv, cmd_parms *cmd, int argc,
                                    char *const argv[], const char **perr);
const char *acme_cmd_dns01_version(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_check_interval(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_initial_delay(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_retry_delay(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_activation_delay(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_retry_failover(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_store_locks(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_match_names(cmd_parms *cmd, void *dc, const char *arg);
/* mod_acme_config_activation.c: MDActivation, MDActivationInterval */
const char *acme_cmd_activation(cmd_parms *cmd, void *dc, const char *arg);
const char *acme_cmd_activation_interval(cmd_parms *cmd, void *dc, const char *arg);

#endif /* MOD_ACME_CONFIG_INT_H */
