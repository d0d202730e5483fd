/* Locally generated certificates: tls-alpn-01 answers and the fallback. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme_cert.h"
#include "acme_selfsigned.h"
#include "acme_tlsalpn.h"
#include "check_main.h"
#include "test_x509.h"

/* printf %s "$KEYAUTHZ" | openssl dgst -sha256, key authorization from
 * RFC 8555 section 8.3's example token and thumbprint. */
#define KEYAUTHZ "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA." \
                 "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
static const unsigned char keyauthz_sha256[ACME_TLSALPN_DIGEST_LEN] = {
    0x94, 0x23, 0x3b, 0x71, 0x9c, 0x90, 0x5d, 0xc5, 0x47, 0x2b, 0x69, 0xe7, 0x5b, 0x78,
    0xe3, 0x02, 0x13, 0x53, 0xdc, 0x5b, 0xe6, 0xd7, 0xc5, 0x0d, 0xfa, 0x45, 0x99, 0x66,
    0x49, 0xca, 0xa1, 0x83
};

static const char *join_names(X509 *cert, acme_san_type_e type)
{
    apr_array_header_t *names;

    ck_assert_int_eq(acme_cert_get_names(&names, test_pool, cert, type), APR_SUCCESS);
    return apr_array_pstrcat(test_pool, names, ',');
}

/* |a - b| <= 2 minutes: generation takes well under that. */
static int near(apr_time_t a, apr_time_t b)
{
    apr_interval_time_t d = a > b ? a - b : b - a;
    return d <= apr_time_from_sec(120);
}

START_TEST(tlsalpn_digest_is_sha256_of_key_authz)
{
    unsigned char digest[ACME_TLSALPN_DIGEST_LEN];

    ck_assert_int_eq(acme_tlsalpn_digest(digest, KEYAUTHZ), APR_SUCCESS);
    ck_assert_int_eq(memcmp(digest, keyauthz_sha256, sizeof(digest)), 0);
    ck_assert_int_eq(acme_tlsalpn_digest(digest, ""), APR_EINVAL);
    ck_assert_int_eq(acme_tlsalpn_digest(digest, NULL), APR_EINVAL);
}
END_TEST

/* The acmeIdentifier extension must be critical and hold exactly
 * OCTET STRING (32 bytes) = 04 20 <digest>. */
static void assert_acme_identifier(X509 *cert, const unsigned char *digest)
{
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    int idx = X509_get_ext_by_OBJ(cert, oid, -1);
    X509_EXTENSION *ext;
    const ASN1_OCTET_STRING *value;
    const unsigned char *data;

    ck_assert_int_ge(idx, 0);
    ck_assert_int_lt(X509_get_ext_by_OBJ(cert, oid, idx), 0);
    ASN1_OBJECT_free(oid);
    ext = X509_get_ext(cert, idx);
    ck_assert_int_eq(X509_EXTENSION_get_critical(ext), 1);
    value = X509_EXTENSION_get_data(ext);
    ck_assert_int_eq(ASN1_STRING_length(value), 2 + ACME_TLSALPN_DIGEST_LEN);
    data = ASN1_STRING_get0_data(value);
    ck_assert_int_eq(data[0], 0x04);
    ck_assert_int_eq(data[1], ACME_TLSALPN_DIGEST_LEN);
    ck_assert_int_eq(memcmp(data + 2, digest, ACME_TLSALPN_DIGEST_LEN), 0);
}

START_TEST(tlsalpn_cert_has_identifier_and_digest)
{
    EVP_PKEY *pkey = x509_test_key("EC");
    const char *pem = NULL;
    X509 *cert = NULL, *reread;
    apr_time_t t, now = apr_time_now();
    BIO *bio;

    ck_assert_int_eq(acme_tlsalpn_cert_create(&cert, &pem, test_pool, pkey, "Www.Example.org",
                                              keyauthz_sha256), APR_SUCCESS);
    assert_acme_identifier(cert, keyauthz_sha256);
    ck_assert_str_eq(join_names(cert, ACME_SAN_DNS), "www.example.org");
    ck_assert_str_eq(join_names(cert, ACME_SAN_IP), "");
    ck_assert_int_eq(X509_verify(cert, pkey), 1);
    ck_assert_int_eq(acme_cert_check_key(cert, pkey), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_get_not_before(&t, cert), APR_SUCCESS);
    ck_assert(near(t, now - apr_time_from_sec(86400)));
    ck_assert_int_eq(acme_cert_get_not_after(&t, cert), APR_SUCCESS);
    ck_assert(near(t, now + apr_time_from_sec(7 * 86400)));

    bio = BIO_new_mem_buf(pem, -1);
    reread = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ck_assert_ptr_nonnull(reread);
    ck_assert_int_eq(X509_cmp(reread, cert), 0);
    X509_free(reread);
}
END_TEST

START_TEST(tlsalpn_cert_for_ip_identifiers)
{
    EVP_PKEY *pkey = x509_test_key("EC");
    X509 *cert = NULL;

    ck_assert_int_eq(acme_tlsalpn_cert_create(&cert, NULL, test_pool, pkey, "2001:db8::5",
                                              keyauthz_sha256), APR_SUCCESS);
    ck_assert_str_eq(join_names(cert, ACME_SAN_IP), "2001:db8::5");
    ck_assert_str_eq(join_names(cert, ACME_SAN_DNS), "");
    assert_acme_identifier(cert, keyauthz_sha256);
}
END_TEST

START_TEST(tlsalpn_cert_rejects_wildcards_and_bad_names)
{
    EVP_PKEY *pkey = x509_test_key("EC");
    X509 *cert = NULL;

    ck_assert_int_eq(acme_tlsalpn_cert_create(&cert, NULL, test_pool, pkey, "*.example.org",
                                              keyauthz_sha256), APR_EINVAL);
    ck_assert_int_eq(acme_tlsalpn_cert_create(&cert, NULL, test_pool, pkey, "a b",
                                              keyauthz_sha256), APR_EINVAL);
    ck_assert_int_eq(acme_tlsalpn_cert_create(&cert, NULL, test_pool, pkey, NULL,
                                              keyauthz_sha256), APR_EINVAL);
    ck_assert_ptr_null(cert);
}
END_TEST

/* RFC 8738 section 6: the CA names an IP identifier by its reverse name. */
START_TEST(tlsalpn_sni_names_the_identifier)
{
    static const char *const bad[] = {
        "4.3.2.in-addr.arpa", "5.4.3.2.1.in-addr.arpa", "256.3.2.1.in-addr.arpa",
        "04.3.2.1.in-addr.arpa", "a.3.2.1.in-addr.arpa", "4..2.1.in-addr.arpa",
        ".in-addr.arpa",
        /* 31 and 33 nibbles, two digits in a label, not hex, a missing dot */
        "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        "10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        "1.00.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        ".ip6.arpa", "ip6.arpa.ip6.arpa",
        "", NULL
    };
    const char *id = NULL;
    int i;

    ck_assert_int_eq(acme_tlsalpn_sni_identifier(&id, test_pool, "1.0.0.127.in-addr.arpa"),
                     APR_SUCCESS);
    ck_assert_str_eq(id, "127.0.0.1");
    ck_assert_int_eq(acme_tlsalpn_sni_identifier(&id, test_pool, "4.3.2.1.IN-ADDR.ARPA"),
                     APR_SUCCESS);
    ck_assert_str_eq(id, "1.2.3.4");
    ck_assert_int_eq(acme_tlsalpn_sni_identifier(&id, test_pool, "0.0.0.10.in-addr.arpa"),
                     APR_SUCCESS);
    ck_assert_str_eq(id, "10.0.0.0");
    ck_assert_int_eq(acme_tlsalpn_sni_identifier(&id, test_pool, "1.0.0.0.0.0.0.0.0.0.0.0.0."
                                                 "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                                                 "ip6.arpa"), APR_SUCCESS);
    ck_assert_str_eq(id, "::1");
    /* RFC 3596's example, in capitals: the canonical (RFC 5952) text */
    ck_assert_int_eq(acme_tlsalpn_sni_identifier(&id, test_pool, "B.A.9.8.7.6.5.0.4.0.0.0.3.0."
                                                 "0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4."
                                                 "IP6.ARPA"), APR_SUCCESS);
    ck_assert_str_eq(id, "4321:0:1:2:3:4:567:89ab");
    ck_assert_int_eq(acme_tlsalpn_sni_identifier(&id, test_pool, "Www.Example.org"),
                     APR_SUCCESS);
    ck_assert_str_eq(id, "www.example.org");
    for (i = 0; bad[i]; ++i) {
        ck_assert_msg(acme_tlsalpn_sni_identifier(&id, test_pool, bad[i]) == APR_EINVAL,
                      "%s", bad[i]);
    }
    ck_assert_int_eq(acme_tlsalpn_sni_identifier(&id, test_pool, NULL), APR_EINVAL);
}
END_TEST

START_TEST(fallback_cert_covers_names_and_is_valid_now)
{
    apr_array_header_t *names = x509_test_names("www.example.org", "*.example.org",
                                                "192.0.2.1", NULL);
    EVP_PKEY *pkey = x509_test_key("EC");
    apr_interval_time_t days30 = apr_time_from_sec(30 * 86400);
    X509 *cert = NULL;
    const char *subject, *missing = NULL;
    apr_time_t t;

    ck_assert_int_eq(acme_selfsigned_fallback_create(&cert, test_pool, pkey, names, days30),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_cert_check_names(&missing, test_pool, cert, names), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_check_names(&missing, test_pool, cert,
                                           x509_test_names("a.example.org", NULL)),
                     APR_SUCCESS);
    ck_assert(acme_cert_is_valid_at(cert, apr_time_now()));
    ck_assert_int_eq(acme_cert_get_not_after(&t, cert), APR_SUCCESS);
    ck_assert(near(t, apr_time_now() + days30));
    ck_assert_int_eq(acme_cert_get_subject(&subject, test_pool, cert), APR_SUCCESS);
    ck_assert_str_eq(subject, "O = mod_acme fallback certificate, CN = www.example.org");
    ck_assert_int_eq(acme_cert_check_key(cert, pkey), APR_SUCCESS);
    ck_assert_int_eq(X509_verify(cert, pkey), 1);
    ck_assert_int_eq(X509_check_ca(cert), 0);
    ck_assert_uint_eq(X509_get_extended_key_usage(cert), XKU_SSL_SERVER);
    ck_assert_uint_eq(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE);
}
END_TEST

START_TEST(fallback_cert_serials_are_random_and_positive)
{
    EVP_PKEY *pkey = x509_test_key("EC");
    apr_array_header_t *names = x509_test_names("a.example.org", NULL);
    X509 *one = NULL, *two = NULL;
    const char *s1, *s2;

    ck_assert_int_eq(acme_selfsigned_fallback_create(&one, test_pool, pkey, names,
                                                     apr_time_from_sec(3600)), APR_SUCCESS);
    ck_assert_int_eq(acme_selfsigned_fallback_create(&two, test_pool, pkey, names,
                                                     apr_time_from_sec(3600)), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_get_serial_hex(&s1, test_pool, one), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_get_serial_hex(&s2, test_pool, two), APR_SUCCESS);
    ck_assert_str_ne(s1, s2);
    ck_assert_uint_eq(strlen(s1), 32);
    ck_assert_int_ne(s1[0], '-');
}
END_TEST

START_TEST(fallback_cert_with_rsa_and_ed25519_keys)
{
    apr_array_header_t *names = x509_test_names("a.example.org", NULL);
    EVP_PKEY *rsa = x509_test_key("RSA"), *ed = x509_test_key("ED25519");
    X509 *cert = NULL;

    ck_assert_int_eq(acme_selfsigned_fallback_create(&cert, test_pool, rsa, names,
                                                     apr_time_from_sec(3600)), APR_SUCCESS);
    ck_assert_int_eq(X509_verify(cert, rsa), 1);
    ck_assert_int_eq(X509_get_signature_nid(cert), NID_sha256WithRSAEncryption);
    ck_assert_uint_eq(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    ck_assert_int_eq(acme_selfsigned_fallback_create(&cert, test_pool, ed, names,
                                                     apr_time_from_sec(3600)), APR_SUCCESS);
    ck_assert_int_eq(X509_verify(cert, ed), 1);
    ck_assert_int_eq(X509_get_signature_nid(cert), NID_ED25519);
}
END_TEST

START_TEST(selfsigned_rejects_bad_specs)
{
    EVP_PKEY *pkey = x509_test_key("EC");
    acme_selfsigned_spec_t spec = { 0 };
    X509 *cert = NULL;

    ck_assert_int_eq(acme_selfsigned_fallback_create(&cert, test_pool, pkey,
                                                     x509_test_names(NULL),
                                                     apr_time_from_sec(3600)), APR_EINVAL);
    ck_assert_int_eq(acme_selfsigned_fallback_create(&cert, test_pool, pkey,
                                                     x509_test_names("a.example.org", NULL),
                                                     0), APR_EINVAL);
    spec.pkey = pkey;
    spec.names = x509_test_names("a.example.org", NULL);
    spec.not_before = apr_time_now();
    spec.not_after = spec.not_before - 1;
    ck_assert_int_eq(acme_selfsigned_build(&cert, test_pool, &spec), APR_EINVAL);
    spec.not_after = spec.not_before + apr_time_from_sec(60);
    spec.names = x509_test_names("*.example.org", NULL);
    ck_assert_int_eq(acme_selfsigned_build(&cert, test_pool, &spec), APR_EINVAL);
    ck_assert_ptr_null(cert);
}
END_TEST

START_TEST(selfsigned_without_subject_marks_san_critical)
{
    acme_selfsigned_spec_t spec = { 0 };
    X509 *cert = NULL;
    int crit = -1;
    GENERAL_NAMES *gens;

    spec.pkey = x509_test_key("EC");
    spec.names = x509_test_names("192.0.2.1", NULL);
    spec.not_before = apr_time_now();
    spec.not_after = spec.not_before + apr_time_from_sec(60);
    ck_assert_int_eq(acme_selfsigned_build(&cert, test_pool, &spec), APR_SUCCESS);
    ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(cert)), 0);
    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    ck_assert_ptr_nonnull(gens);
    GENERAL_NAMES_free(gens);
    ck_assert_int_eq(crit, 1);
}
END_TEST

TCase *test_x509_gen_tcase(void)
{
    TCase *tc = tcase_create("gen");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, tlsalpn_digest_is_sha256_of_key_authz);
    tcase_add_test(tc, tlsalpn_cert_has_identifier_and_digest);
    tcase_add_test(tc, tlsalpn_cert_for_ip_identifiers);
    tcase_add_test(tc, tlsalpn_cert_rejects_wildcards_and_bad_names);
    tcase_add_test(tc, tlsalpn_sni_names_the_identifier);
    tcase_add_test(tc, fallback_cert_covers_names_and_is_valid_now);
    tcase_add_test(tc, fallback_cert_serials_are_random_and_positive);
    tcase_add_test(tc, fallback_cert_with_rsa_and_ed25519_keys);
    tcase_add_test(tc, selfsigned_rejects_bad_specs);
    tcase_add_test(tc, selfsigned_without_subject_marks_san_critical);
    return tc;
}
