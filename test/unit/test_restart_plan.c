/* check_restart: the plan of self-initiated restarts (acme_restart_plan):
 * settle time, its cap, MDActivationInterval, MDActivationDelay, the
 * backoff of sets earlier restarts left staged, and not_before. */
#include <string.h>

#include "acme_restart_plan.h"
#include "check_main.h"

#define SEC(n) apr_time_from_sec(n)
#define T0 SEC(1735689600LL)

static acme_restart_policy_t policy(apr_time_t last)
{
    acme_restart_policy_t pol;

    memset(&pol, 0, sizeof(pol));
    pol.interval = SEC(60);
    pol.settle = SEC(10);
    pol.settle_max = SEC(60);
    pol.last = last;
    return pol;
}

static acme_restart_set_t set_at(apr_time_t staged, apr_time_t ready, int tag)
{
    acme_restart_set_t set;

    memset(&set, 0, sizeof(set));
    set.staged_at = staged;
    set.ready_at = ready;
    set.tag = tag;
    return set;
}

START_TEST(nothing_staged_plans_nothing)
{
    acme_restart_policy_t pol = policy(0);
    acme_restart_why_e why = ACME_RESTART_WHY_DUE;
    int batch = 7;

    ck_assert(acme_restart_plan(NULL, 0, &pol, T0, &why, &batch) == 0);
    ck_assert_int_eq(why, ACME_RESTART_WHY_NONE);
    ck_assert_int_eq(batch, 0);
}
END_TEST

START_TEST(one_set_waits_the_settle_time)
{
    acme_restart_policy_t pol = policy(0);
    acme_restart_set_t sets[1] = { set_at(T0, T0 - SEC(5), 0) };
    acme_restart_why_e why;
    int batch;

    ck_assert(acme_restart_plan(sets, 1, &pol, T0 + SEC(3), &why, &batch) == T0 + SEC(10));
    ck_assert_int_eq(why, ACME_RESTART_WHY_SETTLE);
    ck_assert_int_eq(batch, 1);
    /* staged long ago (e.g. found at start): at once */
    sets[0] = set_at(T0 - SEC(3600), T0 - SEC(3600), 0);
    ck_assert(acme_restart_plan(sets, 1, &pol, T0, &why, &batch) <= T0);
}
END_TEST

START_TEST(sets_close_together_share_a_restart)
{
    acme_restart_policy_t pol = policy(0);
    acme_restart_set_t sets[4] = {
        set_at(T0 + SEC(16), 0, 3), set_at(T0, 0, 0), set_at(T0 + SEC(8), 0, 1),
        set_at(T0 + SEC(40), 0, 2),     /* 24 s after the others: a batch of its own */
    };
    int batch;

    ck_assert(acme_restart_plan(sets, 4, &pol, T0 + SEC(17), NULL, &batch) == T0 + SEC(26));
    ck_assert_int_eq(batch, 3);
    /* sorted by due, tags kept */
    ck_assert_int_eq(sets[0].tag, 0);
    ck_assert_int_eq(sets[1].tag, 1);
    ck_assert_int_eq(sets[2].tag, 3);
    ck_assert_int_eq(sets[3].tag, 2);
}
END_TEST

START_TEST(a_steady_trickle_is_cut_at_settle_max)
{
    acme_restart_policy_t pol = policy(0);
    acme_restart_set_t sets[20];
    int i, batch;

    for (i = 0; i < 20; ++i) {
        sets[i] = set_at(T0 + SEC(5) * i, 0, i);    /* one every 5 s, for 100 s */
    }
    ck_assert(acme_restart_plan(sets, 20, &pol, T0, NULL, &batch) == T0 + SEC(60));
    ck_assert_int_eq(batch, 13);    /* due at 0, 5, ... 60 */
}
END_TEST

START_TEST(interval_since_the_last_restart)
{
    acme_restart_policy_t pol = policy(T0);
    acme_restart_set_t sets[1] = { set_at(T0 + SEC(5), 0, 0) };
    acme_restart_why_e why;

    ck_assert(acme_restart_plan(sets, 1, &pol, T0 + SEC(20), &why, NULL) == T0 + SEC(60));
    ck_assert_int_eq(why, ACME_RESTART_WHY_INTERVAL);
    /* long after the last one: only the settle time */
    pol.last = T0 - SEC(3600);
    ck_assert(acme_restart_plan(sets, 1, &pol, T0 + SEC(6), &why, NULL) == T0 + SEC(15));
    ck_assert_int_eq(why, ACME_RESTART_WHY_SETTLE);
}
END_TEST

START_TEST(activation_delay_is_waited_for)
{
    acme_restart_policy_t pol = policy(0);
    acme_restart_set_t sets[2] = { set_at(T0, T0 + SEC(86400), 0),
                                   set_at(T0, T0 + SEC(90000), 1) };
    acme_restart_why_e why;
    int batch;

    ck_assert(acme_restart_plan(sets, 2, &pol, T0, &why, &batch) == T0 + SEC(86410));
    ck_assert_int_eq(why, ACME_RESTART_WHY_DUE);
    ck_assert_int_eq(batch, 1);
}
END_TEST

START_TEST(sets_left_staged_back_off)
{
    acme_restart_policy_t pol = policy(T0);
    acme_restart_set_t sets[1] = { set_at(T0 - SEC(100), 0, 0) };
    acme_restart_why_e why;

    sets[0].tries = 1;      /* 2 x interval after the last restart */
    ck_assert(acme_restart_plan(sets, 1, &pol, T0 + SEC(1), &why, NULL) == T0 + SEC(130));
    ck_assert_int_eq(why, ACME_RESTART_WHY_BACKOFF);
    ck_assert_int_eq(sets[0].backoff, 1);
    sets[0].tries = 3;      /* 8 x */
    ck_assert(acme_restart_plan(sets, 1, &pol, T0 + SEC(1), NULL, NULL) == T0 + SEC(490));
    sets[0].tries = 40;     /* at most a day */
    ck_assert(acme_restart_plan(sets, 1, &pol, T0 + SEC(1), NULL, NULL)
              == T0 + ACME_RESTART_BACKOFF_MAX + SEC(10));
}
END_TEST

START_TEST(a_failed_check_holds_everything)
{
    acme_restart_policy_t pol = policy(0);
    acme_restart_set_t sets[1] = { set_at(T0 - SEC(100), 0, 0) };
    acme_restart_why_e why;

    pol.not_before = T0 + SEC(60);
    ck_assert(acme_restart_plan(sets, 1, &pol, T0, &why, NULL) == T0 + SEC(60));
    ck_assert_int_eq(why, ACME_RESTART_WHY_NOT_BEFORE);
    ck_assert_str_eq(acme_restart_why_text(why), "retry after a failed configuration check");
}
END_TEST

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("restart");
    TCase *tc = tcase_create("plan");

    tcase_add_test(tc, nothing_staged_plans_nothing);
    tcase_add_test(tc, one_set_waits_the_settle_time);
    tcase_add_test(tc, sets_close_together_share_a_restart);
    tcase_add_test(tc, a_steady_trickle_is_cut_at_settle_max);
    tcase_add_test(tc, interval_since_the_last_restart);
    tcase_add_test(tc, activation_delay_is_waited_for);
    tcase_add_test(tc, sets_left_staged_back_off);
    tcase_add_test(tc, a_failed_check_holds_everything);
    suite_add_tcase(s, tc);
    return s;
}
