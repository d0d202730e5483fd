/* Activation STAGING -> (taken over) PENDING -> LIVE (previous LIVE ->
 * ARCHIVE) and recovery from every crash point of that sequence. */
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "test_store.h"

#define MD "a.example"

/* A complete set: two items that must always travel together. */
static void stage_set(acme_store_group_e group, const char *name, const char *tag)
{
    test_store_save_str(group, name, "privkey.pem", apr_pstrcat(test_pool, "key-", tag, NULL),
                        ACME_STORE_SECRET);
    test_store_save_str(group, name, "pubcert.pem", apr_pstrcat(test_pool, "cert-", tag, NULL),
                        0);
}

/* The set under (group, name) is complete and is the one tagged `tag`. */
static void assert_set(acme_store_group_e group, const char *name, const char *tag)
{
    const char *key = test_store_load_str(group, name, "privkey.pem");
    const char *cert = test_store_load_str(group, name, "pubcert.pem");

    ck_assert_msg(key && cert, "%s/%s incomplete", acme_store_group_name(group), name);
    ck_assert_str_eq(key, apr_pstrcat(test_pool, "key-", tag, NULL));
    ck_assert_str_eq(cert, apr_pstrcat(test_pool, "cert-", tag, NULL));
}

static void assert_absent(acme_store_group_e group, const char *name)
{
    ck_assert_msg(acme_store_exists(test_store, test_pool, group, name, NULL) == APR_ENOENT,
                  "%s/%s should be absent", acme_store_group_name(group), name);
}

static const acme_store_take_t set_items[] = {
    {"privkey.pem", ACME_STORE_SECRET}, {"pubcert.pem", 0},
};

/* The activating process's copy of the staged set (PENDING). */
static apr_status_t take(const char *name)
{
    const char *why = "unset";
    apr_status_t rv = acme_store_take(&why, test_pool, test_store, name, set_items, 2);

    ck_assert(rv != APR_SUCCESS || why == NULL);
    return rv;
}

/* Takes the staged set over (if any) and activates the copy. */
static apr_status_t activate(const char **parchived, const char *name)
{
    apr_status_t rv = take(name);

    *parchived = "unset";
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        return rv;
    }
    return acme_store_activate(parchived, test_pool, test_store, name);
}

START_TEST(first_activation_without_previous)
{
    const char *archived;

    stage_set(ACME_STORE_STAGING, MD, "v1");
    ck_assert_int_eq(activate(&archived, MD), APR_SUCCESS);
    ck_assert_ptr_null(archived);
    assert_set(ACME_STORE_LIVE, MD, "v1");
    assert_absent(ACME_STORE_STAGING, MD);
    assert_absent(ACME_STORE_PENDING, MD);
    ck_assert_int_eq(test_store_mode("domains/" MD "/privkey.pem"), 0600);
    ck_assert_int_eq(test_store_mode("domains/" MD "/pubcert.pem"), 0644);
    ck_assert_int_eq(test_store_mode("domains/" MD), 0755);
    ck_assert_int_eq(test_store_mode("pending"), 0700);
    ck_assert(!test_store_raw_exists("intents/" MD));
}
END_TEST

START_TEST(activation_archives_previous_sets_in_order)
{
    apr_array_header_t *names;
    const char *archived;

    stage_set(ACME_STORE_STAGING, MD, "v1");
    ck_assert_int_eq(activate(&archived, MD), APR_SUCCESS);
    stage_set(ACME_STORE_STAGING, MD, "v2");
    ck_assert_int_eq(activate(&archived, MD), APR_SUCCESS);
    ck_assert_str_eq(archived, MD ".1");
    stage_set(ACME_STORE_STAGING, MD, "v3");
    ck_assert_int_eq(activate(&archived, MD), APR_SUCCESS);
    ck_assert_str_eq(archived, MD ".2");
    assert_set(ACME_STORE_LIVE, MD, "v3");
    assert_set(ACME_STORE_ARCHIVE, MD ".1", "v1");
    assert_set(ACME_STORE_ARCHIVE, MD ".2", "v2");
    ck_assert_int_eq(acme_store_list(&names, test_pool, test_store, ACME_STORE_ARCHIVE,
                                     MD ".*"), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 2);
}
END_TEST

START_TEST(wildcard_name_activation)
{
    const char *archived;

    stage_set(ACME_STORE_STAGING, "*.example.org", "w1");
    ck_assert_int_eq(activate(&archived, "*.example.org"), APR_SUCCESS);
    stage_set(ACME_STORE_STAGING, "*.example.org", "w2");
    ck_assert_int_eq(activate(&archived, "*.example.org"), APR_SUCCESS);
    ck_assert_str_eq(archived, "*.example.org.1");
    assert_set(ACME_STORE_LIVE, "*.example.org", "w2");
    assert_set(ACME_STORE_ARCHIVE, "*.example.org.1", "w1");
    ck_assert(test_store_raw_exists("domains/*.example.org/pubcert.pem"));
}
END_TEST

START_TEST(activation_without_staged_set)
{
    const char *archived;

    stage_set(ACME_STORE_LIVE, MD, "v1");
    ck_assert_int_eq(activate(&archived, MD), APR_ENOENT);
    assert_set(ACME_STORE_LIVE, MD, "v1");
    ck_assert(!test_store_raw_exists("intents/" MD));
    ck_assert_int_eq(activate(&archived, "Bad..name"), APR_EINVAL);
}
END_TEST

/* Crash points by the failing rename: 1 = writing the intent, 2 = moving
 * live to archive, 3 = moving pending to live, 4 = removing the staged set
 * that was taken over. After recovery the new set is live (the intent
 * existed) and the staged one gone, or the old one is live and the staged
 * set is still there to retry (no intent; the copy is swept); nothing is
 * ever lost. */
static void crash_and_recover(int fail_at)
{
    const char *archived;

    stage_set(ACME_STORE_STAGING, MD, "v1");
    ck_assert_int_eq(activate(&archived, MD), APR_SUCCESS);
    stage_set(ACME_STORE_STAGING, MD, "v2");
    test_store_fail_renameat_at = fail_at;
    ck_assert_int_ne(activate(&archived, MD), APR_SUCCESS);
    test_store_fail_renameat_at = 0;
    ck_assert_int_eq(test_store_raw_exists("intents/" MD), fail_at > 1);
    ck_assert_int_eq(acme_store_recover(test_store, test_pool, 0), APR_SUCCESS);
    ck_assert(!test_store_raw_exists("intents/" MD));
    if (fail_at == 1) {
        assert_set(ACME_STORE_LIVE, MD, "v1");
        assert_set(ACME_STORE_STAGING, MD, "v2");
        assert_absent(ACME_STORE_PENDING, MD);
        assert_absent(ACME_STORE_ARCHIVE, MD ".1");
        ck_assert_int_eq(activate(&archived, MD), APR_SUCCESS); /* the retry works */
    }
    assert_set(ACME_STORE_LIVE, MD, "v2");
    assert_set(ACME_STORE_ARCHIVE, MD ".1", "v1");
    assert_absent(ACME_STORE_STAGING, MD);
    assert_absent(ACME_STORE_PENDING, MD);
    assert_absent(ACME_STORE_ARCHIVE, MD ".2");
}

START_TEST(crash_before_intent)
{
    crash_and_recover(1);
}
END_TEST

START_TEST(crash_after_intent)
{
    crash_and_recover(2);
}
END_TEST

START_TEST(crash_after_archiving_live)
{
    crash_and_recover(3);
}
END_TEST

START_TEST(crash_before_staged_set_removed)
{
    crash_and_recover(4);
}
END_TEST

/* A set staged anew after the copy was taken (the identity of the staged
 * directory changed) is not removed by the activation of the copy. */
START_TEST(activation_keeps_a_set_staged_after_the_take)
{
    const char *archived;

    stage_set(ACME_STORE_STAGING, MD, "v1");
    ck_assert_int_eq(take(MD), APR_SUCCESS);
    ck_assert_int_eq(acme_store_purge(test_store, test_pool, ACME_STORE_STAGING, MD),
                     APR_SUCCESS);
    stage_set(ACME_STORE_STAGING, MD, "v2");
    ck_assert_int_eq(acme_store_activate(&archived, test_pool, test_store, MD), APR_SUCCESS);
    assert_set(ACME_STORE_LIVE, MD, "v1");
    assert_set(ACME_STORE_STAGING, MD, "v2");
}
END_TEST

START_TEST(crash_before_intent_removed)
{
    /* The last step: everything moved, only the intent is left. */
    stage_set(ACME_STORE_LIVE, MD, "v2");
    stage_set(ACME_STORE_ARCHIVE, MD ".1", "v1");
    ck_assert_int_eq(mkdir(test_store_path("intents"), 0700), 0);
    test_store_put_raw("intents/" MD, "{\"archive\": 1}");
    ck_assert_int_eq(acme_store_recover(test_store, test_pool, 0), APR_SUCCESS);
    ck_assert(!test_store_raw_exists("intents/" MD));
    assert_set(ACME_STORE_LIVE, MD, "v2");
    assert_set(ACME_STORE_ARCHIVE, MD ".1", "v1");
}
END_TEST

/* Several sets in one batch: each ends as acme_store_activate() leaves it,
 * and the directories are flushed once per step, not once per set. */
START_TEST(batch_activates_each_and_shares_the_flushes)
{
    static const char *const names[] = {"a.example", "b.example", "c.example", "d.example"};
    acme_store_activation_t sets[6];
    int i;

    for (i = 0; i < 4; ++i) {
        stage_set(ACME_STORE_STAGING, names[i], "v1");
        ck_assert_int_eq(take(names[i]), APR_SUCCESS);
        sets[i].name = names[i];
    }
    acme_store_activate_many(test_pool, test_store, sets, 4);   /* nothing live before */
    for (i = 0; i < 4; ++i) {
        ck_assert_int_eq(sets[i].rv, APR_SUCCESS);
        ck_assert_ptr_null(sets[i].archived);
        stage_set(ACME_STORE_STAGING, names[i], "v2");
        ck_assert_int_eq(take(names[i]), APR_SUCCESS);
    }
    sets[4].name = "none.example";  /* nothing staged */
    sets[5].name = "Bad..name";
    test_store_fsyncs = 0;
    acme_store_activate_many(test_pool, test_store, sets, 6);
    /* one per intent's data, then intents/, live/ + archive/, pending/ + live/,
     * staging/ (the staged sets removed), intents/ */
    ck_assert_int_eq(test_store_fsyncs, 4 + 1 + 2 + 2 + 1 + 1);
    for (i = 0; i < 4; ++i) {
        ck_assert_int_eq(sets[i].rv, APR_SUCCESS);
        ck_assert_str_eq(sets[i].archived, apr_pstrcat(test_pool, names[i], ".1", NULL));
        assert_set(ACME_STORE_LIVE, names[i], "v2");
        assert_set(ACME_STORE_ARCHIVE, sets[i].archived, "v1");
        assert_absent(ACME_STORE_STAGING, names[i]);
        assert_absent(ACME_STORE_PENDING, names[i]);
        ck_assert_int_eq(test_store_mode(apr_pstrcat(test_pool, "domains/", names[i],
                                                     "/privkey.pem", NULL)), 0600);
        ck_assert(!test_store_raw_exists(apr_pstrcat(test_pool, "intents/", names[i], NULL)));
    }
    ck_assert_int_eq(sets[4].rv, APR_ENOENT);
    ck_assert_int_eq(sets[5].rv, APR_EINVAL);
}
END_TEST

/* A rename failing in the middle of a batch (as a crash there would stop
 * it) stops only its set, whose intent stays for recovery; the others go
 * live. Renames: 1-2 the intents, 3-4 live -> archive, 5-6 pending -> live,
 * 7-8 the staged sets removed. */
START_TEST(batch_failure_is_completed_by_recovery)
{
    acme_store_activation_t sets[2] = {{"a.example", 0, NULL}, {"b.example", 0, NULL}};
    int i;

    for (i = 0; i < 2; ++i) {
        stage_set(ACME_STORE_LIVE, sets[i].name, "v1");
        stage_set(ACME_STORE_STAGING, sets[i].name, "v2");
        ck_assert_int_eq(take(sets[i].name), APR_SUCCESS);
    }
    test_store_fail_renameat_at = 5;
    acme_store_activate_many(test_pool, test_store, sets, 2);
    test_store_fail_renameat_at = 0;
    ck_assert_int_ne(sets[0].rv, APR_SUCCESS);
    ck_assert_int_eq(sets[1].rv, APR_SUCCESS);
    assert_set(ACME_STORE_LIVE, "b.example", "v2");
    ck_assert(test_store_raw_exists("intents/a.example"));
    assert_absent(ACME_STORE_LIVE, "a.example");
    ck_assert_int_eq(acme_store_recover(test_store, test_pool, 0), APR_SUCCESS);
    ck_assert(!test_store_raw_exists("intents/a.example"));
    for (i = 0; i < 2; ++i) {
        assert_set(ACME_STORE_LIVE, sets[i].name, "v2");
        assert_set(ACME_STORE_ARCHIVE, apr_pstrcat(test_pool, sets[i].name, ".1", NULL), "v1");
        assert_absent(ACME_STORE_STAGING, sets[i].name);
    }
}
END_TEST

START_TEST(recovery_rolls_back_when_staged_set_vanished)
{
    stage_set(ACME_STORE_ARCHIVE, MD ".1", "v1");
    ck_assert_int_eq(mkdir(test_store_path("intents"), 0700), 0);
    test_store_put_raw("intents/" MD, "{\"archive\": 1}");
    ck_assert_int_eq(acme_store_recover(test_store, test_pool, 0), APR_SUCCESS);
    assert_set(ACME_STORE_LIVE, MD, "v1");
    assert_absent(ACME_STORE_ARCHIVE, MD ".1");
    ck_assert(!test_store_raw_exists("intents/" MD));
}
END_TEST

START_TEST(recovery_never_overwrites_a_taken_archive_number)
{
    /* Intent planned .1, but .1 holds an older set by now; live not moved. */
    stage_set(ACME_STORE_ARCHIVE, MD ".1", "v0");
    stage_set(ACME_STORE_LIVE, MD, "v1");
    stage_set(ACME_STORE_PENDING, MD, "v2");
    ck_assert_int_eq(mkdir(test_store_path("intents"), 0700), 0);
    test_store_put_raw("intents/" MD, "{\"archive\": 1}");
    ck_assert_int_eq(acme_store_recover(test_store, test_pool, 0), APR_SUCCESS);
    assert_set(ACME_STORE_LIVE, MD, "v2");
    assert_set(ACME_STORE_ARCHIVE, MD ".1", "v0");
    assert_set(ACME_STORE_ARCHIVE, MD ".2", "v1");
}
END_TEST

START_TEST(recovery_with_corrupt_intent_loses_nothing)
{
    /* Live already archived as .1, pending set not moved, intent garbage:
     * the staged set it came from stays (taken and activated once more). */
    stage_set(ACME_STORE_ARCHIVE, MD ".1", "v1");
    stage_set(ACME_STORE_PENDING, MD, "v2");
    stage_set(ACME_STORE_STAGING, MD, "v2");
    ck_assert_int_eq(mkdir(test_store_path("intents"), 0700), 0);
    test_store_put_raw("intents/" MD, "garbage");
    ck_assert_int_eq(acme_store_recover(test_store, test_pool, 0), APR_SUCCESS);
    assert_set(ACME_STORE_LIVE, MD, "v2");
    assert_set(ACME_STORE_ARCHIVE, MD ".1", "v1");
    assert_set(ACME_STORE_STAGING, MD, "v2");
    ck_assert(!test_store_raw_exists("intents/" MD));
}
END_TEST

START_TEST(activation_finishes_a_leftover_intent_first)
{
    const char *archived;

    /* Crashed after archiving v1; before any restart, v3 gets activated. */
    stage_set(ACME_STORE_ARCHIVE, MD ".1", "v1");
    stage_set(ACME_STORE_PENDING, MD, "v2");
    ck_assert_int_eq(mkdir(test_store_path("intents"), 0700), 0);
    test_store_put_raw("intents/" MD, "{\"archive\": 1}");
    ck_assert_int_eq(activate(&archived, MD), APR_ENOENT); /* v2 went live, nothing staged */
    assert_set(ACME_STORE_LIVE, MD, "v2");
    stage_set(ACME_STORE_STAGING, MD, "v3");
    ck_assert_int_eq(activate(&archived, MD), APR_SUCCESS);
    ck_assert_str_eq(archived, MD ".2");
    assert_set(ACME_STORE_LIVE, MD, "v3");
    assert_set(ACME_STORE_ARCHIVE, MD ".2", "v2");
    assert_set(ACME_STORE_ARCHIVE, MD ".1", "v1");
}
END_TEST

TCase *test_store_activate_tcase(void)
{
    TCase *tc = tcase_create("activate");

    tcase_add_checked_fixture(tc, test_store_setup, test_store_teardown);
    tcase_add_test(tc, first_activation_without_previous);
    tcase_add_test(tc, activation_archives_previous_sets_in_order);
    tcase_add_test(tc, wildcard_name_activation);
    tcase_add_test(tc, activation_without_staged_set);
    tcase_add_test(tc, crash_before_intent);
    tcase_add_test(tc, crash_after_intent);
    tcase_add_test(tc, crash_after_archiving_live);
    tcase_add_test(tc, crash_before_staged_set_removed);
    tcase_add_test(tc, activation_keeps_a_set_staged_after_the_take);
    tcase_add_test(tc, crash_before_intent_removed);
    tcase_add_test(tc, recovery_rolls_back_when_staged_set_vanished);
    tcase_add_test(tc, recovery_never_overwrites_a_taken_archive_number);
    tcase_add_test(tc, recovery_with_corrupt_intent_loses_nothing);
    tcase_add_test(tc, activation_finishes_a_leftover_intent_first);
    tcase_add_test(tc, batch_activates_each_and_shares_the_flushes);
    tcase_add_test(tc, batch_failure_is_completed_by_recovery);
    return tc;
}
