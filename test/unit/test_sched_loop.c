/* "Never a tight loop": whatever the window and lifetime, a certificate just
 * issued is not due again soon, a series of renewals advances by a good part
 * of the lifetime each time, and a renewal that keeps failing backs off
 * instead of being retried on every watchdog run. */
#include "acme_backoff.h"
#include "acme_schedule.h"
#include "check_main.h"
#include "test_sched.h"

#define SEC(n) apr_time_from_sec(n)
#define HOUR(n) SEC((apr_int64_t)(n) * 3600)
#define DAY(n) SEC((apr_int64_t)(n) * 86400)
/* 2025-01-01T00:00:00Z */
#define T0 SEC(1735689600LL)
#define MIDDLE 0x80000000u

static const apr_interval_time_t lifetimes[] = {
    SEC(120), SEC(180), SEC(600), DAY(1), DAY(6), DAY(45), DAY(90), DAY(397),
};

static acme_schedule_input_t issued(apr_time_t not_before, apr_interval_time_t lifetime,
                                    acme_config_window_t renew)
{
    acme_schedule_input_t in = { 0 };

    in.has_cert = 1;
    in.not_before = not_before;
    in.not_after = not_before + lifetime;
    in.renew_window = renew;
    in.warn_window.is_percent = 1;
    in.warn_window.percent = 10;
    return in;
}

/* The windows tried on a lifetime: every percentage, and durations around
 * the lifetime, its 90% mark and common settings. */
static apr_size_t windows_for(acme_config_window_t *out, apr_size_t max,
                              apr_interval_time_t lifetime)
{
    const apr_interval_time_t durations[] = {
        0, 1, SEC(1), HOUR(1), DAY(1), DAY(2), DAY(5), DAY(14), DAY(30), DAY(89),
        lifetime / 2, lifetime * 9 / 10, lifetime * 9 / 10 + 1, lifetime - 1, lifetime,
        lifetime + 1, ACME_CONFIG_DURATION_MAX,
    };
    apr_size_t n = 0, i;
    int p;

    for (p = 0; p <= 100 && n < max; ++p) {
        out[n].is_percent = 1;
        out[n].percent = p;
        out[n++].duration = 0;
    }
    for (i = 0; i < sizeof(durations) / sizeof(durations[0]) && n < max; ++i) {
        out[n].is_percent = 0;
        out[n].percent = 0;
        out[n++].duration = durations[i];
    }
    return n;
}

/* At issuance (and until a tenth of the lifetime has passed) no window
 * makes the certificate due; the renewal point is not after notAfter (a 0
 * window renews at expiry). */
START_TEST(just_issued_never_due)
{
    acme_config_window_t windows[160];
    const apr_interval_time_t lifetime = lifetimes[_i];
    const apr_interval_time_t min_use = lifetime / 10;
    acme_schedule_input_t in;
    acme_schedule_t s;
    apr_size_t n, i;

    n = windows_for(windows, sizeof(windows) / sizeof(windows[0]), lifetime);
    ck_assert_uint_gt(n, 110);
    for (i = 0; i < n; ++i) {
        in = issued(T0, lifetime, windows[i]);
        ck_assert_int_eq(acme_schedule_compute(&s, &in, T0), APR_SUCCESS);
        ck_assert_msg(s.state == ACME_SCHEDULE_NOT_DUE, "lifetime %lld us, window %u: due",
                      (long long)lifetime, (unsigned)i);
        ck_assert_msg(s.renew_at - T0 >= min_use && s.renew_at <= in.not_after,
                      "lifetime %lld us, window %u: renews %lld us after issuance",
                      (long long)lifetime, (unsigned)i, (long long)(s.renew_at - T0));
        ck_assert_int_eq(acme_schedule_compute(&s, &in, T0 + min_use - 1), APR_SUCCESS);
        ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
    }
}
END_TEST

/* Twenty renewals in a row, each certificate issued the moment its
 * predecessor became due (backdated by a minute where the lifetime allows,
 * as CAs do): every step moves on by at least a tenth of the lifetime
 * minus the backdating, and every new certificate is first seen not due. */
START_TEST(renewal_series_advances)
{
    acme_config_window_t windows[160];
    const apr_interval_time_t lifetime = lifetimes[_i];
    const apr_interval_time_t backdate = lifetime >= HOUR(1) ? SEC(60) : 0;
    acme_schedule_input_t in;
    acme_schedule_t s;
    apr_time_t now;
    apr_size_t n, i;
    int k;

    n = windows_for(windows, sizeof(windows) / sizeof(windows[0]), lifetime);
    for (i = 0; i < n; ++i) {
        now = T0;
        in = issued(now, lifetime, windows[i]);
        for (k = 0; k < 20; ++k) {
            ck_assert_int_eq(acme_schedule_compute(&s, &in, now), APR_SUCCESS);
            ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
            ck_assert(s.renew_at - now >= lifetime / 10 - backdate);
            now = s.renew_at;
            ck_assert_int_eq(acme_schedule_compute(&s, &in, now), APR_SUCCESS);
            ck_assert_int_ne(s.state, ACME_SCHEDULE_NOT_DUE);
            in = issued(now - backdate, lifetime, windows[i]);
        }
        ck_assert_msg(now - T0 >= 20 * (lifetime / 10 - backdate), "window %u", (unsigned)i);
    }
}
END_TEST

/* One watchdog over a domain whose renewals all fail: it wakes at
 * acme_schedule_wakeup, attempts when acme_schedule_result_next has come,
 * and takes the next retry time from acme_backoff_retry_at. Returns the
 * number of attempts before `until`; *pwakes counts the wake-ups. */
static int failing_attempts(const acme_schedule_input_t *in, apr_time_t start,
                            apr_time_t until, apr_interval_time_t base,
                            apr_interval_time_t check_interval, apr_time_t *last_gap,
                            int *pwakes)
{
    acme_schedule_result_t result = { 0, 0 };
    acme_schedule_t s;
    apr_time_t now = start, last_attempt = 0;
    unsigned int errors = 0;
    int attempts = 0, wakes = 0;

    while (now < until) {
        ck_assert_int_eq(acme_schedule_compute(&s, in, now), APR_SUCCESS);
        result.renew_at = s.renew_at;
        if (s.state != ACME_SCHEDULE_NOT_DUE && now >= acme_schedule_result_next(&result)) {
            if (attempts > 0) {
                /* never closer than the backoff of the previous error */
                ck_assert(now - last_attempt >= acme_backoff_delay(base, errors, MIDDLE));
                *last_gap = now - last_attempt;
            }
            last_attempt = now;
            attempts++;
            errors++;
            result.retry_at = acme_backoff_retry_at(now, base, errors, 0, MIDDLE);
        }
        now = acme_schedule_wakeup(&result, 1, now, check_interval);
        wakes++;
    }
    *pwakes = wakes;
    return attempts;
}

START_TEST(failing_renewal_backs_off)
{
    /* a 6-day certificate due at its 4th day (33%), failing until it expires
     * and a day beyond: retries double from 30 s up to the one-day cap */
    acme_config_window_t w = { 1, 33, 0 };
    acme_schedule_input_t in = issued(T0, DAY(6), w);
    acme_schedule_t s;
    apr_time_t gap = 0;
    int attempts, wakes;

    ck_assert_int_eq(acme_schedule_compute(&s, &in, T0), APR_SUCCESS);
    attempts = failing_attempts(&in, s.renew_at, in.not_after + DAY(1), SEC(30), HOUR(12),
                                &gap, &wakes);
    /* 30 s * (2^13 - 1) is about 2.8 days: 13 doublings, then a try a day */
    ck_assert_int_ge(attempts, 12);
    ck_assert_int_le(attempts, 16);
    ck_assert(gap == ACME_BACKOFF_MAX);
    /* the watchdog itself sleeps in steps of its check interval at most,
     * and never spins: a few wake-ups per attempt */
    ck_assert_int_le(wakes, attempts + 3 * 2 + 1);

    /* a 180-second certificate with MDRetryDelay 5s: a handful of attempts
     * in its last minute, not one per second */
    w.percent = 50;
    in = issued(T0, SEC(180), w);
    ck_assert_int_eq(acme_schedule_compute(&s, &in, T0), APR_SUCCESS);
    attempts = failing_attempts(&in, s.renew_at, in.not_after, SEC(5), SEC(60), &gap,
                                &wakes);
    ck_assert_int_ge(attempts, 4);
    ck_assert_int_le(attempts, 5);
    ck_assert(gap >= SEC(40));
}
END_TEST

/* A retry delay of a microsecond (a misconfiguration) and a Retry-After the
 * CA sent: the retry is never sooner than a second, nor before the CA's time. */
START_TEST(failing_renewal_floor_and_retry_after)
{
    acme_config_window_t w = { 1, 33, 0 };
    acme_schedule_input_t in = issued(T0, DAY(6), w);
    acme_schedule_result_t r;
    acme_schedule_t s;
    apr_time_t now;
    unsigned int e;

    ck_assert_int_eq(acme_schedule_compute(&s, &in, T0 + DAY(5)), APR_SUCCESS);
    ck_assert_int_eq(s.state, ACME_SCHEDULE_DUE);
    now = s.renew_at;
    for (e = 1; e <= 40; ++e) {
        r.renew_at = now;
        r.retry_at = acme_backoff_retry_at(now, 1, e, 0, 0);
        ck_assert(acme_schedule_result_next(&r) - now >= ACME_BACKOFF_MIN);
        ck_assert(acme_schedule_wakeup(&r, 1, now, HOUR(12)) > now);
        now = acme_schedule_result_next(&r);
    }
    r.renew_at = now;
    r.retry_at = acme_backoff_retry_at(now, SEC(30), 1, now + HOUR(6), MIDDLE);
    ck_assert(acme_schedule_result_next(&r) == now + HOUR(6));
    ck_assert(acme_schedule_wakeup(&r, 1, now, HOUR(12)) == now + HOUR(6));
}
END_TEST

TCase *test_sched_loop_tcase(void)
{
    TCase *tc = tcase_create("loop");
    const int n = (int)(sizeof(lifetimes) / sizeof(lifetimes[0]));

    tcase_add_loop_test(tc, just_issued_never_due, 0, n);
    tcase_add_loop_test(tc, renewal_series_advances, 0, n);
    tcase_add_test(tc, failing_renewal_backs_off);
    tcase_add_test(tc, failing_renewal_floor_and_retry_after);
    return tc;
}
