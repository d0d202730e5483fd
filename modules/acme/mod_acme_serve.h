/* The serving side of mod_acme: the store of the running generation, the
 * activation of staged certificates, the hand-over of certificates to
 * mod_ssl, the challenge responders and MDRequireHttps.
 *
 * Life cycle (parent, as root, once per configuration pass):
 *   acme_glue_log_install()          core log lines go to the error log
 *   acme_glue_store_open()           store at MDStoreDir; on the real pass
 *                                    also recovery and ownership for User
 *   acme_activation_run()            STAGING/<md> -> LIVE/<md> when it passes
 *   acme_served_prepare()            what each domain serves (LIVE, static)
 * all before mod_ssl's post_config, which then asks the ssl_add_*cert_files
 * hooks. httpd's first pass at start-up is a dry run (its configuration is
 * thrown away): the store is opened and read then, so that mod_ssl finds the
 * files it insists on, but nothing is recovered, chowned or activated.
 *
 * Children inherit the store handle and the per-domain state; both are
 * read-only there, so request threads use them without locks. Everything
 * lives in pconf and is forgotten when it is cleared. */
#ifndef MOD_ACME_SERVE_H
#define MOD_ACME_SERVE_H

#include <apr_tables.h>

#include <httpd.h>
#include <http_config.h>

#include "acme_store.h"
#include "mod_acme_config.h"

extern module AP_MODULE_DECLARE_DATA acme_module;

/* ------------------------------------------------ mod_acme_log.c */

/* Sends the core's acme_log() lines to the error log of `s` (the main
 * server), up to the module's log level there. Undone when pconf is cleared. */
void acme_glue_log_install(server_rec *s, apr_pool_t *pconf);

/* `rv` as ap_log_error() should get it: 0 for the core's own codes (APR's
 * user range), whose text would be "APR does not understand this error". */
apr_status_t acme_glue_log_rv(apr_status_t rv);

/* ------------------------------------------------ mod_acme_store.c */

/* True on httpd's first configuration pass at start-up (the dry run). */
int acme_glue_is_dry_run(void);

/* Opens the store of this generation (see above). Returns APR_SUCCESS or
 * the store's error (logged): a store that cannot be opened fails the start,
 * since no managed domain could be served. */
apr_status_t acme_glue_store_open(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp);

/* The store opened for this generation, NULL before (or when it failed). */
acme_store_t *acme_glue_store_get(void);

/* Writes ARCHIVE/<archived>/<file>: {"name": md_name, "reason": why,
 * <event>: now (RFC 3339)}, the note beside a set that was moved aside
 * (a rejected staged set, a rolled back activation). */
apr_status_t acme_archive_note(apr_pool_t *p, acme_store_t *store, const char *archived,
                               const char *file, const char *md_name, const char *why,
                               const char *event);

/* ------------------------------------------------ mod_acme_activate.c */

/* For every domain without static certificate files that has a staged set:
 * verifies it and makes it live, moves a bad one aside (see
 * docs/operations.md), leaves one that is not finished or not due yet.
 * Problems are logged per domain and never fail the start: the live set
 * stays in service. */
void acme_activation_run(acme_config_global_t *g, acme_store_t *store, apr_pool_t *ptemp,
                         server_rec *s);

/* Writers of STAGING/<md> hold acme_store_lock(STAGING, <md>) while they
 * change the set; the activation takes it too, so it never sees half a set. */
#define ACME_ACTIVATION_LOCK_GROUP ACME_STORE_STAGING

/* ------------------------------------------------ mod_acme_ssl.c */

/* Decides per domain what mod_ssl gets: the static files, or the usable
 * pairs of the LIVE set; neither means the fallback certificate. */
void acme_served_prepare(acme_config_global_t *g, acme_store_t *store, apr_pool_t *pconf,
                         apr_pool_t *ptemp, server_rec *s);

/* True when the domain serves a real certificate (live or static), not the
 * fallback: only then do redirects to https make sense. */
int acme_served_has_cert(const acme_config_md_t *md);

/* The usable pairs (acme_certset_pair_t, acme_certset.h) of md's LIVE set
 * as this pass's acme_served_prepare() found them: spec, dates, serial,
 * leaf SHA-256, issuer (both forms) and ARI id in pconf, no problem texts
 * or file digests. NULL when md serves no live set. The status facts come from here, so a pass
 * decodes a set at most once. */
const apr_array_header_t *acme_served_live_pairs(const acme_config_md_t *md);

int acme_ssl_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                            apr_array_header_t *key_files);
int acme_ssl_add_fallback_cert_files(server_rec *s, apr_pool_t *p,
                                     apr_array_header_t *cert_files,
                                     apr_array_header_t *key_files);

/* ------------------------------------------------ mod_acme_fallback.c */

/* LIVE/<md> aspects of the fallback certificate: a P-256 key made once and
 * kept, and a self-signed certificate for the domain's names, renewed from
 * that key when it nears its end or the names changed. They sit next to a
 * set's pairs (and are archived with it at the next activation). */
#define ACME_FALLBACK_KEY "fallback-privkey.pem"
#define ACME_FALLBACK_CERT "fallback-pubcert.pem"

/* Paths of the fallback certificate and key of `md` for mod_ssl, made or
 * refreshed as needed (as root: LIVE stays root's). */
apr_status_t acme_fallback_files(const char **pcert_path, const char **pkey_path,
                                 apr_pool_t *p, acme_store_t *store,
                                 const acme_config_md_t *md, server_rec *s);

/* ------------------------------------------------ mod_acme_challenge.c */

/* post_read_request: answers GET /.well-known/acme-challenge/<token> for
 * names of managed domains from CHALLENGES/<host>/http-01.<token>. */
int acme_challenge_http01(request_rec *r);

/* ------------------------------------------------ mod_acme_alpn.c */

/* ALPN "acme-tls/1" (RFC 8737): proposed when a TLS client offers it; the
 * switched connection gets the tls-alpn-01 certificate of the SNI name from
 * CHALLENGES/<name>/tls-alpn-01.{cert,key}.pem and is closed after the
 * handshake. */
int acme_alpn_propose(conn_rec *c, request_rec *r, server_rec *s,
                      const apr_array_header_t *offers, apr_array_header_t *proposals);
int acme_alpn_switch(conn_rec *c, request_rec *r, server_rec *s, const char *protocol);
const char *acme_alpn_get(const conn_rec *c);
int acme_alpn_answer_challenge(conn_rec *c, const char *server_name, const char **pcert_pem,
                               const char **pkey_pem);

/* ------------------------------------------------ mod_acme_https.c */

/* post_read_request: MDRequireHttps. http: requests to a domain that
 * serves a real certificate are redirected to https: (temporary: 302/307,
 * permanent: 301/308); https: responses get Strict-Transport-Security with
 * permanent. /.well-known/acme-challenge/ is never redirected. */
int acme_https_require(request_rec *r);

#endif /* MOD_ACME_SERVE_H */
