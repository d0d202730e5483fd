/* Self-signed certificates made locally: the fallback certificate served
 * while no real one exists, and the base of the tls-alpn-01 answer.
 *
 * Ownership: the returned X509 is freed by a cleanup on the pool given. The
 * key is only used (it signs and is certified), never kept. */
#ifndef ACME_SELFSIGNED_H
#define ACME_SELFSIGNED_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Organization in the subject of fallback certificates, so that a browser's
 * certificate viewer says what the admin is looking at. */
#define ACME_SELFSIGNED_FALLBACK_ORG "mod_acme fallback certificate"

typedef struct {
    EVP_PKEY *pkey;                  /* signs and is certified */
    const apr_array_header_t *names; /* const char *: DNS names or IPs, >= 1 */
    int allow_wildcard;              /* accept "*.example.org" in names */
    const char *org;                 /* subject O=, or NULL */
    apr_time_t not_before;
    apr_time_t not_after;
    X509_EXTENSION *extra;           /* one more extension, or NULL; not taken */
} acme_selfsigned_spec_t;

/* Builds an X.509 v3 end-entity certificate: random 128-bit serial, subject
 * = issuer = [O=org,] CN=first DNS name when <= 64 chars, SAN = all names
 * (critical when the subject is empty), basicConstraints CA:FALSE, keyUsage
 * digitalSignature (+keyEncipherment for RSA), extKeyUsage serverAuth, signed
 * with SHA-256 (or EdDSA). APR_EINVAL for invalid names or not_after <
 * not_before; APR_EGENERAL when OpenSSL fails. */
apr_status_t acme_selfsigned_build(X509 **pcert, apr_pool_t *p,
                                   const acme_selfsigned_spec_t *spec);

/* The fallback certificate for `names` (wildcards allowed), valid from one
 * hour ago (clock skew) until now + `validity`. Cheap with a P-256 key. */
apr_status_t acme_selfsigned_fallback_create(X509 **pcert, apr_pool_t *p,
                                             EVP_PKEY *pkey,
                                             const apr_array_header_t *names,
                                             apr_interval_time_t validity);

#endif /* ACME_SELFSIGNED_H */
