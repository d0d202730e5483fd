/* acme_headers: Retry-After, Link, media types. */
#include <string.h>

#include <apr_date.h>
#include <apr_strings.h>

#include "acme_headers.h"
#include "check_main.h"
#include "test_http.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC 9110 example date. */
static apr_time_t rfc_date(void)
{
    return apr_date_parse_http("Sun, 06 Nov 1994 08:49:37 GMT");
}

START_TEST(retry_after_delta_seconds)
{
    apr_time_t now = rfc_date(), at;

    ck_assert_int_eq(acme_headers_parse_retry_after(&at, "120", now), APR_SUCCESS);
    ck_assert(at == now + apr_time_from_sec(120));
    ck_assert_int_eq(acme_headers_parse_retry_after(&at, "  0 \t", now), APR_SUCCESS);
    ck_assert(at == now);
    /* Clamped to a day, also for numbers that would overflow. */
    ck_assert_int_eq(acme_headers_parse_retry_after(&at, "86401", now), APR_SUCCESS);
    ck_assert(at == now + ACME_RETRY_AFTER_MAX);
    ck_assert_int_eq(acme_headers_parse_retry_after(
                         &at, "99999999999999999999999999999999", now), APR_SUCCESS);
    ck_assert(at == now + ACME_RETRY_AFTER_MAX);
    ck_assert_int_eq(acme_headers_parse_retry_after(&at, "86400", now), APR_SUCCESS);
    ck_assert(at == now + apr_time_from_sec(86400));
}
END_TEST

START_TEST(retry_after_http_dates)
{
    apr_time_t now = rfc_date() - apr_time_from_sec(60), at;

    /* The three formats RFC 9110 5.6.7 makes recipients accept. */
    ck_assert_int_eq(acme_headers_parse_retry_after(&at, "Sun, 06 Nov 1994 08:49:37 GMT",
                                                    now), APR_SUCCESS);
    ck_assert(at == now + apr_time_from_sec(60));
    ck_assert_int_eq(acme_headers_parse_retry_after(&at, "Sunday, 06-Nov-94 08:49:37 GMT",
                                                    now), APR_SUCCESS);
    ck_assert(at == now + apr_time_from_sec(60));
    ck_assert_int_eq(acme_headers_parse_retry_after(&at, "Sun Nov  6 08:49:37 1994", now),
                     APR_SUCCESS);
    ck_assert(at == now + apr_time_from_sec(60));
    /* Far future: clamped. */
    ck_assert_int_eq(acme_headers_parse_retry_after(&at, "Fri, 01 Jan 2100 00:00:00 GMT",
                                                    now), APR_SUCCESS);
    ck_assert(at == now + ACME_RETRY_AFTER_MAX);
}
END_TEST

START_TEST(retry_after_past_date_means_now)
{
    apr_time_t now = rfc_date() + apr_time_from_sec(3600), at;

    ck_assert_int_eq(acme_headers_parse_retry_after(&at, "Sun, 06 Nov 1994 08:49:37 GMT",
                                                    now), APR_SUCCESS);
    ck_assert(at == now);
}
END_TEST

START_TEST(retry_after_garbage)
{
    static const char *garbage[] = {
        "", "   ", "-5", "1.5", "12abc", "soon", "Sun, 06 Nov 1994",
        "Sun, 32 Nov 1994 08:49:37 GMT", "+10",
        "Sun, 06 Nov 1994 08:49:37 GMT and a lot of trailing text that makes it too long",
    };
    apr_time_t now = rfc_date(), at;
    apr_size_t i;

    for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); ++i) {
        at = 1;
        ck_assert_msg(acme_headers_parse_retry_after(&at, garbage[i], now) == APR_EINVAL,
                      "'%s' accepted", garbage[i]);
        ck_assert(at == 0);
    }
    ck_assert_int_eq(acme_headers_parse_retry_after(&at, NULL, now), APR_EINVAL);
}
END_TEST

START_TEST(retry_at_from_table)
{
    apr_table_t *h = apr_table_make(test_pool, 2);
    apr_time_t now = rfc_date();

    ck_assert(acme_headers_retry_at(h, now) == 0);
    apr_table_set(h, "retry-after", "30");
    ck_assert(acme_headers_retry_at(h, now) == now + apr_time_from_sec(30));
    apr_table_set(h, "Retry-After", "whenever");
    ck_assert(acme_headers_retry_at(h, now) == 0);
}
END_TEST

static apr_array_header_t *links(apr_table_t *h, const char *rel, const char *base)
{
    apr_array_header_t *urls = NULL;

    acme_headers_links(&urls, test_pool, h, rel, base);
    ck_assert_ptr_nonnull(urls);
    return urls;
}

#define URL(arr, i) APR_ARRAY_IDX(arr, i, const char *)

START_TEST(link_multiple_headers_and_values)
{
    apr_table_t *h = apr_table_make(test_pool, 4);
    apr_array_header_t *u;

    /* As boulder and pebble send them: one header per link... */
    apr_table_add(h, "Link", "<https://ca.example/dir>;rel=\"index\"");
    apr_table_add(h, "Link", "<https://ca.example/cert/1/1>;rel=\"alternate\"");
    /* ...and as RFC 8288 also allows: several links in one header. */
    apr_table_add(h, "link", "<https://ca.example/cert/1/2>; rel=\"alternate\", "
                             "<https://ca.example/issuer>; rel=up");
    u = links(h, "alternate", NULL);
    ck_assert_int_eq(u->nelts, 2);
    ck_assert_str_eq(URL(u, 0), "https://ca.example/cert/1/1");
    ck_assert_str_eq(URL(u, 1), "https://ca.example/cert/1/2");
    u = links(h, "up", NULL);
    ck_assert_int_eq(u->nelts, 1);
    ck_assert_str_eq(URL(u, 0), "https://ca.example/issuer");
    u = links(h, "INDEX", NULL);
    ck_assert_int_eq(u->nelts, 1);
    ck_assert_int_eq(links(h, "terms-of-service", NULL)->nelts, 0);
    ck_assert_int_eq(links(apr_table_make(test_pool, 1), "up", NULL)->nelts, 0);
}
END_TEST

START_TEST(link_odd_spacing_params_and_quoting)
{
    apr_array_header_t *u = apr_array_make(test_pool, 4, sizeof(const char *));

    acme_headers_parse_links(u, test_pool,
        "  <https://a.example/1>  ;  title=\"x, y; z\"  ;rel = \"up\"\t,"
        "<https://a.example/2,with,commas>;REL=up;foo,"
        ",  ,<https://a.example/3>;rel=\"alternate up\","
        "<https://a.example/4>;rel=\"upper\","
        "<https://a.example/5>;rel=\"alternate\";rel=\"up\","
        "<https://a.example/6>;title=\"quoted \\\" quote\";rel=up",
        "up", NULL);
    ck_assert_int_eq(u->nelts, 4);
    ck_assert_str_eq(URL(u, 0), "https://a.example/1");
    ck_assert_str_eq(URL(u, 1), "https://a.example/2,with,commas");
    ck_assert_str_eq(URL(u, 2), "https://a.example/3");
    ck_assert_str_eq(URL(u, 3), "https://a.example/6");
}
END_TEST

START_TEST(link_malformed_values_are_skipped)
{
    apr_array_header_t *u = apr_array_make(test_pool, 4, sizeof(const char *));

    acme_headers_parse_links(u, test_pool,
        "https://no-brackets.example/;rel=up, "
        "<https://a.example/ok1>;rel=up, "
        "<https://a.example/unterminated;rel=up", "up", NULL);
    ck_assert_int_eq(u->nelts, 1);
    ck_assert_str_eq(URL(u, 0), "https://a.example/ok1");
    apr_array_clear(u);
    acme_headers_parse_links(u, test_pool,
        "<https://a.example/q>;title=\"never closed;rel=up, <https://a.example/ok2>;rel=up",
        "up", NULL);
    ck_assert_int_eq(u->nelts, 0);
    acme_headers_parse_links(u, test_pool,
        "<https://a.example/junk> junk;rel=up, <https://a.example/ok3>;rel=up", "up", NULL);
    ck_assert_int_eq(u->nelts, 1);
    ck_assert_str_eq(URL(u, 0), "https://a.example/ok3");
    acme_headers_parse_links(u, test_pool, NULL, "up", NULL);
    acme_headers_parse_links(u, test_pool, "", "up", NULL);
    acme_headers_parse_links(u, test_pool, ",,, ;;; <", "up", NULL);
    ck_assert_int_eq(u->nelts, 1);
}
END_TEST

START_TEST(link_relative_references)
{
    apr_array_header_t *u = apr_array_make(test_pool, 4, sizeof(const char *));
    const char *base = "https://ca.example:14000/acme/cert/abc?x=1";

    acme_headers_parse_links(u, test_pool,
        "</acme/issuer>;rel=up, <alt/2>;rel=up, <//cdn.example/i>;rel=up,"
        " <?page=2>;rel=up, <http://other.example/i>;rel=up", "up", base);
    ck_assert_int_eq(u->nelts, 5);
    ck_assert_str_eq(URL(u, 0), "https://ca.example:14000/acme/issuer");
    ck_assert_str_eq(URL(u, 1), "https://ca.example:14000/acme/cert/alt/2");
    ck_assert_str_eq(URL(u, 2), "https://cdn.example/i");
    ck_assert_str_eq(URL(u, 3), "https://ca.example:14000/acme/cert/abc?page=2");
    ck_assert_str_eq(URL(u, 4), "http://other.example/i");
    apr_array_clear(u);
    acme_headers_parse_links(u, test_pool, "<rel>;rel=up", "up", "https://ca.example");
    ck_assert_int_eq(u->nelts, 1);
    ck_assert_str_eq(URL(u, 0), "https://ca.example/rel");
    /* Without a base, relative references cannot be used. */
    apr_array_clear(u);
    acme_headers_parse_links(u, test_pool, "</acme/issuer>;rel=up", "up", NULL);
    ck_assert_int_eq(u->nelts, 0);
}
END_TEST

START_TEST(media_types)
{
    ck_assert(acme_headers_media_type_is("application/json", "application/json"));
    ck_assert(acme_headers_media_type_is("Application/JSON; charset=utf-8",
                                         "application/json"));
    ck_assert(acme_headers_media_type_is("  application/problem+json  ;x=y",
                                         "application/problem+json"));
    ck_assert(acme_headers_media_type_is("application/pem-certificate-chain",
                                         "application/pem-certificate-chain"));
    ck_assert(!acme_headers_media_type_is("application/problem+json", "application/json"));
    ck_assert(!acme_headers_media_type_is("application/jsonx", "application/json"));
    ck_assert(!acme_headers_media_type_is("application/jso", "application/json"));
    ck_assert(!acme_headers_media_type_is("text/html", "application/json"));
    ck_assert(!acme_headers_media_type_is("", "application/json"));
    ck_assert(!acme_headers_media_type_is(NULL, "application/json"));
}
END_TEST

TCase *test_http_headers_tcase(void)
{
    TCase *tc = tcase_create("headers");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, retry_after_delta_seconds);
    tcase_add_test(tc, retry_after_http_dates);
    tcase_add_test(tc, retry_after_past_date_means_now);
    tcase_add_test(tc, retry_after_garbage);
    tcase_add_test(tc, retry_at_from_table);
    tcase_add_test(tc, link_multiple_headers_and_values);
    tcase_add_test(tc, link_odd_spacing_params_and_quoting);
    tcase_add_test(tc, link_malformed_values_are_skipped);
    tcase_add_test(tc, link_relative_references);
    tcase_add_test(tc, media_types);
    return tc;
}
