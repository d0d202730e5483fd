/* JWK export/import and RFC 7638 thumbprints, see acme_jwk.h. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "acme_b64.h"
#include "acme_jwk.h"
#include "acme_ossl.h"

#define JWK_RSA_PRIVATE_COUNT 6

static apr_status_t jwk_fail(const char **perr, apr_status_t rv, const char *msg)
{
    if (perr) {
        *perr = msg;
    }
    return rv;
}

static apr_status_t jwk_ossl_fail(const char **perr, apr_pool_t *p, const char *what)
{
    return jwk_fail(perr, APR_EGENERAL, acme_ossl_err(p, what));
}

apr_size_t acme_jwk_coord_size(acme_pkey_curve_e curve)
{
    switch (curve) {
    case ACME_PKEY_P256:
        return 32;
    case ACME_PKEY_P384:
        return 48;
    default:
        return 0;
    }
}

const char *acme_jwk_alg(const acme_pkey_t *key)
{
    const acme_pkey_spec_t *spec = acme_pkey_get_spec(key);

    if (spec->type == ACME_PKEY_RSA) {
        return "RS256";
    }
    return spec->curve == ACME_PKEY_P384 ? "ES384" : "ES256";
}

/* base64url of a public BIGNUM parameter; `size` 0 means minimal length. */
static const char *jwk_bn_b64(apr_pool_t *p, EVP_PKEY *evp, const char *name, apr_size_t size)
{
    const char *s = NULL;
    BIGNUM *bn = NULL;
    unsigned char *buf;
    int n;

    if (!EVP_PKEY_get_bn_param(evp, name, &bn)) {
        return NULL;
    }
    n = size ? (int)size : BN_num_bytes(bn);
    if (n > 0) {
        buf = apr_palloc(p, (apr_size_t)n);
        if (BN_bn2binpad(bn, buf, n) == n) {
            s = acme_b64url_encode(p, buf, (apr_size_t)n);
        }
    }
    BN_free(bn);
    return s;
}

apr_status_t acme_jwk_from_pkey(json_t **pjwk, apr_pool_t *p, const acme_pkey_t *key,
                                const char **perr)
{
    const acme_pkey_spec_t *spec = acme_pkey_get_spec(key);
    EVP_PKEY *evp = acme_pkey_get_evp(key);
    apr_size_t size = acme_jwk_coord_size(spec->curve);
    const char *a, *b;
    json_t *jwk;

    /* members in sorted order, so that even an unsorted dump is canonical */
    if (spec->type == ACME_PKEY_RSA) {
        a = jwk_bn_b64(p, evp, OSSL_PKEY_PARAM_RSA_E, 0);
        b = jwk_bn_b64(p, evp, OSSL_PKEY_PARAM_RSA_N, 0);
        jwk = (a && b) ? json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA", "n", b) : NULL;
    }
    else {
        a = jwk_bn_b64(p, evp, OSSL_PKEY_PARAM_EC_PUB_X, size);
        b = jwk_bn_b64(p, evp, OSSL_PKEY_PARAM_EC_PUB_Y, size);
        jwk = (a && b) ? json_pack("{s:s, s:s, s:s, s:s}", "crv",
                                   spec->curve == ACME_PKEY_P256 ? "P-256" : "P-384",
                                   "kty", "EC", "x", a, "y", b) : NULL;
    }
    if (jwk == NULL) {
        return jwk_ossl_fail(perr, p, "exporting the public key as JWK");
    }
    *pjwk = jwk;
    return APR_SUCCESS;
}

apr_status_t acme_jwk_thumbprint(const char **pthumb, apr_pool_t *p, const acme_pkey_t *key,
                                 const char **perr)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    json_t *jwk = NULL;
    char *canon = NULL;
    size_t len;
    apr_status_t rv;

    if ((rv = acme_jwk_from_pkey(&jwk, p, key, perr)) != APR_SUCCESS) {
        return rv;
    }
    /* RFC 7638 §3.3: required members only, sorted, no white space; our
     * values need no escaping, so this is exactly the canonical form */
    len = json_dumpb(jwk, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
    canon = len ? apr_palloc(p, len) : NULL;
    if (canon == NULL || json_dumpb(jwk, canon, len, JSON_COMPACT | JSON_SORT_KEYS) != len) {
        rv = jwk_fail(perr, APR_EGENERAL, "serializing the JWK failed");
        goto cleanup;
    }
    if (!EVP_Digest(canon, len, md, &mdlen, EVP_sha256(), NULL)) {
        rv = jwk_ossl_fail(perr, p, "hashing the JWK");
        goto cleanup;
    }
    *pthumb = acme_b64url_encode(p, md, mdlen);
cleanup:
    json_decref(jwk);
    return rv;
}

/* Decodes member `name` of `jwk` into a BIGNUM (secure memory when `secret`).
 * Absent: APR_SUCCESS with *pbn NULL when optional. A non-zero `size` demands
 * exactly that many bytes. */
static apr_status_t jwk_member_bn(BIGNUM **pbn, apr_pool_t *p, const json_t *jwk,
                                  const char *name, int required, apr_size_t size,
                                  int secret, const char **perr)
{
    const json_t *v = json_object_get(jwk, name);
    unsigned char *data;
    apr_size_t len;
    BIGNUM *bn;

    *pbn = NULL;
    if (v == NULL) {
        return required ? jwk_fail(perr, APR_EINVAL, apr_psprintf(p, "JWK lacks \"%s\"", name))
                        : APR_SUCCESS;
    }
    if (!json_is_string(v)
        || acme_b64url_decode(&data, &len, p, json_string_value(v),
                              json_string_length(v)) != APR_SUCCESS
        || len == 0 || (size && len != size)) {
        return jwk_fail(perr, APR_EINVAL,
                        apr_psprintf(p, "JWK member \"%s\" is not a valid value", name));
    }
    bn = secret ? BN_secure_new() : BN_new();
    if (bn == NULL || BN_bin2bn(data, (int)len, bn) == NULL) {
        BN_free(bn);
        OPENSSL_cleanse(data, len);
        return jwk_ossl_fail(perr, p, "reading a JWK member");
    }
    OPENSSL_cleanse(data, len);
    *pbn = bn;
    return APR_SUCCESS;
}

/* Creates the OpenSSL key from collected parameters and checks it. */
static apr_status_t jwk_evp_fromdata(EVP_PKEY **pevp, apr_pool_t *p, const char *type,
                                     OSSL_PARAM_BLD *bld, int private, const char **perr)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY_CTX *check = NULL;
    EVP_PKEY *evp = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0
        || EVP_PKEY_fromdata(ctx, &evp,
                             private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        rv = jwk_fail(perr, APR_EINVAL, acme_ossl_err(p, "JWK is not a valid key"));
        goto cleanup;
    }
    check = EVP_PKEY_CTX_new_from_pkey(NULL, evp, NULL);
    if (check == NULL || (private ? EVP_PKEY_pairwise_check(check)
                                  : EVP_PKEY_public_check(check)) <= 0) {
        rv = jwk_fail(perr, APR_EINVAL, acme_ossl_err(p, "JWK fails the key check"));
        goto cleanup;
    }
    *pevp = evp;
    evp = NULL;
cleanup:
    EVP_PKEY_free(evp);
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* wipes the secure block holding private numbers */
    return rv;
}

static apr_status_t jwk_rsa_to_evp(EVP_PKEY **pevp, apr_pool_t *p, const json_t *jwk,
                                   const char **perr)
{
    static const char *const priv_names[JWK_RSA_PRIVATE_COUNT] = {"d", "p", "q", "dp", "dq", "qi"};
    static const char *const priv_params[JWK_RSA_PRIVATE_COUNT] = {
        OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
        OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
        OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    BIGNUM *n = NULL, *e = NULL, *priv[JWK_RSA_PRIVATE_COUNT] = {NULL};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    int i, private = json_object_get(jwk, "d") != NULL;
    apr_status_t rv;

    if (json_object_get(jwk, "oth") != NULL) {
        rv = jwk_fail(perr, APR_EINVAL, "multi-prime RSA JWKs are not supported");
        goto cleanup;
    }
    if ((rv = jwk_member_bn(&n, p, jwk, "n", 1, 0, 0, perr)) != APR_SUCCESS
        || (rv = jwk_member_bn(&e, p, jwk, "e", 1, 0, 0, perr)) != APR_SUCCESS) {
        goto cleanup;
    }
    for (i = 0; private && i < JWK_RSA_PRIVATE_COUNT; ++i) {
        if ((rv = jwk_member_bn(&priv[i], p, jwk, priv_names[i], 1, 0, 1, perr))
            != APR_SUCCESS) {
            goto cleanup;
        }
    }
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
        rv = jwk_ossl_fail(perr, p, "building an RSA key");
        goto cleanup;
    }
    for (i = 0; private && i < JWK_RSA_PRIVATE_COUNT; ++i) {
        if (!OSSL_PARAM_BLD_push_BN(bld, priv_params[i], priv[i])) {
            rv = jwk_ossl_fail(perr, p, "building an RSA key");
            goto cleanup;
        }
    }
    rv = jwk_evp_fromdata(pevp, p, "RSA", bld, private, perr);
cleanup:
    for (i = 0; i < JWK_RSA_PRIVATE_COUNT; ++i) {
        BN_clear_free(priv[i]);
    }
    BN_free(n);
    BN_free(e);
    OSSL_PARAM_BLD_free(bld);
    return rv;
}

static apr_status_t jwk_ec_to_evp(EVP_PKEY **pevp, apr_pool_t *p, const json_t *jwk,
                                  const char **perr)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    const char *group = NULL;
    BIGNUM *x = NULL, *y = NULL, *d = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    unsigned char pub[1 + 2 * 48];
    apr_size_t size = 0;
    apr_status_t rv;

    if (crv && strcmp(crv, "P-256") == 0) {
        group = "prime256v1";
        size = acme_jwk_coord_size(ACME_PKEY_P256);
    }
    else if (crv && strcmp(crv, "P-384") == 0) {
        group = "secp384r1";
        size = acme_jwk_coord_size(ACME_PKEY_P384);
    }
    else {
        return jwk_fail(perr, APR_EINVAL, "JWK \"crv\" is missing or not P-256/P-384");
    }
    if ((rv = jwk_member_bn(&x, p, jwk, "x", 1, size, 0, perr)) != APR_SUCCESS
        || (rv = jwk_member_bn(&y, p, jwk, "y", 1, size, 0, perr)) != APR_SUCCESS
        || (rv = jwk_member_bn(&d, p, jwk, "d", 0, size, 1, perr)) != APR_SUCCESS) {
        goto cleanup;
    }
    pub[0] = 0x04; /* uncompressed point: 04 || x || y */
    if (BN_bn2binpad(x, pub + 1, (int)size) < 0 || BN_bn2binpad(y, pub + 1 + size, (int)size) < 0
        || (bld = OSSL_PARAM_BLD_new()) == NULL
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * size)
        || (d && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))) {
        rv = jwk_ossl_fail(perr, p, "building an EC key");
        goto cleanup;
    }
    rv = jwk_evp_fromdata(pevp, p, "EC", bld, d != NULL, perr);
cleanup:
    BN_free(x);
    BN_free(y);
    BN_clear_free(d);
    OSSL_PARAM_BLD_free(bld);
    return rv;
}

apr_status_t acme_jwk_to_pkey(acme_pkey_t **pkey, apr_pool_t *p, const json_t *jwk,
                              const char **perr)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    EVP_PKEY *evp = NULL;
    apr_status_t rv;

    if (!json_is_object(jwk) || kty == NULL) {
        return jwk_fail(perr, APR_EINVAL, "JWK is not an object with a \"kty\"");
    }
    if (strcmp(kty, "RSA") == 0) {
        rv = jwk_rsa_to_evp(&evp, p, jwk, perr);
    }
    else if (strcmp(kty, "EC") == 0) {
        rv = jwk_ec_to_evp(&evp, p, jwk, perr);
    }
    else {
        return jwk_fail(perr, APR_EINVAL, "JWK \"kty\" is not RSA or EC");
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return acme_pkey_wrap(pkey, p, evp, perr);
}
