/* CSRs: exactly the SANs asked for, the CN rule, must-staple, signature. */
#include <arpa/inet.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "acme_csr.h"
#include "check_main.h"
#include "test_x509.h"

static apr_status_t req_cleanup(void *data)
{
    X509_REQ_free(data);
    return APR_SUCCESS;
}

/* Builds a CSR through the API and decodes its DER with plain OpenSSL. */
static X509_REQ *csr_make(EVP_PKEY *pkey, apr_array_header_t *names, unsigned int flags)
{
    const unsigned char *der = NULL, *ptr;
    apr_size_t len = 0;
    X509_REQ *req;

    ck_assert_int_eq(acme_csr_create(&der, &len, test_pool, pkey, names, flags),
                     APR_SUCCESS);
    ptr = der;
    req = d2i_X509_REQ(NULL, &ptr, (long)len);
    ck_assert_ptr_nonnull(req);
    ck_assert_ptr_eq(ptr, der + len);
    apr_pool_cleanup_register(test_pool, req, req_cleanup, apr_pool_cleanup_null);
    return req;
}

/* The data of the extension `oid` (copied to the pool), NULL when absent. */
static const unsigned char *csr_ext_data(X509_REQ *req, const char *oid, int *pcrit,
                                         int *plen)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int idx = X509v3_get_ext_by_OBJ(exts, obj, -1);
    const unsigned char *data = NULL;

    if (idx >= 0) {
        X509_EXTENSION *ext = X509v3_get_ext(exts, idx);
        ASN1_OCTET_STRING *value = X509_EXTENSION_get_data(ext);
        *pcrit = X509_EXTENSION_get_critical(ext);
        *plen = ASN1_STRING_length(value);
        data = apr_pmemdup(test_pool, ASN1_STRING_get0_data(value), (apr_size_t)*plen);
        /* Exactly one of each: a second one would be ambiguous. */
        ck_assert_int_lt(X509v3_get_ext_by_OBJ(exts, obj, idx), 0);
    }
    ASN1_OBJECT_free(obj);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return data;
}

/* The SAN as "DNS:a,IP:b" (IPs printed by inet_ntop here, not by our code). */
static const char *csr_san_text(X509_REQ *req, int *pcrit)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    GENERAL_NAMES *gens = X509V3_get_d2i(exts, NID_subject_alt_name, pcrit, NULL);
    const char *text = "";
    int i;

    ck_assert_ptr_nonnull(gens);
    for (i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
        const GENERAL_NAME *gen = sk_GENERAL_NAME_value(gens, i);
        const char *one;
        char buf[64];

        if (gen->type == GEN_DNS) {
            one = apr_pstrcat(test_pool, "DNS:", apr_pstrmemdup(test_pool,
                              (const char *)ASN1_STRING_get0_data(gen->d.dNSName),
                              (apr_size_t)ASN1_STRING_length(gen->d.dNSName)), NULL);
        }
        else {
            int len = ASN1_STRING_length(gen->d.iPAddress);
            ck_assert_int_eq(gen->type, GEN_IPADD);
            ck_assert(len == 4 || len == 16);
            inet_ntop(len == 4 ? AF_INET : AF_INET6,
                      ASN1_STRING_get0_data(gen->d.iPAddress), buf, sizeof(buf));
            one = apr_pstrcat(test_pool, "IP:", buf, NULL);
        }
        text = apr_pstrcat(test_pool, text, i ? "," : "", one, NULL);
    }
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return text;
}

/* The subject's CN, NULL without one; the subject has nothing else. */
static const char *csr_cn(X509_REQ *req)
{
    X509_NAME *name = X509_REQ_get_subject_name(req);
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    ASN1_STRING *value;

    if (idx < 0) {
        ck_assert_int_eq(X509_NAME_entry_count(name), 0);
        return NULL;
    }
    ck_assert_int_eq(X509_NAME_entry_count(name), 1);
    value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    return apr_pstrmemdup(test_pool, (const char *)ASN1_STRING_get0_data(value),
                          (apr_size_t)ASN1_STRING_length(value));
}

START_TEST(csr_has_exactly_the_sans_and_a_cn)
{
    EVP_PKEY *pkey = x509_test_key("EC");
    X509_REQ *req = csr_make(pkey, x509_test_names("www.example.org", "Example.ORG",
                                                   "*.example.org", "192.0.2.7",
                                                   "2001:DB8:0::7", NULL), 0);
    int crit = -1, len;

    ck_assert_str_eq(csr_san_text(req, &crit), "DNS:www.example.org,DNS:example.org,"
                     "DNS:*.example.org,IP:192.0.2.7,IP:2001:db8::7");
    ck_assert_int_eq(crit, 0);
    ck_assert_str_eq(csr_cn(req), "www.example.org");
    ck_assert_int_eq(X509_REQ_get_version(req), 0);
    ck_assert_int_eq(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA256);
    ck_assert_ptr_null(csr_ext_data(req, ACME_CSR_TLSFEATURE_OID, &crit, &len));
}
END_TEST

START_TEST(csr_cn_only_for_a_first_dns_name_of_64_chars_at_most)
{
    EVP_PKEY *pkey = x509_test_key("EC");
    /* 52 + ".example.org" = 64 characters; one more is 65. */
    const char *name64 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.org";
    const char *name65 = apr_pstrcat(test_pool, "b", name64, NULL);
    X509_REQ *req;
    int crit = -1;

    ck_assert_uint_eq(strlen(name64), 64);
    req = csr_make(pkey, x509_test_names(name64, NULL), 0);
    ck_assert_str_eq(csr_cn(req), name64);

    /* Too long for a CN: no CN, and the SAN becomes critical (RFC 5280). */
    req = csr_make(pkey, x509_test_names(name65, "short.example.org", NULL), 0);
    ck_assert_ptr_null(csr_cn(req));
    ck_assert_str_eq(csr_san_text(req, &crit),
                     apr_pstrcat(test_pool, "DNS:", name65, ",DNS:short.example.org", NULL));
    ck_assert_int_eq(crit, 1);

    /* IPs never go into the CN; the first DNS name after them does. */
    req = csr_make(pkey, x509_test_names("192.0.2.7", NULL), 0);
    ck_assert_ptr_null(csr_cn(req));
    req = csr_make(pkey, x509_test_names("::1", "b.example.org", NULL), 0);
    ck_assert_str_eq(csr_cn(req), "b.example.org");
}
END_TEST

START_TEST(csr_must_staple_is_the_tls_feature_status_request)
{
    static const unsigned char expect[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
    EVP_PKEY *pkey = x509_test_key("EC");
    X509_REQ *req = csr_make(pkey, x509_test_names("a.example.org", NULL),
                             ACME_CSR_MUST_STAPLE);
    const unsigned char *data;
    int crit = -1, len = 0;

    data = csr_ext_data(req, "1.3.6.1.5.5.7.1.24", &crit, &len);
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(crit, 0);
    ck_assert_int_eq(len, sizeof(expect));
    ck_assert_int_eq(memcmp(data, expect, sizeof(expect)), 0);
}
END_TEST

START_TEST(csr_signature_verifies_with_its_key_only)
{
    static const char *const types[] = { "EC", "RSA", "ED25519" };
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); ++i) {
        EVP_PKEY *pkey = x509_test_key(types[i]);
        X509_REQ *req = csr_make(pkey, x509_test_names("a.example.org", NULL), 0);

        ck_assert_msg(X509_REQ_verify(req, pkey) == 1, "%s CSR does not verify", types[i]);
        ck_assert_int_eq(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), pkey), 1);
        ck_assert_int_ne(X509_REQ_verify(req, x509_test_key("EC")), 1);
    }
}
END_TEST

START_TEST(csr_rejects_bad_identifier_lists)
{
    EVP_PKEY *pkey = x509_test_key("EC");
    const unsigned char *der = NULL;
    apr_size_t len = 0;

    x509_test_capture_log();
    ck_assert_int_eq(acme_csr_create(&der, &len, test_pool, pkey, x509_test_names(NULL), 0),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(x509_test_last_log(), "no identifiers"));
    ck_assert_int_eq(acme_csr_create(&der, &len, test_pool, pkey,
                                     x509_test_names("ok.example.org", "no way.example.org",
                                                     NULL), 0),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(x509_test_last_log(), "'no way.example.org'"));
    ck_assert_int_eq(acme_csr_create(&der, &len, test_pool, pkey,
                                     x509_test_names("a.example.org", "A.example.org", NULL),
                                     0),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(x509_test_last_log(), "twice"));
    ck_assert_ptr_null(der);
    ck_assert_uint_eq(len, 0);
}
END_TEST

TCase *test_x509_csr_tcase(void)
{
    TCase *tc = tcase_create("csr");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, csr_has_exactly_the_sans_and_a_cn);
    tcase_add_test(tc, csr_cn_only_for_a_first_dns_name_of_64_chars_at_most);
    tcase_add_test(tc, csr_must_staple_is_the_tls_feature_status_request);
    tcase_add_test(tc, csr_signature_verifies_with_its_key_only);
    tcase_add_test(tc, csr_rejects_bad_identifier_lists);
    return tc;
}
