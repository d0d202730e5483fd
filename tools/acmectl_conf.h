/* acmectl: what it needs of an httpd configuration, read without httpd.
 *
 * A small reader of the directives acmectl needs, not an httpd parser:
 *   ServerRoot, Define, Include, IncludeOptional (files, directories and
 *   wildcards, relative to the ServerRoot, sorted as httpd includes them),
 *   MDStoreDir (relative to the ServerRoot; default "md" under it, as the
 *   module resolves it), ManagedDomain / MDomain NAME... [auto|manual],
 *   <MDomain NAME...> / <ManagedDomain> / <MDomainSet> sections with MDMember
 *   and the settings below inside, and those settings outside (defaults of
 *   every domain): MDPrivateKeys, MDRenewWindow, MDWarnWindow,
 *   MDCertificateAuthority, MDRenewMode / MDDriveMode, MDCertificateFile.
 * Everything else is skipped, and so is no section: the contents of
 * <IfModule>, <IfDefine>, <VirtualHost> ... are read as if they applied
 * (MDomain directives rarely hide there). ${VAR} is replaced by a Define or
 * the environment, as httpd does; an undefined one stays as it is.
 * Directive names are case-insensitive; values are checked with the core's
 * parsers (acme_config_value.h), so a value httpd refuses is refused here
 * too, with the file and line.
 *
 * Ownership: everything is allocated from the pool passed. */
#ifndef ACMECTL_CONF_H
#define ACMECTL_CONF_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "acme_config_value.h"

/* httpd's compiled-in ServerRoot on Debian (apache2 -V: HTTPD_ROOT) and the
 * configuration it reads by default. */
#define ACMECTL_DEFAULT_SERVER_ROOT "/etc/apache2"
#define ACMECTL_DEFAULT_CONF "/etc/apache2/apache2.conf"

/* Limits: include depth (httpd allows 128), files read. */
#define ACMECTL_CONF_MAX_DEPTH 32
#define ACMECTL_CONF_MAX_FILES 10000

/* One managed domain, its settings resolved (its own, else the global one,
 * else the module's default). */
typedef struct acmectl_md_t {
    const char *name;                   /* the first name: the store's name */
    apr_array_header_t *names;          /* const char *, canonical (lowercase) */
    apr_array_header_t *pkey_specs;     /* acme_pkey_spec_t, at least one */
    acme_config_window_t renew_window;  /* default 33% */
    acme_config_window_t warn_window;   /* default 10% */
    apr_array_header_t *ca_urls;        /* const char *, at least one */
    const char *renew_mode;             /* "auto" (default), "always", "manual" */
    int static_files;                   /* MDCertificateFile given: not renewed */
    const char *file;                   /* where it is defined */
    int line;
} acmectl_md_t;

typedef struct acmectl_conf_t {
    const char *server_root;            /* absolute */
    const char *store_dir;              /* absolute: MDStoreDir or <ServerRoot>/md */
    apr_array_header_t *mds;            /* acmectl_md_t *, in the order defined */
} acmectl_conf_t;

/* Reads `path` (relative: to server_root) and what it includes.
 * `server_root` is httpd's -d (NULL: ACMECTL_DEFAULT_SERVER_ROOT); a
 * ServerRoot directive in the file overrides it, as in httpd. On error,
 * *perr says where and why in one line ("FILE:LINE: ..."), allocated from
 * p: APR_ENOENT / APR_EACCES ... when a file cannot be read (an Include of
 * a missing file; IncludeOptional skips it), APR_EINVAL for a value or a
 * structure that httpd would refuse. */
apr_status_t acmectl_conf_read(acmectl_conf_t **pconf, apr_pool_t *p, const char *path,
                               const char *server_root, const char **perr);

/* The domain named `name` (its first name, or any of its names), or NULL. */
const acmectl_md_t *acmectl_conf_md_find(const acmectl_conf_t *conf, const char *name);

#endif /* ACMECTL_CONF_H */
