/* mod_md and mod_acme loaded into the same server: both take the MD*
 * directives and the same store, and the directives go silently to whichever
 * module was loaded last. pre_config (it runs for `httpd -t` too, after every
 * LoadModule was executed) refuses that start and names both LoadModule lines. */
#include <dlfcn.h>        /* dladdr: _GNU_SOURCE comes from the build flags */

#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

APLOG_USE_MODULE(acme);

/* Where `LoadModule <name> ...` is: httpd runs LoadModule while it reads the
 * files and keeps no node of it in the tree, so the files that left nodes
 * there (the main file and most Include'd ones) are read again, line by line;
 * NULL when it is in none of them (e.g. Debian's mods-enabled/md.load holds
 * nothing else). */
static const char *load_line_where(apr_pool_t *p, const char *name)
{
    apr_hash_t *seen = apr_hash_make(p);
    apr_size_t len = strlen(name);
    const ap_directive_t *d = ap_conftree;
    const ap_directive_t *stack[32];
    int depth = 0;

    while (d || depth > 0) {
        ap_configfile_t *cf;
        char line[MAX_STRING_LEN];

        if (!d) {
            d = stack[--depth]->next;
            continue;
        }
        if (d->filename && !apr_hash_get(seen, d->filename, APR_HASH_KEY_STRING)) {
            apr_hash_set(seen, d->filename, APR_HASH_KEY_STRING, d);
            if (ap_pcfg_openfile(&cf, p, d->filename) == APR_SUCCESS) {
                while (ap_cfg_getline(line, sizeof(line), cf) == APR_SUCCESS) {
                    const char *args = line;
                    char *word = ap_getword_conf(p, &args);
                    if (!strcasecmp(word, "LoadModule") && !strncmp(args, name, len)
                        && (args[len] == ' ' || args[len] == '\t')) {
                        const char *at = apr_psprintf(p, "%s:%u", d->filename, cf->line_number);
                        ap_cfg_closefile(cf);
                        return at;
                    }
                }
                ap_cfg_closefile(cf);
            }
        }
        if (d->first_child && depth < (int)(sizeof(stack) / sizeof(stack[0]))) {
            stack[depth++] = d;
            d = d->first_child;
            continue;
        }
        d = d->next;
    }
    return NULL;
}

/* "'LoadModule md_module /usr/lib/apache2/modules/mod_md.so' (httpd.conf:12)" */
static const char *load_line_desc(apr_pool_t *p, const module *m, const char *name)
{
    Dl_info info;
    const char *file = NULL, *at;

    if (dladdr(m, &info) && info.dli_fname) {
        file = info.dli_fname;
    }
    at = load_line_where(p, name);
    return apr_psprintf(p, "'LoadModule %s %s'%s%s%s", name, file ? file : "...",
                        at ? " (" : "", at ? at : "", at ? ")" : "");
}

int acme_config_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    module *md_mod = ap_find_linked_module("mod_md.c");

    (void)pconf;
    (void)plog;
    if (!md_mod) {
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, NULL, "ACME1150 mod_md and mod_acme are both "
                 "loaded: %s and %s. Both take the MD* directives and the same store, and "
                 "only one of them can manage the certificates: remove the md_module line to "
                 "use mod_acme (it reads mod_md's directives), or the acme_module line to "
                 "keep mod_md", load_line_desc(ptemp, md_mod, "md_module"),
                 load_line_desc(ptemp, &acme_module, "acme_module"));
    return HTTP_INTERNAL_SERVER_ERROR;
}
