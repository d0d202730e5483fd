/* Certificate signing requests for ACME finalize. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "acme_assert.h"
#include "acme_cert.h"
#include "acme_csr.h"
#include "acme_log.h"
#include "acme_ossl.h"
#include "acme_san.h"

/* SEQUENCE { INTEGER 5 }: the status_request TLS feature (RFC 7633). */
static const unsigned char tlsfeature_status_request[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };

static int subject_set(X509_REQ *req, const char *cn)
{
    X509_NAME *name = X509_NAME_new();
    int ok = name != NULL
        && (cn == NULL
            || X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                          (const unsigned char *)cn, -1, -1, 0))
        && X509_REQ_set_subject_name(req, name);

    X509_NAME_free(name);
    return ok;
}

static X509_EXTENSION *must_staple_ext_create(void)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(ACME_CSR_TLSFEATURE_OID, 1);
    ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;

    if (oid != NULL && value != NULL
        && ASN1_OCTET_STRING_set(value, tlsfeature_status_request,
                                 sizeof(tlsfeature_status_request))) {
        ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, value);
    }
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(value);
    return ext;
}

/* The extensionRequest attribute: SAN, and the TLS feature if asked for. */
static apr_status_t extensions_add(X509_REQ *req, const apr_array_header_t *sans,
                                   int san_critical, unsigned int flags)
{
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *ext = NULL;
    apr_status_t rv;

    if (exts == NULL) {
        return acme_ossl_fail("ACME0360 allocating CSR extensions");
    }
    rv = acme_san_extension_create(&ext, sans, san_critical);
    if (rv != APR_SUCCESS) {
        goto cleanup;
    }
    if (!sk_X509_EXTENSION_push(exts, ext)) {
        X509_EXTENSION_free(ext);
        rv = acme_ossl_fail("ACME0360 adding SAN to CSR");
        goto cleanup;
    }
    if (flags & ACME_CSR_MUST_STAPLE) {
        ext = must_staple_ext_create();
        if (ext == NULL || !sk_X509_EXTENSION_push(exts, ext)) {
            X509_EXTENSION_free(ext);
            rv = acme_ossl_fail("ACME0361 adding must-staple to CSR");
            goto cleanup;
        }
    }
    if (!X509_REQ_add_extensions(req, exts)) {
        rv = acme_ossl_fail("ACME0362 adding extensions to CSR");
    }
cleanup:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rv;
}

static apr_status_t req_to_der(const unsigned char **pder, apr_size_t *plen,
                               apr_pool_t *p, X509_REQ *req)
{
    unsigned char *der = NULL;
    int len = i2d_X509_REQ(req, &der);

    if (len <= 0) {
        return acme_ossl_fail("ACME0363 encoding CSR");
    }
    *pder = apr_pmemdup(p, der, (apr_size_t)len);
    *plen = (apr_size_t)len;
    OPENSSL_free(der);
    return APR_SUCCESS;
}

apr_status_t acme_csr_create(const unsigned char **pder, apr_size_t *plen,
                             apr_pool_t *p, EVP_PKEY *pkey,
                             const apr_array_header_t *names, unsigned int flags)
{
    apr_array_header_t *sans;
    X509_REQ *req = NULL;
    const char *cn;
    apr_status_t rv;

    ACME_ASSERT(pkey != NULL);
    if ((rv = acme_san_parse_list(&sans, p, names, 1)) != APR_SUCCESS) {
        return rv;
    }
    cn = acme_san_common_name(sans);
    req = X509_REQ_new();
    if (req == NULL || !X509_REQ_set_version(req, 0) || !subject_set(req, cn)
        || !X509_REQ_set_pubkey(req, pkey)) {
        rv = acme_ossl_fail("ACME0364 building CSR");
        goto cleanup;
    }
    if ((rv = extensions_add(req, sans, cn == NULL, flags)) != APR_SUCCESS) {
        goto cleanup;
    }
    if (X509_REQ_sign(req, pkey, acme_cert_sign_digest(pkey)) <= 0) {
        rv = acme_ossl_fail("ACME0365 signing CSR");
        goto cleanup;
    }
    rv = req_to_der(pder, plen, p, req);
cleanup:
    X509_REQ_free(req);
    return rv;
}
