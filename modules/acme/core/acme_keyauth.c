/* Key authorizations and their challenge values, see acme_keyauth.h. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "acme_b64.h"
#include "acme_jwk.h"
#include "acme_keyauth.h"
#include "acme_ossl.h"

int acme_keyauth_token_is_valid(const char *token)
{
    apr_size_t len;

    if (token == NULL) {
        return 0;
    }
    len = strlen(token);
    return len <= ACME_KEYAUTH_TOKEN_MAX && acme_b64url_is_alphabet(token, len);
}

apr_status_t acme_keyauth_make(const char **pkeyauth, apr_pool_t *p, const char *token,
                               const acme_pkey_t *account_key, const char **perr)
{
    const char *thumb;
    apr_status_t rv;

    if (!acme_keyauth_token_is_valid(token)) {
        if (perr) {
            *perr = apr_psprintf(p, "invalid challenge token (must be 1..%d characters of "
                                 "A-Z a-z 0-9 - _)", ACME_KEYAUTH_TOKEN_MAX);
        }
        return APR_EINVAL;
    }
    if ((rv = acme_jwk_thumbprint(&thumb, p, account_key, perr)) != APR_SUCCESS) {
        return rv;
    }
    *pkeyauth = apr_pstrcat(p, token, ".", thumb, NULL);
    return APR_SUCCESS;
}

apr_status_t acme_keyauth_tls_alpn01(unsigned char digest[ACME_KEYAUTH_SHA256_LEN],
                                     apr_pool_t *p, const char *keyauth, const char **perr)
{
    unsigned int len = 0;

    if (!EVP_Digest(keyauth, strlen(keyauth), digest, &len, EVP_sha256(), NULL)
        || len != ACME_KEYAUTH_SHA256_LEN) {
        const char *why = acme_ossl_err(p, "hashing the key authorization");

        if (perr) {
            *perr = why;
        }
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t acme_keyauth_dns01(const char **ptxt, apr_pool_t *p, const char *keyauth,
                                const char **perr)
{
    unsigned char digest[ACME_KEYAUTH_SHA256_LEN];
    apr_status_t rv;

    if ((rv = acme_keyauth_tls_alpn01(digest, p, keyauth, perr)) != APR_SUCCESS) {
        return rv;
    }
    *ptxt = acme_b64url_encode(p, digest, sizeof(digest));
    return APR_SUCCESS;
}
