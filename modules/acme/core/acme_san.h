/* Subject alternative names: the identifiers a certificate is for.
 *
 * One place decides what a valid identifier is (a DNS name, optionally a
 * wildcard, or an IPv4/IPv6 address per RFC 8738), how it is written into a
 * SubjectAltName extension, and how a certificate's SAN covers a requested
 * name. Used by the CSR, the generated certificates and the certificate checks. */
#ifndef ACME_SAN_H
#define ACME_SAN_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <openssl/x509.h>

typedef enum {
    ACME_SAN_DNS,
    ACME_SAN_IP
} acme_san_type_e;

/* Longest DNS name accepted (RFC 1035, without the trailing dot). */
#define ACME_SAN_DNS_MAX 253

typedef struct {
    acme_san_type_e type;
    /* Normalized text: DNS names in lowercase, IPs in inet_ntop form. */
    const char *value;
    /* Raw address for ACME_SAN_IP (4 or 16 bytes), 0 length for DNS. */
    unsigned char ip[16];
    apr_size_t ip_len;
} acme_san_t;

/* Classifies and validates one identifier. Anything that inet_pton accepts is
 * an IP; everything else must be an LDH DNS name (labels 1-63 chars of
 * [A-Za-z0-9-], no hyphen at either end, at most 253 chars, no trailing dot, a
 * last label that is not all digits). With `allow_wildcard`, a leading "*."
 * label is accepted. APR_EINVAL (and an ACME03xx log line naming the
 * identifier) for anything else. */
apr_status_t acme_san_parse(acme_san_t *san, apr_pool_t *p, const char *name,
                            int allow_wildcard);

/* Parses a list of identifiers (const char *) into acme_san_t elements, in
 * order. APR_EINVAL for an empty list, an invalid identifier, or the same
 * identifier twice (after normalization). */
apr_status_t acme_san_parse_list(apr_array_header_t **psans, apr_pool_t *p,
                                 const apr_array_header_t *names,
                                 int allow_wildcard);

/* Builds a SubjectAltName extension from acme_san_t elements. The caller
 * frees *pext with X509_EXTENSION_free. APR_EGENERAL when OpenSSL fails. */
apr_status_t acme_san_extension_create(X509_EXTENSION **pext,
                                       const apr_array_header_t *sans,
                                       int critical);

/* The first DNS name of `sans` if it fits in a subject CN (<= 64 chars), else
 * NULL: certificates carry their names in the SAN, the CN is a courtesy. */
const char *acme_san_common_name(const apr_array_header_t *sans);

/* True when a certificate name `cert_name` (from its SAN, same type as
 * `requested`) covers the identifier `requested`. IPs compare by address. A
 * wildcard "*.example.org" on the certificate covers exactly one extra label
 * ("a.example.org", not "example.org", not "a.b.example.org"); a requested
 * wildcard is covered only by the same wildcard. DNS compares ignore case. */
int acme_san_covers(const acme_san_t *cert_name, const acme_san_t *requested);

#endif /* ACME_SAN_H */
