/* Retry delays after errors (acme_backoff). */
#include <limits.h>

#include "acme_backoff.h"
#include "check_main.h"
#include "test_sched.h"

#define SEC(n) apr_time_from_sec(n)
#define T0 SEC(1735689600LL)
/* The random value that gives a jitter factor of exactly 1.0. */
#define MIDDLE 0x80000000u

START_TEST(doubling_until_cap)
{
    apr_interval_time_t expect = SEC(30);
    unsigned int n;

    for (n = 1; n <= 12; ++n) {
        ck_assert_msg(acme_backoff_delay(SEC(30), n, MIDDLE) == expect,
                      "error %u: %lld us", n, (long long)acme_backoff_delay(SEC(30), n, MIDDLE));
        expect *= 2;
    }
    /* 30s * 2^12 passes a day: capped from here on. */
    ck_assert(acme_backoff_delay(SEC(30), 13, MIDDLE) == ACME_BACKOFF_MAX);
    ck_assert(acme_backoff_delay(SEC(30), 20, MIDDLE) == ACME_BACKOFF_MAX);
    /* Another base doubles the same way. */
    ck_assert(acme_backoff_delay(SEC(5), 3, MIDDLE) == SEC(20));
}
END_TEST

START_TEST(huge_counts_and_bases)
{
    ck_assert(acme_backoff_delay(SEC(30), 64, MIDDLE) == ACME_BACKOFF_MAX);
    ck_assert(acme_backoff_delay(SEC(30), 1000, MIDDLE) == ACME_BACKOFF_MAX);
    ck_assert(acme_backoff_delay(SEC(30), UINT_MAX, MIDDLE) == ACME_BACKOFF_MAX);
    ck_assert(acme_backoff_delay(1, UINT_MAX, UINT32_MAX) < ACME_BACKOFF_MAX * 11 / 10);
    ck_assert(acme_backoff_delay(APR_INT64_MAX, 1, MIDDLE) == ACME_BACKOFF_MAX);
    ck_assert(acme_backoff_delay(APR_INT64_MAX, UINT_MAX, UINT32_MAX)
              < ACME_BACKOFF_MAX * 11 / 10);
}
END_TEST

START_TEST(defaults_and_floor)
{
    /* base <= 0: MDRetryDelay's default; errors 0 counts as the first. */
    ck_assert(acme_backoff_delay(0, 1, MIDDLE) == ACME_BACKOFF_BASE_DEFAULT);
    ck_assert(acme_backoff_delay(-SEC(5), 2, MIDDLE) == 2 * ACME_BACKOFF_BASE_DEFAULT);
    ck_assert(acme_backoff_delay(SEC(30), 0, MIDDLE) == SEC(30));
    /* Nothing tighter than a second, whatever the base and jitter. */
    ck_assert(acme_backoff_delay(1, 1, 0) == ACME_BACKOFF_MIN);
    ck_assert(acme_backoff_delay(500000, 1, 0) == ACME_BACKOFF_MIN);
    ck_assert(acme_backoff_delay(500000, 2, UINT32_MAX) > ACME_BACKOFF_MIN);
}
END_TEST

/* 0.9 * d <= delay < 1.1 * d over the whole range of random values, with the
 * ends reached, and the delay growing with the random value. */
START_TEST(jitter_bounds)
{
    const apr_interval_time_t d = SEC(240);
    apr_interval_time_t got, prev = 0, lo = APR_INT64_MAX, hi = 0;
    apr_uint64_t r;
    uint32_t x = 2463534242u;
    int i;

    ck_assert(acme_backoff_delay(SEC(30), 4, 0) == d * 9 / 10);
    got = acme_backoff_delay(SEC(30), 4, UINT32_MAX);
    ck_assert(got < d * 11 / 10 && got > d * 11 / 10 - SEC(1) / 100);
    for (r = 0; r <= UINT32_MAX; r += 0x01000000u) {
        got = acme_backoff_delay(SEC(30), 4, (uint32_t)r);
        ck_assert(got >= prev);
        prev = got;
    }
    for (i = 0; i < 10000; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        got = acme_backoff_delay(SEC(30), 4, x);
        lo = got < lo ? got : lo;
        hi = got > hi ? got : hi;
    }
    ck_assert(lo >= d * 9 / 10 && hi < d * 11 / 10);
    /* 10,000 draws spread over most of the 20% range. */
    ck_assert(lo < d * 91 / 100 && hi > d * 109 / 100);
    /* At the cap the jitter still spreads. */
    ck_assert(acme_backoff_delay(SEC(30), 100, 0) == ACME_BACKOFF_MAX * 9 / 10);
}
END_TEST

START_TEST(retry_after_respected)
{
    apr_time_t at;

    at = acme_backoff_retry_at(T0, SEC(30), 1, 0, MIDDLE);
    ck_assert(at == T0 + SEC(30));
    /* The CA asks for more: never earlier than that. */
    at = acme_backoff_retry_at(T0, SEC(30), 1, T0 + SEC(3600), MIDDLE);
    ck_assert(at == T0 + SEC(3600));
    /* The CA asks for less than our backoff: the backoff wins. */
    at = acme_backoff_retry_at(T0, SEC(30), 5, T0 + SEC(10), MIDDLE);
    ck_assert(at == T0 + SEC(480));
    /* A Retry-After in the past changes nothing. */
    at = acme_backoff_retry_at(T0, SEC(30), 1, T0 - SEC(10), MIDDLE);
    ck_assert(at == T0 + SEC(30));
    /* Beyond the one-day cap too: the CA's word counts. */
    at = acme_backoff_retry_at(T0, SEC(30), 1, T0 + SEC(3 * 86400), 0);
    ck_assert(at == T0 + SEC(3 * 86400));
}
END_TEST

TCase *test_sched_backoff_tcase(void)
{
    TCase *tc = tcase_create("backoff");

    tcase_add_test(tc, doubling_until_cap);
    tcase_add_test(tc, huge_counts_and_bases);
    tcase_add_test(tc, defaults_and_floor);
    tcase_add_test(tc, jitter_bounds);
    tcase_add_test(tc, retry_after_respected);
    return tc;
}
