/* Which virtual hosts serve https?
 *
 * We need to know at check_config (also for `httpd -t`): MDRenewMode auto
 * renews only domains used by an https vhost, MDMembers auto takes names from
 * https vhosts, and an https vhost can only serve one domain's certificate.
 * mod_ssl's own records are private to it, and mod_ssl tells other modules
 * which vhosts it serves (ssl_add_cert_files) only in its post_config, which
 * runs after check_config and not at all for -t. So we read the same source
 * mod_ssl reads, the parsed configuration tree (ap_conftree), and decide:
 *
 *  1. "SSLEngine on|optional|off" inside the <VirtualHost> decides; without
 *     one there, an SSLEngine at server level does (vhosts inherit it, as
 *     mod_ssl merges it). <IfModule>, Include and macros are already expanded
 *     in the tree, so they are seen too.
 *  2. With no SSLEngine at all, a vhost whose addresses all use the local
 *     https port (MDPortMap https:, default 443) counts as https: there
 *     `Listen 443 https` serves TLS, and mod_md decides the same way.
 *
 * One pass over the top level of the tree and one over the servers: O(n). */
#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>

#include "mod_acme_config.h"
#include "mod_acme_vhosts.h"

typedef enum { ENGINE_UNSET = 0, ENGINE_ON, ENGINE_OFF } engine_e;

static engine_e engine_value(const char *args)
{
    if (!strcasecmp(args, "on") || !strcasecmp(args, "optional")) {
        return ENGINE_ON;
    }
    return !strcasecmp(args, "off") ? ENGINE_OFF : ENGINE_UNSET;
}

/* The last SSLEngine among the directives from `first` on (mod_ssl lets the
 * last one win). */
static engine_e engine_in(const ap_directive_t *first)
{
    engine_e engine = ENGINE_UNSET, v;

    for (; first; first = first->next) {
        if (!strcasecmp(first->directive, "SSLEngine")
            && (v = engine_value(first->args)) != ENGINE_UNSET) {
            engine = v;
        }
    }
    return engine;
}

static const char *vhost_key(apr_pool_t *p, const char *file, int line)
{
    return apr_psprintf(p, "%s:%d", file ? file : "", line);
}

/* All addresses of s use `port` (mod_md's rule). */
static int uses_only_port(const server_rec *s, int port)
{
    const server_addr_rec *sa;

    if (port <= 0 || !s->addrs) {
        return 0;
    }
    for (sa = s->addrs; sa; sa = sa->next) {
        if (sa->host_port != port) {
            return 0;
        }
    }
    return 1;
}

void acme_vhosts_ssl_detect(acme_config_global_t *g, apr_pool_t *ptemp)
{
    apr_hash_t *engines = apr_hash_make(ptemp);     /* "file:line" -> engine_e */
    static const engine_e values[] = { ENGINE_UNSET, ENGINE_ON, ENGINE_OFF };
    engine_e base_engine = engine_in(ap_conftree);
    const ap_directive_t *d;
    server_rec *s;

    for (d = ap_conftree; d; d = d->next) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            apr_hash_set(engines, vhost_key(ptemp, d->filename, d->line_num),
                         APR_HASH_KEY_STRING, &values[engine_in(d->first_child)]);
        }
    }
    acme_config_srv_get(g->base_server)->is_ssl = (base_engine == ENGINE_ON);
    for (s = g->base_server->next; s; s = s->next) {
        const engine_e *own = apr_hash_get(engines, vhost_key(ptemp, s->defn_name,
                                                              (int)s->defn_line_number),
                                           APR_HASH_KEY_STRING);
        engine_e engine = (own && *own != ENGINE_UNSET) ? *own : base_engine;

        acme_config_srv_get(s)->is_ssl = (engine == ENGINE_UNSET)
            ? uses_only_port(s, g->https_port) : (engine == ENGINE_ON);
    }
}
