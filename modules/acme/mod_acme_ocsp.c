/* OCSP stapling: the certificates mod_ssl primes, their shared slots, and the
 * response handed to mod_ssl in the handshake (see mod_acme_ocsp.h). */
#include <string.h>

#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "acme_cert.h"
#include "acme_ocsp.h"
#include "mod_acme_ocsp.h"
#include "mod_acme_serve.h"
#include "mod_acme_status.h"

APLOG_USE_MODULE(acme);

/* What a slot holds of a response: real ones (CA-signed, or with a delegated
 * responder's certificate) take 0.5-3 KB; a fixed size keeps the shared
 * memory at n * ~4.3 KB. A larger response is not stapled (status says so). */
#define SLOT_DER_MAX 4096

/* One entry's shared state. `seq` is odd while the single writer updates. */
typedef struct {
    apr_uint32_t seq;
    apr_uint32_t der_len;       /* 0: no response */
    int status;
    apr_time_t this_update, next_update, refresh_at, last_try;
    char error[200];
    unsigned char der[SLOT_DER_MAX];
} ocsp_slot_t;

typedef struct {
    apr_array_header_t *entries;    /* acme_ocsp_entry_t * */
    apr_hash_t *by_id;              /* 20-byte id -> acme_ocsp_entry_t * */
    ocsp_slot_t *slots;             /* after post_config; NULL before */
} ocsp_registry_t;

/* This generation's registry, reset with the configuration pool. */
static ocsp_registry_t *registry;

static const acme_config_window_t window_33 = { 1, 33, 0 };

static apr_status_t registry_forget(void *data)
{
    (void)data;
    registry = NULL;
    return APR_SUCCESS;
}

/* Who staples the certificates of server s: its domain's MDStapling, or for
 * a vhost without a domain, MDStapling and MDStapleOthers at server level. */
static int staple_decide(acme_ocsp_entry_t *e, apr_pool_t *p, server_rec *s)
{
    const acme_config_srv_t *srv = acme_config_srv_get(s);
    const acme_config_props_t *gp = &srv->global->props;

    if (srv->md) {
        e->props = &srv->md->props;
        e->name = srv->md->name;
        e->managed = 1;
        e->renew_window = e->props->stapling_renew_window;
        e->keep = e->props->stapling_keep;
        return e->props->stapling > 0;
    }
    if (gp->stapling <= 0 || gp->staple_others == 0 || !s->server_hostname) {
        return 0;
    }
    e->props = gp;
    e->name = apr_pstrdup(p, s->server_hostname);
    ap_str_tolower((char *)e->name);
    e->renew_window = gp->stapling_renew_window ? gp->stapling_renew_window : &window_33;
    e->keep = gp->stapling_keep >= 0 ? gp->stapling_keep : 7 * ACME_CONFIG_DAY;
    return 1;
}

/* The leaf and its issuer from mod_ssl's PEM (leaf first). */
static apr_status_t pem_pair_read(X509 **pcert, X509 **pissuer, apr_pool_t *p,
                                  const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = NULL, *issuer = NULL;

    if (bio) {
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        issuer = cert ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    }
    ERR_clear_error();
    if (!cert || !issuer) {
        X509_free(cert);
        X509_free(issuer);
        return APR_EINVAL;
    }
    acme_cert_pool_own(p, cert);
    acme_cert_pool_own(p, issuer);
    *pcert = cert;
    *pissuer = issuer;
    return APR_SUCCESS;
}

int acme_ocsp_prime(server_rec *s, apr_pool_t *p, const char *id, apr_size_t id_len,
                    const char *pem)
{
    acme_ocsp_entry_t *e;

    if (id_len != sizeof(e->id) || !pem) {
        return DECLINED;
    }
    if (registry && apr_hash_get(registry->by_id, id, id_len)) {
        return OK;      /* the same certificate in another vhost */
    }
    e = apr_pcalloc(p, sizeof(*e));
    if (!staple_decide(e, p, s)) {
        return DECLINED;
    }
    if (pem_pair_read(&e->cert, &e->issuer, p, pem) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ACME1750 ocsp[%s]: no issuer "
                     "certificate in the chain; not stapling", e->name);
        return DECLINED;
    }
    if (acme_ocsp_responder_url(&e->url, p, e->cert) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ACME1751 ocsp[%s]: the certificate names "
                     "no OCSP responder; not stapling", e->name);
        return DECLINED;
    }
    if (!registry) {
        registry = apr_pcalloc(p, sizeof(*registry));
        registry->entries = apr_array_make(p, 4, sizeof(acme_ocsp_entry_t *));
        registry->by_id = apr_hash_make(p);
        apr_pool_cleanup_register(p, NULL, registry_forget, apr_pool_cleanup_null);
    }
    memcpy(e->id, id, sizeof(e->id));
    e->slot = registry->entries->nelts;
    APR_ARRAY_PUSH(registry->entries, acme_ocsp_entry_t *) = e;
    apr_hash_set(registry->by_id, e->id, sizeof(e->id), e);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1752 ocsp[%s]: stapling, responder %s",
                 e->name, e->url);
    return OK;
}

apr_array_header_t *acme_ocsp_entries(void)
{
    return registry && registry->slots ? registry->entries : NULL;
}

void acme_ocsp_slot_publish(const acme_ocsp_entry_t *e, const unsigned char *der,
                            apr_size_t der_len, int status, apr_time_t this_update,
                            apr_time_t next_update, apr_time_t refresh_at, const char *error)
{
    ocsp_slot_t *slot = &registry->slots[e->slot];
    apr_uint32_t seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);

    __atomic_store_n(&slot->seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (der && der_len > sizeof(slot->der)) {
        error = "the response is larger than 4096 bytes; not stapled";
    }
    else if (der) {
        memcpy(slot->der, der, der_len);
        slot->der_len = (apr_uint32_t)der_len;
        slot->status = status;
        slot->this_update = this_update;
        slot->next_update = next_update;
    }
    slot->refresh_at = refresh_at;
    slot->last_try = apr_time_now();
    apr_cpystrn(slot->error, error ? error : "", sizeof(slot->error));
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&slot->seq, seq + 2, __ATOMIC_RELAXED);
}

/* Copies the slot (with its response when der is not NULL) consistently:
 * 0 when the writer kept changing it. */
static int slot_copy(ocsp_slot_t *out, unsigned char *der, const ocsp_slot_t *slot)
{
    int tries;

    for (tries = 0; tries < 5; ++tries) {
        apr_uint32_t before = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);
        if (before & 1) {
            continue;
        }
        memcpy(out, slot, offsetof(ocsp_slot_t, der));
        if (der && out->der_len <= sizeof(slot->der)) {
            memcpy(der, slot->der, out->der_len);
        }
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(&slot->seq, __ATOMIC_RELAXED) == before) {
            return out->der_len <= sizeof(slot->der);
        }
    }
    return 0;
}

void acme_ocsp_slot_read(acme_ocsp_state_t *state, const acme_ocsp_entry_t *e)
{
    ocsp_slot_t copy;

    memset(state, 0, sizeof(*state));
    if (!registry || !registry->slots || !slot_copy(&copy, NULL, &registry->slots[e->slot])) {
        return;
    }
    state->have = copy.der_len > 0;
    state->status = copy.status;
    state->this_update = copy.this_update;
    state->next_update = copy.next_update;
    state->refresh_at = copy.refresh_at;
    state->last_try = copy.last_try;
    memcpy(state->error, copy.error, sizeof(state->error));
    state->error[sizeof(state->error) - 1] = '\0';
}

int acme_ocsp_get_resp(server_rec *s, conn_rec *c, const char *id, apr_size_t id_len,
                       ap_ssl_ocsp_copy_resp *cb, void *userdata)
{
    const acme_ocsp_entry_t *e;
    acme_ocsp_answer_t answer;
    ocsp_slot_t copy;
    unsigned char *der;

    (void)s;
    if (!registry || !registry->slots || id_len != sizeof(e->id)
        || !(e = apr_hash_get(registry->by_id, id, id_len))) {
        return DECLINED;
    }
    der = apr_palloc(c->pool, SLOT_DER_MAX);
    memset(&answer, 0, sizeof(answer));
    if (slot_copy(&copy, der, &registry->slots[e->slot]) && copy.der_len > 0) {
        answer.this_update = copy.this_update;
        answer.next_update = copy.next_update;
        if (acme_ocsp_answer_is_current(&answer, apr_time_now(), e->keep)) {
            cb(der, copy.der_len, userdata);
            return OK;
        }
    }
    ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c, "ocsp[%s]: no current response", e->name);
    cb(NULL, 0, userdata);
    return OK;
}

/* A stored response from an earlier run, so stapling starts at once. */
static void slot_fill_stored(const acme_ocsp_entry_t *e, apr_pool_t *ptemp, server_rec *s)
{
    acme_store_t *store = acme_glue_store_get();
    acme_ocsp_answer_t *a = NULL;
    apr_time_t now = apr_time_now();

    if (store && acme_ocsp_store_load(&a, ptemp, store, e->name, e->cert, e->issuer, now,
                                      e->keep) == APR_SUCCESS) {
        acme_ocsp_slot_publish(e, a->der, a->der_len, (int)a->status, a->this_update,
                               a->next_update, acme_ocsp_refresh_at(a, e->renew_window), NULL);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1753 ocsp[%s]: stored response "
                     "(%s) loaded", e->name, acme_ocsp_status_name(a->status));
        return;
    }
    acme_ocsp_slot_publish(e, NULL, 0, 0, 0, 0, now, NULL);
}

int acme_ocsp_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    apr_shm_t *shm;
    apr_size_t size;
    apr_status_t rv;
    int i;

    (void)plog;
    if (!registry || acme_glue_is_dry_run()) {
        return OK;
    }
    if (!acme_glue_store_get() && acme_glue_store_open(s, pconf, ptemp) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    size = sizeof(ocsp_slot_t) * (apr_size_t)registry->entries->nelts;
    if ((rv = apr_shm_create(&shm, size, NULL, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ACME1754 cannot create shared memory "
                     "for %d OCSP responses", registry->entries->nelts);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    registry->slots = apr_shm_baseaddr_get(shm);
    memset(registry->slots, 0, size);
    for (i = 0; i < registry->entries->nelts; ++i) {
        slot_fill_stored(APR_ARRAY_IDX(registry->entries, i, acme_ocsp_entry_t *), ptemp, s);
    }
    return acme_ocsp_watch_register(pconf, s);
}

json_t *acme_ocsp_status_json(apr_pool_t *p, const char *md_name)
{
    apr_array_header_t *entries = acme_ocsp_entries();
    json_t *arr = NULL, *obj;
    acme_ocsp_state_t st;
    const char *hex;
    int i;

    for (i = 0; entries && i < entries->nelts; ++i) {
        const acme_ocsp_entry_t *e = APR_ARRAY_IDX(entries, i, acme_ocsp_entry_t *);
        if (!e->managed || strcmp(e->name, md_name)) {
            continue;
        }
        acme_ocsp_slot_read(&st, e);
        obj = json_object();
        if (acme_cert_get_sha256_hex(&hex, p, e->cert) == APR_SUCCESS) {
            json_object_set_new(obj, "sha256-fingerprint", json_string(hex));
        }
        json_object_set_new(obj, "responder", json_string(e->url));
        json_object_set_new(obj, "status", json_string(st.have ? acme_ocsp_status_name(
                                                           (acme_ocsp_status_e)st.status)
                                                       : "none"));
        if (st.have) {
            json_object_set_new(obj, "valid", json_pack("{s:s, s:s}",
                                "from", acme_status_time_text(p, st.this_update),
                                "until", st.next_update ? acme_status_time_text(p,
                                st.next_update) : ""));
        }
        json_object_set_new(obj, "next-refresh", json_string(acme_status_time_text(
                                                                 p, st.refresh_at)));
        if (st.error[0]) {
            json_object_set_new(obj, "last-error", json_string(st.error));
        }
        if (!arr) {
            arr = json_array();
        }
        json_array_append_new(arr, obj);
    }
    return arr;
}

/* server-status: one line per stapled certificate of the domain, for the
 * ?auto form ("<pre>OCSP[n]Status: good", ...) or the HTML activity cell. */
void acme_ocsp_status_page(request_rec *r, const char *pre, const char *md_name)
{
    apr_array_header_t *entries = acme_ocsp_entries();
    acme_ocsp_state_t st;
    const char *status, *until;
    int i, n = 0;

    for (i = 0; entries && i < entries->nelts; ++i) {
        const acme_ocsp_entry_t *e = APR_ARRAY_IDX(entries, i, acme_ocsp_entry_t *);
        if (!e->managed || strcmp(e->name, md_name)) {
            continue;
        }
        acme_ocsp_slot_read(&st, e);
        status = st.have ? acme_ocsp_status_name((acme_ocsp_status_e)st.status) : "none";
        until = st.have && st.next_update ? acme_status_time_text(r->pool, st.next_update) : "-";
        if (pre) {
            ap_rprintf(r, "%sOCSP[%d]Status: %s\n%sOCSP[%d]ValidUntil: %s\n"
                       "%sOCSP[%d]NextRefresh: %s\n", pre, n, status, pre, n, until, pre, n,
                       acme_status_time_text(r->pool, st.refresh_at));
            if (st.error[0]) {
                ap_rprintf(r, "%sOCSP[%d]LastError: %s\n", pre, n, st.error);
            }
        }
        else {
            ap_rprintf(r, "<br>OCSP %s, valid until %s, next refresh %s%s%s", status, until,
                       acme_status_time_text(r->pool, st.refresh_at),
                       st.error[0] ? ": " : "",
                       ap_escape_html2(r->pool, st.error, 1));
        }
        ++n;
    }
}

/* server-status ?auto: mod_md's ManagedStaplings summary over every
 * certificate stapled from the store: OK holds a good response, Renew is
 * due for a refresh (or has no response yet), Errored failed its last fetch. */
void acme_ocsp_status_summary(request_rec *r)
{
    apr_array_header_t *entries = acme_ocsp_entries();
    apr_time_t now = apr_time_now();
    acme_ocsp_state_t st;
    int i, total = 0, ok = 0, renew = 0, errored = 0;

    for (i = 0; entries && i < entries->nelts; ++i) {
        const acme_ocsp_entry_t *e = APR_ARRAY_IDX(entries, i, acme_ocsp_entry_t *);

        acme_ocsp_slot_read(&st, e);
        ++total;
        if (st.have && st.status == ACME_OCSP_GOOD) {
            ++ok;
        }
        if (!st.have || st.refresh_at <= now) {
            ++renew;
        }
        if (st.error[0]) {
            ++errored;
        }
    }
    ap_rprintf(r, "ManagedStaplingsTotal: %d\nManagedStaplingsOK: %d\n"
               "ManagedStaplingsRenew: %d\nManagedStaplingsErrored: %d\n", total, ok, renew,
               errored);
}
