/* ARI suggested windows (RFC 9773) and the watchdog's wake-up time. */
#include "acme_schedule.h"
#include "check_main.h"
#include "test_sched.h"

#define SEC(n) apr_time_from_sec(n)
#define HOUR(n) SEC((apr_int64_t)(n) * 3600)
#define DAY(n) SEC((apr_int64_t)(n) * 86400)
/* 2025-01-01T00:00:00Z */
#define T0 SEC(1735689600LL)

/* A 90-day certificate issued at T0 with a 33% window (renewal at ~day 60)
 * and the CA's window [T0 + start, T0 + end). */
static acme_schedule_input_t ari_input(apr_interval_time_t start, apr_interval_time_t end,
                                       uint32_t random)
{
    acme_schedule_input_t in = { 0 };

    in.has_cert = 1;
    in.not_before = T0;
    in.not_after = T0 + DAY(90);
    in.renew_window.is_percent = 1;
    in.renew_window.percent = 33;
    in.warn_window.is_percent = 1;
    in.warn_window.percent = 10;
    in.has_ari = 1;
    in.ari_start = T0 + start;
    in.ari_end = T0 + end;
    in.ari_random = random;
    return in;
}

static acme_schedule_t compute_ok(const acme_schedule_input_t *in, apr_time_t now)
{
    acme_schedule_t s;

    ck_assert_int_eq(acme_schedule_compute(&s, in, now), APR_SUCCESS);
    return s;
}

START_TEST(ari_window_in_past_is_due)
{
    acme_schedule_input_t in = ari_input(DAY(10), DAY(11), 0x12345678u);
    acme_schedule_t s = compute_ok(&in, T0 + DAY(12));

    ck_assert_int_eq(s.state, ACME_SCHEDULE_DUE);
    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_ARI);
    ck_assert(s.renew_at == T0 + DAY(12));
    ck_assert_int_eq(s.ari_ignored, 0);
}
END_TEST

/* A window later than the configured one (the CA spreads load) is followed,
 * for any random value, and the point is never before start nor at end. */
START_TEST(ari_window_ahead)
{
    static const uint32_t randoms[] = { 0, 0x80000000u, UINT32_MAX, 1, 0x3fffffffu };
    const apr_interval_time_t span = DAY(2);
    acme_schedule_input_t in;
    acme_schedule_t s;
    size_t i;

    for (i = 0; i < sizeof(randoms) / sizeof(randoms[0]); ++i) {
        in = ari_input(DAY(70), DAY(72), randoms[i]);
        s = compute_ok(&in, T0 + DAY(1));
        ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
        ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_ARI);
        ck_assert_msg(s.renew_at >= in.ari_start && s.renew_at < in.ari_end,
                      "random %u: %lld", randoms[i], (long long)(s.renew_at - in.ari_start));
        /* The same input gives the same point: nothing re-rolls. */
        ck_assert(compute_ok(&in, T0 + DAY(2)).renew_at == s.renew_at);
    }
    in = ari_input(DAY(70), DAY(72), 0);
    ck_assert(compute_ok(&in, T0).renew_at == T0 + DAY(70));
    in = ari_input(DAY(70), DAY(72), 0x80000000u);
    ck_assert(compute_ok(&in, T0).renew_at == T0 + DAY(70) + span / 2);
    in = ari_input(DAY(70), DAY(72), UINT32_MAX);
    s = compute_ok(&in, T0);
    ck_assert(s.renew_at < in.ari_end && s.renew_at >= in.ari_end - span / 1000);
    /* Once the chosen point has passed, the domain is due. */
    in = ari_input(DAY(70), DAY(72), 0x80000000u);
    ck_assert_int_eq(compute_ok(&in, T0 + DAY(71)).state, ACME_SCHEDULE_DUE);
    ck_assert_int_eq(compute_ok(&in, T0 + DAY(71) - 1).state, ACME_SCHEDULE_NOT_DUE);
}
END_TEST

/* An earlier window (e.g. the CA will revoke) makes the renewal earlier. */
START_TEST(ari_window_early)
{
    acme_schedule_input_t in = ari_input(DAY(5), DAY(6), 0);
    acme_schedule_t s = compute_ok(&in, T0 + DAY(1));

    ck_assert(s.renew_at == T0 + DAY(5));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
    s = compute_ok(&in, T0 + DAY(5) + HOUR(1));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_DUE);
    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_ARI);
}
END_TEST

typedef struct {
    const char *what;
    apr_time_t start, end;  /* absolute */
} ari_bad_t;

static const ari_bad_t ari_bad[] = {
    { "end == start", T0 + DAY(70), T0 + DAY(70) },
    { "end < start", T0 + DAY(72), T0 + DAY(70) },
    { "starts at notAfter", T0 + DAY(90), T0 + DAY(95) },
    { "starts after notAfter", T0 + DAY(100), T0 + DAY(101) },
    { "end out of range", T0 + DAY(70), ACME_SCHEDULE_TIME_MAX + 1 },
    { "start out of range", -ACME_SCHEDULE_TIME_MAX - 1, T0 + DAY(70) },
    /* the window of the predecessor, kept by mistake: it would make every
     * new certificate due at once */
    { "ended before notBefore", T0 - DAY(30), T0 - DAY(28) },
    { "ends at notBefore", T0 - DAY(2), T0 },
};

/* An unusable window is ignored: the configured window applies. */
START_TEST(ari_invalid_ignored)
{
    const ari_bad_t *c = &ari_bad[_i];
    acme_schedule_input_t in = ari_input(0, 0, 0x80000000u);
    acme_schedule_t s;

    in.ari_start = c->start;
    in.ari_end = c->end;
    s = compute_ok(&in, T0 + DAY(1));
    ck_assert_msg(s.reason == ACME_SCHEDULE_BY_WINDOW, "%s", c->what);
    ck_assert_msg(s.ari_ignored == 1, "%s", c->what);
    ck_assert(s.renew_at == T0 + SEC(7776000 - 2566080));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
}
END_TEST

/* A window reaching past notAfter is cut there: no renewal after expiry. */
START_TEST(ari_window_cut_at_not_after)
{
    acme_schedule_input_t in = ari_input(DAY(89), DAY(120), UINT32_MAX);
    acme_schedule_t s = compute_ok(&in, T0);

    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_ARI);
    ck_assert(s.renew_at >= T0 + DAY(89) && s.renew_at < in.not_after);
    /* has_ari = 0: the fields are not looked at. */
    in.has_ari = 0;
    in.ari_end = in.ari_start;
    s = compute_ok(&in, T0);
    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_WINDOW);
    ck_assert_int_eq(s.ari_ignored, 0);
}
END_TEST

/* A 6-day certificate: the CA's window is followed where it lies, partly
 * before notBefore too (only what is left of it counts as "now"). */
START_TEST(ari_short_lived)
{
    acme_schedule_input_t in = ari_input(HOUR(72), HOUR(96), 0x80000000u);
    acme_schedule_t s;

    in.not_after = T0 + DAY(6);
    s = compute_ok(&in, T0);
    ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_ARI);
    ck_assert(s.renew_at == T0 + HOUR(84));
    /* a window that began before issuance and is still open: due now, the
     * CA asks for it (e.g. an announced revocation) */
    in.ari_start = T0 - HOUR(1);
    in.ari_end = T0 + HOUR(1);
    in.ari_random = 0;
    s = compute_ok(&in, T0);
    ck_assert_int_eq(s.state, ACME_SCHEDULE_DUE);
    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_ARI);
    /* cut at notAfter: never a point after expiry */
    in.ari_start = T0 + DAY(5);
    in.ari_end = T0 + DAY(20);
    in.ari_random = UINT32_MAX;
    s = compute_ok(&in, T0);
    ck_assert(s.renew_at >= T0 + DAY(5) && s.renew_at < T0 + DAY(6));
}
END_TEST

START_TEST(ari_pick_direct)
{
    apr_time_t at = 4711;

    ck_assert_int_eq(acme_schedule_ari_pick(&at, 0, 1LL << 32, 12345), APR_SUCCESS);
    ck_assert(at == 12345);
    ck_assert_int_eq(acme_schedule_ari_pick(&at, 100, 101, UINT32_MAX), APR_SUCCESS);
    ck_assert(at == 100);
    /* The widest window: exact and without overflow. */
    ck_assert_int_eq(acme_schedule_ari_pick(&at, -ACME_SCHEDULE_TIME_MAX,
                                            ACME_SCHEDULE_TIME_MAX, 0x80000000u),
                     APR_SUCCESS);
    ck_assert(at == 0);
    ck_assert_int_eq(acme_schedule_ari_pick(&at, -ACME_SCHEDULE_TIME_MAX,
                                            ACME_SCHEDULE_TIME_MAX, UINT32_MAX),
                     APR_SUCCESS);
    ck_assert(at < ACME_SCHEDULE_TIME_MAX && at > ACME_SCHEDULE_TIME_MAX - SEC(200000));
    at = 4711;
    ck_assert_int_eq(acme_schedule_ari_pick(&at, 5, 5, 0), APR_EINVAL);
    ck_assert_int_eq(acme_schedule_ari_pick(&at, 6, 5, 0), APR_EINVAL);
    ck_assert(at == 4711);
}
END_TEST

START_TEST(result_next)
{
    acme_schedule_result_t r = { 0, 0 };

    ck_assert(acme_schedule_result_next(&r) == 0);
    r.renew_at = T0 + DAY(60);
    ck_assert(acme_schedule_result_next(&r) == T0 + DAY(60));
    /* Due and failed: wait for the backoff, not the (past) renew time. */
    r.renew_at = T0;
    r.retry_at = T0 + HOUR(1);
    ck_assert(acme_schedule_result_next(&r) == T0 + HOUR(1));
    /* A retry time that passed does not pull a later renewal forward. */
    r.renew_at = T0 + DAY(2);
    ck_assert(acme_schedule_result_next(&r) == T0 + DAY(2));
}
END_TEST

START_TEST(wakeup_from_results)
{
    acme_schedule_result_t rs[4] = {
        { T0 + DAY(60), 0 },
        { T0 + HOUR(3), 0 },
        { 0, 0 },                           /* nothing planned */
        { T0 - HOUR(1), T0 + HOUR(2) },     /* due, failed, retry in 2h */
    };
    const apr_time_t now = T0;

    ck_assert(acme_schedule_wakeup(rs, 4, now, HOUR(12)) == now + HOUR(2));
    ck_assert(acme_schedule_wakeup(rs, 3, now, HOUR(12)) == now + HOUR(3));
    ck_assert(acme_schedule_wakeup(rs, 1, now, HOUR(12)) == now + HOUR(12));
    ck_assert(acme_schedule_wakeup(NULL, 0, now, HOUR(12)) == now + HOUR(12));
    ck_assert(acme_schedule_wakeup(rs, 3, now, HOUR(1)) == now + HOUR(1));
    /* Something already due: not a busy loop, but one second. */
    rs[1].renew_at = now - SEC(5);
    ck_assert(acme_schedule_wakeup(rs, 3, now, HOUR(12)) == now + ACME_SCHEDULE_WAKE_MIN);
    /* A check interval <= 0 means the default; a tiny one is raised. */
    ck_assert(acme_schedule_wakeup(rs, 1, now, 0) == now + ACME_SCHEDULE_CHECK_DEFAULT);
    ck_assert(acme_schedule_wakeup(rs, 1, now, -5) == now + ACME_SCHEDULE_CHECK_DEFAULT);
    ck_assert(acme_schedule_wakeup(rs, 1, now, 10) == now + ACME_SCHEDULE_WAKE_MIN);
    ck_assert(acme_schedule_wakeup(rs, 1, now, APR_INT64_MAX)
              == now + DAY(60));
}
END_TEST

TCase *test_sched_ari_tcase(void)
{
    TCase *tc = tcase_create("ari");

    tcase_add_test(tc, ari_window_in_past_is_due);
    tcase_add_test(tc, ari_window_ahead);
    tcase_add_test(tc, ari_window_early);
    tcase_add_loop_test(tc, ari_invalid_ignored, 0,
                        (int)(sizeof(ari_bad) / sizeof(ari_bad[0])));
    tcase_add_test(tc, ari_window_cut_at_not_after);
    tcase_add_test(tc, ari_short_lived);
    tcase_add_test(tc, ari_pick_direct);
    tcase_add_test(tc, result_next);
    tcase_add_test(tc, wakeup_from_results);
    return tc;
}
