/* Identifiers: what is a DNS name, what is an IP, and what a SAN covers. */
#include <string.h>

#include <apr_strings.h>

#include "acme_san.h"
#include "check_main.h"
#include "test_x509.h"

static acme_san_t san_of(const char *name)
{
    acme_san_t san;
    ck_assert_int_eq(acme_san_parse(&san, test_pool, name, 1), APR_SUCCESS);
    return san;
}

START_TEST(san_parse_classifies_and_normalizes)
{
    acme_san_t san = san_of("WWW.Example.ORG");
    ck_assert_int_eq(san.type, ACME_SAN_DNS);
    ck_assert_str_eq(san.value, "www.example.org");
    ck_assert_uint_eq(san.ip_len, 0);

    san = san_of("192.0.2.1");
    ck_assert_int_eq(san.type, ACME_SAN_IP);
    ck_assert_str_eq(san.value, "192.0.2.1");
    ck_assert_uint_eq(san.ip_len, 4);
    ck_assert_int_eq(memcmp(san.ip, "\xc0\x00\x02\x01", 4), 0);

    san = san_of("2001:DB8:0:0::1");
    ck_assert_int_eq(san.type, ACME_SAN_IP);
    ck_assert_str_eq(san.value, "2001:db8::1");
    ck_assert_uint_eq(san.ip_len, 16);

    san = san_of("*.example.org");
    ck_assert_int_eq(san.type, ACME_SAN_DNS);
    ck_assert_str_eq(san.value, "*.example.org");
    /* Numeric labels are fine as long as the last one is not. */
    ck_assert_str_eq(san_of("1.2.3.example").value, "1.2.3.example");
    ck_assert_str_eq(san_of("xn--bcher-kva.example").value, "xn--bcher-kva.example");
}
END_TEST

START_TEST(san_parse_rejects_invalid_names)
{
    static const char *const bad[] = {
        "", "exa mple.org", "-a.example.org", "a-.example.org", "a..example.org",
        ".example.org", "example.org.", "ex_ample.org", "1.2.3.999", "[::1]",
        "b\xc3\xbc" "cher.example", "a.*.example.org", "*example.org", "*",
        "*.*.example.org", "f*.example.org", "example.org/x", "::1%eth0"
    };
    char label64[65], longname[300];
    acme_san_t san;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        ck_assert_msg(acme_san_parse(&san, test_pool, bad[i], 1) == APR_EINVAL,
                      "accepted '%s'", bad[i]);
    }
    ck_assert_int_eq(acme_san_parse(&san, test_pool, NULL, 1), APR_EINVAL);
    memset(label64, 'a', 64);
    label64[64] = '\0';
    ck_assert_int_eq(acme_san_parse(&san, test_pool,
                                    apr_pstrcat(test_pool, label64, ".org", NULL), 1),
                     APR_EINVAL);
    label64[63] = '\0';
    ck_assert_int_eq(acme_san_parse(&san, test_pool,
                                    apr_pstrcat(test_pool, label64, ".org", NULL), 1),
                     APR_SUCCESS);
    /* 254 characters: four 62-char labels, their dots and "aa". */
    memset(longname, 'a', sizeof(longname));
    for (i = 62; i < 254; i += 63) {
        longname[i] = '.';
    }
    longname[254] = '\0';
    ck_assert_int_eq(acme_san_parse(&san, test_pool, longname, 1), APR_EINVAL);
    longname[253] = '\0';
    ck_assert_int_eq(acme_san_parse(&san, test_pool, longname, 1), APR_SUCCESS);
    /* Wildcards only where asked for. */
    ck_assert_int_eq(acme_san_parse(&san, test_pool, "*.example.org", 0), APR_EINVAL);
}
END_TEST

START_TEST(san_parse_error_names_the_identifier)
{
    acme_san_t san;

    x509_test_capture_log();
    ck_assert_int_eq(acme_san_parse(&san, test_pool, "bad_name.example", 1), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(x509_test_last_log(), "ACME0301"));
    ck_assert_ptr_nonnull(strstr(x509_test_last_log(), "'bad_name.example'"));
}
END_TEST

START_TEST(san_parse_list_rejects_empty_and_duplicates)
{
    apr_array_header_t *sans;

    ck_assert_int_eq(acme_san_parse_list(&sans, test_pool, x509_test_names(NULL), 1),
                     APR_EINVAL);
    ck_assert_int_eq(acme_san_parse_list(&sans, test_pool, NULL, 1), APR_EINVAL);
    ck_assert_int_eq(acme_san_parse_list(&sans, test_pool,
                                         x509_test_names("a.example", "A.Example", NULL), 1),
                     APR_EINVAL);
    ck_assert_int_eq(acme_san_parse_list(&sans, test_pool,
                                         x509_test_names("::1", "0:0::1", NULL), 1),
                     APR_EINVAL);
    ck_assert_int_eq(acme_san_parse_list(&sans, test_pool,
                                         x509_test_names("a.example", "::1", "b.example",
                                                         NULL), 1),
                     APR_SUCCESS);
    ck_assert_int_eq(sans->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(sans, 2, acme_san_t).value, "b.example");
}
END_TEST

static int covers(const char *cert_name, const char *requested)
{
    acme_san_t c = san_of(cert_name), r = san_of(requested);
    return acme_san_covers(&c, &r);
}

START_TEST(san_covers_follows_wildcard_rules)
{
    ck_assert(covers("a.example.org", "A.EXAMPLE.org"));
    ck_assert(covers("*.example.org", "a.example.org"));
    ck_assert(covers("*.example.org", "*.example.org"));
    ck_assert(!covers("*.example.org", "a.b.example.org"));
    ck_assert(!covers("*.example.org", "example.org"));
    ck_assert(!covers("*.example.org", "a.example.com"));
    ck_assert(!covers("*.example.org", "aexample.org"));
    ck_assert(!covers("a.example.org", "*.example.org"));
    ck_assert(!covers("*.a.example.org", "*.example.org"));
    ck_assert(covers("2001:db8::1", "2001:DB8:0::1"));
    ck_assert(!covers("192.0.2.1", "192.0.2.2"));
    /* An IP never matches a DNS name and wildcards never match IPs. */
    ck_assert(!covers("*.example.org", "192.0.2.1"));
    ck_assert(!covers("192.0.2.1", "example.org"));
}
END_TEST

TCase *test_x509_san_tcase(void)
{
    TCase *tc = tcase_create("san");
    tcase_add_test(tc, san_parse_classifies_and_normalizes);
    tcase_add_test(tc, san_parse_rejects_invalid_names);
    tcase_add_test(tc, san_parse_error_names_the_identifier);
    tcase_add_test(tc, san_parse_list_rejects_empty_and_duplicates);
    tcase_add_test(tc, san_covers_follows_wildcard_rules);
    return tc;
}
