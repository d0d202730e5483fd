/* Checking a certificate set in the store, see acme_certset.h. */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "acme_ari.h"
#include "acme_cert.h"
#include "acme_certset.h"
#include "acme_certset_int.h"
#include "acme_chain.h"
#include "acme_layout.h"
#include "acme_pkey.h"
#include "acme_store_pkey.h"

/* The aspect `aspect` of the set, or NULL (with *prv APR_SUCCESS) when it
 * is absent; *prv is the store's error otherwise. */
static const char *aspect_load(apr_status_t *prv, apr_size_t *plen, apr_pool_t *p,
                               acme_store_t *store, acme_store_group_e group,
                               const char *name, const char *aspect)
{
    const char *data = NULL;
    apr_status_t rv = acme_store_load(&data, plen, p, store, group, name, aspect);

    *prv = APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
    return rv == APR_SUCCESS ? data : NULL;
}

static void pair_bad(acme_certset_pair_t *pair, apr_pool_t *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pair_bad(acme_certset_pair_t *pair, apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pair->problem = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    pair->status = APR_EINVAL;
}

/* Key and chain are parsed: are they a usable pair? */
static void pair_judge(acme_certset_pair_t *pair, apr_pool_t *p, const acme_pkey_spec_t *spec,
                       const acme_pkey_t *key, const acme_cert_chain_t *chain)
{
    X509 *leaf = acme_chain_get(chain, 0);
    int bad = 0;

    if (!acme_pkey_spec_eq(acme_pkey_get_spec(key), spec)) {
        pair_bad(pair, p, "the private key is %s, not %s",
                 acme_pkey_spec_name(p, acme_pkey_get_spec(key)), pair->spec_name);
    }
    else if (acme_cert_check_key(leaf, acme_pkey_get_evp(key)) != APR_SUCCESS) {
        pair_bad(pair, p, "the private key does not match the certificate");
    }
    else if (acme_chain_count(chain) < 2) {
        pair_bad(pair, p, "the certificate file holds only the certificate, not the chain "
                 "of its issuers");
    }
    else if (acme_chain_check_order(&bad, chain) != APR_SUCCESS) {
        pair_bad(pair, p, "the chain is not in order: certificate %d is not issued by "
                 "certificate %d", bad, bad + 1);
    }
}

const char *certset_sha256_hex(apr_pool_t *p, const char *data, apr_size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    char *out;

    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1) {
        return NULL;
    }
    out = apr_palloc(p, 2 * n + 1);
    for (i = 0; i < n; ++i) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[2 * n] = '\0';
    return out;
}

void certset_pair_verdict(acme_certset_pair_t *pair, apr_pool_t *p, apr_status_t names_rv,
                          const char *missing, apr_time_t now)
{
    pair->names_ok = (names_rv == APR_SUCCESS);
    pair->name_missing = (names_rv == APR_EMISMATCH) ? missing : NULL;
    pair->expired = (pair->not_after < now);
    if (names_rv == APR_EMISMATCH) {
        pair->problem = apr_psprintf(p, "the certificate does not cover the name %s",
                                     missing ? missing : "?");
    }
    else if (names_rv != APR_SUCCESS) {
        pair->problem = "the names to check are invalid";
    }
    else if (pair->expired) {
        char date[APR_RFC822_DATE_LEN];
        apr_rfc822_date(date, pair->not_after);
        pair->problem = apr_psprintf(p, "the certificate expired on %s", date);
    }
}

/* The leaf's dates, serial, digest, issuer, names and expiry; the pair
 * stays usable. */
static void pair_leaf_facts(acme_certset_pair_t *pair, apr_pool_t *p, X509 *leaf,
                            const apr_array_header_t *names, apr_time_t now)
{
    const char *missing = NULL;
    apr_status_t rv;

    acme_cert_get_serial_hex(&pair->serial, p, leaf);
    if (acme_cert_get_not_before(&pair->not_before, leaf) != APR_SUCCESS
        || acme_cert_get_not_after(&pair->not_after, leaf) != APR_SUCCESS) {
        pair_bad(pair, p, "the certificate's validity dates are unreadable");
        return;
    }
    if (acme_cert_get_sha256_hex(&pair->leaf_sha256, p, leaf) != APR_SUCCESS
        || acme_cert_get_issuer(&pair->issuer, p, leaf) != APR_SUCCESS
        || acme_cert_get_issuer_slashed(&pair->issuer_name, p, leaf) != APR_SUCCESS) {
        pair->leaf_sha256 = pair->issuer = pair->issuer_name = NULL;
    }
    if (acme_ari_cert_id(&pair->ari_cert_id, p, leaf) != APR_SUCCESS) {
        pair->ari_cert_id = NULL;
    }
    rv = acme_cert_check_names(&missing, p, leaf, names);
    certset_pair_verdict(pair, p, rv, missing, now);
}

/* Checks one pair; returns only store errors. */
static apr_status_t pair_check(acme_certset_pair_t *pair, apr_pool_t *p, acme_store_t *store,
                               acme_store_group_e group, const char *name,
                               const acme_pkey_spec_t *spec,
                               const apr_array_header_t *names, apr_time_t now)
{
    const char *key_pem, *cert_pem, *err = NULL;
    acme_cert_chain_t *chain;
    acme_pkey_t *key;
    apr_size_t key_len, cert_len;
    apr_status_t rv;

    memset(pair, 0, sizeof(*pair));
    pair->spec_name = acme_pkey_spec_name(p, spec);
    key_pem = aspect_load(&rv, &key_len, p, store, group, name,
                          acme_layout_privkey(p, pair->spec_name));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    cert_pem = aspect_load(&rv, &cert_len, p, store, group, name,
                           acme_layout_pubcert(p, pair->spec_name));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    pair->has_key = (key_pem != NULL);
    pair->has_cert = (cert_pem != NULL);
    pair->key_sha256 = key_pem ? certset_sha256_hex(p, key_pem, key_len) : NULL;
    pair->cert_sha256 = cert_pem ? certset_sha256_hex(p, cert_pem, cert_len) : NULL;
    pair->status = APR_SUCCESS;
    if (!key_pem || !cert_pem) {
        pair->status = APR_ENOENT;
        pair->problem = apr_psprintf(p, "%s is missing", key_pem
                                     ? acme_layout_pubcert(p, pair->spec_name)
                                     : acme_layout_privkey(p, pair->spec_name));
    }
    else if (acme_store_pkey_from_pem(&key, p, store, key_pem, key_len, &err) != APR_SUCCESS) {
        pair_bad(pair, p, "the private key is unusable: %s", err ? err : "unreadable");
    }
    else if (acme_chain_from_pem(&chain, p, cert_pem, cert_len) != APR_SUCCESS) {
        pair_bad(pair, p, "the certificate file is not a PEM certificate chain");
    }
    else {
        pair_judge(pair, p, spec, key, chain);
        if (pair->status == APR_SUCCESS) {
            pair_leaf_facts(pair, p, acme_chain_get(chain, 0), names, now);
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_certset_check(acme_certset_check_t **pcheck, apr_pool_t *p,
                                acme_store_t *store, acme_store_group_e group,
                                const char *name, const apr_array_header_t *specs,
                                const apr_array_header_t *names, apr_time_t now)
{
    acme_certset_check_t *check;
    apr_status_t rv;
    int i;

    if (specs == NULL || specs->nelts == 0) {
        return APR_EINVAL;
    }
    check = apr_pcalloc(p, sizeof(*check));
    check->name = apr_pstrdup(p, name);
    check->pairs = apr_array_make(p, specs->nelts, sizeof(acme_certset_pair_t));
    for (i = 0; i < specs->nelts; ++i) {
        acme_certset_pair_t *pair = apr_array_push(check->pairs);

        rv = pair_check(pair, p, store, group, name,
                        &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t), names, now);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        certset_tally(check, p, pair);
    }
    *pcheck = check;
    return APR_SUCCESS;
}

void certset_tally(acme_certset_check_t *check, apr_pool_t *p, const acme_certset_pair_t *pair)
{
    if (pair->problem && !check->problem) {
        check->problem = apr_psprintf(p, "%s: %s", pair->spec_name, pair->problem);
    }
    if (pair->status == APR_SUCCESS) {
        ++check->usable;
        if (pair->not_before > check->not_before) {
            check->not_before = pair->not_before;
        }
        if (!check->not_after || pair->not_after < check->not_after) {
            check->not_after = pair->not_after;
        }
    }
}

int acme_certset_is_complete(const acme_certset_check_t *check)
{
    return check->problem == NULL && check->usable == check->pairs->nelts;
}

int acme_certset_is_issued(const acme_certset_check_t *check)
{
    int i;

    for (i = 0; i < check->pairs->nelts; ++i) {
        if (!APR_ARRAY_IDX(check->pairs, i, acme_certset_pair_t).has_cert) {
            return 0;
        }
    }
    return 1;
}
