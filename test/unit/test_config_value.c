/* Durations, windows, flags, numbers and port maps. */
#include <string.h>

#include "acme_config_value.h"
#include "check_main.h"
#include "test_config.h"

#define SEC(n) apr_time_from_sec(n)

typedef struct {
    const char *text;
    apr_status_t rv;
    apr_interval_time_t value;  /* when rv == APR_SUCCESS */
    const char *why;            /* a part of the explanation otherwise */
} duration_case_t;

/* A bare number counts as days here, as for the windows. */
static const duration_case_t duration_cases[] = {
    { "30d", APR_SUCCESS, SEC(30 * 86400), NULL },
    { "12h", APR_SUCCESS, SEC(12 * 3600), NULL },
    { "10mi", APR_SUCCESS, SEC(600), NULL },
    { "45s", APR_SUCCESS, SEC(45), NULL },
    { "500ms", APR_SUCCESS, 500000, NULL },
    { "7", APR_SUCCESS, SEC(7 * 86400), NULL },
    { "0", APR_SUCCESS, 0, NULL },
    { "0s", APR_SUCCESS, 0, NULL },
    { "12H", APR_SUCCESS, SEC(12 * 3600), NULL },
    { "36500d", APR_SUCCESS, SEC(36500LL * 86400), NULL },
    /* mod_md reads "7days" (its docs' MDStaplingKeepResponse 7days) */
    { "7days", APR_SUCCESS, SEC(7 * 86400), NULL },
    { "1day", APR_SUCCESS, SEC(86400), NULL },
    { "7Days", APR_SUCCESS, SEC(7 * 86400), NULL },
    { "7dogs", APR_EINVAL, 0, "not a duration" },
    { "36501d", ACME_CONFIG_ERANGE, 0, "too long" },
    { "99999999999999999999999s", ACME_CONFIG_ERANGE, 0, "too long" },
    { "9223372036854775807ms", ACME_CONFIG_ERANGE, 0, "too long" },
    { "", APR_EINVAL, 0, "empty" },
    { "-5d", APR_EINVAL, 0, "negative" },
    { "+5d", APR_EINVAL, 0, "not a duration" },
    { "1.5d", APR_EINVAL, 0, "whole number" },
    { "40x", APR_EINVAL, 0, "not a duration" },
    { "10m", APR_EINVAL, 0, "10mi" },
    { "d", APR_EINVAL, 0, "not a duration" },
    { "30 d", APR_EINVAL, 0, "not a duration" },
    { " 30d", APR_EINVAL, 0, "not a duration" },
    { "30d5h", APR_EINVAL, 0, "not a duration" },
    { "33%", APR_EINVAL, 0, "not a duration" },
};

START_TEST(duration_table)
{
    const duration_case_t *c = &duration_cases[_i];
    apr_interval_time_t d = -1;
    const char *why = NULL;
    apr_status_t rv = acme_config_duration_parse(&d, c->text, ACME_CONFIG_DAY, &why);

    ck_assert_msg(rv == c->rv, "'%s': rv %d, expected %d", c->text, rv, c->rv);
    if (c->rv == APR_SUCCESS) {
        ck_assert_msg(d == c->value, "'%s': %lld", c->text, (long long)d);
    }
    else {
        ck_assert_msg(d == -1, "'%s': output written on error", c->text);
        ck_assert_msg(why && strstr(why, c->why), "'%s': why '%s'", c->text, why);
    }
}
END_TEST

START_TEST(duration_bare_unit_is_the_callers)
{
    apr_interval_time_t d;

    ck_assert_int_eq(acme_config_duration_parse(&d, "90", ACME_CONFIG_SECOND, NULL),
                     APR_SUCCESS);
    ck_assert(d == SEC(90));
    ck_assert_int_eq(acme_config_duration_parse(&d, NULL, ACME_CONFIG_SECOND, NULL),
                     APR_EINVAL);
}
END_TEST

typedef struct {
    const char *text;
    apr_status_t rv;
    int is_percent;
    int percent;
    apr_interval_time_t duration;
} window_case_t;

static const window_case_t window_cases[] = {
    { "33%", APR_SUCCESS, 1, 33, 0 },
    { "0%", APR_SUCCESS, 1, 0, 0 },
    { "99%", APR_SUCCESS, 1, 99, 0 },
    { "100%", ACME_CONFIG_ERANGE, 0, 0, 0 },
    { "101%", ACME_CONFIG_ERANGE, 0, 0, 0 },
    { "99999999999999999999%", ACME_CONFIG_ERANGE, 0, 0, 0 },
    { "-1%", APR_EINVAL, 0, 0, 0 },
    { "33.3%", APR_EINVAL, 0, 0, 0 },
    { "%", APR_EINVAL, 0, 0, 0 },
    { "3 %", APR_EINVAL, 0, 0, 0 },
    { "30d", APR_SUCCESS, 0, 0, SEC(30 * 86400) },
    { "21", APR_SUCCESS, 0, 0, SEC(21 * 86400) },
    { "40x", APR_EINVAL, 0, 0, 0 },
    { "", APR_EINVAL, 0, 0, 0 },
};

START_TEST(window_table)
{
    const window_case_t *c = &window_cases[_i];
    acme_config_window_t w = { 7, 7, 7 };
    apr_status_t rv = acme_config_window_parse(&w, c->text, ACME_CONFIG_DAY, NULL);

    ck_assert_msg(rv == c->rv, "'%s': rv %d, expected %d", c->text, rv, c->rv);
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(w.is_percent, c->is_percent);
        ck_assert_int_eq(w.percent, c->percent);
        ck_assert(w.duration == c->duration);
    }
    else {
        ck_assert_int_eq(w.percent, 7);
    }
}
END_TEST

START_TEST(window_error_names_both_shapes)
{
    acme_config_window_t w;
    const char *why = NULL;

    ck_assert_int_eq(acme_config_window_parse(&w, "40x", ACME_CONFIG_DAY, &why), APR_EINVAL);
    ck_assert_str_eq(why, "is not a duration or percentage; use e.g. 30d, 12h or 33%");
    ck_assert_int_eq(acme_config_window_parse(&w, "101%", ACME_CONFIG_DAY, &why),
                     ACME_CONFIG_ERANGE);
    ck_assert_ptr_nonnull(strstr(why, "below 100%"));
}
END_TEST

START_TEST(flag_values)
{
    int on = -1;

    ck_assert_int_eq(acme_config_flag_parse(&on, "on", NULL), APR_SUCCESS);
    ck_assert_int_eq(on, 1);
    ck_assert_int_eq(acme_config_flag_parse(&on, "OFF", NULL), APR_SUCCESS);
    ck_assert_int_eq(on, 0);
    ck_assert_int_eq(acme_config_flag_parse(&on, "yes", NULL), APR_EINVAL);
    ck_assert_int_eq(acme_config_flag_parse(&on, "", NULL), APR_EINVAL);
    ck_assert_int_eq(acme_config_flag_parse(&on, "on ", NULL), APR_EINVAL);
    ck_assert_int_eq(on, 0);
}
END_TEST

START_TEST(int_values)
{
    int n = -7;

    ck_assert_int_eq(acme_config_int_parse(&n, "13", 1, 100, NULL), APR_SUCCESS);
    ck_assert_int_eq(n, 13);
    ck_assert_int_eq(acme_config_int_parse(&n, "-3", -5, 5, NULL), APR_SUCCESS);
    ck_assert_int_eq(n, -3);
    ck_assert_int_eq(acme_config_int_parse(&n, "0", 1, 100, NULL), ACME_CONFIG_ERANGE);
    ck_assert_int_eq(acme_config_int_parse(&n, "-1", 0, 100, NULL), ACME_CONFIG_ERANGE);
    ck_assert_int_eq(acme_config_int_parse(&n, "101", 1, 100, NULL), ACME_CONFIG_ERANGE);
    ck_assert_int_eq(acme_config_int_parse(&n, "99999999999999999999", 1, 100, NULL),
                     ACME_CONFIG_ERANGE);
    ck_assert_int_eq(acme_config_int_parse(&n, "12a", 1, 100, NULL), APR_EINVAL);
    ck_assert_int_eq(acme_config_int_parse(&n, "", 1, 100, NULL), APR_EINVAL);
    ck_assert_int_eq(acme_config_int_parse(&n, "-", 1, 100, NULL), APR_EINVAL);
    ck_assert_int_eq(n, -3);
}
END_TEST

typedef struct {
    const char *text;
    apr_status_t rv;
    int public_port;
    int local_port;
} portmap_case_t;

static const portmap_case_t portmap_cases[] = {
    { "http:5002", APR_SUCCESS, 80, 5002 },
    { "https:5001", APR_SUCCESS, 443, 5001 },
    { "HTTPS:443", APR_SUCCESS, 443, 443 },
    { "80:8080", APR_SUCCESS, 80, 8080 },
    { "443:-", APR_SUCCESS, 443, 0 },
    { "http:-", APR_SUCCESS, 80, 0 },
    { "https:65535", APR_SUCCESS, 443, 65535 },
    { "https:65536", ACME_CONFIG_ERANGE, 0, 0 },
    { "http:0", ACME_CONFIG_ERANGE, 0, 0 },
    { "http:", ACME_CONFIG_ERANGE, 0, 0 },
    { "http:80x", ACME_CONFIG_ERANGE, 0, 0 },
    { "http:-1", ACME_CONFIG_ERANGE, 0, 0 },
    { "ftp:21", APR_EINVAL, 0, 0 },
    { "8080:80", APR_EINVAL, 0, 0 },
    { "5002", APR_EINVAL, 0, 0 },
    { "", APR_EINVAL, 0, 0 },
};

START_TEST(portmap_table)
{
    const portmap_case_t *c = &portmap_cases[_i];
    int pub = -1, local = -1;
    apr_status_t rv = acme_config_portmap_parse(&pub, &local, c->text, NULL);

    ck_assert_msg(rv == c->rv, "'%s': rv %d, expected %d", c->text, rv, c->rv);
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(pub, c->public_port);
        ck_assert_int_eq(local, c->local_port);
    }
    else {
        ck_assert_int_eq(pub, -1);
        ck_assert_int_eq(local, -1);
    }
}
END_TEST

#define NELTS(a) ((int)(sizeof(a) / sizeof((a)[0])))

TCase *test_config_value_tcase(void)
{
    TCase *tc = tcase_create("value");

    tcase_add_loop_test(tc, duration_table, 0, NELTS(duration_cases));
    tcase_add_test(tc, duration_bare_unit_is_the_callers);
    tcase_add_loop_test(tc, window_table, 0, NELTS(window_cases));
    tcase_add_test(tc, window_error_names_both_shapes);
    tcase_add_test(tc, flag_values);
    tcase_add_test(tc, int_values);
    tcase_add_loop_test(tc, portmap_table, 0, NELTS(portmap_cases));
    return tc;
}
