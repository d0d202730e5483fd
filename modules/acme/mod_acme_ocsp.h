/* OCSP stapling by mod_acme (MDStapling, MDStapleOthers, MDStaplingRenewWindow,
 * MDStaplingKeepResponse).
 *
 * How it fits together, per configuration generation:
 *  1. mod_ssl's post_config primes every certificate it serves through the
 *     ssl_ocsp_prime_hook (http_ssl.h). acme_ocsp_prime() takes those of
 *     domains with MDStapling on, and, with MDStapling and MDStapleOthers on
 *     at server level, those of vhosts that use no managed domain. The entry
 *     registry is read-only after that.
 *  2. acme_ocsp_post_config() (after mod_ssl) makes one shared-memory slot per
 *     entry, fills it from the store, and registers the OCSP watchdog.
 *  3. The watchdog (one thread in one child, mod_acme_ocsp_watch.c) fetches
 *     responses when due, stores them (group OCSP, acme_ocsp_store_save) and
 *     publishes them in the slots.
 *  4. In the handshake, acme_ocsp_get_resp() copies the slot's response:
 *     memory only, no I/O, no lock. An expired response is not stapled.
 * Slots have one writer (the watchdog thread, or the parent before any child
 * exists) and are read with a sequence counter, so readers never see a torn
 * response. */
#ifndef MOD_ACME_OCSP_H
#define MOD_ACME_OCSP_H

#include <apr_pools.h>
#include <apr_time.h>
#include <httpd.h>
#include <http_ssl.h>
#include <jansson.h>
#include <openssl/x509.h>

#include "acme_config_value.h"
#include "mod_acme_config.h"

/* One stapled certificate. */
typedef struct {
    unsigned char id[20];       /* mod_ssl's id: SHA-1 of the certificate */
    const char *name;           /* store name: the domain, or the vhost name */
    int managed;                /* 1: of a managed domain (name is the domain's) */
    X509 *cert, *issuer;        /* owned by the configuration pool */
    const char *url;            /* the responder, from the AIA */
    const acme_config_window_t *renew_window;
    apr_interval_time_t keep;
    const acme_config_props_t *props;   /* proxy and trust for the fetch */
    int slot;                   /* index of its shared slot */
} acme_ocsp_entry_t;

/* What the status pages show of one entry (copied out of its slot). */
typedef struct {
    int have;                   /* a response is in the slot */
    int status;                 /* acme_ocsp_status_e when `have` */
    apr_time_t this_update, next_update, refresh_at, last_try;
    char error[200];            /* last failure, "" after a success */
} acme_ocsp_state_t;

/* ssl_ocsp_prime_hook: OK when we staple this certificate, else DECLINED. */
int acme_ocsp_prime(server_rec *s, apr_pool_t *p, const char *id, apr_size_t id_len,
                    const char *pem);

/* ssl_ocsp_get_resp_hook: OK (cb called, maybe with NULL when we have no
 * current response) for our certificates, DECLINED for others. */
int acme_ocsp_get_resp(server_rec *s, conn_rec *c, const char *id, apr_size_t id_len,
                       ap_ssl_ocsp_copy_resp *cb, void *userdata);

/* post_config hook, after mod_ssl: slots, stored responses, watchdog. */
int acme_ocsp_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s);

/* The entries of this generation (acme_ocsp_entry_t *), or NULL when none. */
apr_array_header_t *acme_ocsp_entries(void);

/* Reads / publishes one entry's slot. publish: der NULL keeps the response
 * held and records only refresh_at and `error`; a response over the slot's
 * 4096 bytes is not kept either (the error says so). */
void acme_ocsp_slot_read(acme_ocsp_state_t *state, const acme_ocsp_entry_t *e);
void acme_ocsp_slot_publish(const acme_ocsp_entry_t *e, const unsigned char *der,
                            apr_size_t der_len, int status, apr_time_t this_update,
                            apr_time_t next_update, apr_time_t refresh_at, const char *error);

/* JSON array of the OCSP states of a domain's certificates (for md-status),
 * or NULL when none of them is stapled by us. */
json_t *acme_ocsp_status_json(apr_pool_t *p, const char *md_name);

/* server-status lines of a domain's stapled certificates: ?auto lines
 * "<pre>OCSP[n]Status|ValidUntil|NextRefresh|LastError: ..." when pre is not
 * NULL, else text for the HTML activity cell. Nothing when none is stapled. */
void acme_ocsp_status_page(request_rec *r, const char *pre, const char *md_name);
/* server-status ?auto: the ManagedStaplings{Total,OK,Renew,Errored} lines
 * of mod_md, over every stapled certificate. */
void acme_ocsp_status_summary(request_rec *r);

/* mod_acme_ocsp_watch.c: registers the OCSP watchdog for the entries. */
int acme_ocsp_watch_register(apr_pool_t *pconf, server_rec *s);

#endif /* MOD_ACME_OCSP_H */
