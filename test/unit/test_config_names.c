/* DNS names, email addresses, URLs and CA names. */
#include <string.h>

#include "acme_config_value.h"
#include "check_main.h"
#include "test_config.h"

#define NELTS(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct {
    const char *text;
    int ok;
} text_case_t;

static const text_case_t dns_cases[] = {
    { "example.org", 1 },
    { "www.Example.ORG", 1 },
    { "*.example.org", 1 },
    { "localhost", 1 },
    { "xn--bcher-kva.example", 1 },
    { "a-b.c0.example", 1 },
    { "", 0 },
    { "*", 0 },
    { "*.org", 0 },
    { "a.*.example.org", 0 },
    { "*example.org", 0 },
    { "**.example.org", 0 },
    { "example..org", 0 },
    { ".example.org", 0 },
    { "example.org.", 0 },
    { "-a.example.org", 0 },
    { "a-.example.org", 0 },
    { "a_b.example.org", 0 },
    { "a b.example.org", 0 },
    { "b\xc3\xbc" "cher.example", 0 },
    { "example.org:443", 0 },
    { "a.example.3", 0 },
    { "1.2.3.999", 0 },
    { "192.0.2.1", 1 },
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org", 0 },
};

START_TEST(dns_name_table)
{
    const text_case_t *c = &dns_cases[_i];
    const char *why = NULL;
    apr_status_t rv = acme_config_dns_name_check(c->text, &why);

    ck_assert_msg((rv == APR_SUCCESS) == c->ok, "'%s': rv %d (%s)", c->text, rv,
                  why ? why : "");
    if (!c->ok) {
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

START_TEST(dns_name_length_limits)
{
    char name[300];
    int i;

    /* 4 labels of 63 + 3 dots = 255 > 253 */
    for (i = 0; i < 4; ++i) {
        memset(name + i * 64, 'a', 63);
        name[i * 64 + 63] = '.';
    }
    name[4 * 64 - 1] = '\0';
    ck_assert_int_eq(acme_config_dns_name_check(name, NULL), APR_EINVAL);
    name[250] = '\0';   /* ends inside the 4th label: 250 characters */
    ck_assert_int_eq(acme_config_dns_name_check(name, NULL), APR_SUCCESS);
    memset(name, 'a', 63);
    strcpy(name + 63, ".org");
    ck_assert_int_eq(acme_config_dns_name_check(name, NULL), APR_SUCCESS);
}
END_TEST

/* MDomain names: DNS names and IP addresses (RFC 8738) in one spelling. */
static const struct {
    const char *text;
    const char *want;   /* NULL: rejected */
    const char *why;    /* a phrase of the reason */
} identifier_cases[] = {
    { "Www.Example.ORG", "www.example.org", NULL },
    { "*.Example.org", "*.example.org", NULL },
    { "127.0.0.1", "127.0.0.1", NULL },
    { "::1", "::1", NULL },
    { "[::1]", "::1", NULL },
    { "[0:0:0:0:0:0:0:1]", "::1", NULL },
    { "2001:DB8:0:0::0001", "2001:db8::1", NULL },
    { "::ffff:192.0.2.1", "::ffff:192.0.2.1", NULL },
    { "fe80::1%eth0", NULL, "with a zone" },
    { "[fe80::1%25eth0]", NULL, "with a zone" },
    { "[::1", NULL, "needs its ']'" },
    { "[]", NULL, "needs its ']'" },
    { "::1]", NULL, "neither a DNS name nor an IP address" },
    { "1:2:3", NULL, "neither a DNS name nor an IP address" },
    { "::1/128", NULL, "neither a DNS name nor an IP address" },
    { "example.org:443", NULL, "neither a DNS name nor an IP address" },
    { "*.::1", NULL, "neither a DNS name nor an IP address" },
    { "*.0.0.1", NULL, "wildcard on an IP address" },
    { "*.192.0.2.1", NULL, "wildcard on an IP address" },
    { "*.example.org:1", NULL, "neither a DNS name nor an IP address" },
    { "a_b.example", NULL, "not a DNS name" },
};

START_TEST(identifier_table)
{
    const char *out = "untouched", *why = NULL;
    apr_status_t rv;

    rv = acme_config_identifier_parse(&out, test_pool, identifier_cases[_i].text, &why);
    if (identifier_cases[_i].want) {
        ck_assert_msg(rv == APR_SUCCESS, "%s: %s", identifier_cases[_i].text, why);
        ck_assert_str_eq(out, identifier_cases[_i].want);
    }
    else {
        ck_assert_msg(rv == APR_EINVAL, "%s accepted", identifier_cases[_i].text);
        ck_assert_str_eq(out, "untouched");
        ck_assert_msg(why && strstr(why, identifier_cases[_i].why), "%s: %s",
                      identifier_cases[_i].text, why ? why : "(no reason)");
    }
}
END_TEST

static const text_case_t email_cases[] = {
    { "admin@example.org", 1 },
    { "mailto:admin@example.org", 1 },
    { "MAILTO:first.last+acme@mail.example.org", 1 },
    { "o'brien@example.org", 1 },
    { "admin@localhost", 0 },
    { "admin", 0 },
    { "@example.org", 0 },
    { "admin@", 0 },
    { "a@b@example.org", 0 },
    { ".admin@example.org", 0 },
    { "admin.@example.org", 0 },
    { "ad..min@example.org", 0 },
    { "ad min@example.org", 0 },
    { "admin@exa mple.org", 0 },
    { "admin@*.example.org", 0 },
    { "admin@example..org", 0 },
    { "<admin@example.org>", 0 },
    { "", 0 },
};

START_TEST(email_table)
{
    const text_case_t *c = &email_cases[_i];
    const char *email = NULL, *why = NULL;
    apr_status_t rv = acme_config_email_parse(&email, test_pool, c->text, &why);

    ck_assert_msg((rv == APR_SUCCESS) == c->ok, "'%s': rv %d (%s)", c->text, rv,
                  why ? why : "");
    if (c->ok) {
        ck_assert_ptr_nonnull(email);
        ck_assert_ptr_null(strchr(email, ':'));
        ck_assert_ptr_nonnull(strstr(c->text, email));
    }
    else {
        ck_assert_ptr_null(email);
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

START_TEST(url_checks)
{
    const char *why = NULL;

    ck_assert_int_eq(acme_config_url_check(test_pool, "https://ca.example/dir", 1, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_config_url_check(test_pool, "http://proxy.example:3128", 0, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_config_url_check(test_pool, "http://proxy.example:3128", 1, &why),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "https:"));
    ck_assert_int_eq(acme_config_url_check(test_pool, "ftp://ca.example/", 0, NULL),
                     APR_EINVAL);
    ck_assert_int_eq(acme_config_url_check(test_pool, "ca.example/dir", 0, NULL), APR_EINVAL);
    ck_assert_int_eq(acme_config_url_check(test_pool, "https:///dir", 0, NULL), APR_EINVAL);
    ck_assert_int_eq(acme_config_url_check(test_pool, "https://ca example/", 0, &why),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "white space"));
    ck_assert_int_eq(acme_config_url_check(test_pool, "", 0, NULL), APR_EINVAL);
}
END_TEST

typedef struct {
    const char *name;
    const char *url;
} ca_case_t;

static const ca_case_t ca_cases[] = {
    { "LetsEncrypt", "https://acme-v02.api.letsencrypt.org/directory" },
    { "letsencrypt", "https://acme-v02.api.letsencrypt.org/directory" },
    { "LetsEncrypt-Test", "https://acme-staging-v02.api.letsencrypt.org/directory" },
    { "Buypass", "https://api.buypass.com/acme/directory" },
    { "BUYPASS-TEST", "https://api.test4.buypass.no/acme/directory" },
    { "https://localhost:14000/dir", "https://localhost:14000/dir" },
    { "http://127.0.0.1:4000/directory", "http://127.0.0.1:4000/directory" },
    { "LetsEncrypt-Staging", NULL },
    { "ZeroSSL", NULL },
    { "acme-v02.api.letsencrypt.org/directory", NULL },
    { "", NULL },
};

START_TEST(ca_table)
{
    const ca_case_t *c = &ca_cases[_i];
    const char *url = NULL, *why = NULL;
    apr_status_t rv = acme_config_ca_resolve(&url, test_pool, c->name, &why);

    if (c->url) {
        ck_assert_msg(rv == APR_SUCCESS, "'%s' rejected: %s", c->name, why);
        ck_assert_str_eq(url, c->url);
    }
    else {
        ck_assert_msg(rv == APR_EINVAL, "'%s' accepted", c->name);
        ck_assert_ptr_null(url);
        ck_assert_ptr_nonnull(strstr(why, "LetsEncrypt, LetsEncrypt-Test, Buypass"));
    }
}
END_TEST

START_TEST(ca_known_names_only_by_name)
{
    ck_assert_str_eq(acme_config_ca_known_url("letsencrypt-test"), ACME_CONFIG_CA_LE_TEST);
    ck_assert_ptr_null(acme_config_ca_known_url(ACME_CONFIG_CA_LE));
    ck_assert_ptr_null(acme_config_ca_known_url(NULL));
    ck_assert_str_eq(ACME_CONFIG_CA_DEFAULT, ACME_CONFIG_CA_LE);
}
END_TEST

TCase *test_config_names_tcase(void)
{
    TCase *tc = tcase_create("names");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_loop_test(tc, dns_name_table, 0, NELTS(dns_cases));
    tcase_add_test(tc, dns_name_length_limits);
    tcase_add_loop_test(tc, identifier_table, 0, NELTS(identifier_cases));
    tcase_add_loop_test(tc, email_table, 0, NELTS(email_cases));
    tcase_add_test(tc, url_checks);
    tcase_add_loop_test(tc, ca_table, 0, NELTS(ca_cases));
    tcase_add_test(tc, ca_known_names_only_by_name);
    return tc;
}
