/* The parent's part of the status: certificate facts per domain from the
 * LIVE set (or the static files), and the shared slots seeded from the
 * store (the job's persisted state, a staged set), once per configuration
 * pass (see mod_acme_status.h). */
#include <string.h>

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_ari.h"
#include "acme_cert.h"
#include "acme_certset.h"
#include "acme_chain.h"
#include "acme_layout.h"
#include "acme_pkey.h"
#include "acme_renew.h"
#include "acme_schedule.h"
#include "mod_acme_serve.h"
#include "mod_acme_shared.h"
#include "mod_acme_status.h"

APLOG_USE_MODULE(acme);

/* This generation's facts, in pconf; NULL before post_config. */
static apr_array_header_t *facts;       /* acme_status_md_t */
static apr_hash_t *facts_by_name;

static apr_status_t facts_forget(void *data)
{
    (void)data;
    facts = NULL;
    facts_by_name = NULL;
    return APR_SUCCESS;
}

const acme_status_md_t *acme_status_md_at(int i)
{
    return (facts && i >= 0 && i < facts->nelts)
               ? &APR_ARRAY_IDX(facts, i, acme_status_md_t) : NULL;
}

const acme_status_md_t *acme_status_md_get(const char *name)
{
    return (facts_by_name && name) ? apr_hash_get(facts_by_name, name, APR_HASH_KEY_STRING)
                                   : NULL;
}

const char *acme_status_time_text(apr_pool_t *p, apr_time_t t)
{
    char *text = apr_palloc(p, APR_RFC822_DATE_LEN);

    /* "Sun, 06 Dec 2026 22:32:12 GMT": mod_md's form (apr_rfc822_date in
     * its status and job.json, read back with apr_date_parse_rfc) */
    if (apr_rfc822_date(text, t) != APR_SUCCESS) {
        text[0] = '\0';
    }
    return text;
}

const char *acme_status_day_text(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Facts of the leaf of a PEM chain; spec NULL: named after the leaf's key.
 * The facts are allocated in p, the decoded chain in scratch: the caller's
 * p may be pconf, where N decoded chains would stay for the generation. */
static apr_status_t leaf_facts(acme_status_cert_t *out, apr_pool_t *p, apr_pool_t *scratch,
                               const char *pem, apr_size_t len, const char *spec)
{
    acme_cert_chain_t *chain;
    acme_pkey_t *key;
    EVP_PKEY *evp;
    X509 *leaf;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    rv = acme_chain_from_pem(&chain, scratch, pem, len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    leaf = acme_chain_get(chain, 0);
    if ((rv = acme_cert_get_not_before(&out->valid_from, leaf)) != APR_SUCCESS
        || (rv = acme_cert_get_not_after(&out->valid_until, leaf)) != APR_SUCCESS
        || (rv = acme_cert_get_serial_hex(&out->serial, p, leaf)) != APR_SUCCESS
        || (rv = acme_cert_get_sha256_hex(&out->sha256, p, leaf)) != APR_SUCCESS
        || (rv = acme_cert_get_issuer(&out->issuer, p, leaf)) != APR_SUCCESS
        || (rv = acme_cert_get_issuer_slashed(&out->issuer_name, p, leaf)) != APR_SUCCESS) {
        return rv;
    }
    if (acme_ari_cert_id(&out->ari_cert_id, p, leaf) != APR_SUCCESS) {
        out->ari_cert_id = NULL;        /* no AKI: ARI cannot name it */
    }
    if (spec == NULL) {
        evp = acme_cert_get0_pubkey(leaf);
        spec = "unknown";
        if (evp && EVP_PKEY_up_ref(evp) == 1
            && acme_pkey_wrap(&key, scratch, evp, NULL) == APR_SUCCESS) {
            spec = acme_pkey_spec_name(p, acme_pkey_get_spec(key));
        }
    }
    out->spec = apr_pstrdup(p, spec);
    return APR_SUCCESS;
}

apr_status_t acme_status_certs_load(apr_array_header_t **pcerts, apr_pool_t *p,
                                    acme_store_t *store, acme_store_group_e group,
                                    const acme_config_md_t *md)
{
    const apr_array_header_t *specs = md->props.pkey_specs;
    apr_array_header_t *certs = apr_array_make(p, 2, sizeof(acme_status_cert_t));
    acme_status_cert_t cert;
    const char *data, *name;
    apr_pool_t *scratch;
    apr_size_t len;
    apr_status_t rv = APR_SUCCESS;
    int i;

    /* the file and its decoded chain only while reading the facts */
    apr_pool_create(&scratch, p);
    for (i = 0; specs && i < specs->nelts; ++i) {
        apr_pool_clear(scratch);
        name = acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t));
        rv = acme_store_load(&data, &len, scratch, store, group, md->name,
                             acme_layout_pubcert(scratch, name));
        if (APR_STATUS_IS_ENOENT(rv)) {
            rv = APR_SUCCESS;
            continue;
        }
        if (rv != APR_SUCCESS) {
            goto cleanup;
        }
        if (leaf_facts(&cert, p, scratch, data, len, name) == APR_SUCCESS) {
            APR_ARRAY_PUSH(certs, acme_status_cert_t) = cert;
        }
    }
    *pcerts = certs;
cleanup:
    apr_pool_destroy(scratch);
    return rv;
}

/* The facts of the usable pairs (acme_certset_pair_t) of a checked set;
 * the strings are the pairs' (no copies: same pool or used at once). */
static apr_array_header_t *pairs_facts(apr_pool_t *p, const apr_array_header_t *pairs)
{
    apr_array_header_t *certs = apr_array_make(p, pairs && pairs->nelts ? pairs->nelts : 1,
                                               sizeof(acme_status_cert_t));
    int i;

    for (i = 0; pairs && i < pairs->nelts; ++i) {
        const acme_certset_pair_t *pair = &APR_ARRAY_IDX(pairs, i, acme_certset_pair_t);
        acme_status_cert_t *c;

        if (pair->status != APR_SUCCESS) {
            continue;
        }
        c = apr_array_push(certs);
        c->spec = pair->spec_name;
        c->valid_from = pair->not_before;
        c->valid_until = pair->not_after;
        c->serial = pair->serial;
        c->sha256 = pair->leaf_sha256;
        c->issuer = pair->issuer;
        c->issuer_name = pair->issuer_name;
        c->ari_cert_id = pair->ari_cert_id;
    }
    return certs;
}

/* MDCertificateFile pairs: their leaves, named by key type. */
static apr_array_header_t *static_certs(apr_pool_t *p, const acme_config_md_t *md,
                                        server_rec *s)
{
    apr_array_header_t *certs = apr_array_make(p, 2, sizeof(acme_status_cert_t));
    acme_status_cert_t cert;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t len;
    char *buf;
    int i;

    for (i = 0; i < md->cert_files->nelts; ++i) {
        const char *path = APR_ARRAY_IDX(md->cert_files, i, const char *);

        if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS) {
            continue;
        }
        if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) == APR_SUCCESS
            && fi.size > 0 && fi.size <= ACME_CHAIN_PEM_MAX) {
            len = (apr_size_t)fi.size;
            buf = apr_palloc(p, len + 1);
            if (apr_file_read_full(f, buf, len, &len) == APR_SUCCESS
                && leaf_facts(&cert, p, p, buf, len, NULL) == APR_SUCCESS) {
                APR_ARRAY_PUSH(certs, acme_status_cert_t) = cert;
            }
            else {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1602 %s: no certificate "
                             "facts from %s", md->name, path);
            }
        }
        apr_file_close(f);
    }
    return certs;
}

/* renew_at and warn_at as the watchdog will compute them. */
static void facts_schedule(acme_status_md_t *smd, apr_time_t now)
{
    const acme_config_md_t *md = smd->md;
    acme_schedule_input_t in;
    acme_schedule_t sched;
    int i;

    memset(&in, 0, sizeof(in));
    for (i = 0; i < smd->live->nelts; ++i) {
        const acme_status_cert_t *c = &APR_ARRAY_IDX(smd->live, i, acme_status_cert_t);
        acme_schedule_input_add(&in, c->valid_from, c->valid_until, 1);
    }
    smd->valid_until = in.not_after;
    /* a key spec without a certificate wants one now (a missing name,
     * which the watchdog also treats as a change, is not visible here) */
    in.changed = !(md->cert_files && md->cert_files->nelts > 0) && md->props.pkey_specs
                 && smd->live->nelts < md->props.pkey_specs->nelts;
    if (md->props.renew_window) {
        in.renew_window = *md->props.renew_window;
    }
    if (md->props.warn_window) {
        in.warn_window = *md->props.warn_window;
    }
    if (acme_schedule_compute(&sched, &in, now) == APR_SUCCESS) {
        smd->warn_at = sched.warn_at;
        smd->renew_at = md->driven ? sched.renew_at : 0;
    }
}

int acme_status_job_orders(const acme_renew_info_t *info, const acme_config_md_t *md,
                           apr_pool_t *p)
{
    const apr_array_header_t *specs = md->props.pkey_specs;
    int i;

    if (info == NULL || info->step == NULL || specs == NULL) {
        return 0;
    }
    if (strcmp(info->step, "save") == 0 || strcmp(info->step, "done") == 0) {
        return specs->nelts;
    }
    for (i = 0; info->pkey_spec && i < specs->nelts; ++i) {
        if (strcmp(info->pkey_spec,
                   acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t))) == 0) {
            return i + (info->order_url ? 1 : 0);
        }
    }
    return 0;
}

acme_status_state_e acme_status_state_of(const acme_status_slot_t *slot,
                                         const acme_status_md_t *smd, apr_time_t now)
{
    if (slot->staged_until > 0) {
        return ACME_STATUS_STAGED;
    }
    if (slot->errors > 0) {
        return ACME_STATUS_ERRORED;
    }
    if (slot->cycle_started > 0 || (slot->step[0] && strcmp(slot->step, "done") != 0)) {
        return ACME_STATUS_RENEWING;
    }
    if (smd == NULL || smd->live->nelts == 0) {
        return ACME_STATUS_NO_CERT;
    }
    if (smd->warn_at > 0 && now >= smd->warn_at) {
        return ACME_STATUS_EXPIRING;
    }
    return ACME_STATUS_OK;
}

/* The detail of a job's last error. A local failure (no CA problem, e.g. a
 * store write refused) keeps its OS error: "Permission denied: saving ...". */
static const char *job_error_detail(apr_pool_t *p, const acme_result_t *err)
{
    if (err->detail == NULL) {
        return acme_result_status_text(p, err->status);
    }
    if (err->problem_type == NULL && err->status != APR_SUCCESS
        && err->status != ACME_EPROBLEM) {
        return apr_pstrcat(p, acme_result_status_text(p, err->status), ": ", err->detail, NULL);
    }
    return err->detail;
}

void acme_status_slot_set_job(acme_status_slot_t *slot, const acme_renew_info_t *info,
                              int errors, apr_pool_t *p)
{
    const acme_result_t *err = info ? info->last_error : NULL;

    acme_status_text_copy(slot->step, sizeof(slot->step), info ? info->step : NULL);
    slot->errors = errors;
    if (errors > 0 && err) {
        acme_status_text_copy(slot->problem, sizeof(slot->problem), err->problem_type);
        acme_status_text_copy(slot->detail, sizeof(slot->detail), job_error_detail(p, err));
        acme_status_text_copy(slot->activity, sizeof(slot->activity), err->activity);
    }
    else if (errors == 0) {
        slot->problem[0] = slot->detail[0] = '\0';
        acme_status_text_copy(slot->activity, sizeof(slot->activity),
                              !info || !info->step ? "checked"
                              : strcmp(info->step, "done") == 0 ? "last renewal done"
                              : apr_pstrcat(p, "renewal at step ", info->step, NULL));
    }
}

/* The job's persisted state into the slot (absent job: nothing). */
static void seed_job(acme_status_slot_t *slot, apr_pool_t *p, acme_store_t *store,
                     const acme_config_md_t *md)
{
    acme_renew_info_t *info;

    if (acme_renew_info_load(&info, p, store, md->name) != APR_SUCCESS) {
        return;
    }
    acme_status_slot_set_job(slot, info, info->errors, p);
    if (info->next_at > 0) {
        slot->next_at = info->next_at;
    }
    slot->order_hash = acme_status_text_hash(info->order_url);
    slot->job_started = info->started;
    slot->job_orders = acme_status_job_orders(info, md, p);
}

void acme_status_slot_set_staged(acme_status_slot_t *slot, const apr_array_header_t *certs)
{
    int i;

    memset(slot->staged, 0, sizeof(slot->staged));
    slot->staged_until = 0;
    for (i = 0; certs && i < certs->nelts && i < ACME_STATUS_SPECS_MAX; ++i) {
        const acme_status_cert_t *c = &APR_ARRAY_IDX(certs, i, acme_status_cert_t);
        acme_status_cert_facts_t *f = &slot->staged[i];

        acme_status_text_copy(f->spec, sizeof(f->spec), c->spec);
        acme_status_text_copy(f->serial, sizeof(f->serial), c->serial);
        acme_status_text_copy(f->sha256, sizeof(f->sha256), c->sha256);
        /* a cut name or id would be a wrong one: left out when too long */
        if (c->issuer_name && strlen(c->issuer_name) < sizeof(f->issuer_name)) {
            acme_status_text_copy(f->issuer_name, sizeof(f->issuer_name), c->issuer_name);
        }
        if (c->ari_cert_id && strlen(c->ari_cert_id) < sizeof(f->ari_cert_id)) {
            acme_status_text_copy(f->ari_cert_id, sizeof(f->ari_cert_id), c->ari_cert_id);
        }
        f->from = c->valid_from;
        f->until = c->valid_until;
        if (slot->staged_until == 0 || c->valid_until < slot->staged_until) {
            slot->staged_until = c->valid_until;
        }
    }
}

/* A finished set in STAGING (waiting for a restart): its facts. */
static void seed_staged(acme_status_slot_t *slot, apr_pool_t *p, acme_store_t *store,
                        const acme_config_md_t *md)
{
    acme_certset_check_t *check;

    /* the set is decoded once, for the check and its facts */
    if (acme_certset_check(&check, p, store, ACME_STORE_STAGING, md->name,
                           md->props.pkey_specs, md->names, apr_time_now()) != APR_SUCCESS
        || !acme_certset_is_issued(check)) {
        return;
    }
    acme_status_slot_set_staged(slot, pairs_facts(p, check->pairs));
}

static void md_seed(acme_status_md_t *smd, apr_pool_t *pconf, apr_pool_t *ptemp,
                    acme_store_t *store, apr_hash_t *accounts, server_rec *s)
{
    const acme_config_md_t *md = smd->md;
    acme_status_slot_t slot;
    apr_time_t now = apr_time_now();

    if (md->cert_files && md->cert_files->nelts > 0) {
        smd->live = static_certs(pconf, md, s);
    }
    else {
        /* what the hand-over serves, as it found it: no decode here */
        smd->live = pairs_facts(pconf, acme_served_live_pairs(md));
    }
    facts_schedule(smd, now);
    smd->account = acme_status_account_id(pconf, accounts, store, md);
    if (acme_status_slot_read(&slot, smd->index) != APR_SUCCESS) {
        return;
    }
    slot.renew_at = smd->renew_at;
    slot.next_at = smd->renew_at;
    if (store && md->driven) {
        seed_job(&slot, ptemp, store, md);
        seed_staged(&slot, ptemp, store, md);
    }
    if (md->config_error) {
        /* what mod_md shows for a domain it cannot manage: an error */
        slot.errors = 1;
        acme_status_text_copy(slot.problem, sizeof(slot.problem),
                              "urn:org:apache:httpd:acme:config");
        acme_status_text_copy(slot.detail, sizeof(slot.detail), md->config_error);
        acme_status_text_copy(slot.activity, sizeof(slot.activity),
                              "checking the configuration");
    }
    slot.state = acme_status_state_of(&slot, smd, now);
    acme_status_slot_write(smd->index, &slot);
}

int acme_status_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    acme_config_global_t *g = acme_config_global_get(s);
    acme_store_t *store = acme_glue_store_get();
    apr_hash_t *accounts;
    int i;

    (void)plog;
    if (g->mds->nelts == 0 || acme_glue_is_dry_run()) {
        return OK;
    }
    acme_status_shm_create(pconf, g, s);
    acme_shared_status_seed(g);
    facts = apr_array_make(pconf, g->mds->nelts, sizeof(acme_status_md_t));
    facts_by_name = apr_hash_make(pconf);
    accounts = apr_hash_make(ptemp);
    apr_pool_cleanup_register(pconf, NULL, facts_forget, apr_pool_cleanup_null);
    for (i = 0; i < g->mds->nelts; ++i) {
        acme_status_md_t *smd = apr_array_push(facts);

        memset(smd, 0, sizeof(*smd));
        smd->md = APR_ARRAY_IDX(g->mds, i, const acme_config_md_t *);
        smd->index = i;
        md_seed(smd, pconf, ptemp, store, accounts, s);
        apr_hash_set(facts_by_name, smd->md->name, APR_HASH_KEY_STRING, smd);
    }
    return OK;
}
