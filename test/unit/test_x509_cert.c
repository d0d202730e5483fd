/* One certificate: accessors against values computed by the openssl command
 * line for the fixture (see data/x509/make-fixtures.sh), and the checks. */
#include <string.h>

#include <apr_strings.h>

#include "acme_cert.h"
#include "check_main.h"
#include "test_x509.h"

/* openssl x509 -in leaf.pem -noout -fingerprint -sha256 -serial -dates */
#define LEAF_SHA256 "64ca385967b289941c7de34550401af60f44ce71d654cab940d96643017a51cc"
#define LEAF_SERIAL "0A1B2C3D4E5F60"
#define LEAF_ISSUER "O = mod_acme test, CN = Test Intermediate"
#define LEAF_SUBJECT "CN = www.example.org"
#define LEAF_NOT_BEFORE 1795880175 /* Nov 28 15:36:15 2026 GMT */
#define LEAF_NOT_AFTER 4949480175  /* Nov  4 15:36:15 2126 GMT */

static const char *join(const apr_array_header_t *names)
{
    return apr_array_pstrcat(test_pool, names, ',');
}

START_TEST(cert_accessors_match_openssl)
{
    X509 *leaf = x509_test_load_cert("leaf.pem");
    const char *s;
    apr_time_t t;

    ck_assert_int_eq(acme_cert_get_sha256_hex(&s, test_pool, leaf), APR_SUCCESS);
    ck_assert_str_eq(s, LEAF_SHA256);
    ck_assert_int_eq(acme_cert_get_serial_hex(&s, test_pool, leaf), APR_SUCCESS);
    ck_assert_str_eq(s, LEAF_SERIAL);
    ck_assert_int_eq(acme_cert_get_issuer(&s, test_pool, leaf), APR_SUCCESS);
    ck_assert_str_eq(s, LEAF_ISSUER);
    ck_assert_int_eq(acme_cert_get_subject(&s, test_pool, leaf), APR_SUCCESS);
    ck_assert_str_eq(s, LEAF_SUBJECT);
    ck_assert_int_eq(acme_cert_get_not_before(&t, leaf), APR_SUCCESS);
    ck_assert(t == apr_time_from_sec(LEAF_NOT_BEFORE));
    ck_assert_int_eq(acme_cert_get_not_after(&t, leaf), APR_SUCCESS);
    ck_assert(t == apr_time_from_sec(LEAF_NOT_AFTER));
    ck_assert_int_eq(EVP_PKEY_eq(acme_cert_get0_pubkey(leaf), x509_test_leaf_key()), 1);
}
END_TEST

START_TEST(cert_validity_is_inclusive_at_both_ends)
{
    X509 *leaf = x509_test_load_cert("leaf.pem");
    apr_time_t from = apr_time_from_sec(LEAF_NOT_BEFORE);
    apr_time_t until = apr_time_from_sec(LEAF_NOT_AFTER);

    ck_assert(acme_cert_is_valid_at(leaf, from));
    ck_assert(acme_cert_is_valid_at(leaf, until));
    ck_assert(acme_cert_is_valid_at(leaf, from + apr_time_from_sec(86400)));
    ck_assert(!acme_cert_is_valid_at(leaf, from - apr_time_from_sec(1)));
    ck_assert(!acme_cert_is_valid_at(leaf, until + apr_time_from_sec(1)));
}
END_TEST

START_TEST(cert_sans_by_type)
{
    X509 *leaf = x509_test_load_cert("leaf.pem");
    apr_array_header_t *names;

    ck_assert_int_eq(acme_cert_get_names(&names, test_pool, leaf, ACME_SAN_DNS), APR_SUCCESS);
    ck_assert_str_eq(join(names), "www.example.org,*.example.org");
    ck_assert_int_eq(acme_cert_get_names(&names, test_pool, leaf, ACME_SAN_IP), APR_SUCCESS);
    ck_assert_str_eq(join(names), "192.0.2.1,2001:db8::1");
    /* The root has no SAN at all: empty, not an error. */
    ck_assert_int_eq(acme_cert_get_names(&names, test_pool, x509_test_load_cert("root.pem"),
                                         ACME_SAN_DNS), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 0);
}
END_TEST

START_TEST(cert_from_der_is_strict)
{
    X509 *leaf = x509_test_load_cert("leaf.pem"), *cert = NULL;
    apr_size_t len;
    const unsigned char *der = (const unsigned char *)x509_test_read(&len, "leaf.der");
    unsigned char *longer = apr_palloc(test_pool, len + 1);

    ck_assert_int_eq(acme_cert_from_der(&cert, test_pool, der, len), APR_SUCCESS);
    ck_assert_int_eq(X509_cmp(cert, leaf), 0);

    memcpy(longer, der, len);
    longer[len] = 0;
    cert = NULL;
    ck_assert_int_eq(acme_cert_from_der(&cert, test_pool, longer, len + 1), APR_EINVAL);
    ck_assert_int_eq(acme_cert_from_der(&cert, test_pool, der, len - 1), APR_EINVAL);
    ck_assert_int_eq(acme_cert_from_der(&cert, test_pool, der, 0), APR_EINVAL);
    ck_assert_int_eq(acme_cert_from_der(&cert, test_pool, (const unsigned char *)"junk", 4),
                     APR_EINVAL);
    ck_assert_ptr_null(cert);
}
END_TEST

START_TEST(cert_to_pem_round_trips)
{
    const char *pem;

    ck_assert_int_eq(acme_cert_to_pem(&pem, test_pool, x509_test_load_cert("leaf.pem")),
                     APR_SUCCESS);
    ck_assert_str_eq(pem, x509_test_read(NULL, "leaf.pem"));
}
END_TEST

START_TEST(cert_check_key_detects_a_wrong_key)
{
    X509 *leaf = x509_test_load_cert("leaf.pem");

    ck_assert_int_eq(acme_cert_check_key(leaf, x509_test_leaf_key()), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_check_key(leaf, x509_test_key("EC")), APR_EMISMATCH);
    ck_assert_int_eq(acme_cert_check_key(leaf, x509_test_key("ED25519")), APR_EMISMATCH);
    ck_assert_int_eq(acme_cert_check_key(leaf, acme_cert_get0_pubkey(
                                             x509_test_load_cert("intermediate.pem"))),
                     APR_EMISMATCH);
    ck_assert_int_eq(acme_cert_check_key(leaf, NULL), APR_EMISMATCH);
}
END_TEST

/* Checks one name against the fixture leaf (SAN: www.example.org,
 * *.example.org, 192.0.2.1, 2001:db8::1). */
static apr_status_t leaf_covers(const char *name, const char **pmissing)
{
    return acme_cert_check_names(pmissing, test_pool, x509_test_load_cert("leaf.pem"),
                                 x509_test_names(name, NULL));
}

START_TEST(cert_check_names_with_wildcards)
{
    static const char *const covered[] = {
        "www.example.org", "WWW.Example.ORG", "a.example.org", "*.example.org",
        "192.0.2.1", "2001:DB8:0::1"
    };
    static const char *const uncovered[] = {
        "a.b.example.org", "example.org", "*.www.example.org", "www.example.com",
        "192.0.2.2", "2001:db8::2"
    };
    const char *missing;
    size_t i;

    for (i = 0; i < sizeof(covered) / sizeof(covered[0]); ++i) {
        ck_assert_msg(leaf_covers(covered[i], NULL) == APR_SUCCESS, "%s", covered[i]);
    }
    /* not a name at all: a wildcard on a top-level domain */
    ck_assert_int_eq(leaf_covers("*.org", NULL), APR_EINVAL);
    for (i = 0; i < sizeof(uncovered) / sizeof(uncovered[0]); ++i) {
        missing = NULL;
        ck_assert_msg(leaf_covers(uncovered[i], &missing) == APR_EMISMATCH, "%s",
                      uncovered[i]);
        ck_assert_str_eq(missing, uncovered[i]);
    }
    ck_assert_int_eq(leaf_covers("bad name", &missing), APR_EINVAL);
}
END_TEST

START_TEST(cert_check_names_reports_first_missing_of_a_list)
{
    X509 *leaf = x509_test_load_cert("leaf.pem");
    const char *missing = NULL;

    ck_assert_int_eq(acme_cert_check_names(&missing, test_pool, leaf,
                                           x509_test_names("www.example.org", "x.example.org",
                                                           "192.0.2.1", NULL)),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_cert_check_names(&missing, test_pool, leaf,
                                           x509_test_names("www.example.org", "example.org",
                                                           "other.test", NULL)),
                     APR_EMISMATCH);
    ck_assert_str_eq(missing, "example.org");
    /* A certificate without SAN covers nothing (no CN fallback). */
    ck_assert_int_eq(acme_cert_check_names(&missing, test_pool,
                                           x509_test_load_cert("root.pem"),
                                           x509_test_names("Test Root", NULL)),
                     APR_EINVAL);
    ck_assert_int_eq(acme_cert_check_names(&missing, test_pool,
                                           x509_test_load_cert("root.pem"),
                                           x509_test_names("www.example.org", NULL)),
                     APR_EMISMATCH);
}
END_TEST

TCase *test_x509_cert_tcase(void)
{
    TCase *tc = tcase_create("cert");
    tcase_add_test(tc, cert_accessors_match_openssl);
    tcase_add_test(tc, cert_validity_is_inclusive_at_both_ends);
    tcase_add_test(tc, cert_sans_by_type);
    tcase_add_test(tc, cert_from_der_is_strict);
    tcase_add_test(tc, cert_to_pem_round_trips);
    tcase_add_test(tc, cert_check_key_detects_a_wrong_key);
    tcase_add_test(tc, cert_check_names_with_wildcards);
    tcase_add_test(tc, cert_check_names_reports_first_missing_of_a_list);
    return tc;
}
