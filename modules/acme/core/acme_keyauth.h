/* Key authorizations (RFC 8555 §8.1) and what challenges derive from them.
 *
 * Challenge tokens come from the CA and later become file names and DNS
 * record contents, so they are checked against the base64url alphabet here,
 * before anything uses them. Errors as in acme_pkey.h (`perr` optional). */
#ifndef ACME_KEYAUTH_H
#define ACME_KEYAUTH_H

#include <apr_pools.h>

#include "acme_names.h"
#include "acme_pkey.h"

/* One limit for challenge tokens everywhere: they become file names in the
 * store (acme_names_check_token) and the path of the http-01 answer. 128
 * base64url characters are 768 bits; RFC 8555 asks for at least 128 bits,
 * and CAs send 43. A longer token is refused when the challenge is read,
 * with a clear error, instead of loading and never being answered. */
#define ACME_KEYAUTH_TOKEN_MAX ACME_NAMES_TOKEN_MAX
#define ACME_KEYAUTH_SHA256_LEN 32

/* True when `token` is 1..ACME_KEYAUTH_TOKEN_MAX base64url characters
 * (A-Z a-z 0-9 - _): no '/', '.', NUL, blanks or padding. */
int acme_keyauth_token_is_valid(const char *token);

/* "token.thumbprint" for the account key `account_key`, allocated from `p`.
 * APR_EINVAL for an invalid token (see above). */
apr_status_t acme_keyauth_make(const char **pkeyauth, apr_pool_t *p, const char *token,
                               const acme_pkey_t *account_key, const char **perr);

/* The dns-01 TXT record value: base64url(SHA-256(keyauth)), from `p`. */
apr_status_t acme_keyauth_dns01(const char **ptxt, apr_pool_t *p, const char *keyauth,
                                const char **perr);

/* The tls-alpn-01 acmeIdentifier extension value (RFC 8737 §3): the raw
 * SHA-256 of keyauth, ACME_KEYAUTH_SHA256_LEN bytes into `digest`. */
apr_status_t acme_keyauth_tls_alpn01(unsigned char digest[ACME_KEYAUTH_SHA256_LEN],
                                     apr_pool_t *p, const char *keyauth, const char **perr);

#endif /* ACME_KEYAUTH_H */
