/* check_ocsp helpers: a throwaway CA, certificates it issues and OCSP
 * responses signed the way a CA or a broken responder would sign them. */
#include <string.h>

#include <apr_strings.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "acme_cert.h"
#include "check_main.h"
#include "test_ocsp.h"

EVP_PKEY *ocsp_test_key(void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    ck_assert_ptr_nonnull(key);
    return key;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ck_assert_ptr_nonnull(ext);
    ck_assert(X509_add_ext(cert, ext, -1));
    X509_EXTENSION_free(ext);
}

X509 *ocsp_test_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                     long serial, const char *aia, int ocsp_signer)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();

    ck_assert_ptr_nonnull(cert);
    ck_assert(X509_set_version(cert, 2));
    ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial));
    ck_assert(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
                                         -1, -1, 0));
    ck_assert(X509_set_subject_name(cert, name));
    ck_assert(X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name));
    X509_NAME_free(name);
    ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(cert), -3600));
    ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 86400));
    ck_assert(X509_set_pubkey(cert, key));
    if (issuer == NULL) {
        add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    }
    if (aia) {
        add_ext(cert, issuer, NID_info_access, aia);
    }
    if (ocsp_signer) {
        add_ext(cert, issuer, NID_ext_key_usage, "OCSPSigning");
    }
    ck_assert(X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    acme_cert_pool_own(test_pool, cert);
    return cert;
}

/* Whole-second times, as OCSP carries them. */
static ASN1_GENERALIZEDTIME *gentime(apr_time_t t)
{
    ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_set(NULL, (time_t)apr_time_sec(t));

    ck_assert_ptr_nonnull(g);
    return g;
}

const unsigned char *ocsp_test_response(apr_size_t *plen, const ocsp_test_resp_t *spec)
{
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), spec->cert, spec->issuer);
    ASN1_GENERALIZEDTIME *thisupd = gentime(spec->this_update);
    ASN1_GENERALIZEDTIME *nextupd = spec->next_update ? gentime(spec->next_update) : NULL;
    ASN1_GENERALIZEDTIME *rev = spec->status == V_OCSP_CERTSTATUS_REVOKED
                                ? gentime(spec->this_update - apr_time_from_sec(86400)) : NULL;
    STACK_OF(X509) *extra = sk_X509_new_null();
    OCSP_RESPONSE *resp;
    unsigned char *der = NULL;
    const unsigned char *out;
    int len;

    ck_assert_ptr_nonnull(bs);
    ck_assert_ptr_nonnull(id);
    ck_assert_ptr_nonnull(OCSP_basic_add1_status(bs, id, spec->status,
                                                 rev ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
                                                 rev, thisupd, nextupd));
    if (spec->signer != spec->issuer) {
        sk_X509_push(extra, spec->signer);
    }
    ck_assert(OCSP_basic_sign(bs, spec->signer, spec->signer_key, EVP_sha256(), extra,
                              spec->signer != spec->issuer ? 0 : OCSP_NOCERTS) > 0);
    resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    ck_assert_ptr_nonnull(resp);
    len = i2d_OCSP_RESPONSE(resp, &der);
    ck_assert_int_gt(len, 0);
    out = apr_pmemdup(test_pool, der, (apr_size_t)len);
    *plen = (apr_size_t)len;
    OPENSSL_free(der);
    OCSP_RESPONSE_free(resp);
    sk_X509_free(extra);
    ASN1_GENERALIZEDTIME_free(rev);
    ASN1_GENERALIZEDTIME_free(nextupd);
    ASN1_GENERALIZEDTIME_free(thisupd);
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    return out;
}

const unsigned char *ocsp_test_error_response(apr_size_t *plen, int status)
{
    OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
    unsigned char *der = NULL;
    const unsigned char *out;
    int len;

    ck_assert_ptr_nonnull(resp);
    len = i2d_OCSP_RESPONSE(resp, &der);
    ck_assert_int_gt(len, 0);
    out = apr_pmemdup(test_pool, der, (apr_size_t)len);
    *plen = (apr_size_t)len;
    OPENSSL_free(der);
    OCSP_RESPONSE_free(resp);
    return out;
}
