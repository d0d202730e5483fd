/* Certificate chains: leaf first, then the certificates that issued it.
 *
 * What an ACME CA returns on download (application/pem-certificate-chain)
 * and what the store keeps as pubcert.pem. The PEM reader is strict: the data
 * comes from the network or from disk and must be exactly a sequence of
 * CERTIFICATE blocks separated by whitespace.
 *
 * Ownership: the chain holds one reference on each X509, released by a
 * cleanup on the pool the chain was created in. */
#ifndef ACME_CHAIN_H
#define ACME_CHAIN_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <openssl/x509.h>

/* Limits of acme_chain_from_pem: real chains are a few KiB and 2-4 certs. */
#define ACME_CHAIN_PEM_MAX (1024 * 1024)
#define ACME_CHAIN_CERTS_MAX 16

typedef struct {
    apr_array_header_t *certs;  /* X509 *, [0] is the leaf */
} acme_cert_chain_t;

/* An empty chain. */
acme_cert_chain_t *acme_chain_create(apr_pool_t *p);

/* Appends `cert`, taking a new reference (the caller keeps its own). */
void acme_chain_add(acme_cert_chain_t *chain, apr_pool_t *p, X509 *cert);

/* Number of certificates and the i-th one (NULL when out of range). */
int acme_chain_count(const acme_cert_chain_t *chain);
X509 *acme_chain_get(const acme_cert_chain_t *chain, int i);

/* Parses `len` bytes of PEM (no NUL needed). APR_EINVAL, with the reason
 * logged, for: no certificate, text outside PEM blocks other than whitespace,
 * a block that is not "CERTIFICATE" (keys, CSRs, TRUSTED CERTIFICATE),
 * PEM headers, bad base64, DER that is not exactly one certificate, a
 * missing END line, more than ACME_CHAIN_PEM_MAX bytes or more than
 * ACME_CHAIN_CERTS_MAX certificates. */
apr_status_t acme_chain_from_pem(acme_cert_chain_t **pchain, apr_pool_t *p,
                                 const char *pem, apr_size_t len);

/* All certificates as concatenated PEM blocks, NUL-terminated. */
apr_status_t acme_chain_to_pem(const char **ppem, apr_pool_t *p,
                               const acme_cert_chain_t *chain);

/* APR_SUCCESS when every certificate is issued by the next one: its issuer
 * name is the next one's subject (X509_check_issued) and its signature
 * verifies with the next one's key. Otherwise APR_EMISMATCH and *pbad (may be
 * NULL) is the index of the first certificate that is not issued by its
 * successor. An empty chain is APR_EINVAL. The last certificate is not
 * checked (its issuer, a root, is not part of the chain). */
apr_status_t acme_chain_check_order(int *pbad, const acme_cert_chain_t *chain);

#endif /* ACME_CHAIN_H */
