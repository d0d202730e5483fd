/* tls-alpn-01 challenge certificates (RFC 8737). */
#include <arpa/inet.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "acme_cert.h"
#include "acme_log.h"
#include "acme_ossl.h"
#include "acme_selfsigned.h"
#include "acme_tlsalpn.h"

#define VALID_BEFORE apr_time_from_sec(24 * 3600)
#define VALID_AFTER apr_time_from_sec(7 * 24 * 3600)

apr_status_t acme_tlsalpn_digest(unsigned char digest[ACME_TLSALPN_DIGEST_LEN],
                                 const char *key_authz)
{
    unsigned int len = 0;

    if (key_authz == NULL || *key_authz == '\0') {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0350 empty key authorization");
        return APR_EINVAL;
    }
    if (!EVP_Digest(key_authz, strlen(key_authz), digest, &len, EVP_sha256(), NULL)
        || len != ACME_TLSALPN_DIGEST_LEN) {
        return acme_ossl_fail("ACME0351 hashing key authorization");
    }
    return APR_SUCCESS;
}

/* extnValue = DER of OCTET STRING (the digest): 04 20 <32 bytes>. */
static X509_EXTENSION *identifier_ext_create(const unsigned char *digest)
{
    unsigned char der[2 + ACME_TLSALPN_DIGEST_LEN];
    ASN1_OBJECT *oid = OBJ_txt2obj(ACME_TLSALPN_OID, 1);
    ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;

    der[0] = V_ASN1_OCTET_STRING;
    der[1] = ACME_TLSALPN_DIGEST_LEN;
    memcpy(der + 2, digest, ACME_TLSALPN_DIGEST_LEN);
    if (oid != NULL && value != NULL && ASN1_OCTET_STRING_set(value, der, sizeof(der))) {
        ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, value);
    }
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(value);
    return ext;
}

apr_status_t acme_tlsalpn_cert_create(X509 **pcert, const char **ppem,
                                      apr_pool_t *p, EVP_PKEY *pkey,
                                      const char *identifier,
                                      const unsigned char digest[ACME_TLSALPN_DIGEST_LEN])
{
    acme_selfsigned_spec_t spec = { 0 };
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(const char *));
    apr_time_t now = apr_time_now();
    const char *pem = NULL;
    X509 *cert = NULL;
    apr_status_t rv;

    APR_ARRAY_PUSH(names, const char *) = identifier;
    spec.pkey = pkey;
    spec.names = names;
    spec.allow_wildcard = 0;
    spec.not_before = now - VALID_BEFORE;
    spec.not_after = now + VALID_AFTER;
    spec.extra = identifier_ext_create(digest);
    if (spec.extra == NULL) {
        return acme_ossl_fail("ACME0352 building acmeIdentifier extension");
    }
    rv = acme_selfsigned_build(&cert, p, &spec);
    if (rv == APR_SUCCESS && ppem != NULL) {
        rv = acme_cert_to_pem(&pem, p, cert);
    }
    X509_EXTENSION_free(spec.extra);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *pcert = cert;
    if (ppem != NULL) {
        *ppem = pem;
    }
    return APR_SUCCESS;
}

#define REVERSE_V4 ".in-addr.arpa"
#define REVERSE_V6 ".ip6.arpa"

/* One decimal octet 0..255 without leading zeros, of `len` characters. */
static int octet_parse(const char *s, apr_size_t len, unsigned *pv)
{
    unsigned v = 0;
    apr_size_t i;

    if (len < 1 || len > 3 || (len > 1 && s[0] == '0')) {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        if (!apr_isdigit(s[i])) {
            return 0;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *pv = v;
    return v <= 255;
}

/* "b.a.9.8. ... .0.ip6.arpa" (32 nibbles, the last first, `len` characters
 * before the suffix) to the RFC 5952 text of the address. */
static apr_status_t ipv6_reverse_parse(const char **pidentifier, apr_pool_t *p,
                                       const char *name, apr_size_t len)
{
    unsigned char addr[16] = { 0 };
    char text[INET6_ADDRSTRLEN];
    int i, v;

    if (len != 32 * 2 - 1) {
        return APR_EINVAL;
    }
    for (i = 0; i < 32; ++i) {
        char c = name[2 * i];
        if (!apr_isxdigit(c) || (i < 31 && name[2 * i + 1] != '.')) {
            return APR_EINVAL;
        }
        v = apr_isdigit(c) ? c - '0' : c - 'a' + 10;
        /* nibble i counts from the low end of the address */
        addr[15 - i / 2] |= (unsigned char)(i % 2 ? v << 4 : v);
    }
    if (inet_ntop(AF_INET6, addr, text, sizeof(text)) == NULL) {
        return APR_EINVAL;
    }
    *pidentifier = apr_pstrdup(p, text);
    return APR_SUCCESS;
}

apr_status_t acme_tlsalpn_sni_identifier(const char **pidentifier, apr_pool_t *p,
                                         const char *sni)
{
    char *name = sni ? apr_pstrdup(p, sni) : NULL;
    const char *s;
    unsigned octets[4];
    apr_size_t len, n;
    int i;

    if (name == NULL || *name == '\0') {
        return APR_EINVAL;
    }
    for (len = 0; name[len]; ++len) {
        name[len] = (char)apr_tolower(name[len]);
    }
    n = sizeof(REVERSE_V6) - 1;
    if (len >= n && !strcmp(name + len - n, REVERSE_V6)) {
        return ipv6_reverse_parse(pidentifier, p, name, len - n);
    }
    n = sizeof(REVERSE_V4) - 1;
    if (len < n || strcmp(name + len - n, REVERSE_V4)) {
        *pidentifier = name;
        return APR_SUCCESS;
    }
    /* "d.c.b.a" before the suffix: exactly four octets, the last first */
    s = name;
    for (i = 3; i >= 0; --i) {
        const char *end = i > 0 ? strchr(s, '.') : name + len - n;
        if (end == NULL || end > name + len - n || !octet_parse(s, (apr_size_t)(end - s),
                                                                &octets[i])) {
            return APR_EINVAL;
        }
        s = end + 1;
    }
    if (s != name + len - n + 1) {
        return APR_EINVAL;
    }
    *pidentifier = apr_psprintf(p, "%u.%u.%u.%u", octets[0], octets[1], octets[2], octets[3]);
    return APR_SUCCESS;
}
