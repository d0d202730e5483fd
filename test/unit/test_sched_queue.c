/* The watchdog's due queue (acme_due_queue). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_due_queue.h"
#include "acme_schedule.h"
#include "check_main.h"
#include "test_sched.h"

#define SEC(n) apr_time_from_sec(n)
#define T0 SEC(1735689600LL)
#define NKEYS 10000

static acme_due_queue_t *new_queue(void)
{
    acme_due_queue_t *q = NULL;

    ck_assert_int_eq(acme_due_queue_create(&q, test_pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(q);
    return q;
}

static void expect_pop(acme_due_queue_t *q, const char *key, apr_time_t due)
{
    const char *k = NULL;
    apr_time_t d = -1;

    ck_assert_int_eq(acme_due_queue_pop(q, &k, &d), APR_SUCCESS);
    ck_assert_str_eq(k, key);
    ck_assert_msg(d == due, "%s: due %lld", key, (long long)d);
}

START_TEST(empty_queue)
{
    acme_due_queue_t *q = new_queue();
    const char *k = "untouched";
    apr_time_t d = 4711;

    ck_assert_uint_eq(acme_due_queue_count(q), 0);
    ck_assert_int_eq(acme_due_queue_peek(q, &k, &d), APR_NOTFOUND);
    ck_assert_int_eq(acme_due_queue_pop(q, &k, &d), APR_NOTFOUND);
    ck_assert_int_eq(acme_due_queue_pop_due(q, T0, &k, &d), APR_NOTFOUND);
    ck_assert_str_eq(k, "untouched");
    ck_assert(d == 4711);
    ck_assert_int_eq(acme_due_queue_remove(q, "a.example"), APR_NOTFOUND);
    ck_assert_int_eq(acme_due_queue_contains(q, "a.example", NULL), 0);
    ck_assert(acme_due_queue_next_wakeup(q, T0, SEC(3600)) == T0 + SEC(3600));
}
END_TEST

START_TEST(order_and_ties)
{
    acme_due_queue_t *q = new_queue();

    ck_assert_int_eq(acme_due_queue_set(q, "b.example", T0 + 10), APR_SUCCESS);
    ck_assert_int_eq(acme_due_queue_set(q, "c.example", T0 + 10), APR_SUCCESS);
    ck_assert_int_eq(acme_due_queue_set(q, "a.example", T0 + 10), APR_SUCCESS);
    ck_assert_int_eq(acme_due_queue_set(q, "z.example", T0 + 5), APR_SUCCESS);
    ck_assert_int_eq(acme_due_queue_set(q, "y.example", T0 + 20), APR_SUCCESS);
    ck_assert_uint_eq(acme_due_queue_count(q), 5);
    expect_pop(q, "z.example", T0 + 5);
    expect_pop(q, "a.example", T0 + 10);
    expect_pop(q, "b.example", T0 + 10);
    expect_pop(q, "c.example", T0 + 10);
    expect_pop(q, "y.example", T0 + 20);
    ck_assert_uint_eq(acme_due_queue_count(q), 0);
}
END_TEST

START_TEST(update_and_remove)
{
    acme_due_queue_t *q = new_queue();
    const char *k = NULL;
    apr_time_t d = 0;

    acme_due_queue_set(q, "a.example", T0 + 10);
    acme_due_queue_set(q, "b.example", T0 + 20);
    acme_due_queue_set(q, "c.example", T0 + 30);
    /* Earlier, then later again: the entry moves, it is not duplicated. */
    ck_assert_int_eq(acme_due_queue_set(q, "c.example", T0 + 1), APR_SUCCESS);
    ck_assert_int_eq(acme_due_queue_peek(q, &k, &d), APR_SUCCESS);
    ck_assert_str_eq(k, "c.example");
    ck_assert_int_eq(acme_due_queue_set(q, "c.example", T0 + 40), APR_SUCCESS);
    ck_assert_uint_eq(acme_due_queue_count(q), 3);
    ck_assert_int_eq(acme_due_queue_contains(q, "c.example", &d), 1);
    ck_assert(d == T0 + 40);

    ck_assert_int_eq(acme_due_queue_remove(q, "b.example"), APR_SUCCESS);
    ck_assert_int_eq(acme_due_queue_remove(q, "b.example"), APR_NOTFOUND);
    ck_assert_int_eq(acme_due_queue_remove(q, "x.example"), APR_NOTFOUND);
    ck_assert_int_eq(acme_due_queue_remove(q, NULL), APR_NOTFOUND);
    ck_assert_int_eq(acme_due_queue_contains(q, "b.example", &d), 0);
    ck_assert_uint_eq(acme_due_queue_count(q), 2);
    expect_pop(q, "a.example", T0 + 10);
    /* Popped keys can come back. */
    ck_assert_int_eq(acme_due_queue_set(q, "a.example", T0 + 50), APR_SUCCESS);
    expect_pop(q, "c.example", T0 + 40);
    expect_pop(q, "a.example", T0 + 50);
}
END_TEST

START_TEST(bad_keys)
{
    acme_due_queue_t *q = new_queue();

    ck_assert_int_eq(acme_due_queue_set(q, NULL, T0), APR_EINVAL);
    ck_assert_int_eq(acme_due_queue_set(q, "", T0), APR_EINVAL);
    ck_assert_uint_eq(acme_due_queue_count(q), 0);
}
END_TEST

/* The queue keeps its own copy of a key, valid after pop and re-add. */
START_TEST(keys_are_copied)
{
    acme_due_queue_t *q = new_queue();
    char buf[32];
    const char *k1 = NULL, *k2 = NULL;

    strcpy(buf, "a.example");
    acme_due_queue_set(q, buf, T0);
    strcpy(buf, "b.example");
    acme_due_queue_set(q, buf, T0 + 1);
    memset(buf, 'x', sizeof(buf) - 1);
    ck_assert_int_eq(acme_due_queue_pop(q, &k1, NULL), APR_SUCCESS);
    ck_assert_str_eq(k1, "a.example");
    ck_assert_ptr_ne(k1, buf);
    acme_due_queue_set(q, "a.example", T0 + 2);
    acme_due_queue_pop(q, NULL, NULL);
    ck_assert_int_eq(acme_due_queue_pop(q, &k2, NULL), APR_SUCCESS);
    ck_assert_ptr_eq(k1, k2);
    ck_assert_str_eq(k1, "a.example");
}
END_TEST

START_TEST(pop_due_and_wakeup)
{
    acme_due_queue_t *q = new_queue();
    const char *k = NULL;
    apr_time_t d = 0;

    acme_due_queue_set(q, "a.example", T0 - SEC(60));
    acme_due_queue_set(q, "b.example", T0);
    acme_due_queue_set(q, "c.example", T0 + SEC(600));
    /* Something due: wake in a second, never spin. */
    ck_assert(acme_due_queue_next_wakeup(q, T0, SEC(3600)) == T0 + ACME_SCHEDULE_WAKE_MIN);
    ck_assert_int_eq(acme_due_queue_pop_due(q, T0, &k, &d), APR_SUCCESS);
    ck_assert_str_eq(k, "a.example");
    ck_assert_int_eq(acme_due_queue_pop_due(q, T0, &k, &d), APR_SUCCESS);
    ck_assert_str_eq(k, "b.example");
    ck_assert(d == T0);
    ck_assert_int_eq(acme_due_queue_pop_due(q, T0, &k, &d), APR_NOTFOUND);
    ck_assert_str_eq(k, "b.example");
    ck_assert_uint_eq(acme_due_queue_count(q), 1);
    ck_assert(acme_due_queue_next_wakeup(q, T0, SEC(3600)) == T0 + SEC(600));
    ck_assert(acme_due_queue_next_wakeup(q, T0, SEC(300)) == T0 + SEC(300));
    /* A due time of 0 is long past, not "nothing". */
    acme_due_queue_set(q, "c.example", 0);
    ck_assert(acme_due_queue_next_wakeup(q, T0, SEC(300)) == T0 + ACME_SCHEDULE_WAKE_MIN);
}
END_TEST

/* ------------------------------------------------------------------ random */

typedef struct {
    char key[32];
    apr_time_t due;
    int queued;
} ref_t;

static apr_uint32_t rng_state;

static apr_uint32_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int ref_before(const ref_t *x, const ref_t *y)
{
    if (x->due != y->due) {
        return x->due < y->due;
    }
    return strcmp(x->key, y->key) < 0;
}

static int ref_cmp(const void *a, const void *b)
{
    const ref_t *x = *(const ref_t *const *)a, *y = *(const ref_t *const *)b;

    return ref_before(x, y) ? -1 : ref_before(y, x) ? 1 : 0;
}

/* The first queued reference entry, by the queue's order (a linear scan). */
static ref_t *ref_first(ref_t *refs, apr_size_t n)
{
    ref_t *best = NULL;
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        if (refs[i].queued && (!best || ref_before(&refs[i], best))) {
            best = &refs[i];
        }
    }
    return best;
}

/* One random step: set (new or update), remove, or pop checked against the
 * reference. Due times come from a small range, so ties are frequent. */
static void random_step(acme_due_queue_t *q, ref_t *refs, apr_size_t *pqueued)
{
    apr_uint32_t op = rng_next() % 10;
    ref_t *r = &refs[rng_next() % NKEYS];
    ref_t *first;
    const char *k;
    apr_time_t d;

    if (op < 6) {
        r->due = T0 + (apr_time_t)(rng_next() % 5000);
        ck_assert_int_eq(acme_due_queue_set(q, r->key, r->due), APR_SUCCESS);
        *pqueued += !r->queued;
        r->queued = 1;
    }
    else if (op < 9) {
        ck_assert_int_eq(acme_due_queue_remove(q, r->key),
                         r->queued ? APR_SUCCESS : APR_NOTFOUND);
        *pqueued -= r->queued;
        r->queued = 0;
    }
    else if ((first = ref_first(refs, NKEYS)) != NULL) {
        ck_assert_int_eq(acme_due_queue_pop(q, &k, &d), APR_SUCCESS);
        ck_assert_str_eq(k, first->key);
        ck_assert(d == first->due);
        first->queued = 0;
        --*pqueued;
    }
}

START_TEST(random_against_sorted_reference)
{
    acme_due_queue_t *q = new_queue();
    ref_t *refs = calloc(NKEYS, sizeof(*refs));
    const ref_t **sorted = calloc(NKEYS, sizeof(*sorted));
    apr_size_t i, queued = 0, n = 0;
    const char *k;
    apr_time_t d;

    ck_assert_ptr_nonnull(refs);
    ck_assert_ptr_nonnull(sorted);
    rng_state = 2463534242u;
    for (i = 0; i < NKEYS; ++i) {
        /* A random prefix puts the keys in no particular order; the index
         * keeps them distinct. */
        snprintf(refs[i].key, sizeof(refs[i].key), "%08x-%05u.example",
                 (unsigned)rng_next(), (unsigned)i);
        refs[i].due = T0 + (apr_time_t)(rng_next() % 100000);
        refs[i].queued = 1;
        ck_assert_int_eq(acme_due_queue_set(q, refs[i].key, refs[i].due), APR_SUCCESS);
    }
    queued = NKEYS;
    for (i = 0; i < 30000; ++i) {
        random_step(q, refs, &queued);
        ck_assert_uint_eq(acme_due_queue_count(q), queued);
    }
    for (i = 0; i < NKEYS; ++i) {
        if (refs[i].queued) {
            sorted[n++] = &refs[i];
        }
    }
    ck_assert_uint_eq(n, queued);
    qsort(sorted, n, sizeof(*sorted), ref_cmp);
    for (i = 0; i < n; ++i) {
        ck_assert_int_eq(acme_due_queue_pop(q, &k, &d), APR_SUCCESS);
        ck_assert_str_eq(k, sorted[i]->key);
        ck_assert(d == sorted[i]->due);
    }
    ck_assert_int_eq(acme_due_queue_pop(q, &k, &d), APR_NOTFOUND);
    free(sorted);
    free(refs);
}
END_TEST

TCase *test_sched_queue_tcase(void)
{
    TCase *tc = tcase_create("queue");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, empty_queue);
    tcase_add_test(tc, order_and_ties);
    tcase_add_test(tc, update_and_remove);
    tcase_add_test(tc, bad_keys);
    tcase_add_test(tc, keys_are_copied);
    tcase_add_test(tc, pop_due_and_wakeup);
    tcase_add_test(tc, random_against_sorted_reference);
    return tc;
}
