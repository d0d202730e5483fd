/* check_config: links managed domains and virtual hosts.
 *
 * Everything goes through hash tables keyed by name, so the cost grows with
 * the number of names and vhosts, not their product (mod_md compares every
 * domain with every vhost):
 *  - md_by_name: each name of each domain, wildcards as "*.example.org"; a
 *    vhost's name looks up itself, then the wildcard one label up.
 *  - below: parent domain -> domains with a name below it; only built when a
 *    vhost has a "*.example.org" ServerAlias (mod_md matches those too).
 *
 * Order, so that the result does not depend on the order of the vhosts:
 *  1. index the declared names (a name in two domains is an error);
 *  2. match the https vhosts; one matching two domains is an error;
 *  3. MDMembers auto: add the names of those https vhosts to their domain;
 *  4. match the remaining vhosts against the completed index;
 *  5. per domain: driven or not, contact from ServerAdmin, warnings. */
#include <arpa/inet.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "acme_names.h"
#include "mod_acme_config.h"
#include "mod_acme_config_int.h"
#include "mod_acme_vhosts.h"

APLOG_USE_MODULE(acme);

typedef struct {
    acme_config_global_t *g;
    apr_pool_t *p;              /* the records' pool */
    apr_pool_t *ptemp;
    apr_hash_t *below;          /* see above; NULL: (re)build when needed */
    apr_hash_t *bad;            /* a name no domain can have (a!b.test), lowercase ->
                                 * the domain that declared it (its error), or NULL */
    apr_array_header_t *found;  /* scratch: the domains matching one vhost */
} link_ctx_t;

static const char *md_desc(apr_pool_t *p, const acme_config_md_t *md)
{
    return apr_psprintf(p, "'%s' (%s:%d)", md->name, md->defn_file, md->defn_line);
}

static const char *server_desc(apr_pool_t *p, const server_rec *s)
{
    const char *name = s->server_hostname ? s->server_hostname : "-";

    if (!s->is_virtual) {
        return apr_psprintf(p, "the main server (ServerName %s)", name);
    }
    return apr_psprintf(p, "<VirtualHost> at %s:%u (ServerName %s)", s->defn_name,
                        s->defn_line_number, name);
}

static apr_status_t index_claim(link_ctx_t *ctx, acme_config_md_t *md, const char *name)
{
    acme_config_md_t *owner = apr_hash_get(ctx->g->md_by_name, name, APR_HASH_KEY_STRING);

    if (owner && owner != md) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ctx->g->base_server, "ACME1120 '%s' is claimed "
                     "by two managed domains, %s and %s; a name can belong to one domain "
                     "only: remove it from one of them", name, md_desc(ctx->ptemp, owner),
                     md_desc(ctx->ptemp, md));
        return APR_EINVAL;
    }
    apr_hash_set(ctx->g->md_by_name, name, APR_HASH_KEY_STRING, md);
    return APR_SUCCESS;
}

static apr_status_t index_build(link_ctx_t *ctx)
{
    int i, k;

    ctx->g->md_by_name = apr_hash_make(ctx->p);
    for (i = 0; i < ctx->g->mds->nelts; ++i) {
        acme_config_md_t *md = APR_ARRAY_IDX(ctx->g->mds, i, acme_config_md_t *);
        for (k = 0; k < md->names->nelts; ++k) {
            if (index_claim(ctx, md, APR_ARRAY_IDX(md->names, k, const char *))) {
                return APR_EINVAL;
            }
        }
        for (k = 0; md->bad_names && k < md->bad_names->nelts; ++k) {
            if (!ctx->bad) {
                ctx->bad = apr_hash_make(ctx->ptemp);
            }
            apr_hash_set(ctx->bad, APR_ARRAY_IDX(md->bad_names, k, const char *),
                         APR_HASH_KEY_STRING, md);
        }
    }
    return APR_SUCCESS;
}

/* The domain that declared `name` although it is no valid name: its vhost
 * uses that domain (which only gives it a fallback, as mod_md would). */
static acme_config_md_t *md_for_bad_name(link_ctx_t *ctx, const char *name)
{
    char *lower;

    if (!ctx->bad || !name) {
        return NULL;
    }
    lower = apr_pstrdup(ctx->ptemp, name);
    ap_str_tolower(lower);
    return apr_hash_get(ctx->bad, lower, APR_HASH_KEY_STRING);
}

static apr_hash_t *below_index(link_ctx_t *ctx)
{
    const char *name, *dot;
    apr_array_header_t *list;
    int i, k;

    if (ctx->below) {
        return ctx->below;
    }
    ctx->below = apr_hash_make(ctx->ptemp);
    for (i = 0; i < ctx->g->mds->nelts; ++i) {
        acme_config_md_t *md = APR_ARRAY_IDX(ctx->g->mds, i, acme_config_md_t *);
        for (k = 0; k < md->names->nelts; ++k) {
            name = APR_ARRAY_IDX(md->names, k, const char *);
            for (dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
                list = apr_hash_get(ctx->below, dot + 1, APR_HASH_KEY_STRING);
                if (!list) {
                    list = apr_array_make(ctx->ptemp, 2, sizeof(acme_config_md_t *));
                    apr_hash_set(ctx->below, dot + 1, APR_HASH_KEY_STRING, list);
                }
                if (list->nelts == 0
                    || APR_ARRAY_IDX(list, list->nelts - 1, acme_config_md_t *) != md) {
                    APR_ARRAY_PUSH(list, acme_config_md_t *) = md;
                }
            }
        }
    }
    return ctx->below;
}

static void found_add(link_ctx_t *ctx, acme_config_md_t *md)
{
    int i;

    for (i = 0; md && i < ctx->found->nelts; ++i) {
        if (APR_ARRAY_IDX(ctx->found, i, acme_config_md_t *) == md) {
            return;
        }
    }
    if (md) {
        APR_ARRAY_PUSH(ctx->found, acme_config_md_t *) = md;
    }
}

/* A ServerAlias with wildcards matches the domains that have a name it
 * matches (as ap_matches_request_vhost would). */
static void match_pattern(link_ctx_t *ctx, const char *pattern)
{
    char *lower = apr_pstrdup(ctx->ptemp, pattern);
    apr_array_header_t *list;
    int i, k;

    ap_str_tolower(lower);
    found_add(ctx, apr_hash_get(ctx->g->md_by_name, lower, APR_HASH_KEY_STRING));
    if (lower[0] == '*' && lower[1] == '.' && !strpbrk(lower + 2, "*?")) {
        list = apr_hash_get(below_index(ctx), lower + 2, APR_HASH_KEY_STRING);
        for (i = 0; list && i < list->nelts; ++i) {
            found_add(ctx, APR_ARRAY_IDX(list, i, acme_config_md_t *));
        }
        return;
    }
    /* other patterns ("www.example.*") are rare: compare with every name */
    for (i = 0; i < ctx->g->mds->nelts; ++i) {
        acme_config_md_t *md = APR_ARRAY_IDX(ctx->g->mds, i, acme_config_md_t *);
        for (k = 0; k < md->names->nelts; ++k) {
            if (!ap_strcasecmp_match(APR_ARRAY_IDX(md->names, k, const char *), pattern)) {
                found_add(ctx, md);
            }
        }
    }
}

/* The domain of a vhost name; an IPv6 address is spelt in many ways
 * ("ServerName [::1]"), the domain knows its RFC 5952 text only (the lookup
 * normalizes as it does for a request's Host). */
static acme_config_md_t *md_for_vhost_name(link_ctx_t *ctx, const char *name)
{
    return acme_config_md_for_name(ctx->g, ctx->ptemp, name, NULL);
}

static void vhost_match(link_ctx_t *ctx, const server_rec *s)
{
    int i;

    apr_array_clear(ctx->found);
    found_add(ctx, md_for_vhost_name(ctx, s->server_hostname));
    found_add(ctx, md_for_bad_name(ctx, s->server_hostname));
    if (ctx->g->match_names == ACME_MATCH_SERVERNAMES) {
        return;
    }
    for (i = 0; s->names && i < s->names->nelts; ++i) {
        found_add(ctx, md_for_vhost_name(ctx, APR_ARRAY_IDX(s->names, i, char *)));
        found_add(ctx, md_for_bad_name(ctx, APR_ARRAY_IDX(s->names, i, char *)));
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; ++i) {
        match_pattern(ctx, APR_ARRAY_IDX(s->wild_names, i, char *));
    }
}

/* Records what vhost_match() found for s, both ways. */
static apr_status_t vhost_assign(link_ctx_t *ctx, server_rec *s)
{
    acme_config_srv_t *sc = acme_config_srv_get(s);
    apr_array_header_t *found = ctx->found;
    int i;

    if (found->nelts == 0) {
        return APR_SUCCESS;
    }
    if (found->nelts > 1 && sc->is_ssl) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ctx->g->base_server, "ACME1121 %s serves "
                     "https and matches two managed domains, %s and %s; it can serve only "
                     "one certificate: give each domain its own vhost, or merge the domains",
                     server_desc(ctx->ptemp, s),
                     md_desc(ctx->ptemp, APR_ARRAY_IDX(found, 0, acme_config_md_t *)),
                     md_desc(ctx->ptemp, APR_ARRAY_IDX(found, 1, acme_config_md_t *)));
        return APR_EINVAL;
    }
    sc->mds = apr_array_copy(ctx->p, found);
    sc->md = (found->nelts == 1) ? APR_ARRAY_IDX(found, 0, acme_config_md_t *) : NULL;
    if (!sc->md) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ctx->g->base_server, "ACME1122 %s (no "
                     "https) matches %d managed domains", server_desc(ctx->ptemp, s),
                     found->nelts);
    }
    for (i = 0; i < found->nelts; ++i) {
        acme_config_md_t *md = APR_ARRAY_IDX(found, i, acme_config_md_t *);
        if (!md->vhosts) {
            md->vhosts = apr_array_make(ctx->p, 2, sizeof(server_rec *));
        }
        APR_ARRAY_PUSH(md->vhosts, server_rec *) = s;
        md->has_ssl_vhost |= sc->is_ssl;
    }
    return APR_SUCCESS;
}

/* Matches the servers not matched yet (only https ones when ssl_only). */
static apr_status_t vhosts_pass(link_ctx_t *ctx, int ssl_only)
{
    server_rec *base = ctx->g->base_server;
    server_rec *s = ctx->g->manage_base_server ? base : base->next;

    for (; s; s = s->next) {
        acme_config_srv_t *sc = acme_config_srv_get(s);
        if (sc->mds || (ssl_only && !sc->is_ssl)) {
            continue;
        }
        vhost_match(ctx, s);
        if (vhost_assign(ctx, s) != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

/* One name of an https vhost using md: add it (MDMembers auto) or warn. */
static void member_add(link_ctx_t *ctx, acme_config_md_t *md, const server_rec *s,
                       const char *name)
{
    char *lower = apr_pstrdup(ctx->p, name);
    acme_config_md_t *owner;
    const char *why = NULL;

    ap_str_tolower(lower);
    if ((owner = md_for_vhost_name(ctx, lower)) == md) {
        return;
    }
    if (owner || !md->props.transitive || acme_config_dns_name_check(lower, &why)
        || !strchr(lower, '.')) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->g->base_server, "ACME1123 %s uses "
                     "managed domain %s, but its name '%s' is not part of it (%s); the "
                     "certificate will not be valid for that name", server_desc(ctx->ptemp, s),
                     md_desc(ctx->ptemp, md), name,
                     owner ? apr_psprintf(ctx->ptemp, "it belongs to %s",
                                          md_desc(ctx->ptemp, owner))
                     : !md->props.transitive ? "MDMembers manual"
                     : "not a public DNS name");
        return;
    }
    acme_config_md_name_add(md, ctx->p, lower);
    apr_hash_set(ctx->g->md_by_name, lower, APR_HASH_KEY_STRING, md);
    ctx->below = NULL;
}

static void members_add(link_ctx_t *ctx)
{
    server_rec *s;
    int i;

    for (s = ctx->g->base_server; s; s = s->next) {
        acme_config_srv_t *sc = acme_config_srv_get(s);
        if (!sc->md || !sc->is_ssl || sc->md->config_error) {
            continue;       /* a domain in error gets no names it will not use */
        }
        if (s->server_hostname) {
            member_add(ctx, sc->md, s, s->server_hostname);
        }
        for (i = 0; s->names && i < s->names->nelts; ++i) {
            member_add(ctx, sc->md, s, APR_ARRAY_IDX(s->names, i, char *));
        }
    }
}

/* The first usable email among ServerAdmin of the domain's vhosts, then of
 * the main server ("webmaster@localhost" is not usable at a CA). */
static const char *contact_from_admins(link_ctx_t *ctx, const acme_config_md_t *md)
{
    const char *email;
    int i, n = md->vhosts ? md->vhosts->nelts : 0;

    for (i = 0; i <= n; ++i) {
        const server_rec *s = (i < n) ? APR_ARRAY_IDX(md->vhosts, i, server_rec *)
                                      : ctx->g->base_server;
        if (s->server_admin
            && acme_config_email_parse(&email, ctx->p, s->server_admin, NULL) == APR_SUCCESS) {
            return email;
        }
    }
    return NULL;
}

static int md_has_wildcard(const acme_config_md_t *md)
{
    int i;

    for (i = 0; i < md->names->nelts; ++i) {
        if (APR_ARRAY_IDX(md->names, i, const char *)[0] == '*') {
            return 1;
        }
    }
    return 0;
}

static int md_has_challenge(const acme_config_md_t *md, const char *type)
{
    int i;

    for (i = 0; i < md->props.challenges->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(md->props.challenges, i, const char *), type)) {
            return 1;
        }
    }
    return 0;
}

/* The first IP address among md's names (they are canonical: an IPv6 one
 * has a ':', an IPv4 one is four decimal octets), NULL if none. */
static const char *md_first_ip(const acme_config_md_t *md)
{
    unsigned char addr[4];
    int i;

    for (i = 0; i < md->names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(md->names, i, const char *);
        if (strchr(name, ':') || inet_pton(AF_INET, name, addr) == 1) {
            return name;
        }
    }
    return NULL;
}

/* dns-01 needs MDChallengeDns01; a wildcard name can only be validated by
 * dns-01 (RFC 8555 7.1.3), so a driven one without it cannot be renewed. An
 * IP address never by dns-01 (RFC 8738 section 7): it needs another type.
 * mod_md starts with these: each is the domain's error (md->config_error). */
static void md_check_dns01(link_ctx_t *ctx, acme_config_md_t *md)
{
    server_rec *base = ctx->g->base_server;
    int dns01 = md_has_challenge(md, "dns-01");
    const char *ip = md_first_ip(md);

    if (!md->driven || md->config_error) {
        return;
    }
    if (ip && dns01 && md->props.challenges->nelts == 1) {
        md->config_error = apr_psprintf(ctx->p, "ACME1129 it has the IP address %s, which "
                                        "dns-01 cannot validate (RFC 8738), but "
                                        "MDCAChallenges lists only dns-01: add http-01 or "
                                        "tls-alpn-01", ip);
        return;
    }
    if (md_has_wildcard(md) && (!md->props.dns01_argv || !dns01)) {
        md->config_error = apr_psprintf(ctx->p, "ACME1127 it has a wildcard name: its "
                                        "certificate needs the dns-01 challenge, %s; or use "
                                        "MDCertificateFile/MDCertificateKeyFile or "
                                        "MDRenewMode manual for it", md->props.dns01_error
                                        ? md->props.dns01_error
                                        : !md->props.dns01_argv
                                        ? "configure MDChallengeDns01 with the command that "
                                          "sets the TXT records"
                                        : "but MDCAChallenges does not list dns-01");
        return;
    }
    if (dns01 && !md->props.dns01_argv) {
        if (md->props.challenges->nelts == 1) {
            md->config_error = apr_psprintf(ctx->p, "ACME1128 MDCAChallenges lists only "
                                            "dns-01, which needs MDChallengeDns01%s%s; "
                                            "configure it or add http-01 or tls-alpn-01",
                                            md->props.dns01_error ? ": " : "",
                                            md->props.dns01_error ? md->props.dns01_error
                                                                  : "");
            return;
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base, "ACME1101 managed domain %s: dns-01 "
                     "in MDCAChallenges is ignored without MDChallengeDns01",
                     md_desc(ctx->ptemp, md));
    }
}

static apr_status_t md_finish(link_ctx_t *ctx, acme_config_md_t *md)
{
    server_rec *base = ctx->g->base_server;
    int is_static = md->cert_files != NULL;

    md->driven = !is_static && (md->props.renew_mode == ACME_RENEW_ALWAYS
                                || (md->props.renew_mode == ACME_RENEW_AUTO
                                    && md->has_ssl_vhost));
    if (!md->props.contact) {
        md->props.contact = contact_from_admins(ctx, md);
    }
    md_check_dns01(ctx, md);
    if (md->config_error) {
        /* mod_md starts with it, and so do we: this domain only is not managed */
        md->driven = 0;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base, "ACME1160 managed domain %s is not "
                     "managed until its configuration is fixed (the other domains are): %s",
                     md_desc(ctx->ptemp, md), md->config_error);
        return APR_SUCCESS;
    }
    if (!md->vhosts && !is_static && md->props.renew_mode != ACME_RENEW_ALWAYS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base, "ACME1125 no VirtualHost matches "
                     "managed domain %s, so it is not renewed", md_desc(ctx->ptemp, md));
    }
    if (md->props.require_https != ACME_REQUIRE_HTTPS_OFF) {
        ctx->g->any_require_https = 1;
    }
    if (md->props.require_https != ACME_REQUIRE_HTTPS_OFF && !md->has_ssl_vhost) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base, "ACME1126 managed domain %s requires "
                     "https (MDRequireHttps), but no https VirtualHost matches it",
                     md_desc(ctx->ptemp, md));
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, base, "ACME1130 managed domain %s: %d names, "
                 "%d vhosts%s, %s, contact %s", md_desc(ctx->ptemp, md), md->names->nelts,
                 md->vhosts ? md->vhosts->nelts : 0, md->has_ssl_vhost ? " (https)" : "",
                 is_static ? "static certificate" : md->driven ? "renewed" : "not renewed",
                 md->props.contact ? md->props.contact : "-");
    return APR_SUCCESS;
}

apr_status_t acme_vhosts_link(acme_config_global_t *g, apr_pool_t *p, apr_pool_t *ptemp)
{
    link_ctx_t ctx = { g, p, ptemp, NULL, NULL, NULL };
    int i;

    ctx.found = apr_array_make(ptemp, 4, sizeof(acme_config_md_t *));
    acme_vhosts_ssl_detect(g, ptemp);
    if (index_build(&ctx) || vhosts_pass(&ctx, 1)) {
        return APR_EINVAL;
    }
    members_add(&ctx);
    if (vhosts_pass(&ctx, 0)) {
        return APR_EINVAL;
    }
    for (i = 0; i < g->mds->nelts; ++i) {
        if (md_finish(&ctx, APR_ARRAY_IDX(g->mds, i, acme_config_md_t *))) {
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}
