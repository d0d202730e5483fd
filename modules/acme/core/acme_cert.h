/* One X.509 certificate: parsing from DER, accessors and checks.
 *
 * Ownership: an X509 handed out by a function taking a pool is freed by a
 * cleanup on that pool; do not X509_free it (X509_up_ref it to keep it longer).
 * Accessors that return strings allocate them from the given pool.
 * Errors: APR_EINVAL for malformed input, APR_EMISMATCH when a check does not
 * hold, APR_EGENERAL when OpenSSL itself fails (the reason is logged). */
#ifndef ACME_CERT_H
#define ACME_CERT_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acme_san.h"

/* Takes over one reference of `cert`: X509_free runs when `p` is cleared. */
void acme_cert_pool_own(apr_pool_t *p, X509 *cert);


/* The digest to sign certificates and CSRs with: SHA-256, or NULL for keys
 * that sign without a separate digest (Ed25519, Ed448). */
const EVP_MD *acme_cert_sign_digest(EVP_PKEY *pkey);

/* Parses exactly one DER certificate: trailing bytes are APR_EINVAL. */
apr_status_t acme_cert_from_der(X509 **pcert, apr_pool_t *p,
                                const unsigned char *der, apr_size_t len);

/* The certificate as one PEM block, NUL-terminated, allocated from `p`. */
apr_status_t acme_cert_to_pem(const char **ppem, apr_pool_t *p, const X509 *cert);

/* An ASN.1 time (UTCTime or GeneralizedTime: certificates, OCSP responses)
 * as apr time. APR_EINVAL if NULL or unreadable; logs nothing. */
apr_status_t acme_cert_asn1_time_get(apr_time_t *pt, const ASN1_TIME *at);

/* notBefore / notAfter. APR_EINVAL if the certificate's time is unreadable. */
apr_status_t acme_cert_get_not_before(apr_time_t *pt, const X509 *cert);
apr_status_t acme_cert_get_not_after(apr_time_t *pt, const X509 *cert);

/* True when notBefore <= t <= notAfter. */
int acme_cert_is_valid_at(const X509 *cert, apr_time_t t);

/* The SAN entries as acme_san_t (acme_san.h), DNS names in lowercase, IPs in
 * inet_ntop form; entries of other types, DNS names with a NUL byte and IPs
 * of odd length are skipped. No SAN extension: an empty array. Two SAN
 * extensions: APR_EINVAL. */
apr_status_t acme_cert_get_sans(apr_array_header_t **psans, apr_pool_t *p,
                                const X509 *cert);

/* The SAN entries of one type as an array of const char *. */
apr_status_t acme_cert_get_names(apr_array_header_t **pnames, apr_pool_t *p,
                                 const X509 *cert, acme_san_type_e type);

/* Serial number in uppercase hex ("0A1B..", "-" prefix if negative). */
apr_status_t acme_cert_get_serial_hex(const char **pserial, apr_pool_t *p,
                                      const X509 *cert);

/* Issuer / subject in OpenSSL's one-line form: "C = US, O = Org, CN = Name". */
apr_status_t acme_cert_get_issuer(const char **pissuer, apr_pool_t *p, const X509 *cert);
apr_status_t acme_cert_get_subject(const char **psubject, apr_pool_t *p, const X509 *cert);
/* Issuer in OpenSSL's legacy X509_NAME_oneline form, "/C=US/O=Org/CN=Name"
 * (bytes outside printable ASCII as \xHH): mod_md's "issuer-name". */
apr_status_t acme_cert_get_issuer_slashed(const char **pissuer, apr_pool_t *p,
                                          const X509 *cert);

/* SHA-256 of the DER encoding as 64 lowercase hex digits, no separators. */
apr_status_t acme_cert_get_sha256_hex(const char **phex, apr_pool_t *p, const X509 *cert);

/* The certified public key; owned by `cert`, do not free. NULL if the key
 * cannot be decoded. */
EVP_PKEY *acme_cert_get0_pubkey(const X509 *cert);

/* APR_SUCCESS when `pkey` is the key the certificate certifies, APR_EMISMATCH
 * otherwise (including a different key type). */
apr_status_t acme_cert_check_key(const X509 *cert, EVP_PKEY *pkey);

/* APR_SUCCESS when the certificate's SAN covers every name in `names` (const
 * char *, DNS names, wildcards or IPs; rules in acme_san_covers). Otherwise
 * APR_EMISMATCH with *pmissing (may be NULL) set to the first name not
 * covered, or APR_EINVAL when a requested name is invalid. */
apr_status_t acme_cert_check_names(const char **pmissing, apr_pool_t *p,
                                   const X509 *cert, const apr_array_header_t *names);

#endif /* ACME_CERT_H */
