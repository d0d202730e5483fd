/* Certificate signing requests for ACME finalize (RFC 8555 7.4).
 *
 * The CSR names every identifier of the order in its SAN: DNS names
 * (wildcards allowed) and IP addresses (RFC 8738). The subject carries
 * CN = the first DNS name when it is at most 64 characters, and is empty
 * otherwise (the SAN is then marked critical, RFC 5280 4.2.1.6). */
#ifndef ACME_CSR_H
#define ACME_CSR_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <openssl/evp.h>

/* Ask for the TLS Feature extension status_request (RFC 7633 "must-staple"). */
#define ACME_CSR_MUST_STAPLE 0x01

/* TLS Feature extension, value SEQUENCE { INTEGER 5 } (status_request). */
#define ACME_CSR_TLSFEATURE_OID "1.3.6.1.5.5.7.1.24"

/* Builds a CSR for `names` (const char *) signed by `pkey` with SHA-256 (or
 * EdDSA), and returns its DER encoding in *pder / *plen, allocated from `p`:
 * what the ACME client base64url-encodes into the finalize request. DNS names
 * are lowercased. APR_EINVAL (logged, naming the culprit) for an empty list,
 * an invalid or duplicate identifier; APR_EGENERAL when OpenSSL fails. */
apr_status_t acme_csr_create(const unsigned char **pder, apr_size_t *plen,
                             apr_pool_t *p, EVP_PKEY *pkey,
                             const apr_array_header_t *names, unsigned int flags);

#endif /* ACME_CSR_H */
