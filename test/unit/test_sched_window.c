/* Renew and warn windows (acme_schedule_compute without ARI). */
#include "acme_schedule.h"
#include "check_main.h"
#include "test_sched.h"

#define SEC(n) apr_time_from_sec(n)
#define MIN(n) SEC((apr_int64_t)(n) * 60)
#define DAY(n) SEC((apr_int64_t)(n) * 86400)
/* 2025-01-01T00:00:00Z */
#define T0 SEC(1735689600LL)

static acme_config_window_t pct(int percent)
{
    acme_config_window_t w = { 1, percent, 0 };
    return w;
}

static acme_config_window_t dur(apr_interval_time_t d)
{
    acme_config_window_t w = { 0, 0, d };
    return w;
}

/* A certificate issued at T0 for `lifetime`, renew window `renew`, mod_md's
 * default warn window (10%). */
static acme_schedule_input_t cert_input(apr_interval_time_t lifetime,
                                        acme_config_window_t renew)
{
    acme_schedule_input_t in = { 0 };

    in.has_cert = 1;
    in.not_before = T0;
    in.not_after = T0 + lifetime;
    in.renew_window = renew;
    in.warn_window = pct(10);
    return in;
}

static acme_schedule_t compute_ok(const acme_schedule_input_t *in, apr_time_t now)
{
    acme_schedule_t s;
    apr_status_t rv = acme_schedule_compute(&s, in, now);

    ck_assert_int_eq(rv, APR_SUCCESS);
    return s;
}

typedef struct {
    const char *what;
    apr_interval_time_t lifetime;
    acme_config_window_t window;
    apr_interval_time_t renew_after;    /* renew_at - notBefore */
    acme_schedule_reason_e reason;
} window_case_t;

/* At T0 + 1s every case is not due yet, and renew_at is exact. */
static const window_case_t window_cases[] = {
    { "90d 33%", DAY(90), { 1, 33, 0 }, SEC(7776000 - 2566080), ACME_SCHEDULE_BY_WINDOW },
    { "90d 30d", DAY(90), { 0, 0, DAY(30) }, DAY(60), ACME_SCHEDULE_BY_WINDOW },
    { "45d 33%", DAY(45), { 1, 33, 0 }, SEC(3888000 - 1283040), ACME_SCHEDULE_BY_WINDOW },
    { "6d 33%", DAY(6), { 1, 33, 0 }, SEC(518400 - 171072), ACME_SCHEDULE_BY_WINDOW },
    { "6d 30d", DAY(6), { 0, 0, DAY(30) }, SEC(518400 - 171072), ACME_SCHEDULE_BY_FALLBACK },
    { "6d 6d", DAY(6), { 0, 0, DAY(6) }, SEC(518400 - 171072), ACME_SCHEDULE_BY_FALLBACK },
    { "6d 100%", DAY(6), { 1, 100, 0 }, SEC(518400 - 171072), ACME_SCHEDULE_BY_FALLBACK },
    { "10min 33%", MIN(10), { 1, 33, 0 }, SEC(402), ACME_SCHEDULE_BY_WINDOW },
    { "10min 30d", MIN(10), { 0, 0, DAY(30) }, SEC(402), ACME_SCHEDULE_BY_FALLBACK },
    { "1d 33%", DAY(1), { 1, 33, 0 }, SEC(86400 - 28512), ACME_SCHEDULE_BY_WINDOW },
    { "90d 0%", DAY(90), { 1, 0, 0 }, DAY(90), ACME_SCHEDULE_BY_WINDOW },
    { "90d 0s", DAY(90), { 0, 0, 0 }, DAY(90), ACME_SCHEDULE_BY_WINDOW },
    { "397d 33%", DAY(397), { 1, 33, 0 }, SEC(34300800 - 11319264), ACME_SCHEDULE_BY_WINDOW },
    /* The lifetimes of today's CAs: 6 days (short-lived), 45 and 90 days. */
    { "6d 50%", DAY(6), { 1, 50, 0 }, DAY(3), ACME_SCHEDULE_BY_WINDOW },
    { "6d 2d", DAY(6), { 0, 0, DAY(2) }, DAY(4), ACME_SCHEDULE_BY_WINDOW },
    { "6d 5d", DAY(6), { 0, 0, DAY(5) }, DAY(1), ACME_SCHEDULE_BY_WINDOW },
    { "6d 90%", DAY(6), { 1, 90, 0 }, SEC(51840), ACME_SCHEDULE_BY_WINDOW },
    { "45d 30d", DAY(45), { 0, 0, DAY(30) }, DAY(15), ACME_SCHEDULE_BY_WINDOW },
    { "45d 50%", DAY(45), { 1, 50, 0 }, SEC(1944000), ACME_SCHEDULE_BY_WINDOW },
    { "90d 45d", DAY(90), { 0, 0, DAY(45) }, DAY(45), ACME_SCHEDULE_BY_WINDOW },
    { "180s 50%", SEC(180), { 1, 50, 0 }, SEC(90), ACME_SCHEDULE_BY_WINDOW },
    /* Windows longer than the lifetime fall back to 33%. */
    { "45d 45d", DAY(45), { 0, 0, DAY(45) }, SEC(3888000 - 1283040), ACME_SCHEDULE_BY_FALLBACK },
    { "45d 60d", DAY(45), { 0, 0, DAY(60) }, SEC(3888000 - 1283040), ACME_SCHEDULE_BY_FALLBACK },
    { "90d 91d", DAY(90), { 0, 0, DAY(91) }, SEC(7776000 - 2566080), ACME_SCHEDULE_BY_FALLBACK },
    { "180s 30d", SEC(180), { 0, 0, DAY(30) }, 120600000, ACME_SCHEDULE_BY_FALLBACK },
    /* And so do windows that would renew in the first tenth of it. */
    { "6d 91%", DAY(6), { 1, 91, 0 }, SEC(518400 - 171072), ACME_SCHEDULE_BY_FALLBACK },
    { "6d 5d12h", DAY(6), { 0, 0, SEC(475200) }, SEC(518400 - 171072),
      ACME_SCHEDULE_BY_FALLBACK },
    { "31d 30d", DAY(31), { 0, 0, DAY(30) }, SEC(2678400 - 883872), ACME_SCHEDULE_BY_FALLBACK },
    { "90d 95%", DAY(90), { 1, 95, 0 }, SEC(7776000 - 2566080), ACME_SCHEDULE_BY_FALLBACK },
    { "6d 6d-1us", DAY(6), { 0, 0, DAY(6) - 1 }, SEC(518400 - 171072),
      ACME_SCHEDULE_BY_FALLBACK },
};

START_TEST(window_table)
{
    const window_case_t *c = &window_cases[_i];
    acme_schedule_input_t in = cert_input(c->lifetime, c->window);
    acme_schedule_t s = compute_ok(&in, T0 + SEC(1));

    ck_assert_msg(s.renew_at == T0 + c->renew_after, "%s: renews %lld s after issuance",
                  c->what, (long long)apr_time_sec(s.renew_at - T0));
    ck_assert_msg(s.reason == c->reason, "%s: reason %d", c->what, (int)s.reason);
    ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
}
END_TEST

/* A fallen-back window renews neither right after issuance nor at expiry. */
START_TEST(short_lived_fallback_no_loop)
{
    acme_schedule_input_t in = cert_input(DAY(6), dur(DAY(30)));
    acme_schedule_t s = compute_ok(&in, T0);

    ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
    ck_assert(s.renew_at > T0 + DAY(3));
    ck_assert(s.renew_at < T0 + DAY(5));
    /* The renewed certificate is scheduled just the same. */
    in.not_before = s.renew_at;
    in.not_after = s.renew_at + DAY(6);
    s = compute_ok(&in, in.not_before + SEC(1));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
    ck_assert(s.renew_at - in.not_before > DAY(3));
}
END_TEST

START_TEST(states_over_time)
{
    acme_schedule_input_t in = cert_input(DAY(90), dur(DAY(30)));
    acme_schedule_t s;

    s = compute_ok(&in, T0 + DAY(60) - 1);
    ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
    ck_assert(s.renew_at == T0 + DAY(60));
    s = compute_ok(&in, T0 + DAY(60));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_DUE);
    ck_assert(s.renew_at == T0 + DAY(60));
    s = compute_ok(&in, T0 + DAY(75));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_DUE);
    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_WINDOW);
    ck_assert(s.renew_at == T0 + DAY(75));
    s = compute_ok(&in, T0 + DAY(90));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_EXPIRED);
    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_EXPIRED);
    ck_assert(s.renew_at == T0 + DAY(90));
    ck_assert_int_eq(s.warn, 1);
    /* Issued in the future (clock skew): not due, not expired. */
    s = compute_ok(&in, T0 - DAY(1));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
}
END_TEST

START_TEST(missing_and_changed)
{
    acme_schedule_input_t in = cert_input(DAY(90), pct(33));
    acme_schedule_t s;

    in.has_cert = 0;
    in.not_before = in.not_after = 0;   /* unused without a certificate */
    s = compute_ok(&in, T0);
    ck_assert_int_eq(s.state, ACME_SCHEDULE_DUE);
    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_MISSING);
    ck_assert(s.renew_at == T0);
    ck_assert(s.warn_at == 0);
    ck_assert_int_eq(s.warn, 0);

    in = cert_input(DAY(90), pct(33));
    in.changed = 1;
    s = compute_ok(&in, T0 + DAY(1));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_DUE);
    ck_assert_int_eq(s.reason, ACME_SCHEDULE_BY_CHANGED);
    ck_assert(s.renew_at == T0 + DAY(1));
    ck_assert_int_eq(s.warn, 0);
    /* Expiry is the stronger news. */
    s = compute_ok(&in, T0 + DAY(91));
    ck_assert_int_eq(s.state, ACME_SCHEDULE_EXPIRED);
}
END_TEST

START_TEST(warn_window)
{
    acme_schedule_input_t in = cert_input(DAY(90), pct(33));
    acme_schedule_t s;

    s = compute_ok(&in, T0 + DAY(80));
    ck_assert(s.warn_at == T0 + DAY(81));
    ck_assert_int_eq(s.warn, 0);
    s = compute_ok(&in, T0 + DAY(81));
    ck_assert_int_eq(s.warn, 1);

    in.warn_window = dur(DAY(7));
    s = compute_ok(&in, T0 + DAY(82));
    ck_assert(s.warn_at == T0 + DAY(83));
    ck_assert_int_eq(s.warn, 0);

    /* 30d on a 6-day certificate: falls back to 10%, not "always warn". */
    in = cert_input(DAY(6), pct(33));
    in.warn_window = dur(DAY(30));
    s = compute_ok(&in, T0 + SEC(1));
    ck_assert(s.warn_at == T0 + DAY(6) - SEC(51840));
    ck_assert_int_eq(s.warn, 0);
}
END_TEST

/* MDWarnWindow as a percentage follows the lifetime; a duration longer than
 * the lifetime falls back to 10%; unlike the renew window, a warn window that
 * covers almost all of the lifetime is kept (warning early loops nothing). */
START_TEST(warn_window_relative_to_lifetime)
{
    static const struct {
        apr_interval_time_t lifetime;
        acme_config_window_t warn;
        apr_interval_time_t warn_after;     /* warn_at - notBefore */
    } cases[] = {
        { DAY(6), { 1, 10, 0 }, SEC(466560) },
        { DAY(45), { 1, 10, 0 }, SEC(3499200) },
        { DAY(90), { 1, 10, 0 }, DAY(81) },
        { DAY(6), { 1, 50, 0 }, DAY(3) },
        { DAY(6), { 0, 0, DAY(7) }, SEC(466560) },
        { DAY(45), { 0, 0, DAY(7) }, DAY(38) },
        { DAY(90), { 0, 0, DAY(90) }, DAY(81) },
        { SEC(3600), { 0, 0, SEC(3594) }, SEC(6) },
        { SEC(180), { 1, 99, 0 }, 1800000 },
    };
    acme_schedule_input_t in;
    acme_schedule_t s;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        in = cert_input(cases[i].lifetime, pct(33));
        in.warn_window = cases[i].warn;
        s = compute_ok(&in, T0);
        ck_assert_msg(s.warn_at == T0 + cases[i].warn_after, "case %u: warns %lld us in",
                      (unsigned)i, (long long)(s.warn_at - T0));
        ck_assert_int_eq(s.warn, 0);
        ck_assert_int_eq(compute_ok(&in, s.warn_at - 1).warn, 0);
        ck_assert_int_eq(compute_ok(&in, s.warn_at).warn, 1);
    }
}
END_TEST

START_TEST(window_start_direct)
{
    acme_config_window_t w = pct(50);
    apr_time_t at = 0;
    int fallback = -1;

    ck_assert_int_eq(acme_schedule_window_start(&at, &fallback, T0, T0 + DAY(10), &w, 33),
                     APR_SUCCESS);
    ck_assert(at == T0 + DAY(5));
    ck_assert_int_eq(fallback, 0);
    /* An odd microsecond count: the percentage is exact, rounding down the length. */
    ck_assert_int_eq(acme_schedule_window_start(&at, &fallback, 0, 199, &w, 33), APR_SUCCESS);
    ck_assert(at == 199 - 99);
    /* Bad fallback percentages are a programming error answered with EINVAL. */
    ck_assert_int_eq(acme_schedule_window_start(&at, &fallback, T0, T0 + DAY(1), &w, 100),
                     APR_EINVAL);
    ck_assert_int_eq(acme_schedule_window_start(&at, &fallback, T0, T0 + DAY(1), &w, -1),
                     APR_EINVAL);
}
END_TEST

typedef struct {
    const char *what;
    apr_time_t not_before, not_after, now;
    acme_config_window_t renew, warn;
} bad_case_t;

static const bad_case_t bad_cases[] = {
    { "notAfter == notBefore", T0, T0, T0, { 1, 33, 0 }, { 1, 10, 0 } },
    { "notAfter < notBefore", T0, T0 - 1, T0, { 1, 33, 0 }, { 1, 10, 0 } },
    { "percent 101", T0, T0 + DAY(90), T0, { 1, 101, 0 }, { 1, 10, 0 } },
    { "percent -1", T0, T0 + DAY(90), T0, { 1, -1, 0 }, { 1, 10, 0 } },
    { "negative duration", T0, T0 + DAY(90), T0, { 0, 0, -1 }, { 1, 10, 0 } },
    { "duration too long", T0, T0 + DAY(90), T0,
      { 0, 0, ACME_CONFIG_DURATION_MAX + 1 }, { 1, 10, 0 } },
    { "bad warn window", T0, T0 + DAY(90), T0, { 1, 33, 0 }, { 1, 200, 0 } },
    { "notAfter past year 9999", T0, ACME_SCHEDULE_TIME_MAX + 1, T0,
      { 1, 33, 0 }, { 1, 10, 0 } },
    { "notBefore far before 0", -ACME_SCHEDULE_TIME_MAX - 1, T0, T0,
      { 1, 33, 0 }, { 1, 10, 0 } },
    { "now out of range", T0, T0 + DAY(90), APR_INT64_MAX, { 1, 33, 0 }, { 1, 10, 0 } },
};

START_TEST(bad_input_table)
{
    const bad_case_t *c = &bad_cases[_i];
    acme_schedule_input_t in = cert_input(DAY(1), pct(33));
    acme_schedule_t s = { ACME_SCHEDULE_NOT_DUE, ACME_SCHEDULE_BY_WINDOW, 4711, 4712, 0, 0 };

    in.not_before = c->not_before;
    in.not_after = c->not_after;
    in.renew_window = c->renew;
    in.warn_window = c->warn;
    ck_assert_msg(acme_schedule_compute(&s, &in, c->now) == APR_EINVAL, "%s", c->what);
    ck_assert_msg(s.renew_at == 4711 && s.warn_at == 4712, "%s: output written", c->what);
}
END_TEST

/* The widest valid certificate: no overflow in lifetime or percentages. */
START_TEST(extreme_times)
{
    acme_schedule_input_t in = cert_input(DAY(1), pct(89));
    acme_schedule_t s;

    in.not_before = -ACME_SCHEDULE_TIME_MAX;
    in.not_after = ACME_SCHEDULE_TIME_MAX;
    s = compute_ok(&in, in.not_before + 1);
    ck_assert_int_eq(s.state, ACME_SCHEDULE_NOT_DUE);
    ck_assert(s.renew_at > in.not_before && s.renew_at < 0);
    ck_assert_int_eq(compute_ok(&in, 0).state, ACME_SCHEDULE_DUE);
    in.renew_window = dur(ACME_CONFIG_DURATION_MAX);
    s = compute_ok(&in, 0);
    ck_assert(s.renew_at == ACME_SCHEDULE_TIME_MAX - ACME_CONFIG_DURATION_MAX);
}
END_TEST

TCase *test_sched_window_tcase(void)
{
    TCase *tc = tcase_create("window");

    tcase_add_loop_test(tc, window_table, 0,
                        (int)(sizeof(window_cases) / sizeof(window_cases[0])));
    tcase_add_test(tc, short_lived_fallback_no_loop);
    tcase_add_test(tc, states_over_time);
    tcase_add_test(tc, missing_and_changed);
    tcase_add_test(tc, warn_window);
    tcase_add_test(tc, warn_window_relative_to_lifetime);
    tcase_add_test(tc, window_start_direct);
    tcase_add_loop_test(tc, bad_input_table, 0,
                        (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, extreme_times);
    return tc;
}
