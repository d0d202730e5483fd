/* The configuration of mod_acme: directives (mod_md compatible, see
 * docs/directives.md) and the records they fill, which the rest of the module
 * consumes.
 *
 * Life cycle, once per configuration pass (httpd reads its configuration
 * twice at start and again at every restart; all records live in pconf):
 *  1. Directives fill an acme_config_global_t (shared by all servers), one
 *     acme_config_md_t per declared domain, and the server-level defaults in
 *     global->props (settings inside <MDomain> go to md->props).
 *  2. acme_config_check_config() (check_config hook: runs also for `httpd -t`)
 *     resolves every md->props against the server level and the defaults,
 *     matches domains to virtual hosts, adds names (MDMembers auto), decides
 *     which domains are driven, and fails the start on conflicts.
 *  3. From then on the records are read-only: every field documented as
 *     "resolved" is set, domains and vhosts are linked both ways.
 *
 * Secrets: props.eab_hmac is a credential. Never log it, put it in an error
 * message or show it in a status page. */
#ifndef MOD_ACME_CONFIG_H
#define MOD_ACME_CONFIG_H

#include <apr_hash.h>
#include <apr_tables.h>

#include <httpd.h>
#include <http_config.h>

#include "acme_config_value.h"

/* Integer settings not given (yet). */
#define ACME_CONFIG_UNSET (-1)

typedef enum {
    ACME_RENEW_AUTO = 0,        /* renew domains used by a vhost with SSL */
    ACME_RENEW_ALWAYS = 1,      /* renew every domain */
    ACME_RENEW_MANUAL = 2       /* never renew */
} acme_renew_mode_e;

typedef enum {
    ACME_REQUIRE_HTTPS_OFF = 0,
    ACME_REQUIRE_HTTPS_TEMPORARY = 1,   /* redirect http: to https: (302) */
    ACME_REQUIRE_HTTPS_PERMANENT = 2    /* 301, and HSTS on https: */
} acme_require_https_e;

typedef enum {
    ACME_ACTIVATION_MANUAL = 0,     /* staged sets wait for the admin's restart */
    ACME_ACTIVATION_GRACEFUL = 1    /* the parent restarts itself gracefully */
} acme_activation_mode_e;

typedef enum {
    ACME_MATCH_ALL = 0,         /* vhosts match by ServerName and ServerAlias */
    ACME_MATCH_SERVERNAMES = 1  /* by ServerName only */
} acme_match_names_e;

/* Settings allowed at server level (the defaults of every domain) and inside
 * <MDomain> (that domain's own). Before check_config, a field not given is
 * NULL or ACME_CONFIG_UNSET; in md->props after check_config every field is
 * resolved: NULL then means "none" as documented. */
typedef struct {
    apr_array_header_t *ca_urls;        /* const char *: CA directory URLs, failover order */
    const char *ca_agreement;           /* "accepted", or NULL: terms of service not accepted */
    const char *ca_proto;               /* "ACME" */
    const char *contact;                /* email address without "mailto:"; resolved from
                                         * ServerAdmin when not given; NULL: none usable */
    const char *eab_kid;                /* external account binding key id; NULL: none */
    const char *eab_hmac;               /* SECRET: its base64url HMAC key; set with eab_kid */
    const char *http_proxy;             /* proxy URL for outgoing requests; NULL: direct */
    const char *http_proxy_ca_file;     /* trust roots for the proxy; NULL: system */
    const char *ca_file;                /* trust roots for the CA; NULL: system roots */
    apr_array_header_t *challenges;     /* const char *: "tls-alpn-01", "http-01", "dns-01",
                                         * preference order; resolved default: tls-alpn-01,
                                         * http-01, and dns-01 when dns01_argv is set */
    apr_array_header_t *dns01_argv;     /* const char *: MDChallengeDns01 program and
                                         * arguments; resolved: NULL when none */
    apr_array_header_t *pkey_specs;     /* acme_pkey_spec_t: the key types, one certificate
                                         * per entry; default RSA 2048 */
    int must_staple;                    /* 0/1 */
    int renew_mode;                     /* acme_renew_mode_e */
    const acme_config_window_t *renew_window;   /* default 33% */
    const acme_config_window_t *warn_window;    /* default 10% */
    int renew_via_ari;                  /* 0/1, default 1 */
    const char *profile;                /* MDProfile: ACME profile to order; NULL: the
                                         * CA's default */
    int profile_mandatory;              /* MDProfileMandatory 0/1, default 0: fail when
                                         * the CA does not offer the profile */
    int transitive;                     /* MDMembers: 1 auto (default), 0 manual */
    int require_https;                  /* acme_require_https_e */
    int server_status;                  /* 0/1, default 1 */
    int certificate_status;             /* 0/1, default 1 */
    const char *cert_check_name;        /* MDCertificateCheck, default "crt.sh" */
    const char *cert_check_url;         /* default "https://crt.sh?q=" */
    int stapling;                       /* 0/1, default 0 (mod_acme_ocsp.h) */
    int staple_others;                  /* 0/1, default 1; read at server level only */
    apr_interval_time_t stapling_keep;  /* default 7d */
    const acme_config_window_t *stapling_renew_window;  /* default 33% */
    /* A setting given but unusable for a domain (mod_md starts with it and
     * fails that domain only): the message, without secrets; NULL: none.
     * Each travels with its setting (a domain that sets its own value does
     * not inherit the server level's problem); resolved into md->config_error. */
    const char *contact_error;          /* MDContactEmail */
    const char *eab_error;              /* MDExternalAccountBinding kid hmac */
    const char *pkey_error;             /* MDPrivateKeys */
    const char *challenges_error;       /* MDCAChallenges: no type we can use */
    const char *dns01_error;            /* MDChallengeDns01: no program, or a missing
                                         * one; the domain's error only when it needs
                                         * dns-01 (a wildcard, only dns-01 listed) */
    const char *ca_file_error;          /* MDCACertificateFile: a missing file */
    const char *proxy_ca_file_error;    /* MDHttpProxyCACertificateFile: a missing file */
} acme_config_props_t;

/* One managed domain. */
typedef struct {
    const char *name;                   /* its first name, identifies it (store, status) */
    apr_array_header_t *names;          /* const char *: lowercase, no duplicates: the declared
                                         * names, MDMember, and after check_config the names
                                         * added from vhosts (MDMembers auto) */
    const char *defn_file;              /* where it was declared, for messages */
    int defn_line;
    acme_config_props_t props;          /* see acme_config_props_t */
    apr_array_header_t *cert_files;     /* const char *: absolute MDCertificateFile paths, or NULL */
    apr_array_header_t *key_files;      /* const char *: the matching MDCertificateKeyFile */
    const char *config_error;           /* a problem of this domain's configuration that
                                         * mod_md starts with (a bad name, unusable EAB
                                         * values or key type, a wildcard without dns-01):
                                         * the domain is never driven, has no store
                                         * entries read or written, and shows this as its
                                         * error in status and the error_log; the other
                                         * domains are not affected. NULL: none. When a
                                         * name was bad, `names` holds the good ones and
                                         * `name` may be the bad one (never a store key). */

    apr_array_header_t *bad_names;      /* const char *: the declared names that are no
                                         * DNS name or address (lowercase, as given), or
                                         * NULL; vhosts of these names use the domain (it
                                         * gives them a fallback certificate, as mod_md) */

    /* set by check_config */
    apr_array_header_t *vhosts;         /* server_rec *: the vhosts using this domain */
    int has_ssl_vhost;                  /* one of them serves https */
    int driven;                         /* renewals run for it: MDRenewMode always, or auto
                                         * with an SSL vhost; never with static cert files */
} acme_config_md_t;

/* Settings of the whole server. One record per configuration pass, shared by
 * the main server and all vhosts. */
typedef struct {
    apr_array_header_t *mds;            /* acme_config_md_t *, in order of declaration */
    apr_hash_t *md_by_name;             /* check_config: every name of every domain
                                         * (lowercase, "*.x" for wildcards) -> acme_config_md_t * */
    int any_require_https;              /* check_config: some domain has MDRequireHttps;
                                         * else no request needs its domain looked up */
    acme_config_props_t props;          /* server level: defaults of every domain */
    server_rec *base_server;            /* the main server (set by check_config) */
    const char *store_dir;              /* MDStoreDir, absolute; default ServerRoot/md */
    int http_port;                      /* local port reached as public port 80; 0: none */
    int https_port;                     /* local port reached as public port 443; 0: none */
    int manage_base_server;             /* MDBaseServer */
    int match_names;                    /* acme_match_names_e */
    apr_interval_time_t check_interval; /* default 12h */
    apr_interval_time_t initial_delay;  /* default 0 */
    apr_interval_time_t retry_delay;    /* first retry after an error, default 30s */
    int retry_failover;                 /* errors before the next CA, default 13 */
    apr_interval_time_t activation_delay; /* after notBefore, default 0 */
    int activation_mode;                /* MDActivation: acme_activation_mode_e, default
                                         * manual */
    apr_interval_time_t activation_interval; /* MDActivationInterval: at most one
                                         * self-initiated restart per this, default 1m */
    int store_locks;                    /* 0/1 */
    apr_interval_time_t store_lock_wait;  /* how long to wait for a lock, default 5s */
    int dns01_version;                  /* 1 or 2 */
    apr_array_header_t *notify_argv;    /* const char *: MDNotifyCmd argv, or NULL */
    apr_array_header_t *message_argv;   /* const char *: MDMessageCmd argv, or NULL */
    /* the cluster (mod_acme_config_shared.c) */
    const struct acme_redis_url_t *shared_url; /* MDSharedStore; NULL: none */
    const char *shared_ca_file;         /* MDSharedStoreCACertificateFile, absolute */
    const char *shared_key_file;        /* MDSharedStoreKeyFile, absolute */
    const char *shared_error;           /* check_config: why the shared store is off for
                                         * this run (a file missing or unsafe), or NULL */
    struct acme_seal_key_t *shared_seal_key; /* SECRET: MDSharedStoreKeyFile's key for the
                                         * key holder, read at its start
                                         * (acme_config_shared_seal_key()); NULL: none.
                                         * Wiped in the children at child_init */
} acme_config_global_t;

/* Per server (main server and each vhost). httpd lets a vhost without any of
 * our directives share the main server's record; check_config gives every
 * server a record of its own, so after it `server` is the owner. */
typedef struct {
    acme_config_global_t *global;
    const server_rec *server;           /* the server this record belongs to */
    /* set by check_config */
    acme_config_md_t *md;               /* the domain this vhost uses; NULL when none, or
                                         * when a non-SSL vhost matches several */
    apr_array_header_t *mds;            /* acme_config_md_t *: every matching domain, or NULL */
    int is_ssl;                         /* serves https (see mod_acme_vhosts.c for how we know) */
} acme_config_srv_t;

extern const command_rec acme_config_cmds[];

void *acme_config_create_srv(apr_pool_t *p, server_rec *s);
void *acme_config_merge_srv(apr_pool_t *p, void *basev, void *addv);

/* pre_config hook: refuses the start when mod_md is loaded too, naming both
 * LoadModule lines (mod_acme_config_conflict.c). */
int acme_config_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* check_config hook: completes and validates the configuration (see above).
 * Logs every problem and returns !OK on the first fatal one. */
int acme_config_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s);

/* post_config hook: logs a summary of the completed configuration. */
int acme_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s);

/* The key of MDSharedStoreKeyFile for the key holder's policy, read into
 * `pconf` and kept in g->shared_seal_key (mod_acme_config_shared.c); NULL
 * without MDSharedStore or when the file is not usable (then logged, and
 * the shared store is off for this run as at check_config). Read as late
 * as the key holder's start, not at check_config: whatever httpd forks
 * before (mod_cgid's daemon, which runs as User and never runs child_init)
 * must not inherit it. */
const struct acme_seal_key_t *acme_config_shared_seal_key(acme_config_global_t *g,
                                                          apr_pool_t *pconf, server_rec *s);

acme_config_srv_t *acme_config_srv_get(const server_rec *s);
acme_config_global_t *acme_config_global_get(const server_rec *s);

/* The domain responsible for a host name as a request, a handshake or a
 * vhost spells it (any case, a trailing dot, IPv6 in brackets): the one that
 * has the name, else the one with the wildcard covering it; NULL if none or
 * if `name` is not a valid host name. Every mapping of a Host header, an SNI
 * or a ServerName to a domain goes through here (acme_names_host_lookup()
 * normalizes). *pcanonical (if given) is the normalized name, from p, when a
 * domain is found. Valid after check_config. O(1). */
acme_config_md_t *acme_config_md_for_name(const acme_config_global_t *g, apr_pool_t *p,
                                          const char *name, const char **pcanonical);

#endif /* MOD_ACME_CONFIG_H */
