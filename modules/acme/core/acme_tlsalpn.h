/* tls-alpn-01 (RFC 8737): the self-signed certificate a server presents on a
 * TLS connection negotiating ALPN "acme-tls/1".
 *
 * Ownership: the returned X509 is freed by a cleanup on the pool given, the
 * PEM is allocated from it. The key is only used, never kept. */
#ifndef ACME_TLSALPN_H
#define ACME_TLSALPN_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Length of the acmeIdentifier value: a SHA-256 digest. */
#define ACME_TLSALPN_DIGEST_LEN 32

/* The acmeIdentifier extension (id-pe-acmeIdentifier). */
#define ACME_TLSALPN_OID "1.3.6.1.5.5.7.1.31"

/* The ALPN protocol name that selects the challenge certificate. */
#define ACME_TLSALPN_PROTOCOL "acme-tls/1"

/* SHA-256 of the key authorization ("token.thumbprint"), the value the
 * acmeIdentifier extension carries. APR_EINVAL for an empty string. */
apr_status_t acme_tlsalpn_digest(unsigned char digest[ACME_TLSALPN_DIGEST_LEN],
                                 const char *key_authz);

/* The challenge certificate for `identifier` (one DNS name or IP address, no
 * wildcard): SAN = the identifier, critical acmeIdentifier = OCTET STRING
 * holding `digest`, valid from one day ago to seven days from now, signed by
 * `pkey`. *ppem (may be NULL) receives the certificate as PEM. APR_EINVAL for
 * an invalid identifier. */
apr_status_t acme_tlsalpn_cert_create(X509 **pcert, const char **ppem,
                                      apr_pool_t *p, EVP_PKEY *pkey,
                                      const char *identifier,
                                      const unsigned char digest[ACME_TLSALPN_DIGEST_LEN]);

/* The identifier whose challenge a tls-alpn-01 connection asks for, from
 * its SNI: for an IP identifier the CA sends the reverse-DNS name (RFC 8738
 * section 6: "4.3.2.1.in-addr.arpa" for 1.2.3.4, 32 nibbles "1.0.0. ... .0.
 * ip6.arpa" for ::1), which gives the address in its canonical text (dotted,
 * or RFC 5952 for IPv6); any other name is returned as it is (copied,
 * lowercase). APR_EINVAL for a reverse name that is not one full address
 * (partial zones, a wrong count of octets or nibbles). */
apr_status_t acme_tlsalpn_sni_identifier(const char **pidentifier, apr_pool_t *p,
                                         const char *sni);

#endif /* ACME_TLSALPN_H */
