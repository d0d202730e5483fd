/* The cluster's records in the shared Redis (see acme_cluster.h). */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "acme_cluster.h"
#include "acme_names.h"
#include "acme_seal.h"

#define RECORD_VERSION 1
#define PEM_CERT "-----BEGIN CERTIFICATE-----"
/* The suffix of pubcert.<suffix>.pem and privkey.<suffix>.pem ("secp256r1"). */
#define SUFFIX_MAX 32

const char *acme_cluster_key(apr_pool_t *p, const char *ns, const char *kind, const char *name)
{
    const char *c;

    if (!ns || !*ns || strlen(ns) > ACME_LEASE_NS_MAX || strchr(ns, ':')
        || !name || !*name || strlen(name) > ACME_LEASE_NAME_MAX) {
        return NULL;
    }
    for (c = name; *c; ++c) {
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
            return NULL;
        }
    }
    return apr_pstrcat(p, ns, ":", kind, ":", name, NULL);
}

static const char *hex_of(apr_pool_t *p, const unsigned char *md, unsigned int len)
{
    char *hex = apr_palloc(p, 2 * len + 1);
    unsigned int i;

    for (i = 0; i < len; ++i) {
        apr_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    return hex;
}

const char *acme_cluster_ca_name(apr_pool_t *p, const char *ca_url, const char *eab_kid)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const char *text = apr_pstrcat(p, ca_url, "\n", eab_kid ? eab_kid : "", NULL);

    if (!EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL)) {
        return NULL;
    }
    return hex_of(p, md, len);
}

/* "pubcert" or "privkey" followed by ".pem" or ".<suffix>.pem"; *psuffix
 * (in p) is the suffix, "" for none. */
static int aspect_is(apr_pool_t *p, const char *aspect, const char *stem, const char **psuffix)
{
    size_t n = strlen(stem), len = strlen(aspect);
    const char *s, *end;

    if (strncmp(aspect, stem, n) != 0 || len < n + 4 || strcmp(aspect + len - 4, ".pem") != 0) {
        return 0;
    }
    s = aspect + n;
    end = aspect + len - 4;
    if (s == end) {
        *psuffix = "";
        return 1;
    }
    if (*s != '.' || end - s - 1 < 1 || end - s - 1 > SUFFIX_MAX) {
        return 0;
    }
    for (++s; s < end; ++s) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))) {
            return 0;
        }
    }
    *psuffix = apr_pstrmemdup(p, aspect + n + 1, (apr_size_t)(end - aspect - n - 1));
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The set's aspects, sorted. */
static apr_array_header_t *aspects_sorted(apr_pool_t *p, apr_hash_t *files)
{
    apr_array_header_t *names = apr_array_make(p, (int)apr_hash_count(files), sizeof(char *));
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, files); hi; hi = apr_hash_next(hi)) {
        APR_ARRAY_PUSH(names, const char *) = apr_hash_this_key(hi);
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(char *), by_name);
    return names;
}

const char *acme_cluster_set_id(apr_pool_t *p, apr_hash_t *files)
{
    apr_array_header_t *names = aspects_sorted(p, files);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const char *suffix;
    int i, ok;

    ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (i = 0; ok && i < names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const acme_cluster_text_t *t = apr_hash_get(files, name, APR_HASH_KEY_STRING);

        if (aspect_is(p, name, "pubcert", &suffix)) {
            ok = EVP_DigestUpdate(ctx, name, strlen(name) + 1)
                 && EVP_DigestUpdate(ctx, t->data, t->len + 1);
        }
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    return ok ? hex_of(p, md, len) : NULL;
}

/* Every file named as mod_md names it, of its kind, and chains and keys in
 * pairs: what makes a set (the certificates themselves are checked where
 * the set is staged). */
static const char *files_problem(apr_pool_t *p, apr_hash_t *files)
{
    apr_hash_index_t *hi;
    int chains = 0;

    if (apr_hash_count(files) < 3 || apr_hash_count(files) > ACME_CLUSTER_SET_FILES_MAX) {
        return "a set has md.json and one to four chains with their keys";
    }
    if (!apr_hash_get(files, "md.json", APR_HASH_KEY_STRING)) {
        return "no md.json";
    }
    for (hi = apr_hash_first(p, files); hi; hi = apr_hash_next(hi)) {
        const char *name = apr_hash_this_key(hi), *suffix;
        const acme_cluster_text_t *t = apr_hash_this_val(hi);

        if (t->len == 0 || t->len > ACME_STORE_ITEM_MAX || strlen(t->data) != t->len) {
            return apr_psprintf(p, "'%s' is empty, too large or not text", name);
        }
        if (!strcmp(name, "md.json")) {
            continue;
        }
        if (aspect_is(p, name, "pubcert", &suffix)) {
            const char *key = *suffix ? apr_pstrcat(p, "privkey.", suffix, ".pem", NULL)
                                      : "privkey.pem";
            if (strncmp(t->data, PEM_CERT, strlen(PEM_CERT)) != 0) {
                return apr_psprintf(p, "'%s' is not a PEM certificate chain", name);
            }
            if (!apr_hash_get(files, key, APR_HASH_KEY_STRING)) {
                return apr_psprintf(p, "'%s' has no '%s'", name, key);
            }
            chains++;
        }
        else if (aspect_is(p, name, "privkey", &suffix)) {
            const char *chain = *suffix ? apr_pstrcat(p, "pubcert.", suffix, ".pem", NULL)
                                        : "pubcert.pem";
            if (!acme_seal_is_sealed(t->data, t->len)) {
                return apr_psprintf(p, "'%s' is not sealed", name);
            }
            if (!apr_hash_get(files, chain, APR_HASH_KEY_STRING)) {
                return apr_psprintf(p, "'%s' has no '%s'", name, chain);
            }
        }
        else {
            return apr_psprintf(p, "'%.64s' is not a file of a certificate set", name);
        }
    }
    return chains ? NULL : "no certificate chain";
}

apr_status_t acme_cluster_set_make(acme_cluster_set_t **pset, apr_pool_t *p, apr_hash_t *files,
                                   const char **perr)
{
    acme_cluster_set_t *set;
    const char *why;

    *pset = NULL;
    if ((why = files_problem(p, files)) != NULL) {
        *perr = why;
        return APR_EINVAL;
    }
    set = apr_pcalloc(p, sizeof(*set));
    set->files = files;
    if ((set->id = acme_cluster_set_id(p, files)) == NULL) {
        *perr = "cannot hash the set (OpenSSL)";
        return APR_EGENERAL;
    }
    *pset = set;
    return APR_SUCCESS;
}

const char *acme_cluster_set_encode(apr_pool_t *p, const acme_cluster_set_t *set,
                                    apr_int64_t token)
{
    json_t *files = json_object(), *rec;
    apr_hash_index_t *hi;
    const char *out = NULL;
    char *text;

    for (hi = apr_hash_first(p, set->files); hi; hi = apr_hash_next(hi)) {
        const acme_cluster_text_t *t = apr_hash_this_val(hi);
        json_object_set_new(files, apr_hash_this_key(hi), json_stringn(t->data, t->len));
    }
    rec = json_pack("{s:i, s:s, s:I, s:o}", "v", RECORD_VERSION, "id", set->id,
                    "token", (json_int_t)token, "files", files);
    if (rec && (text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
        out = apr_pstrdup(p, text);
        free(text);
    }
    json_decref(rec);
    return out;
}

/* The record's object of version 1 with a fencing token, or NULL. */
static json_t *record_load(apr_int64_t *ptoken, const char *text, apr_size_t len,
                           apr_pool_t *p, const char **perr)
{
    json_error_t jerr;
    json_t *rec, *token;

    if (len > ACME_REDIS_BULK_MAX) {
        *perr = "record too large";
        return NULL;
    }
    rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(rec)) {
        *perr = rec ? "record is not a JSON object"
                    : apr_psprintf(p, "record is not JSON: %s", jerr.text);
        json_decref(rec);
        return NULL;
    }
    token = json_object_get(rec, "token");
    if (json_integer_value(json_object_get(rec, "v")) != RECORD_VERSION
        || !json_is_integer(json_object_get(rec, "v")) || !json_is_integer(token)
        || json_integer_value(token) < 1) {
        *perr = "record of another version or without a fencing token";
        json_decref(rec);
        return NULL;
    }
    *ptoken = json_integer_value(token);
    return rec;
}

apr_status_t acme_cluster_set_decode(acme_cluster_set_t **pset, apr_pool_t *p, const char *text,
                                     apr_size_t len, const char **perr)
{
    json_t *rec, *files, *value;
    apr_hash_t *map = apr_hash_make(p);
    const char *name, *id;
    apr_int64_t token;
    apr_status_t rv = APR_EINVAL;

    *pset = NULL;
    if ((rec = record_load(&token, text, len, p, perr)) == NULL) {
        return APR_EINVAL;
    }
    files = json_object_get(rec, "files");
    id = json_string_value(json_object_get(rec, "id"));
    if (!json_is_object(files) || json_object_size(files) > ACME_CLUSTER_SET_FILES_MAX || !id) {
        *perr = "a set record without files or id";
        goto out;
    }
    json_object_foreach(files, name, value) {
        acme_cluster_text_t *t = apr_pcalloc(p, sizeof(*t));

        if (!json_is_string(value)) {
            *perr = "a file of the set is not text";
            goto out;
        }
        t->len = json_string_length(value);
        t->data = apr_pstrmemdup(p, json_string_value(value), t->len);
        apr_hash_set(map, apr_pstrdup(p, name), APR_HASH_KEY_STRING, t);
    }
    if ((rv = acme_cluster_set_make(pset, p, map, perr)) == APR_SUCCESS
        && strcmp((*pset)->id, id) != 0) {
        *perr = "the set's id does not match its chains";
        *pset = NULL;
        rv = APR_EINVAL;
    }
    if (rv == APR_SUCCESS) {
        (*pset)->token = token;
    }
out:
    json_decref(rec);
    return rv;
}

static apr_status_t record_put(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                               const char *key, const char *text, const char **perr)
{
    apr_size_t len;

    if (!key || !text) {
        *perr = !key ? "not a name of a record" : "cannot encode the record";
        return APR_EINVAL;
    }
    len = strlen(text);
    return acme_lease_fenced_set(lse, p, conn, 1, &key, &text, &len, perr);
}

static apr_status_t record_get(const char **ptext, apr_size_t *plen, apr_pool_t *p,
                               acme_redis_t *conn, const char *key, const char **perr)
{
    if (!key) {
        *perr = "not a name of a record";
        return APR_EINVAL;
    }
    return acme_redis_get(ptext, plen, p, conn, key, perr);
}

apr_status_t acme_cluster_set_put(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                  const char *ns, const char *md, const acme_cluster_set_t *set,
                                  const char **perr)
{
    return record_put(lse, p, conn, acme_cluster_key(p, ns, "set", md),
                      acme_cluster_set_encode(p, set, acme_lease_token(lse)), perr);
}

apr_status_t acme_cluster_set_get(acme_cluster_set_t **pset, apr_pool_t *p, acme_redis_t *conn,
                                  const char *ns, const char *md, const char **perr)
{
    const char *text;
    apr_size_t len;
    apr_status_t rv;

    *pset = NULL;
    rv = record_get(&text, &len, p, conn, acme_cluster_key(p, ns, "set", md), perr);
    return rv == APR_SUCCESS ? acme_cluster_set_decode(pset, p, text, len, perr) : rv;
}

const char *acme_cluster_account_encode(apr_pool_t *p, const acme_cluster_account_t *acct)
{
    json_t *rec = json_pack("{s:i, s:I, s:s, s:s, s:s}", "v", RECORD_VERSION,
                            "token", (json_int_t)acct->token, "id", acct->id,
                            "json", acct->json, "key", acct->sealed_key);
    const char *out = NULL;
    char *text;

    if (rec && (text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
        out = apr_pstrdup(p, text);
        free(text);
    }
    json_decref(rec);
    return out;
}

apr_status_t acme_cluster_account_decode(acme_cluster_account_t **pacct, apr_pool_t *p,
                                         const char *text, apr_size_t len, const char **perr)
{
    acme_cluster_account_t *acct = apr_pcalloc(p, sizeof(*acct));
    json_t *rec, *doc;
    const char *json, *key, *id;

    *pacct = NULL;
    if ((rec = record_load(&acct->token, text, len, p, perr)) == NULL) {
        return APR_EINVAL;
    }
    json = json_string_value(json_object_get(rec, "json"));
    key = json_string_value(json_object_get(rec, "key"));
    id = json_string_value(json_object_get(rec, "id"));
    doc = json ? json_loads(json, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!json_is_object(doc) || !key || !acme_seal_is_sealed(key, strlen(key))
        || !id || acme_names_check_id(id) != APR_SUCCESS) {
        *perr = "an account record without an id, account.json or a sealed key";
        json_decref(doc);
        json_decref(rec);
        return APR_EINVAL;
    }
    acct->id = apr_pstrdup(p, id);
    acct->json = apr_pstrdup(p, json);
    acct->sealed_key = apr_pstrdup(p, key);
    json_decref(doc);
    json_decref(rec);
    *pacct = acct;
    return APR_SUCCESS;
}

apr_status_t acme_cluster_account_put(const acme_lease_t *lse, apr_pool_t *p,
                                      acme_redis_t *conn, const char *ns, const char *ca,
                                      const acme_cluster_account_t *acct, const char **perr)
{
    acme_cluster_account_t rec = *acct;

    rec.token = acme_lease_token(lse);
    return record_put(lse, p, conn, acme_cluster_key(p, ns, "account", ca),
                      acme_cluster_account_encode(p, &rec), perr);
}

apr_status_t acme_cluster_account_get(acme_cluster_account_t **pacct, apr_pool_t *p,
                                      acme_redis_t *conn, const char *ns, const char *ca,
                                      const char **perr)
{
    const char *text;
    apr_size_t len;
    apr_status_t rv;

    *pacct = NULL;
    rv = record_get(&text, &len, p, conn, acme_cluster_key(p, ns, "account", ca), perr);
    return rv == APR_SUCCESS ? acme_cluster_account_decode(pacct, p, text, len, perr) : rv;
}

apr_status_t acme_cluster_job_put(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                  const char *ns, const char *md, const char *job_json,
                                  const char **perr)
{
    json_t *doc = json_loads(job_json, JSON_REJECT_DUPLICATES, NULL), *rec;
    const char *text = NULL;
    char *dumped;

    if (!json_is_object(doc)) {
        json_decref(doc);
        *perr = "job.json is not a JSON object";
        return APR_EINVAL;
    }
    rec = json_pack("{s:i, s:I, s:o}", "v", RECORD_VERSION,
                    "token", (json_int_t)acme_lease_token(lse), "job", doc);
    if (rec && (dumped = json_dumps(rec, JSON_COMPACT)) != NULL) {  /* job.json's order kept */
        text = apr_pstrdup(p, dumped);
        free(dumped);
    }
    json_decref(rec);
    return record_put(lse, p, conn, acme_cluster_key(p, ns, "job", md), text, perr);
}

apr_status_t acme_cluster_job_get(const char **pjob_json, apr_int64_t *ptoken, apr_pool_t *p,
                                  acme_redis_t *conn, const char *ns, const char *md,
                                  const char **perr)
{
    const char *text;
    apr_size_t len;
    apr_status_t rv;
    json_t *rec, *job;
    char *dumped;

    *pjob_json = NULL;
    rv = record_get(&text, &len, p, conn, acme_cluster_key(p, ns, "job", md), perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rec = record_load(ptoken, text, len, p, perr)) == NULL) {
        return APR_EINVAL;
    }
    job = json_object_get(rec, "job");
    if (!json_is_object(job) || (dumped = json_dumps(job, JSON_COMPACT)) == NULL) {
        *perr = "a job record without job.json";
        json_decref(rec);
        return APR_EINVAL;
    }
    *pjob_json = apr_pstrdup(p, dumped);
    free(dumped);
    json_decref(rec);
    return APR_SUCCESS;
}
