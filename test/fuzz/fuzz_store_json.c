/* Fuzz target: the JSON documents mod_acme keeps in its store and reads
 * back after a restart or crash, possibly damaged or written by another
 * version. The input is given to each reader in turn, from an in-memory
 * store (fuzz_memstore.c):
 *   job.json      acme_job_from_json / acme_job_load ("example.org")
 *   verified.json acme_certset_check_stamped: the stamp of the LIVE set
 *                 "example.org" (P-256 and rsa2048 pairs whose files are
 *                 fixed bytes), and the same stamp in STAGING
 *   account.json  acme_account_store_load (account "ACME-ca.example-0001")
 *   md.json       acme_renew_staging_verify (STAGING "example.org")
 *
 * Properties:
 * - job: a loaded job is in its documented ranges (step, key index and
 *   count, answers and their identifiers, types, tokens and values, account
 *   id, order URL, the domain it was loaded for); its JSON reads back to the
 *   same JSON (a fixed point), also through acme_job_save/acme_job_load;
 *   a job for another domain is refused;
 * - stamp: a stamp that applies is in range (every pair usable, in spec
 *   order, the hashes of the files as they are, name_missing one of the
 *   names asked for, expiry as of now, the set's dates the pairs' latest
 *   start and earliest end), saving it gives back the same verdict, and a
 *   stamp in STAGING never applies;
 * - account: a loaded record has an http(s) CA URL, no or an http(s)
 *   account URL, matches what it was made for (unless deactivated, revoked
 *   or disabled: then nothing) and not another CA, and
 *   survives acme_account_store_forget_url with only its URL gone;
 * - md.json: a staged set passes its md.json check exactly when the
 *   document's "names" and "pkey-specs" are the spec's, in order. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "acme_account_store.h"
#include "acme_certset.h"
#include "acme_job.h"
#include "acme_job_log.h"
#include "acme_keyauth.h"
#include "acme_json.h"
#include "acme_layout.h"
#include "acme_names.h"
#include "acme_pkey.h"
#include "acme_renew_int.h"
#include "fuzz_common.h"
#include "fuzz_keys.h"
#include "fuzz_memstore.h"

#define MD_NAME "example.org"
#define ACCOUNT_ID "ACME-ca.example-0001"
/* 2026-12-06T20:00:00Z: the fixed "now" of every reader */
#define NOW apr_time_from_sec(1796587200)

static const char *const spec_words[] = { "P-256", "rsa2048" };
static const char *const md_names[] = { "example.org", "www.example.org" };

static const char *sha256_hex(apr_pool_t *p, const char *data, apr_size_t len)
{
    unsigned char md[32];
    unsigned int n = 0;
    char *hex = apr_palloc(p, 65);
    int i;

    FUZZ_CHECK(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) == 1 && n == 32);
    for (i = 0; i < 32; ++i) {
        apr_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    return hex;
}

/* The fixed bytes of a pair's file: no key (an empty file, which the full
 * check refuses before OpenSSL's costly decoder setup) and no certificate,
 * so only a stamp naming their hashes makes the pair usable. */
static const char *pair_file(apr_pool_t *p, const char *kind, const char *spec)
{
    return strcmp(kind, "privkey") == 0 ? "" : apr_psprintf(p, "fuzz %s %s\n", kind, spec);
}

static void fill_set(acme_store_t *store, apr_pool_t *p, acme_store_group_e group)
{
    size_t i;

    for (i = 0; i < 2; ++i) {
        const char *key = pair_file(p, "privkey", spec_words[i]);
        const char *cert = pair_file(p, "pubcert", spec_words[i]);
        fuzz_memstore_put(store, group, MD_NAME, acme_layout_privkey(p, spec_words[i]), key,
                          strlen(key));
        fuzz_memstore_put(store, group, MD_NAME, acme_layout_pubcert(p, spec_words[i]), cert,
                          strlen(cert));
    }
}

/* ------------------------------------------------------------------ job */
static const char *job_json(apr_pool_t *p, const acme_job_t *job)
{
    const char *text;
    apr_size_t len;

    FUZZ_CHECK(acme_job_to_json(&text, &len, p, job) == APR_SUCCESS);
    FUZZ_CHECK(strlen(text) == len);
    return text;
}

static void job_in_range(const acme_job_t *job)
{
    int i;

    FUZZ_CHECK(strcmp(job->md_name, MD_NAME) == 0);
    FUZZ_CHECK(acme_job_step_name(job->step) != NULL);
    FUZZ_CHECK(json_is_object(job->spec));
    FUZZ_CHECK(job->key_count >= 1 && job->key_count <= ACME_JOB_MAX_KEYS);
    FUZZ_CHECK(job->key_index >= 0 && job->key_index < job->key_count);
    FUZZ_CHECK(job->account_id == NULL || acme_names_check_id(job->account_id) == APR_SUCCESS);
    FUZZ_CHECK(job->order_url == NULL || acme_json_check_url(job->order_url, NULL)
                                         == APR_SUCCESS);
    FUZZ_CHECK(job->answers != NULL && job->answers->nelts <= ACME_JOB_MAX_ANSWERS);
    for (i = 0; i < job->answers->nelts; ++i) {
        const acme_job_answer_t *a = &APR_ARRAY_IDX(job->answers, i, acme_job_answer_t);
        FUZZ_CHECK(acme_names_check_domain(a->identifier, ACME_NAMES_WILDCARD) == APR_SUCCESS);
        /* job.h: tokens are base64url within the store's rule, so that the
         * answer of every loaded job can be served */
        FUZZ_CHECK(a->token[0] != '\0' && acme_keyauth_token_is_valid(a->token));
        FUZZ_CHECK(acme_names_check_token(a->token) == APR_SUCCESS);
        FUZZ_CHECK(strcmp(a->type, "http-01") == 0 || strcmp(a->type, "tls-alpn-01") == 0
                   || strcmp(a->type, "dns-01") == 0);
        FUZZ_CHECK((a->value != NULL) == (strcmp(a->type, "dns-01") == 0));
    }
    /* acme_job_log.h: mod_md's form, bounded, what status pages show */
    FUZZ_CHECK(job->log == NULL
               || (json_is_array(json_object_get(job->log, "entries"))
                   && json_array_size(json_object_get(job->log, "entries"))
                      <= ACME_JOB_LOG_MAX));
}

static void fuzz_job(apr_pool_t *p, acme_store_t *store, const uint8_t *data, size_t size)
{
    acme_job_t *job = NULL, *back = NULL;
    const char *err = NULL, *text, *text2;
    apr_status_t rv;

    rv = acme_job_from_json(&job, p, MD_NAME, (const char *)data, size, &err);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(rv == APR_EINVAL && err != NULL);
        return;
    }
    job_in_range(job);
    text = job_json(p, job);
    FUZZ_CHECK(acme_job_from_json(&back, p, MD_NAME, text, strlen(text), &err) == APR_SUCCESS);
    job_in_range(back);
    FUZZ_CHECK(strcmp(job_json(p, back), text) == 0);
    FUZZ_CHECK(acme_job_from_json(&back, p, "other.example", text, strlen(text), &err)
               == APR_EINVAL);
    /* through the store */
    FUZZ_CHECK(acme_job_save(job, p, store, NOW) == APR_SUCCESS);
    text = job_json(p, job);
    FUZZ_CHECK(acme_job_load(&back, p, store, MD_NAME, &err) == APR_SUCCESS);
    text2 = job_json(p, back);
    FUZZ_CHECK(strcmp(text, text2) == 0);
}

/* ------------------------------------------------------------------ stamp */
static apr_array_header_t *the_specs(apr_pool_t *p)
{
    apr_array_header_t *specs = apr_array_make(p, 2, sizeof(acme_pkey_spec_t));
    size_t i;

    for (i = 0; i < 2; ++i) {
        acme_pkey_spec_t *s = apr_array_push(specs);
        FUZZ_CHECK(acme_pkey_spec_parse(s, p, spec_words[i], NULL) == APR_SUCCESS);
    }
    return specs;
}

static apr_array_header_t *the_names(apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 2, sizeof(const char *));
    size_t i;

    for (i = 0; i < 2; ++i) {
        APR_ARRAY_PUSH(names, const char *) = md_names[i];
    }
    return names;
}

static int is_asked(const char *name)
{
    return name && (strcmp(name, md_names[0]) == 0 || strcmp(name, md_names[1]) == 0);
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void stamp_in_range(apr_pool_t *p, const acme_certset_check_t *check)
{
    apr_time_t latest_start = 0, earliest_end = 0;
    int i;

    FUZZ_CHECK(check->stamped && strcmp(check->name, MD_NAME) == 0);
    FUZZ_CHECK(check->pairs->nelts == 2 && check->usable == 2);
    for (i = 0; i < 2; ++i) {
        const acme_certset_pair_t *pair = &APR_ARRAY_IDX(check->pairs, i, acme_certset_pair_t);
        const char *key = pair_file(p, "privkey", spec_words[i]);
        const char *cert = pair_file(p, "pubcert", spec_words[i]);
        FUZZ_CHECK(strcmp(pair->spec_name, spec_words[i]) == 0);
        FUZZ_CHECK(pair->status == APR_SUCCESS && pair->has_key && pair->has_cert);
        FUZZ_CHECK(strcmp(pair->key_sha256, sha256_hex(p, key, strlen(key))) == 0);
        FUZZ_CHECK(strcmp(pair->cert_sha256, sha256_hex(p, cert, strlen(cert))) == 0);
        FUZZ_CHECK(pair->serial && pair->issuer && pair->leaf_sha256);
        FUZZ_CHECK(pair->names_ok ? pair->name_missing == NULL : is_asked(pair->name_missing));
        FUZZ_CHECK(pair->expired == (pair->not_after < NOW));
        FUZZ_CHECK((pair->problem == NULL) == (pair->names_ok && !pair->expired));
        if (i == 0 || pair->not_before > latest_start) {
            latest_start = pair->not_before;
        }
        if (i == 0 || pair->not_after < earliest_end) {
            earliest_end = pair->not_after;
        }
    }
    FUZZ_CHECK(check->not_before == latest_start && check->not_after == earliest_end);
    FUZZ_CHECK((check->problem == NULL)
               == (APR_ARRAY_IDX(check->pairs, 0, acme_certset_pair_t).problem == NULL
                   && APR_ARRAY_IDX(check->pairs, 1, acme_certset_pair_t).problem == NULL));
}

static void same_verdict(const acme_certset_check_t *a, const acme_certset_check_t *b)
{
    int i;

    FUZZ_CHECK(a->usable == b->usable && a->pairs->nelts == b->pairs->nelts);
    FUZZ_CHECK(a->not_before == b->not_before && a->not_after == b->not_after);
    FUZZ_CHECK(same_str(a->problem, b->problem));
    for (i = 0; i < a->pairs->nelts; ++i) {
        const acme_certset_pair_t *x = &APR_ARRAY_IDX(a->pairs, i, acme_certset_pair_t);
        const acme_certset_pair_t *y = &APR_ARRAY_IDX(b->pairs, i, acme_certset_pair_t);
        FUZZ_CHECK(strcmp(x->spec_name, y->spec_name) == 0 && x->status == y->status);
        FUZZ_CHECK(x->names_ok == y->names_ok && same_str(x->name_missing, y->name_missing));
        FUZZ_CHECK(x->expired == y->expired && same_str(x->problem, y->problem));
        FUZZ_CHECK(x->not_before == y->not_before && x->not_after == y->not_after);
        FUZZ_CHECK(same_str(x->serial, y->serial) && same_str(x->issuer, y->issuer));
        FUZZ_CHECK(same_str(x->leaf_sha256, y->leaf_sha256));
        FUZZ_CHECK(same_str(x->key_sha256, y->key_sha256)
                   && same_str(x->cert_sha256, y->cert_sha256));
    }
}

static void fuzz_stamp(apr_pool_t *p, acme_store_t *store, const uint8_t *data, size_t size)
{
    apr_array_header_t *specs = the_specs(p), *names = the_names(p);
    acme_certset_check_t *check = NULL, *again = NULL;

    fill_set(store, p, ACME_STORE_LIVE);
    fill_set(store, p, ACME_STORE_STAGING);
    fuzz_memstore_put(store, ACME_STORE_LIVE, MD_NAME, ACME_CERTSET_STAMP, data, size);
    fuzz_memstore_put(store, ACME_STORE_STAGING, MD_NAME, ACME_CERTSET_STAMP, data, size);
    FUZZ_CHECK(acme_certset_check_stamped(&check, p, store, ACME_STORE_STAGING, MD_NAME, specs,
                                          names, NOW, 0) == APR_SUCCESS);
    FUZZ_CHECK(!check->stamped);
    FUZZ_CHECK(acme_certset_check_stamped(&check, p, store, ACME_STORE_LIVE, MD_NAME, specs,
                                          names, NOW, 0) == APR_SUCCESS);
    if (!check->stamped) {
        /* the fixed files are no keys or certificates */
        FUZZ_CHECK(check->usable == 0 && check->problem != NULL);
        return;
    }
    stamp_in_range(p, check);
    FUZZ_CHECK(acme_certset_stamp_save(check, p, store, ACME_STORE_LIVE, names)
               == APR_SUCCESS);
    FUZZ_CHECK(acme_certset_check_stamped(&again, p, store, ACME_STORE_LIVE, MD_NAME, specs,
                                          names, NOW, 0) == APR_SUCCESS);
    FUZZ_CHECK(again->stamped);
    same_verdict(check, again);
}

/* ------------------------------------------------------------------ account */
static void fuzz_account(apr_pool_t *p, acme_store_t *store, const uint8_t *data, size_t size)
{
    acme_account_record_t *rec = NULL, *back = NULL;
    acme_account_want_t want;
    const char *err = NULL;
    apr_status_t rv;

    fuzz_memstore_put(store, ACME_STORE_ACCOUNTS, ACCOUNT_ID, ACME_ACCOUNT_STORE_JSON, data,
                      size);
    fuzz_memstore_put(store, ACME_STORE_ACCOUNTS, ACCOUNT_ID, ACME_ACCOUNT_STORE_KEY,
                      fuzz_key_p256_a_pem, strlen(fuzz_key_p256_a_pem));
    rv = acme_account_store_load(&rec, p, store, ACCOUNT_ID, &err);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(rv == APR_EINVAL && err != NULL);
        return;
    }
    /* the record only: its key is the custody's (acme_keys.h) */
    FUZZ_CHECK(strcmp(rec->id, ACCOUNT_ID) == 0 && rec->key == NULL);
    FUZZ_CHECK(acme_json_check_url(rec->ca_url, NULL) == APR_SUCCESS);
    FUZZ_CHECK(rec->url == NULL || acme_json_check_url(rec->url, NULL) == APR_SUCCESS);
    memset(&want, 0, sizeof(want));
    want.ca_url = rec->ca_url;
    want.contact = rec->contact;
    want.eab_kid = rec->eab_kid;
    if (rec->unusable) {
        /* deactivated, revoked or disabled: never reused for anything */
        FUZZ_CHECK(!acme_account_store_matches(rec, &want));
    }
    else if (rec->contact == NULL || strncmp(rec->contact, "mailto:", 7) == 0) {
        /* a contact as records keep it */
        FUZZ_CHECK(acme_account_store_matches(rec, &want));
    }
    want.ca_url = apr_pstrcat(p, rec->ca_url, "/other", NULL);
    FUZZ_CHECK(!acme_account_store_matches(rec, &want));
    FUZZ_CHECK(acme_account_store_forget_url(store, p, ACCOUNT_ID) == APR_SUCCESS);
    FUZZ_CHECK(acme_account_store_load(&back, p, store, ACCOUNT_ID, &err)
               == APR_SUCCESS);
    FUZZ_CHECK(back->url == NULL);
    FUZZ_CHECK(strcmp(back->ca_url, rec->ca_url) == 0);
    FUZZ_CHECK(same_str(back->contact, rec->contact) && same_str(back->eab_kid, rec->eab_kid));
    FUZZ_CHECK(back->created == rec->created && back->unusable == rec->unusable);
}

/* ------------------------------------------------------------------ md.json */
static void fuzz_md(apr_pool_t *p, const uint8_t *data, size_t size)
{
    acme_store_t *store = fuzz_memstore_create(p);
    acme_renew_spec_t spec;
    acme_renew_ctx_t ctx;
    json_t *md = NULL, *want_names, *want_specs;
    const char *why = NULL;
    apr_status_t rv;
    int matches;

    memset(&spec, 0, sizeof(spec));
    spec.md_name = MD_NAME;
    spec.names = the_names(p);
    spec.pkey_specs = the_specs(p);
    spec.ca_url = "https://ca.example/directory";
    memset(&ctx, 0, sizeof(ctx));
    ctx.p = p;
    ctx.store = store;
    ctx.keys = acme_keys_local(p, store);
    ctx.spec = &spec;
    ctx.now = NOW;
    ctx.staged_key_index = -1;
    /* STAGING holds md.json only: no key, no certificate */
    fuzz_memstore_put(store, ACME_STORE_STAGING, MD_NAME, ACME_ASPECT_MD, data, size);
    rv = acme_renew_staging_verify(&ctx, &why);
    FUZZ_CHECK(rv != APR_SUCCESS && why != NULL);
    want_names = acme_json_pool_adopt(p, json_pack("[ss]", md_names[0], md_names[1]));
    want_specs = acme_json_pool_adopt(p, json_pack("[ss]", spec_words[0], spec_words[1]));
    matches = acme_json_parse(&md, p, (const char *)data, size, ACME_JSON_OBJECT, NULL)
                  == APR_SUCCESS
              && json_equal(json_object_get(md, "names"), want_names)
              && json_equal(json_object_get(md, "pkey-specs"), want_specs);
    /* past md.json, the check stops at the missing P-256 pair */
    FUZZ_CHECK(matches == (rv == APR_ENOENT && strstr(why, "P-256") != NULL));
    FUZZ_CHECK(matches || rv == APR_EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    acme_store_t *store = fuzz_memstore_create(p);

    fuzz_job(p, store, data, size);
    fuzz_stamp(p, store, data, size);
    fuzz_account(p, store, data, size);
    fuzz_md(p, data, size);
    apr_pool_destroy(p);
    return 0;
}
