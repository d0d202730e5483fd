/* JWS in the flattened JSON serialization (RFC 7515 §7.2.2), as ACME uses it
 * (RFC 8555 §6.2): request bodies, the keyChange inner JWS (§7.3.5) and
 * External Account Binding (§7.3.4).
 *
 * Signatures: RS256 (RSASSA-PKCS1-v1_5 with SHA-256) for RSA keys, ES256 /
 * ES384 (fixed-size r || s) for P-256 / P-384 keys, HS256/384/512 for EAB.
 *
 * A JWS is returned as a new json_t reference {"protected","payload",
 * "signature"}: the caller json_decref()s it. Errors follow acme_pkey.h: an
 * apr_status_t plus, when `perr` is not NULL, a one-line reason allocated from
 * the pool passed. Secrets (keys, EAB HMAC) never appear in reasons or logs. */
#ifndef ACME_JWS_H
#define ACME_JWS_H

#include <apr_pools.h>
#include <jansson.h>

#include "acme_pkey.h"

/* The protected header of an ACME request. */
typedef struct acme_jws_hdr_t {
    const char *url;    /* required: the URL the request goes to */
    const char *nonce;  /* required: a fresh Replay-Nonce from the CA */
    const char *kid;    /* account URL; NULL puts the key itself ("jwk") in the
                         * header instead: newAccount, revokeCert with the
                         * certificate's key */
} acme_jws_hdr_t;

/* Signs an ACME request: protected {alg, nonce, url, kid | jwk}; `payload` an
 * object (serialized compactly), or NULL for POST-as-GET (empty payload).
 * APR_EINVAL when url/nonce are missing or the key cannot sign. */
apr_status_t acme_jws_sign(json_t **pjws, apr_pool_t *p, const acme_pkey_t *key,
                           const acme_jws_hdr_t *hdr, const json_t *payload, const char **perr);

/* The inner JWS of a key rollover (RFC 8555 §7.3.5), signed by `new_key`:
 * protected {alg, jwk: new key, url: keyChange URL} (no nonce), payload
 * {account: account_url, oldKey: JWK of old_key}. The caller signs the outer
 * JWS with the old key and the account's kid, this object as its payload. */
apr_status_t acme_jws_sign_key_change(json_t **pjws, apr_pool_t *p, const acme_pkey_t *new_key,
                                      const acme_pkey_t *old_key, const char *account_url,
                                      const char *key_change_url, const char **perr);

/* The externalAccountBinding JWS (RFC 8555 §7.3.4): protected {alg, kid:
 * eab_kid, url: newAccount URL}, payload the JWK of `account_key`, MAC keyed
 * with the base64url-DECODED `eab_hmac`. `mac_alg` is "HS256" (NULL: the
 * default), "HS384" or "HS512". APR_EINVAL for an empty kid, an HMAC key that
 * is empty or not base64url (padding '=', '+', '/', blanks, impossible
 * length), or another alg. */
apr_status_t acme_jws_sign_eab(json_t **pjws, apr_pool_t *p, const acme_pkey_t *account_key,
                               const char *eab_kid, const char *eab_hmac, const char *mac_alg,
                               const char *new_account_url, const char **perr);

/* The request body: the JWS as compact JSON text, allocated from `p`. */
apr_status_t acme_jws_serialize(const char **pbody, apr_pool_t *p, const json_t *jws,
                                const char **perr);

/* Signs the JWS signing input ("<protected>.<payload>", `len` bytes) with
 * `key`, returning the base64url signature. The building block of the above. */
apr_status_t acme_jws_sign_input(const char **psig, apr_pool_t *p, const acme_pkey_t *key,
                                 const char *input, apr_size_t len, const char **perr);

/* MACs the signing input with `mac_alg` ("HS256"/"HS384"/"HS512") and the raw
 * key bytes, returning the base64url MAC. */
apr_status_t acme_jws_mac_input(const char **psig, apr_pool_t *p, const char *mac_alg,
                                const unsigned char *mac_key, apr_size_t key_len,
                                const char *input, apr_size_t len, const char **perr);

/* What a verified JWS carries. */
typedef struct acme_jws_parts_t {
    json_t *header;                /* decoded protected header; released with
                                    * the pool: do not decref */
    const unsigned char *payload;  /* decoded payload, NUL-terminated */
    apr_size_t payload_len;
} acme_jws_parts_t;

/* Verifies a flattened JWS with the public half of `key`. The header's "alg"
 * must be the key's (acme_jwk_alg()): "none" and HMAC are refused.
 * APR_EINVAL for a malformed JWS or a wrong alg, APR_EACCES for a signature
 * that does not verify. */
apr_status_t acme_jws_verify(acme_jws_parts_t **pparts, apr_pool_t *p, const json_t *jws,
                             const acme_pkey_t *key, const char **perr);

#endif /* ACME_JWS_H */
