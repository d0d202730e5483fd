/* Name validation (acme_names.h): what may become a path or a key. */
#include <string.h>

#include <apr_strings.h>

#include "acme_names.h"
#include "test_store.h"

static char *repeat(char c, int n)
{
    char *s = apr_palloc(test_pool, (apr_size_t)n + 1);

    memset(s, c, (size_t)n);
    s[n] = '\0';
    return s;
}

START_TEST(domain_accepts_ldh_names)
{
    static const char *const good[] = {
        "a.example", "localhost", "xn--bcher-kva.example", "a-b.c0.example",
        "192.0.2.1", "a.example.3", "::1", "2001:db8::1", "::ffff:192.0.2.1",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); ++i) {
        ck_assert_msg(acme_names_check_domain(good[i], 0) == APR_SUCCESS, "%s", good[i]);
    }
    ck_assert_int_eq(acme_names_check_domain("*.example.org", ACME_NAMES_WILDCARD),
                     APR_SUCCESS);
    /* Limits: a 63-character label, a 253-character name. */
    ck_assert_int_eq(acme_names_check_domain(apr_pstrcat(test_pool, repeat('a', 63), ".x",
                                                         NULL), 0), APR_SUCCESS);
    ck_assert_int_eq(acme_names_check_domain(
                         apr_pstrcat(test_pool, repeat('a', 63), ".", repeat('b', 63), ".",
                                     repeat('c', 63), ".", repeat('d', 61), NULL), 0),
                     APR_SUCCESS);
}
END_TEST

START_TEST(domain_rejects_everything_else)
{
    static const char *const bad[] = {
        "", "A.example", "a..b", ".a", "a.", "-a.b", "a-.b", "a_b.c", "a/b", "../x", "..",
        "a b", "a\n", "\xc3\xa4.example", "*.example", "a.*.b", "**.x", "_wildcard_.x",
        /* IPv6 only in its canonical (RFC 5952) spelling, without brackets or zone */
        "[::1]", "0::1", "::0001", "2001:DB8::1", "2001:db8:0:0:0:0:0:1", "fe80::1%eth0",
        "::1/128", ":", "1:2", "::1:", "a:b.example",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        ck_assert_msg(acme_names_check_domain(bad[i], 0) == APR_EINVAL, "'%s'", bad[i]);
    }
    ck_assert_int_eq(acme_names_check_domain(NULL, 0), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_domain("*.", ACME_NAMES_WILDCARD), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_domain("a.*.b", ACME_NAMES_WILDCARD), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_domain(apr_pstrcat(test_pool, repeat('a', 64), ".x",
                                                         NULL), 0), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_domain(
                         apr_pstrcat(test_pool, repeat('a', 63), ".", repeat('b', 63), ".",
                                     repeat('c', 63), ".", repeat('d', 62), NULL), 0),
                     APR_EINVAL);
}
END_TEST

/* The one DNS rule behind store keys, directive values and certificate
 * names; the flags only relax it. */
START_TEST(dns_check_flags_and_reasons)
{
    const char *why = NULL;

    ck_assert_int_eq(acme_names_dns_check("A.example", 0, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "uppercase"));
    ck_assert_int_eq(acme_names_dns_check("A.example", ACME_NAMES_ANYCASE, NULL), APR_SUCCESS);
    /* a mistyped address is no name, a real one is LDH; archive keys end in digits */
    ck_assert_int_eq(acme_names_dns_check("1.2.3.999", 0, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "all digits"));
    ck_assert_int_eq(acme_names_dns_check("192.0.2.1", 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_names_dns_check("a.example.3", ACME_NAMES_KEY, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_names_dns_check("*.org", ACME_NAMES_WILDCARD, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "top-level"));
    ck_assert_int_eq(acme_names_dns_check("a.*.org", ACME_NAMES_WILDCARD, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "whole first label"));
    ck_assert_int_eq(acme_names_dns_check("\xc3\xa4.example", ACME_NAMES_ANYCASE, &why),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "xn--"));
    ck_assert_int_eq(acme_names_dns_check("a-.example", 0, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "'-'"));
    ck_assert_int_eq(acme_names_dns_check("", 0, &why), APR_EINVAL);
    ck_assert_int_eq(acme_names_dns_check(NULL, 0, NULL), APR_EINVAL);
}
END_TEST

START_TEST(domain_normalize_folds_case_and_trailing_dot)
{
    const char *out = "untouched";

    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "A.Example.", 0),
                     APR_SUCCESS);
    ck_assert_str_eq(out, "a.example");
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "*.EXAMPLE.org",
                                                 ACME_NAMES_WILDCARD), APR_SUCCESS);
    ck_assert_str_eq(out, "*.example.org");
    out = "untouched";
    /* IPv6: bare or in brackets (a Host header), to the RFC 5952 text */
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "[::1]", 0), APR_SUCCESS);
    ck_assert_str_eq(out, "::1");
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "2001:DB8:0:0::0001", 0),
                     APR_SUCCESS);
    ck_assert_str_eq(out, "2001:db8::1");
    ck_assert_int_eq(acme_names_check_domain(out, 0), APR_SUCCESS);
    out = "untouched";
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "fe80::1%eth0", 0),
                     APR_EINVAL);
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "[fe80::1%25eth0]", 0),
                     APR_EINVAL);
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "[::1", 0), APR_EINVAL);
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "[]", 0), APR_EINVAL);
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "*.::1",
                                                 ACME_NAMES_WILDCARD), APR_EINVAL);
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "a..B", 0), APR_EINVAL);
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, "*.b.c", 0), APR_EINVAL);
    ck_assert_int_eq(acme_names_domain_normalize(&out, test_pool, ".", 0), APR_EINVAL);
    ck_assert_str_eq(out, "untouched");
}
END_TEST

START_TEST(host_lookup_normalizes_every_spelling)
{
    /* finding 1 of issue 16: a Host ".example.org" made the old lookup in
     * mod_acme_config.c write before its buffer; every odd spelling is
     * refused before any lookup now, the usual ones fold to the key */
    static const char *const bad[] = {
        "", ".", "..", "...", ".example.org", "..example.org", "a..example.org",
        ".a.example.org.", "a.example.org..", "*.example.org", "a b.example.org",
        "a/b.example.org", "a.example.org:443", "[a.example.org]", "-a.example.org",
        "\xc3\xa4.example.org", "fe80::1%eth0", "[::1",
    };
    apr_hash_t *names = apr_hash_make(test_pool);
    void *value = "untouched";
    const char *name = "untouched";
    size_t i;

    apr_hash_set(names, "example.org", APR_HASH_KEY_STRING, "apex");
    apr_hash_set(names, "*.example.org", APR_HASH_KEY_STRING, "wild");
    apr_hash_set(names, "a.example.org", APR_HASH_KEY_STRING, "a");
    apr_hash_set(names, "::1", APR_HASH_KEY_STRING, "v6");
    apr_hash_set(names, "*.org", APR_HASH_KEY_STRING, "tld");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        ck_assert_msg(acme_names_host_lookup(&value, &name, test_pool, names, bad[i])
                      == APR_EINVAL, "'%s'", bad[i]);
    }
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names, NULL),
                     APR_EINVAL);
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, NULL, "example.org"),
                     APR_EINVAL);
    /* too long: a label of 64, a name of 254, and far beyond any buffer */
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names,
                                            apr_pstrcat(test_pool, repeat('a', 64),
                                                        ".example.org", NULL)), APR_EINVAL);
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names,
                                            apr_pstrcat(test_pool, repeat('a', 63), ".",
                                                        repeat('b', 63), ".", repeat('c', 63),
                                                        ".", repeat('d', 50),
                                                        ".example.org", NULL)), APR_EINVAL);
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names,
                                            repeat('.', 5000)), APR_EINVAL);
    ck_assert_ptr_eq(value, "untouched");
    ck_assert_str_eq(name, "untouched");

    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names, "EXAMPLE.Org."),
                     APR_SUCCESS);
    ck_assert_str_eq(value, "apex");
    ck_assert_str_eq(name, "example.org");
    ck_assert_int_eq(acme_names_host_lookup(&value, NULL, test_pool, names, "A.example.org"),
                     APR_SUCCESS);
    ck_assert_str_eq(value, "a");
    /* the wildcard covers one label below, not two */
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names, "B.example.ORG"),
                     APR_SUCCESS);
    ck_assert_str_eq(value, "wild");
    ck_assert_str_eq(name, "b.example.org");
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names,
                                            "c.b.example.org"), APR_NOTFOUND);
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names, "other.test"),
                     APR_NOTFOUND);
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names, "localhost"),
                     APR_NOTFOUND);
    /* IPv6 in a Host header's brackets and any spelling; never a wildcard */
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names,
                                            "[0:0::0001]"), APR_SUCCESS);
    ck_assert_str_eq(value, "v6");
    ck_assert_str_eq(name, "::1");
    ck_assert_int_eq(acme_names_host_lookup(&value, &name, test_pool, names,
                                            "::ffff:192.0.2.1"), APR_NOTFOUND);
}
END_TEST

START_TEST(id_and_aspect_rules)
{
    static const char *const bad_ids[] = {"", ".hidden", "-x", "a/b", "..", "a..b", "a b",
                                          "a\x01", "a:b"};
    static const char *const bad_aspects[] = {"", ".x", "a/b", "../x", "..", "a..pem",
                                              "a\x01", "a\\b"};
    size_t i;

    ck_assert_int_eq(acme_names_check_id("ACME-pebble-0001"), APR_SUCCESS);
    ck_assert_int_eq(acme_names_check_id(repeat('x', ACME_NAMES_ID_MAX)), APR_SUCCESS);
    ck_assert_int_eq(acme_names_check_id(repeat('x', ACME_NAMES_ID_MAX + 1)), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_id(NULL), APR_EINVAL);
    for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); ++i) {
        ck_assert_msg(acme_names_check_id(bad_ids[i]) == APR_EINVAL, "'%s'", bad_ids[i]);
    }
    ck_assert_int_eq(acme_names_check_aspect("privkey.rsa2048.pem"), APR_SUCCESS);
    ck_assert_int_eq(acme_names_check_aspect("http-01.-_abcXYZ09"), APR_SUCCESS);
    ck_assert_int_eq(acme_names_check_aspect(repeat('a', ACME_NAMES_ASPECT_MAX)),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_names_check_aspect(repeat('a', ACME_NAMES_ASPECT_MAX + 1)),
                     APR_EINVAL);
    for (i = 0; i < sizeof(bad_aspects) / sizeof(bad_aspects[0]); ++i) {
        ck_assert_msg(acme_names_check_aspect(bad_aspects[i]) == APR_EINVAL, "'%s'",
                      bad_aspects[i]);
    }
}
END_TEST

START_TEST(token_is_base64url_without_padding)
{
    ck_assert_int_eq(acme_names_check_token("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_names_check_token(repeat('A', ACME_NAMES_TOKEN_MAX)), APR_SUCCESS);
    ck_assert_int_eq(acme_names_check_token(repeat('A', ACME_NAMES_TOKEN_MAX + 1)),
                     APR_EINVAL);
    ck_assert_int_eq(acme_names_check_token("abc="), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_token("a.b"), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_token("a/b"), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_token("a+b"), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_token(""), APR_EINVAL);
    ck_assert_int_eq(acme_names_check_token(NULL), APR_EINVAL);
}
END_TEST

START_TEST(wildcard_key_mapping_round_trips)
{
    const char *key = acme_names_domain_to_key(test_pool, "*.example.org");

    ck_assert_str_eq(key, "*.example.org");     /* mod_md's directory name */
    ck_assert_str_eq(acme_names_domain_from_key(test_pool, key, ACME_NAMES_WILDCARD),
                     "*.example.org");
    ck_assert_str_eq(acme_names_domain_to_key(test_pool, "a.example"), "a.example");
    ck_assert_str_eq(acme_names_domain_from_key(test_pool, "a.example", ACME_NAMES_WILDCARD),
                     "a.example");
    ck_assert_ptr_null(acme_names_domain_from_key(test_pool, key, 0));
    ck_assert_ptr_null(acme_names_domain_from_key(test_pool, "_x.example",
                                                  ACME_NAMES_WILDCARD));
    ck_assert_ptr_null(acme_names_domain_from_key(test_pool, ".tmp.1.2",
                                                  ACME_NAMES_WILDCARD));
}
END_TEST

START_TEST(printable_escapes_and_truncates)
{
    const char *s = acme_names_printable(test_pool, "a\nb\\c\x7f");

    ck_assert_str_eq(s, "a\\x0ab\\x5cc\\x7f");
    s = acme_names_printable(test_pool, repeat('z', 200));
    ck_assert_uint_eq(strlen(s), 83);
    ck_assert_str_eq(s + 80, "...");
    ck_assert_str_eq(acme_names_printable(test_pool, NULL), "(null)");
}
END_TEST

TCase *test_store_names_tcase(void)
{
    TCase *tc = tcase_create("names");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, domain_accepts_ldh_names);
    tcase_add_test(tc, domain_rejects_everything_else);
    tcase_add_test(tc, dns_check_flags_and_reasons);
    tcase_add_test(tc, domain_normalize_folds_case_and_trailing_dot);
    tcase_add_test(tc, host_lookup_normalizes_every_spelling);
    tcase_add_test(tc, id_and_aspect_rules);
    tcase_add_test(tc, token_is_base64url_without_padding);
    tcase_add_test(tc, wildcard_key_mapping_round_trips);
    tcase_add_test(tc, printable_escapes_and_truncates);
    return tc;
}
