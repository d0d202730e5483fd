/* check_status: the status slots (mod_acme_status_slot.c) on plain memory:
 * round trips, texts made safe, failure classes, counters and the
 * histogram, and readers never seeing a half-written slot while a writer
 * thread rewrites it. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "acme_http.h"
#include "check_main.h"
#include "mod_acme_status_slot.h"

static void *mem;

static void slots_setup(void)
{
    test_pool_setup();
    mem = calloc(1, acme_status_slots_size(3));
    ck_assert_ptr_nonnull(mem);
    acme_status_slots_attach(mem, 3);
}

static void slots_teardown(void)
{
    acme_status_slots_attach(NULL, 0);
    free(mem);
    test_pool_teardown();
}

START_TEST(slot_round_trip_and_bounds)
{
    acme_status_slot_t in, out;

    memset(&in, 0, sizeof(in));
    apr_cpystrn(in.md_name, "a.test", sizeof(in.md_name));
    in.errors = 3;
    in.next_at = apr_time_from_sec(1000);
    memset(in.detail, 'x', sizeof(in.detail));     /* not terminated by the writer */
    acme_status_slot_write(2, &in);
    ck_assert_int_eq(acme_status_slot_read(&out, 2), APR_SUCCESS);
    ck_assert_str_eq(out.md_name, "a.test");
    ck_assert_int_eq(out.errors, 3);
    ck_assert(out.next_at == apr_time_from_sec(1000));
    ck_assert_uint_eq(strlen(out.detail), sizeof(out.detail) - 1);
    ck_assert(out.updated > 0);
    ck_assert_int_eq(acme_status_slot_read(&out, 3), APR_ENOENT);
    ck_assert_int_eq(acme_status_slot_read(&out, -1), APR_ENOENT);
    acme_status_slot_write(3, &in);                 /* out of range: ignored */
    acme_status_slots_attach(NULL, 0);
    ck_assert_int_eq(acme_status_slot_read(&out, 0), APR_ENOENT);
    acme_status_count_orders(1);                    /* detached: ignored */
    acme_status_slots_attach(mem, 3);
}
END_TEST

/* The shared store's record: a round trip, its texts always terminated, no
 * segment reads as "none", and it does not overlap the last slot. */
START_TEST(shared_record_round_trip)
{
    acme_status_shared_t in, out;
    acme_status_slot_t slot, back;

    memset(&in, 0, sizeof(in));
    in.state = ACME_STATUS_SHARED_DOWN;
    apr_cpystrn(in.url, "redis://:***@127.0.0.1:6379/0", sizeof(in.url));
    memset(in.error, 'e', sizeof(in.error));      /* not terminated by the writer */
    in.since = apr_time_from_sec(77);
    memset(&slot, 0, sizeof(slot));
    apr_cpystrn(slot.md_name, "c.test", sizeof(slot.md_name));
    slot.errors = 9;
    acme_status_slot_write(2, &slot);
    acme_status_shared_write(&in);
    ck_assert_int_eq(acme_status_shared_read(&out), APR_SUCCESS);
    ck_assert_int_eq(out.state, ACME_STATUS_SHARED_DOWN);
    ck_assert_str_eq(out.url, in.url);
    ck_assert_uint_eq(strlen(out.error), sizeof(out.error) - 1);
    ck_assert(out.since == in.since);
    ck_assert_str_eq(acme_status_shared_state_name(out.state), "down");
    ck_assert_str_eq(acme_status_shared_state_name(ACME_STATUS_SHARED_UP), "up");
    ck_assert_str_eq(acme_status_shared_state_name(99), "unknown");
    ck_assert_int_eq(acme_status_slot_read(&back, 2), APR_SUCCESS);
    ck_assert_str_eq(back.md_name, "c.test");
    ck_assert_int_eq(back.errors, 9);
    acme_status_slots_attach(NULL, 0);
    ck_assert_int_eq(acme_status_shared_read(&out), APR_ENOENT);
    ck_assert_int_eq(out.state, ACME_STATUS_SHARED_NONE);
    acme_status_shared_write(&in);                /* ignored, no crash */
    acme_status_slots_attach(mem, 3);
}
END_TEST

START_TEST(text_copy_strips_and_truncates)
{
    char buf[8];

    acme_status_text_copy(buf, sizeof(buf), "a\nb\tc\x7f" "d");
    ck_assert_str_eq(buf, "a b c d");
    acme_status_text_copy(buf, sizeof(buf), "caf\xc3\xa9!");
    ck_assert_str_eq(buf, "caf?" "?!");
    acme_status_text_copy(buf, sizeof(buf), "0123456789");
    ck_assert_str_eq(buf, "0123456");
    acme_status_text_copy(buf, sizeof(buf), NULL);
    ck_assert_str_eq(buf, "");
}
END_TEST

static acme_result_t *problem(const char *type, apr_status_t status)
{
    acme_result_t *r = acme_result_create(test_pool);

    r->status = status;
    r->problem_type = type;
    return r;
}

START_TEST(failures_are_classified)
{
    ck_assert_int_eq(acme_status_problem_classify(
                         problem("urn:ietf:params:acme:error:rateLimited", ACME_EPROBLEM)),
                     ACME_STATUS_PROB_RATE_LIMITED);
    ck_assert_int_eq(acme_status_problem_classify(
                         problem("urn:ietf:params:acme:error:rejectedIdentifier",
                                 ACME_EPROBLEM)),
                     ACME_STATUS_PROB_REJECTED_IDENTIFIER);
    ck_assert_int_eq(acme_status_problem_classify(problem(NULL, ACME_HTTP_ECONNECT)),
                     ACME_STATUS_PROB_CONNECTION);
    ck_assert_int_eq(acme_status_problem_classify(problem(NULL, ACME_HTTP_ETIMEOUT)),
                     ACME_STATUS_PROB_CONNECTION);
    ck_assert_int_eq(acme_status_problem_classify(problem("about:blank", ACME_EPROBLEM)),
                     ACME_STATUS_PROB_OTHER);
    ck_assert_int_eq(acme_status_problem_classify(problem(NULL, APR_EINVAL)),
                     ACME_STATUS_PROB_OTHER);
    ck_assert_int_eq(acme_status_problem_classify(NULL), ACME_STATUS_PROB_OTHER);
    ck_assert_str_eq(acme_status_problem_name(ACME_STATUS_PROB_BAD_NONCE), "badNonce");
    ck_assert_str_eq(acme_status_state_name(ACME_STATUS_STAGED), "staged");
}
END_TEST

START_TEST(counters_and_histogram)
{
    acme_status_counters_t c, restored;

    acme_status_count_orders(2);
    acme_status_count_orders(-1);                   /* nonsense: ignored */
    acme_status_count_failure(problem("urn:ietf:params:acme:error:badNonce", ACME_EPROBLEM));
    acme_status_count_failure(NULL);
    acme_status_count_renewal(apr_time_from_msec(500));       /* le 1 */
    acme_status_count_renewal(apr_time_from_sec(100));        /* le 300 */
    acme_status_count_renewal(apr_time_from_sec(3 * 86400));  /* +Inf only */
    acme_status_counters_read(&c);
    ck_assert_uint_eq(c.orders, 2);
    ck_assert_uint_eq(c.renewals_ok, 3);
    ck_assert_uint_eq(c.failures[ACME_STATUS_PROB_BAD_NONCE], 1);
    ck_assert_uint_eq(c.failures[ACME_STATUS_PROB_OTHER], 1);
    ck_assert_uint_eq(c.duration_buckets[0], 1);
    ck_assert_uint_eq(c.duration_buckets[5], 1);
    ck_assert_uint_eq(c.duration_buckets[0] + c.duration_buckets[1] + c.duration_buckets[2]
                      + c.duration_buckets[3] + c.duration_buckets[4] + c.duration_buckets[5]
                      + c.duration_buckets[6] + c.duration_buckets[7] + c.duration_buckets[8]
                      + c.duration_buckets[9], 2);
    ck_assert_uint_eq(c.duration_count, 3);
    ck_assert_uint_eq(c.duration_ms_sum, 500 + 100000 + 3 * 86400000ULL);
    memset(&restored, 0, sizeof(restored));
    restored.orders = 42;
    acme_status_counters_restore(&restored);
    acme_status_counters_read(&c);
    ck_assert_uint_eq(c.orders, 42);
    ck_assert_uint_eq(c.renewals_ok, 0);
}
END_TEST

/* A writer rewriting slot 1 with a consistent pattern (every field derived
 * from one number) while readers check each copy they get. */
static volatile int stop;

static void pattern_fill(acme_status_slot_t *slot, int k)
{
    memset(slot, 0, sizeof(*slot));
    slot->errors = k;
    slot->next_at = (apr_time_t)k * 7;
    memset(slot->detail, 'a' + k % 26, sizeof(slot->detail) - 1);
    slot->staged_until = (apr_time_t)k * 11;
}

static void *APR_THREAD_FUNC writer_main(apr_thread_t *t, void *data)
{
    acme_status_slot_t slot;
    int k = 0;

    (void)data;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        pattern_fill(&slot, ++k);
        acme_status_slot_write(1, &slot);
    }
    (void)t;
    return NULL;
}

static void *APR_THREAD_FUNC reader_main(apr_thread_t *t, void *data)
{
    int *torn = data, i;
    acme_status_slot_t slot;
    apr_size_t j;

    for (i = 0; i < 20000; ++i) {
        if (acme_status_slot_read(&slot, 1) != APR_SUCCESS) {
            continue;
        }
        for (j = 0; j + 1 < sizeof(slot.detail) && slot.errors > 0; ++j) {
            if (slot.detail[j] != 'a' + slot.errors % 26) {
                break;
            }
        }
        if (slot.errors > 0 && (slot.next_at != (apr_time_t)slot.errors * 7
                                || slot.staged_until != (apr_time_t)slot.errors * 11
                                || j + 1 != sizeof(slot.detail))) {
            (*torn)++;
        }
    }
    (void)t;
    return NULL;
}

START_TEST(readers_never_see_half_a_write)
{
    apr_thread_t *writer, *readers[3];
    int torn[3] = { 0, 0, 0 }, i;
    apr_status_t rv;

    stop = 0;
    ck_assert_int_eq(apr_thread_create(&writer, NULL, writer_main, NULL, test_pool),
                     APR_SUCCESS);
    for (i = 0; i < 3; ++i) {
        ck_assert_int_eq(apr_thread_create(&readers[i], NULL, reader_main, &torn[i],
                                           test_pool), APR_SUCCESS);
    }
    for (i = 0; i < 3; ++i) {
        apr_thread_join(&rv, readers[i]);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    apr_thread_join(&rv, writer);
    ck_assert_int_eq(torn[0] + torn[1] + torn[2], 0);
}
END_TEST

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("slots");

    tcase_add_checked_fixture(tc, slots_setup, slots_teardown);
    tcase_add_test(tc, slot_round_trip_and_bounds);
    tcase_add_test(tc, text_copy_strips_and_truncates);
    tcase_add_test(tc, shared_record_round_trip);
    tcase_add_test(tc, failures_are_classified);
    tcase_add_test(tc, counters_and_histogram);
    tcase_add_test(tc, readers_never_see_half_a_write);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
