/* Flattened JWS for ACME requests, key rollover and EAB, see acme_jws.h. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "acme_b64.h"
#include "acme_jwk.h"
#include "acme_jws.h"
#include "acme_ossl.h"

/* What produces the signature: a private key, or an HMAC secret (EAB). */
typedef struct {
    const acme_pkey_t *key;
    const char *mac_alg;
    const unsigned char *mac_key;
    apr_size_t mac_key_len;
} jws_signer_t;

static const struct {
    const char *alg;
    const char *digest;
} mac_algs[] = {
    {"HS256", "SHA256"},
    {"HS384", "SHA384"},
    {"HS512", "SHA512"},
};

static apr_status_t jws_fail(const char **perr, apr_status_t rv, const char *msg)
{
    if (perr) {
        *perr = msg;
    }
    return rv;
}

static apr_status_t jws_ossl_fail(const char **perr, apr_pool_t *p, const char *what)
{
    return jws_fail(perr, APR_EGENERAL, acme_ossl_err(p, what));
}

static const char *jws_mac_digest(const char *mac_alg)
{
    apr_size_t i;

    for (i = 0; mac_alg && i < sizeof(mac_algs) / sizeof(mac_algs[0]); ++i) {
        if (strcmp(mac_alg, mac_algs[i].alg) == 0) {
            return mac_algs[i].digest;
        }
    }
    return NULL;
}

static const EVP_MD *jws_key_md(const acme_pkey_t *key)
{
    return acme_pkey_get_spec(key)->curve == ACME_PKEY_P384 ? EVP_sha384() : EVP_sha256();
}

/* Compact JSON text in `p`, NUL-terminated. */
static apr_status_t jws_dump(const char **ps, apr_size_t *plen, apr_pool_t *p, const json_t *j,
                             const char **perr)
{
    size_t len = json_dumpb(j, NULL, 0, JSON_COMPACT);
    char *s;

    if (len == 0) {
        return jws_fail(perr, APR_EGENERAL, "serializing JSON failed");
    }
    s = apr_palloc(p, len + 1);
    if (json_dumpb(j, s, len, JSON_COMPACT) != len) {
        return jws_fail(perr, APR_EGENERAL, "serializing JSON failed");
    }
    s[len] = '\0';
    *ps = s;
    if (plen) {
        *plen = len;
    }
    return APR_SUCCESS;
}

static apr_status_t jws_json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* OpenSSL's DER ECDSA-Sig-Value to JWS's r || s, each `size` bytes. */
static apr_status_t jws_ecdsa_der_to_raw(unsigned char **praw, apr_pool_t *p,
                                         const unsigned char *der, apr_size_t der_len,
                                         apr_size_t size, const char **perr)
{
    const unsigned char *q = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
    const BIGNUM *r = NULL, *s = NULL;
    unsigned char *raw = apr_palloc(p, 2 * size);
    apr_status_t rv = APR_SUCCESS;

    if (sig != NULL) {
        ECDSA_SIG_get0(sig, &r, &s);
    }
    if (sig == NULL || BN_bn2binpad(r, raw, (int)size) < 0
        || BN_bn2binpad(s, raw + size, (int)size) < 0) {
        rv = jws_ossl_fail(perr, p, "converting an ECDSA signature");
    }
    ECDSA_SIG_free(sig);
    *praw = raw;
    return rv;
}

/* JWS's r || s to DER; APR_EACCES when it cannot be a signature of this key. */
static apr_status_t jws_ecdsa_raw_to_der(unsigned char **pder, apr_size_t *plen, apr_pool_t *p,
                                         const unsigned char *raw, apr_size_t raw_len,
                                         apr_size_t size, const char **perr)
{
    ECDSA_SIG *sig = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL, *q;
    apr_status_t rv = APR_SUCCESS;
    int n;

    if (raw_len != 2 * size) {
        return jws_fail(perr, APR_EACCES, "ECDSA signature has the wrong length");
    }
    if ((sig = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(raw, (int)size, NULL)) == NULL
        || (s = BN_bin2bn(raw + size, (int)size, NULL)) == NULL || !ECDSA_SIG_set0(sig, r, s)) {
        BN_free(r);
        BN_free(s);
        rv = jws_ossl_fail(perr, p, "reading an ECDSA signature");
        goto cleanup;
    }
    if ((n = i2d_ECDSA_SIG(sig, NULL)) <= 0) {
        rv = jws_ossl_fail(perr, p, "encoding an ECDSA signature");
        goto cleanup;
    }
    der = q = apr_palloc(p, (apr_size_t)n);
    i2d_ECDSA_SIG(sig, &q);
    *pder = der;
    *plen = (apr_size_t)n;
cleanup:
    ECDSA_SIG_free(sig);
    return rv;
}

apr_status_t acme_jws_sign_input(const char **psig, apr_pool_t *p, const acme_pkey_t *key,
                                 const char *input, apr_size_t len, const char **perr)
{
    const acme_pkey_spec_t *spec = acme_pkey_get_spec(key);
    EVP_MD_CTX *ctx = NULL;
    unsigned char *sig = NULL, *raw;
    size_t sig_len = 0;
    apr_status_t rv = APR_SUCCESS;

    if (!acme_pkey_has_private(key)) {
        rv = acme_pkey_sign_remote(psig, p, key, input, len, perr);
        if (rv != APR_ENOTIMPL) {
            return rv;
        }
        return jws_fail(perr, APR_EINVAL, "cannot sign with a public key");
    }
    if ((ctx = EVP_MD_CTX_new()) == NULL
        || EVP_DigestSignInit(ctx, NULL, jws_key_md(key), NULL, acme_pkey_get_evp(key)) <= 0
        || EVP_DigestSign(ctx, NULL, &sig_len, (const unsigned char *)input, len) <= 0) {
        rv = jws_ossl_fail(perr, p, "signing");
        goto cleanup;
    }
    sig = apr_palloc(p, sig_len);
    if (EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, len) <= 0) {
        rv = jws_ossl_fail(perr, p, "signing");
        goto cleanup;
    }
    if (spec->type == ACME_PKEY_EC) {
        apr_size_t size = acme_jwk_coord_size(spec->curve);

        if ((rv = jws_ecdsa_der_to_raw(&raw, p, sig, sig_len, size, perr)) != APR_SUCCESS) {
            goto cleanup;
        }
        sig = raw;
        sig_len = 2 * size;
    }
    *psig = acme_b64url_encode(p, sig, sig_len);
cleanup:
    EVP_MD_CTX_free(ctx);
    return rv;
}

apr_status_t acme_jws_mac_input(const char **psig, apr_pool_t *p, const char *mac_alg,
                                const unsigned char *mac_key, apr_size_t key_len,
                                const char *input, apr_size_t len, const char **perr)
{
    const char *digest = jws_mac_digest(mac_alg);
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t out_len = 0;

    if (digest == NULL) {
        return jws_fail(perr, APR_EINVAL, "unsupported MAC algorithm (use HS256, HS384 or HS512)");
    }
    if (key_len == 0) {
        return jws_fail(perr, APR_EINVAL, "the MAC key is empty");
    }
    if (EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, mac_key, key_len,
                  (const unsigned char *)input, len, out, sizeof(out), &out_len) == NULL) {
        return jws_ossl_fail(perr, p, "computing the HMAC");
    }
    *psig = acme_b64url_encode(p, out, out_len);
    OPENSSL_cleanse(out, sizeof(out));
    return APR_SUCCESS;
}

/* base64url of the compact payload, "" for POST-as-GET (NULL). */
static apr_status_t jws_payload64(const char **ppayload64, apr_pool_t *p, const json_t *payload,
                                  const char **perr)
{
    const char *text;
    apr_size_t len;
    apr_status_t rv;

    if (payload == NULL) {
        *ppayload64 = "";
        return APR_SUCCESS;
    }
    if (!json_is_object(payload)) {
        return jws_fail(perr, APR_EINVAL, "a JWS payload must be a JSON object");
    }
    if ((rv = jws_dump(&text, &len, p, payload, perr)) != APR_SUCCESS) {
        return rv;
    }
    *ppayload64 = acme_b64url_encode(p, text, len);
    return APR_SUCCESS;
}

/* Encodes the protected header, signs and builds the flattened JWS. */
static apr_status_t jws_assemble(json_t **pjws, apr_pool_t *p, const jws_signer_t *signer,
                                 const json_t *protected, const char *payload64,
                                 const char **perr)
{
    const char *hdr, *hdr64, *input, *sig64;
    apr_size_t hdr_len;
    apr_status_t rv;
    json_t *jws;

    if ((rv = jws_dump(&hdr, &hdr_len, p, protected, perr)) != APR_SUCCESS) {
        return rv;
    }
    hdr64 = acme_b64url_encode(p, hdr, hdr_len);
    input = apr_pstrcat(p, hdr64, ".", payload64, NULL);
    rv = signer->key
        ? acme_jws_sign_input(&sig64, p, signer->key, input, strlen(input), perr)
        : acme_jws_mac_input(&sig64, p, signer->mac_alg, signer->mac_key, signer->mac_key_len,
                             input, strlen(input), perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    jws = json_pack("{s:s, s:s, s:s}", "protected", hdr64, "payload", payload64,
                    "signature", sig64);
    if (jws == NULL) {
        return jws_fail(perr, APR_ENOMEM, "building the JWS failed");
    }
    *pjws = jws;
    return APR_SUCCESS;
}

apr_status_t acme_jws_sign(json_t **pjws, apr_pool_t *p, const acme_pkey_t *key,
                           const acme_jws_hdr_t *hdr, const json_t *payload, const char **perr)
{
    jws_signer_t signer = {key, NULL, NULL, 0};
    const char *payload64;
    json_t *prot = NULL, *jwk = NULL;
    apr_status_t rv;

    if (!hdr->url || !*hdr->url || !hdr->nonce || !*hdr->nonce || (hdr->kid && !*hdr->kid)) {
        return jws_fail(perr, APR_EINVAL, "an ACME JWS needs a url, a nonce and a non-empty kid");
    }
    if ((rv = jws_payload64(&payload64, p, payload, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (hdr->kid == NULL && (rv = acme_jwk_from_pkey(&jwk, p, key, perr)) != APR_SUCCESS) {
        return rv;
    }
    prot = json_pack("{s:s, s:s, s:s}", "alg", acme_jwk_alg(key), "nonce", hdr->nonce,
                     "url", hdr->url);
    if (prot == NULL
        || (hdr->kid ? json_object_set_new(prot, "kid", json_string(hdr->kid))
                     : json_object_set(prot, "jwk", jwk)) != 0) {
        rv = jws_fail(perr, APR_EINVAL, "JWS header values are not valid UTF-8");
        goto cleanup;
    }
    rv = jws_assemble(pjws, p, &signer, prot, payload64, perr);
cleanup:
    json_decref(prot);
    json_decref(jwk);
    return rv;
}

apr_status_t acme_jws_sign_key_change(json_t **pjws, apr_pool_t *p, const acme_pkey_t *new_key,
                                      const acme_pkey_t *old_key, const char *account_url,
                                      const char *key_change_url, const char **perr)
{
    jws_signer_t signer = {new_key, NULL, NULL, 0};
    json_t *new_jwk = NULL, *old_jwk = NULL, *prot = NULL, *payload = NULL;
    const char *payload64;
    apr_status_t rv;

    if (!account_url || !*account_url || !key_change_url || !*key_change_url) {
        return jws_fail(perr, APR_EINVAL, "a key change needs the account and keyChange URLs");
    }
    if (acme_pkey_public_eq(new_key, old_key)) {
        return jws_fail(perr, APR_EINVAL, "the new account key is the old one");
    }
    if ((rv = acme_jwk_from_pkey(&new_jwk, p, new_key, perr)) != APR_SUCCESS
        || (rv = acme_jwk_from_pkey(&old_jwk, p, old_key, perr)) != APR_SUCCESS) {
        goto cleanup;
    }
    /* RFC 8555 §7.3.5: the inner JWS has no nonce */
    prot = json_pack("{s:s, s:O, s:s}", "alg", acme_jwk_alg(new_key), "jwk", new_jwk,
                     "url", key_change_url);
    payload = json_pack("{s:s, s:O}", "account", account_url, "oldKey", old_jwk);
    if (prot == NULL || payload == NULL) {
        rv = jws_fail(perr, APR_EINVAL, "key change URLs are not valid UTF-8");
        goto cleanup;
    }
    if ((rv = jws_payload64(&payload64, p, payload, perr)) != APR_SUCCESS) {
        goto cleanup;
    }
    rv = jws_assemble(pjws, p, &signer, prot, payload64, perr);
cleanup:
    json_decref(payload);
    json_decref(prot);
    json_decref(old_jwk);
    json_decref(new_jwk);
    return rv;
}

apr_status_t acme_jws_sign_eab(json_t **pjws, apr_pool_t *p, const acme_pkey_t *account_key,
                               const char *eab_kid, const char *eab_hmac, const char *mac_alg,
                               const char *new_account_url, const char **perr)
{
    jws_signer_t signer = {NULL, mac_alg ? mac_alg : "HS256", NULL, 0};
    unsigned char *mac_key = NULL;
    apr_size_t mac_key_len = 0;
    json_t *jwk = NULL, *prot = NULL;
    const char *payload64;
    apr_status_t rv;

    if (!eab_kid || !*eab_kid) {
        return jws_fail(perr, APR_EINVAL, "the EAB key id is empty");
    }
    if (!eab_hmac || !*eab_hmac) {
        return jws_fail(perr, APR_EINVAL, "the EAB HMAC key is empty");
    }
    if (!new_account_url || !*new_account_url) {
        return jws_fail(perr, APR_EINVAL, "EAB needs the newAccount URL");
    }
    if (jws_mac_digest(signer.mac_alg) == NULL) {
        return jws_fail(perr, APR_EINVAL, "unsupported EAB algorithm (use HS256, HS384 or HS512)");
    }
    if (acme_b64url_decode_str(&mac_key, &mac_key_len, p, eab_hmac) != APR_SUCCESS) {
        return jws_fail(perr, APR_EINVAL, "the EAB HMAC key is not valid base64url "
                        "(only A-Z a-z 0-9 - _, no '=' padding)");
    }
    signer.mac_key = mac_key;
    signer.mac_key_len = mac_key_len;
    if ((rv = acme_jwk_from_pkey(&jwk, p, account_key, perr)) != APR_SUCCESS
        || (rv = jws_payload64(&payload64, p, jwk, perr)) != APR_SUCCESS) {
        goto cleanup;
    }
    prot = json_pack("{s:s, s:s, s:s}", "alg", signer.mac_alg, "kid", eab_kid,
                     "url", new_account_url);
    if (prot == NULL) {
        rv = jws_fail(perr, APR_EINVAL, "the EAB key id or URL is not valid UTF-8");
        goto cleanup;
    }
    rv = jws_assemble(pjws, p, &signer, prot, payload64, perr);
cleanup:
    OPENSSL_cleanse(mac_key, mac_key_len);
    json_decref(prot);
    json_decref(jwk);
    return rv;
}

apr_status_t acme_jws_serialize(const char **pbody, apr_pool_t *p, const json_t *jws,
                                const char **perr)
{
    return jws_dump(pbody, NULL, p, jws, perr);
}

/* Checks the decoded signature over `input` with the public half of `key`. */
static apr_status_t jws_verify_sig(const acme_pkey_t *key, apr_pool_t *p, const char *input,
                                   const unsigned char *sig, apr_size_t sig_len,
                                   const char **perr)
{
    const acme_pkey_spec_t *spec = acme_pkey_get_spec(key);
    EVP_MD_CTX *ctx = NULL;
    unsigned char *der = NULL;
    apr_size_t der_len = sig_len;
    apr_status_t rv = APR_SUCCESS;
    int ok;

    if (spec->type == ACME_PKEY_EC) {
        rv = jws_ecdsa_raw_to_der(&der, &der_len, p, sig, sig_len,
                                  acme_jwk_coord_size(spec->curve), perr);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        sig = der;
    }
    if ((ctx = EVP_MD_CTX_new()) == NULL
        || EVP_DigestVerifyInit(ctx, NULL, jws_key_md(key), NULL, acme_pkey_get_evp(key)) <= 0) {
        rv = jws_ossl_fail(perr, p, "verifying");
        goto cleanup;
    }
    ok = EVP_DigestVerify(ctx, sig, der_len, (const unsigned char *)input, strlen(input));
    if (ok != 1) {
        acme_ossl_err(p, "verifying"); /* logs and clears OpenSSL's queue */
        rv = jws_fail(perr, APR_EACCES, "the JWS signature does not verify");
    }
cleanup:
    EVP_MD_CTX_free(ctx);
    return rv;
}

apr_status_t acme_jws_verify(acme_jws_parts_t **pparts, apr_pool_t *p, const json_t *jws,
                             const acme_pkey_t *key, const char **perr)
{
    const char *prot64 = json_string_value(json_object_get(jws, "protected"));
    const char *payload64 = json_string_value(json_object_get(jws, "payload"));
    const char *sig64 = json_string_value(json_object_get(jws, "signature"));
    unsigned char *hdr, *payload, *sig;
    apr_size_t hdr_len, payload_len, sig_len;
    acme_jws_parts_t *parts;
    const char *alg;
    json_t *header;
    apr_status_t rv;

    if (!prot64 || !payload64 || !sig64
        || acme_b64url_decode_str(&hdr, &hdr_len, p, prot64) != APR_SUCCESS
        || acme_b64url_decode_str(&payload, &payload_len, p, payload64) != APR_SUCCESS
        || acme_b64url_decode_str(&sig, &sig_len, p, sig64) != APR_SUCCESS) {
        return jws_fail(perr, APR_EINVAL, "malformed JWS: protected, payload and signature "
                        "must be base64url strings");
    }
    header = json_loadb((const char *)hdr, hdr_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(header)) {
        json_decref(header);
        return jws_fail(perr, APR_EINVAL, "malformed JWS: the protected header is not an object");
    }
    apr_pool_cleanup_register(p, header, jws_json_cleanup, apr_pool_cleanup_null);
    alg = json_string_value(json_object_get(header, "alg"));
    if (alg == NULL || strcmp(alg, acme_jwk_alg(key)) != 0) {
        return jws_fail(perr, APR_EINVAL, "the JWS alg does not match the key");
    }
    rv = jws_verify_sig(key, p, apr_pstrcat(p, prot64, ".", payload64, NULL), sig, sig_len, perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    parts = apr_palloc(p, sizeof(*parts));
    parts->header = header;
    parts->payload = payload;
    parts->payload_len = payload_len;
    *pparts = parts;
    return APR_SUCCESS;
}
