/* Key type lists, challenge type lists and external account binding. */
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "acme_config_value.h"
#include "check_main.h"
#include "test_config.h"

#define NELTS(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define MAX_ARGS 4

typedef struct {
    const char *argv[MAX_ARGS];   /* NULL-terminated */
    apr_status_t rv;
    const char *specs;            /* joined by ',' on success */
    int bad;                      /* index of the offending argument on error */
} keys_case_t;

static const keys_case_t keys_cases[] = {
    { { "RSA", NULL }, APR_SUCCESS, "rsa2048", 0 },
    { { "Default", NULL }, APR_SUCCESS, "rsa2048", 0 },
    { { "RSA", "4096", NULL }, APR_SUCCESS, "rsa4096", 0 },
    { { "rsa3072", NULL }, APR_SUCCESS, "rsa3072", 0 },
    { { "secp256r1", "RSA", "3072", NULL }, APR_SUCCESS, "P-256,rsa3072", 0 },
    { { "P-256", "p-384", "rsa8192", NULL }, APR_SUCCESS, "P-256,P-384,rsa8192", 0 },
    { { "RSA", "P-384", NULL }, APR_SUCCESS, "rsa2048,P-384", 0 },
    { { "RSA", "1024", NULL }, ACME_CONFIG_ERANGE, NULL, 1 },
    { { "rsa1024", NULL }, ACME_CONFIG_ERANGE, NULL, 0 },
    { { "rsa16384", NULL }, ACME_CONFIG_ERANGE, NULL, 0 },
    { { "rsa99999999999999999999", NULL }, ACME_CONFIG_ERANGE, NULL, 0 },
    { { "RSA", "rsa4096", NULL }, APR_EINVAL, NULL, 1 },
    { { "secp256r1", "P-256", NULL }, APR_EINVAL, NULL, 1 },
    { { "Default", "RSA", NULL }, APR_EINVAL, NULL, 0 },
    { { "secp521r1", NULL }, APR_EINVAL, NULL, 0 },
    { { "ed25519", NULL }, APR_EINVAL, NULL, 0 },
    { { "RSA", "4096", "2048", NULL }, APR_EINVAL, NULL, 2 },
    { { "rsa", NULL }, APR_SUCCESS, "rsa2048", 0 },
    { { "rsa2048", "RSA", "4096", NULL }, APR_EINVAL, NULL, 2 },
    { { "prime256v1", "rsa4096", NULL }, APR_SUCCESS, "P-256,rsa4096", 0 },
};

static int argv_count(const char *const *argv)
{
    int n = 0;
    while (n < MAX_ARGS && argv[n]) {
        ++n;
    }
    return n;
}

static const char *array_join(const apr_array_header_t *a)
{
    const char *s = "";
    int i;
    for (i = 0; i < a->nelts; ++i) {
        s = apr_pstrcat(test_pool, s, i ? "," : "", APR_ARRAY_IDX(a, i, const char *), NULL);
    }
    return s;
}

static const char *specs_join(const apr_array_header_t *a)
{
    const char *s = "";
    int i;
    for (i = 0; i < a->nelts; ++i) {
        s = apr_pstrcat(test_pool, s, i ? "," : "",
                        acme_pkey_spec_name(test_pool, &APR_ARRAY_IDX(a, i, acme_pkey_spec_t)),
                        NULL);
    }
    return s;
}

START_TEST(keyspecs_table)
{
    const keys_case_t *c = &keys_cases[_i];
    apr_array_header_t *specs = NULL;
    const char *why = NULL;
    int bad = -1;
    apr_status_t rv = acme_config_keyspecs_parse(&specs, test_pool, argv_count(c->argv),
                                                 c->argv, &bad, &why);

    ck_assert_msg(rv == c->rv, "case %d: rv %d, expected %d (%s)", _i, rv, c->rv,
                  why ? why : "");
    if (rv == APR_SUCCESS) {
        ck_assert_str_eq(specs_join(specs), c->specs);
    }
    else {
        ck_assert_ptr_null(specs);
        ck_assert_int_eq(bad, c->bad);
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

START_TEST(keyspecs_empty_list)
{
    apr_array_header_t *specs = NULL;
    int bad = -1;

    ck_assert_int_eq(acme_config_keyspecs_parse(&specs, test_pool, 0, NULL, &bad, NULL),
                     APR_EINVAL);
    ck_assert_int_eq(bad, 0);
}
END_TEST

typedef struct {
    const char *argv[MAX_ARGS];
    apr_status_t rv;
    const char *types;
    int bad;
} challenges_case_t;

static const challenges_case_t challenges_cases[] = {
    { { "http-01", NULL }, APR_SUCCESS, "http-01", 0 },
    { { "TLS-ALPN-01", "http-01", NULL }, APR_SUCCESS, "tls-alpn-01,http-01", 0 },
    { { "dns-01", "http-01", NULL }, APR_SUCCESS, "dns-01,http-01", 0 },
    { { "dns-01", NULL }, APR_SUCCESS, "dns-01", 0 },
    { { "http-01", "http-01", NULL }, APR_EINVAL, NULL, 1 },
    { { "http-01", "tls-sni-01", NULL }, APR_EINVAL, NULL, 1 },
    { { "http", NULL }, APR_EINVAL, NULL, 0 },
    { { NULL }, APR_EINVAL, NULL, 0 },
};

START_TEST(challenges_table)
{
    const challenges_case_t *c = &challenges_cases[_i];
    apr_array_header_t *types = NULL;
    const char *why = NULL;
    int bad = -1;
    apr_status_t rv = acme_config_challenges_parse(&types, test_pool, argv_count(c->argv),
                                                   c->argv, &bad, &why);

    ck_assert_msg(rv == c->rv, "case %d: rv %d, expected %d", _i, rv, c->rv);
    if (rv == APR_SUCCESS) {
        ck_assert_str_eq(array_join(types), c->types);
    }
    else {
        ck_assert_ptr_null(types);
        ck_assert_int_eq(bad, c->bad);
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

#define HMAC_OK "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"

START_TEST(eab_check_values)
{
    const char *why = NULL;

    ck_assert_int_eq(acme_config_eab_check("kid-1", HMAC_OK, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_config_eab_check("kid-1", "AAAAAAAAAAAAAAAAAAAAAA==", NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_config_eab_check("", HMAC_OK, NULL), APR_EINVAL);
    ck_assert_int_eq(acme_config_eab_check("kid 1", HMAC_OK, NULL), APR_EINVAL);
    ck_assert_int_eq(acme_config_eab_check("kid-1", "c2hvcnQ", &why), ACME_CONFIG_ERANGE);
    ck_assert_ptr_nonnull(strstr(why, "16 bytes"));
    ck_assert_int_eq(acme_config_eab_check("kid-1", "not+base64url/at=all====", &why),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "base64url"));
    ck_assert_ptr_null(strstr(why, "not+base64url"));
    ck_assert_int_eq(acme_config_eab_check("kid-1", "", NULL), APR_EINVAL);
    ck_assert_int_eq(acme_config_eab_check("kid-1", NULL, NULL), APR_EINVAL);
}
END_TEST

static const char *write_temp(const char *content)
{
    const char *dir = NULL;
    char *path;
    apr_file_t *f;
    apr_size_t len = strlen(content);

    ck_assert_int_eq(apr_temp_dir_get(&dir, test_pool), APR_SUCCESS);
    path = apr_pstrcat(test_pool, dir, "/check_config_XXXXXX", NULL);
    ck_assert_int_eq(apr_file_mktemp(&f, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                                     | APR_FOPEN_EXCL | APR_FOPEN_DELONCLOSE, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_write_full(f, content, len, NULL), APR_SUCCESS);
    apr_file_flush(f);
    return path;   /* deleted when test_pool goes */
}

START_TEST(eab_file_read)
{
    const char *kid = NULL, *hmac = NULL, *why = NULL;
    const char *path = write_temp("{\"kid\": \"kid-1\", \"hmac\": \"" HMAC_OK "\"}");

    ck_assert_int_eq(acme_config_eab_file_read(&kid, &hmac, test_pool, path, &why),
                     APR_SUCCESS);
    ck_assert_str_eq(kid, "kid-1");
    ck_assert_str_eq(hmac, HMAC_OK);
}
END_TEST

START_TEST(eab_file_errors_never_show_the_hmac)
{
    const char *kid = NULL, *hmac = NULL, *why = NULL;
    const char *path = write_temp("{\"kid\": \"kid-1\", \"hmac\": SECRETSECRET}");

    ck_assert_int_eq(acme_config_eab_file_read(&kid, &hmac, test_pool, path, &why),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "line 1"));
    ck_assert_ptr_null(strstr(why, "SECRET"));
    ck_assert_ptr_null(kid);

    path = write_temp("{\"kid\": \"kid-1\"}");
    ck_assert_int_eq(acme_config_eab_file_read(&kid, &hmac, test_pool, path, &why),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "\"hmac\""));

    path = write_temp("{\"kid\": \"kid-1\", \"hmac\": \"SECRET\"}");
    ck_assert_int_eq(acme_config_eab_file_read(&kid, &hmac, test_pool, path, &why),
                     ACME_CONFIG_ERANGE);
    ck_assert_ptr_null(strstr(why, "SECRET"));

    ck_assert_int_eq(acme_config_eab_file_read(&kid, &hmac, test_pool,
                                               "/nonexistent/eab.json", &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "cannot be opened"));
    ck_assert_ptr_null(hmac);
}
END_TEST

TCase *test_config_lists_tcase(void)
{
    TCase *tc = tcase_create("lists");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_loop_test(tc, keyspecs_table, 0, NELTS(keys_cases));
    tcase_add_test(tc, keyspecs_empty_list);
    tcase_add_loop_test(tc, challenges_table, 0, NELTS(challenges_cases));
    tcase_add_test(tc, eab_check_values);
    tcase_add_test(tc, eab_file_read);
    tcase_add_test(tc, eab_file_errors_never_show_the_hmac);
    return tc;
}
