/* Directives of mod_acme (mod_md compatible) and the configuration records
 * they fill. See docs/directives.md. */
#ifndef MOD_ACME_CONFIG_H
#define MOD_ACME_CONFIG_H

#include <httpd.h>
#include <http_config.h>

/* One managed domain as declared in httpd.conf. */
typedef struct {
    const char *name;              /* first name given: the domain's name */
    apr_array_header_t *names;     /* const char *: all names, lowercased */
    const char *defn_file;         /* where it was declared, for messages */
    int defn_line;
} acme_config_md_t;

/* Settings shared by the whole server (set outside any vhost). */
typedef struct {
    apr_array_header_t *mds;       /* acme_config_md_t * */
    int renew_mode;                /* ACME_RENEW_* */
} acme_config_global_t;

/* Per virtual host record; `global` is the same object in every vhost. */
typedef struct {
    acme_config_global_t *global;
} acme_config_srv_t;

enum { ACME_RENEW_AUTO = 0, ACME_RENEW_ALWAYS = 1, ACME_RENEW_MANUAL = 2 };

extern const command_rec acme_config_cmds[];

void *acme_config_create_srv(apr_pool_t *p, server_rec *s);
void *acme_config_merge_srv(apr_pool_t *p, void *basev, void *addv);
int acme_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s);

#endif /* MOD_ACME_CONFIG_H */
