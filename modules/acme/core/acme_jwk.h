/* JSON Web Keys (RFC 7517/7518) and thumbprints (RFC 7638) of our keys.
 *
 * Errors follow acme_pkey.h: an apr_status_t plus, when `perr` is not NULL, a
 * one-line reason from the pool passed. APR_EINVAL: the input was wrong;
 * APR_EGENERAL: OpenSSL or jansson failed. */
#ifndef ACME_JWK_H
#define ACME_JWK_H

#include <apr_pools.h>
#include <jansson.h>

#include "acme_pkey.h"

/* Size in bytes of one EC coordinate (and of r and s in a JWS signature):
 * 32 for P-256, 48 for P-384, 0 otherwise. */
apr_size_t acme_jwk_coord_size(acme_pkey_curve_e curve);

/* The public JWK of `key`, with exactly the members RFC 7638 requires:
 * {"e","kty":"RSA","n"} or {"crv","kty":"EC","x","y"} (coordinates at their
 * fixed length, the RSA modulus without leading zero bytes). Never holds
 * private members. *pjwk is a new reference: the caller json_decref()s it. */
apr_status_t acme_jwk_from_pkey(json_t **pjwk, apr_pool_t *p, const acme_pkey_t *key,
                                const char **perr);

/* RFC 7638 thumbprint: base64url(SHA-256(the JWK above, members sorted, no
 * white space)), allocated from `p`. This is what key authorizations use. */
apr_status_t acme_jwk_thumbprint(const char **pthumb, apr_pool_t *p, const acme_pkey_t *key,
                                 const char **perr);

/* The JWS "alg" to sign with `key`: "RS256" for RSA of any size, "ES256"
 * for P-256, "ES384" for P-384. A static string. */
const char *acme_jwk_alg(const acme_pkey_t *key);

/* Builds a key from a JWK object. Public keys need RSA n, e or EC crv ("P-256"
 * / "P-384"), x, y; private keys add d (and for RSA all of p, q, dp, dq, qi;
 * multi-prime "oth" is refused). The key is checked (point on the curve,
 * private half matching the public one). Lets tests use the RFC keys and lets
 * JWK-stored account keys (e.g. certbot's) be imported. Owned as in
 * acme_pkey_wrap(). */
apr_status_t acme_jwk_to_pkey(acme_pkey_t **pkey, apr_pool_t *p, const json_t *jwk,
                              const char **perr);

#endif /* ACME_JWK_H */
