/* check_redis: leases and fenced writes (acme_lease.h) against a real
 * server: one holder at a time, tokens that only grow, a stalled holder kept
 * from writing, expiry, renew, release, bad names, a lost connection, and
 * threads racing for one lease. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_lease.h"
#include "test_redis.h"

#define NS "lt"

static acme_redis_t *lease_conn;

static void lease_setup(void)
{
    test_pool_setup();
    lease_conn = tr_connect(test_pool, tr_url(test_pool, tr_main.port, NULL), NULL);
}

static void lease_teardown(void)
{
    lease_conn = NULL;
    test_pool_teardown();
}

static acme_lease_t *must_acquire(const char *name, const char *holder, long ttl_ms)
{
    acme_lease_t *lse = NULL;
    const char *err = NULL;
    apr_status_t rv;

    rv = acme_lease_acquire(&lse, test_pool, lease_conn, NS, name, holder,
                            apr_time_from_msec(ttl_ms), NULL, &err);
    ck_assert_msg(rv == APR_SUCCESS, "acquire %s by %s: %d %s", name, holder, rv,
                  err ? err : "");
    ck_assert_ptr_nonnull(lse);
    return lse;
}

/* The value of `key` as a string, NULL when absent. */
static const char *get_or_null(const char *key)
{
    const char *val = NULL, *err = NULL;
    apr_size_t len;
    apr_status_t rv;

    rv = acme_redis_get(&val, &len, test_pool, lease_conn, key, &err);
    if (rv == APR_ENOENT) {
        return NULL;
    }
    ck_assert_msg(rv == APR_SUCCESS, "GET %s: %s", key, err);
    return val;
}

static void must_set(const char *key, const char *val)
{
    const char *err = NULL;

    ck_assert_msg(acme_redis_set(lease_conn, test_pool, key, val, strlen(val), NULL, &err)
                  == APR_SUCCESS, "SET %s: %s", key, err);
}

static void must_del(const char *key)
{
    const char *err = NULL;

    ck_assert_msg(acme_redis_del(NULL, test_pool, lease_conn, key, &err) == APR_SUCCESS,
                  "DEL %s: %s", key, err);
}

static long pttl_ms(const char *key)
{
    const char *argv[] = { "PTTL", key };
    apr_size_t argvlen[] = { 4, strlen(key) };
    acme_redis_reply_t *r;
    const char *err = NULL;

    ck_assert_msg(acme_redis_command(&r, test_pool, lease_conn, 2, argv, argvlen, &err)
                  == APR_SUCCESS, "%s", err);
    ck_assert_int_eq(r->type, ACME_REDIS_REPLY_INTEGER);
    return (long)r->integer;
}

/* Polls until the lease `name` has expired (fails the test after 5 s). */
static void wait_expired(const char *name)
{
    long until = tr_now_ms() + 5000;
    acme_lease_busy_t busy;
    const char *err = NULL;
    apr_status_t rv;

    while ((rv = acme_lease_peek(&busy, test_pool, lease_conn, NS, name, &err)) == APR_SUCCESS) {
        ck_assert_msg(tr_now_ms() < until, "lease %s did not expire", name);
        usleep(10000);
    }
    ck_assert_msg(rv == APR_ENOENT, "peek %s: %d %s", name, rv, err);
}

static apr_status_t set_one(const acme_lease_t *lse, const char *key, const char *val,
                            const char **perr)
{
    const char *keys[] = { key }, *vals[] = { val };
    apr_size_t lens[] = { strlen(val) };

    return acme_lease_fenced_set(lse, test_pool, lease_conn, 1, keys, vals, lens, perr);
}

START_TEST(acquire_free)
{
    acme_lease_t *lse = must_acquire("free.example", "web1:100", 10000);
    acme_lease_busy_t busy;
    const char *err = NULL;
    apr_time_t now = apr_time_now();
    long ttl = pttl_ms(NS ":lease:free.example");

    ck_assert_int_ge(acme_lease_token(lse), 1);
    ck_assert_str_eq(acme_lease_holder(lse), "web1:100");
    ck_assert_str_eq(acme_lease_name(lse), "free.example");
    ck_assert_str_eq(acme_lease_key(lse), NS ":lease:free.example");
    /* the layout the header promises: "<token> <holder>", the counter */
    ck_assert_str_eq(get_or_null(NS ":lease:free.example"),
                     apr_psprintf(test_pool, "%" APR_INT64_T_FMT " web1:100",
                                  acme_lease_token(lse)));
    ck_assert_str_eq(get_or_null(NS ":fence:free.example"),
                     apr_psprintf(test_pool, "%" APR_INT64_T_FMT, acme_lease_token(lse)));
    ck_assert_int_eq(pttl_ms(NS ":fence:free.example"), -1);
    ck_assert_msg(ttl > 0 && ttl <= 10000, "PTTL %ld", ttl);
    ck_assert(acme_lease_expires(lse) <= now + apr_time_from_sec(10));
    ck_assert(acme_lease_expires(lse) > now + apr_time_from_sec(5));
    /* status reads it without taking it */
    ck_assert_int_eq(acme_lease_peek(&busy, test_pool, lease_conn, NS, "free.example", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(busy.holder, "web1:100");
    ck_assert_int_eq(busy.token, acme_lease_token(lse));
    ck_assert(busy.remaining > 0 && busy.remaining <= apr_time_from_sec(10));
    ck_assert_int_eq(acme_lease_peek(&busy, test_pool, lease_conn, NS, "never.example", &err),
                     APR_ENOENT);
    /* the bounds are inclusive; a name may hold ':' (an IPv6 address) */
    must_acquire(apr_pstrcat(test_pool, "2001:db8::1.", apr_psprintf(test_pool, "%0188d", 0),
                             NULL), "web1:100", 10000);
}
END_TEST

START_TEST(busy_reports_holder)
{
    acme_lease_t *a = must_acquire("busy.example", "web1:100", 5000), *b = NULL;
    acme_lease_busy_t busy = { NULL, 0, 0 };
    const char *err = NULL, *before = get_or_null(NS ":lease:busy.example");

    ck_assert_int_eq(acme_lease_acquire(&b, test_pool, lease_conn, NS, "busy.example",
                                        "web2:200", apr_time_from_sec(5), &busy, &err),
                     ACME_LEASE_EBUSY);
    ck_assert_ptr_null(b);
    ck_assert_str_eq(busy.holder, "web1:100");
    ck_assert_int_eq(busy.token, acme_lease_token(a));
    ck_assert(busy.remaining > 0 && busy.remaining <= apr_time_from_sec(5));
    ck_assert_msg(strstr(err, "held by web1:100") != NULL && strstr(err, "ms more") != NULL,
                  "%s", err);
    /* a refused acquisition changes nothing, not even the counter */
    ck_assert_str_eq(get_or_null(NS ":lease:busy.example"), before);
    ck_assert_str_eq(get_or_null(NS ":fence:busy.example"),
                     apr_psprintf(test_pool, "%" APR_INT64_T_FMT, acme_lease_token(a)));
    /* the same holder string is no key: busy too, and the ttl not extended */
    ck_assert_int_eq(acme_lease_acquire(&b, test_pool, lease_conn, NS, "busy.example",
                                        "web1:100", apr_time_from_sec(60), &busy, &err),
                     ACME_LEASE_EBUSY);
    ck_assert_ptr_null(b);
    ck_assert_int_le(pttl_ms(NS ":lease:busy.example"), 5000);
    /* busy may be NULL */
    ck_assert_int_eq(acme_lease_acquire(&b, test_pool, lease_conn, NS, "busy.example",
                                        "web3:300", apr_time_from_sec(5), NULL, NULL),
                     ACME_LEASE_EBUSY);
}
END_TEST

/* A holder that stalled past its lease: the next one has a greater token,
 * and the stalled one's writes are refused before and after the next one
 * wrote. */
START_TEST(expired_holder_is_fenced)
{
    acme_lease_t *a = must_acquire("stall.example", "web1:100", 200), *b;
    const char *err = NULL;

    usleep(250000);
    wait_expired("stall.example");
    b = must_acquire("stall.example", "web2:200", 10000);
    ck_assert_int_gt(acme_lease_token(b), acme_lease_token(a));
    ck_assert_int_eq(set_one(a, NS ":job:stall.example", "from-a", &err), ACME_LEASE_ELOST);
    ck_assert_msg(strstr(err, "now held by web2:200") != NULL, "%s", err);
    ck_assert_ptr_null(get_or_null(NS ":job:stall.example"));
    ck_assert_int_eq(set_one(b, NS ":job:stall.example", "from-b", &err), APR_SUCCESS);
    ck_assert_str_eq(get_or_null(NS ":job:stall.example"), "from-b");
    ck_assert_int_eq(set_one(a, NS ":job:stall.example", "late-a", &err), ACME_LEASE_ELOST);
    ck_assert_str_eq(get_or_null(NS ":job:stall.example"), "from-b");
}
END_TEST

START_TEST(renew_extends_and_fails_once_lost)
{
    acme_lease_t *a = must_acquire("renew.example", "web1:100", 1000), *b = NULL;
    apr_time_t first;
    const char *err = NULL;

    first = acme_lease_expires(a);
    usleep(500000);
    ck_assert_msg(acme_lease_renew(a, test_pool, lease_conn, apr_time_from_msec(1000), &err)
                  == APR_SUCCESS, "%s", err);
    ck_assert(acme_lease_expires(a) >= first + apr_time_from_msec(400));
    /* past the first ttl: still held, still writing */
    usleep(700000);
    ck_assert_int_eq(acme_lease_acquire(&b, test_pool, lease_conn, NS, "renew.example",
                                        "web2:200", apr_time_from_sec(10), NULL, &err),
                     ACME_LEASE_EBUSY);
    ck_assert_int_eq(set_one(a, NS ":job:renew.example", "a", &err), APR_SUCCESS);

    /* expired with nobody after it: lost all the same, and not brought back */
    wait_expired("renew.example");
    ck_assert_int_eq(acme_lease_renew(a, test_pool, lease_conn, apr_time_from_sec(10), &err),
                     ACME_LEASE_ELOST);
    ck_assert_msg(strstr(err, "expired or deleted") != NULL, "%s", err);
    ck_assert_ptr_null(get_or_null(NS ":lease:renew.example"));
    /* taken by the next: the renew does not touch the next one's expiry */
    b = must_acquire("renew.example", "web2:200", 3000);
    ck_assert_int_eq(acme_lease_renew(a, test_pool, lease_conn, apr_time_from_sec(60), &err),
                     ACME_LEASE_ELOST);
    ck_assert_msg(strstr(err, "now held by web2:200") != NULL, "%s", err);
    ck_assert_int_le(pttl_ms(NS ":lease:renew.example"), 3000);
    ck_assert_int_eq(acme_lease_renew(a, test_pool, lease_conn, 0, &err), APR_EINVAL);
}
END_TEST

START_TEST(release_only_our_own)
{
    acme_lease_t *a = must_acquire("release.example", "web1:100", 200), *b, *c;
    acme_lease_busy_t busy;
    const char *err = NULL;
    int lost = -1;

    wait_expired("release.example");
    b = must_acquire("release.example", "web2:200", 10000);
    /* the stalled holder's release: no error, reported, the next one's lease kept */
    ck_assert_int_eq(acme_lease_release(a, test_pool, lease_conn, &lost, &err), APR_SUCCESS);
    ck_assert_int_eq(lost, 1);
    ck_assert_msg(strstr(err, "now held by web2:200") != NULL, "%s", err);
    ck_assert_int_eq(acme_lease_peek(&busy, test_pool, lease_conn, NS, "release.example", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(busy.holder, "web2:200");
    ck_assert_int_eq(busy.token, acme_lease_token(b));

    ck_assert_int_eq(acme_lease_release(b, test_pool, lease_conn, &lost, &err), APR_SUCCESS);
    ck_assert_int_eq(lost, 0);
    ck_assert_int_eq(acme_lease_expires(b), 0);
    ck_assert_int_eq(acme_lease_peek(&busy, test_pool, lease_conn, NS, "release.example", &err),
                     APR_ENOENT);
    /* free at once, for anyone */
    c = must_acquire("release.example", "web3:300", 10000);
    ck_assert_int_gt(acme_lease_token(c), acme_lease_token(b));
    /* a released lease writes nothing any more; plost may be NULL */
    ck_assert_int_eq(set_one(b, NS ":job:release.example", "b", &err), ACME_LEASE_ELOST);
    ck_assert_int_eq(acme_lease_release(b, test_pool, lease_conn, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_lease_peek(&busy, test_pool, lease_conn, NS, "release.example", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(busy.holder, "web3:300");
}
END_TEST

/* The counter is apart from the lease: deleting the lease key by hand does
 * not make a token come back. */
START_TEST(tokens_grow_after_external_delete)
{
    acme_lease_t *a = must_acquire("del.example", "web1:100", 10000), *b, *c;
    const char *err = NULL;

    must_del(NS ":lease:del.example");
    b = must_acquire("del.example", "web2:200", 10000);
    ck_assert_int_gt(acme_lease_token(b), acme_lease_token(a));
    ck_assert_int_eq(set_one(a, NS ":job:del.example", "a", &err), ACME_LEASE_ELOST);
    must_del(NS ":lease:del.example");
    /* the first holder's string again: a new token, and its old lease
     * record still cannot write */
    c = must_acquire("del.example", "web1:100", 10000);
    ck_assert_int_gt(acme_lease_token(c), acme_lease_token(b));
    ck_assert_int_eq(set_one(a, NS ":job:del.example", "a", &err), ACME_LEASE_ELOST);
    ck_assert_int_eq(set_one(c, NS ":job:del.example", "c", &err), APR_SUCCESS);
    ck_assert_str_eq(get_or_null(NS ":job:del.example"), "c");
}
END_TEST

static void check_value(const char *key, const char *want, apr_size_t wlen)
{
    const char *val = NULL, *err = NULL;
    apr_size_t len = 0;

    ck_assert_msg(acme_redis_get(&val, &len, test_pool, lease_conn, key, &err) == APR_SUCCESS,
                  "GET %s: %s", key, err);
    ck_assert_uint_eq(len, wlen);
    ck_assert_mem_eq(val, want, wlen);
}

START_TEST(fenced_writes_all_or_nothing)
{
    static const char *const keys[] = { NS ":m:1", NS ":m:2", NS ":m:3" };
    static const char *const next[] = { "n\0001", "n\r\n2", "" };
    static const apr_size_t nextlens[] = { 3, 4, 0 };
    static const char *const late[] = { "late1", "late2", "late3" };
    static const apr_size_t latelens[] = { 5, 5, 5 };
    static const char *const dels[] = { NS ":m:1", NS ":m:none", NS ":m:2", NS ":m:3" };
    acme_lease_t *a = must_acquire("multi.example", "web1:100", 10000), *b;
    const char *err = NULL;
    int i;

    must_set(NS ":m:1", "old1");
    must_del(NS ":m:2");
    must_set(NS ":m:3", "old3");
    ck_assert_msg(acme_lease_fenced_set(a, test_pool, lease_conn, 3, keys, next, nextlens, &err)
                  == APR_SUCCESS, "%s", err);
    for (i = 0; i < 3; ++i) {
        check_value(keys[i], next[i], nextlens[i]);
    }
    /* the next holder: none of the stalled one's writes or deletes lands */
    must_del(NS ":lease:multi.example");
    b = must_acquire("multi.example", "web2:200", 10000);
    ck_assert_int_eq(acme_lease_fenced_set(a, test_pool, lease_conn, 3, keys, late, latelens,
                                           &err), ACME_LEASE_ELOST);
    ck_assert_int_eq(acme_lease_fenced_del(a, test_pool, lease_conn, 3, keys, &err),
                     ACME_LEASE_ELOST);
    for (i = 0; i < 3; ++i) {
        check_value(keys[i], next[i], nextlens[i]);
    }
    /* the holder's delete: all of them, absent ones are fine */
    ck_assert_msg(acme_lease_fenced_del(b, test_pool, lease_conn, 4, dels, &err) == APR_SUCCESS,
                  "%s", err);
    for (i = 0; i < 3; ++i) {
        ck_assert_ptr_null(get_or_null(keys[i]));
    }
}
END_TEST

/* Sizes and keys a fenced write refuses, all before Redis is asked: nothing
 * written, the lease and the counter untouched. */
START_TEST(fenced_write_bounds)
{
    static const char *const bad_keys[] = {
        "other:x", NS, NS ":", "lt2:x", NS ":lease:bounds.example", NS ":lease:other.example",
        NS ":fence:bounds.example", NS ":fence:other", NS ":a b", NS ":a\n", NS ":\x7f",
        NS ":\xc3\xa9", NULL
    };
    acme_lease_t *a = must_acquire("bounds.example", "web1:100", 10000);
    const char *lease_before = get_or_null(NS ":lease:bounds.example");
    const char *fence_before = get_or_null(NS ":fence:bounds.example");
    const char *keys[ACME_LEASE_KEYS_MAX + 1], *vals[ACME_LEASE_KEYS_MAX + 1];
    apr_size_t lens[ACME_LEASE_KEYS_MAX + 1];
    char *big = malloc(ACME_LEASE_VALUE_MAX + 1);
    const char *err = NULL;
    int i;

    ck_assert_ptr_nonnull(big);
    memset(big, 'v', ACME_LEASE_VALUE_MAX + 1);
    /* the largest values are written and read back */
    keys[0] = NS ":big:1";
    keys[1] = NS ":big:2";
    vals[0] = vals[1] = big;
    lens[0] = lens[1] = ACME_LEASE_VALUE_MAX;
    ck_assert_msg(acme_lease_fenced_set(a, test_pool, lease_conn, 2, keys, vals, lens, &err)
                  == APR_SUCCESS, "%s", err);
    check_value(NS ":big:2", big, ACME_LEASE_VALUE_MAX);
    /* one byte more in the second value: neither is written */
    keys[0] = NS ":big:3";
    keys[1] = NS ":big:4";
    vals[0] = "small";
    lens[0] = 5;
    lens[1] = ACME_LEASE_VALUE_MAX + 1;
    ck_assert_int_eq(acme_lease_fenced_set(a, test_pool, lease_conn, 2, keys, vals, lens, &err),
                     ACME_LEASE_ETOOLARGE);
    ck_assert_ptr_null(get_or_null(NS ":big:3"));
    free(big);
    /* the most keys, then one more */
    for (i = 0; i <= ACME_LEASE_KEYS_MAX; ++i) {
        keys[i] = apr_psprintf(test_pool, NS ":many:%d", i);
        vals[i] = "x";
        lens[i] = 1;
    }
    ck_assert_int_eq(acme_lease_fenced_set(a, test_pool, lease_conn, ACME_LEASE_KEYS_MAX + 1,
                                           keys, vals, lens, &err), ACME_LEASE_ETOOLARGE);
    ck_assert_ptr_null(get_or_null(NS ":many:0"));
    ck_assert_msg(acme_lease_fenced_set(a, test_pool, lease_conn, ACME_LEASE_KEYS_MAX, keys, vals,
                                        lens, &err) == APR_SUCCESS, "%s", err);
    ck_assert_str_eq(get_or_null(apr_psprintf(test_pool, NS ":many:%d",
                                              ACME_LEASE_KEYS_MAX - 1)), "x");
    ck_assert_int_eq(acme_lease_fenced_set(a, test_pool, lease_conn, 0, keys, vals, lens, &err),
                     APR_EINVAL);
    /* keys outside the namespace, or its leases and counters */
    for (i = 0; bad_keys[i]; ++i) {
        keys[0] = NS ":ok:1";
        keys[1] = bad_keys[i];
        vals[0] = vals[1] = "1";
        lens[0] = lens[1] = 1;
        err = NULL;
        ck_assert_msg(acme_lease_fenced_set(a, test_pool, lease_conn, 2, keys, vals, lens, &err)
                      == ACME_LEASE_EBADNAME, "key %d accepted", i);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(acme_lease_fenced_del(a, test_pool, lease_conn, 2, keys, &err),
                         ACME_LEASE_EBADNAME);
    }
    ck_assert_ptr_null(get_or_null(NS ":ok:1"));
    ck_assert_str_eq(get_or_null(NS ":lease:bounds.example"), lease_before);
    ck_assert_str_eq(get_or_null(NS ":fence:bounds.example"), fence_before);
    ck_assert_ptr_null(get_or_null(NS ":fence:other"));
}
END_TEST

/* A server of our own, for the tests that stop it. */
static tr_server_t down_server;

static void down_setup(void)
{
    test_pool_setup();
    tr_server_start(&down_server, "lease-down", 0, NULL);
}

static void down_teardown(void)
{
    tr_server_stop(&down_server);
    test_pool_teardown();
}

/* Refused names never reach Redis: the connection is to a server that is
 * gone, which a command would find out (and close the connection). */
START_TEST(bad_names_refused_offline)
{
    static const char *const bad_ns[] = {
        "", "a:b", "a b", "a\nb", "a/b", "\xc3\xbc", "a*", NULL
    };
    static const char *const bad_names[] = {
        "", "a b", "a\nb", "a\tb", "\x7f", "a\xc3\xa9", "a\rb", NULL
    };
    static const char *const bad_holders[] = { "", "web 1", "web1\r\n", "\x01", NULL };
    acme_redis_t *conn = tr_connect(test_pool, tr_url(test_pool, down_server.port, NULL), NULL);
    acme_lease_t *lse = NULL;
    acme_lease_busy_t busy;
    apr_interval_time_t ttl = apr_time_from_sec(10);
    const char *err, *long_ns, *long_name, *long_holder;
    int i;

    long_ns = apr_psprintf(test_pool, "%065d", 0);
    long_name = apr_psprintf(test_pool, "%0201d", 0);
    long_holder = apr_psprintf(test_pool, "%0129d", 0);
    tr_server_stop(&down_server);
    for (i = 0; bad_ns[i]; ++i) {
        err = NULL;
        ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, bad_ns[i], "a.example", "w:1",
                                            ttl, &busy, &err), ACME_LEASE_EBADNAME);
        ck_assert_msg(err != NULL && strstr(err, "namespace") != NULL, "ns %d", i);
        ck_assert_int_eq(acme_lease_peek(&busy, test_pool, conn, bad_ns[i], "a.example", &err),
                         ACME_LEASE_EBADNAME);
    }
    for (i = 0; bad_names[i]; ++i) {
        err = NULL;
        ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NS, bad_names[i], "w:1", ttl,
                                            &busy, &err), ACME_LEASE_EBADNAME);
        ck_assert_msg(err != NULL && strstr(err, "name") != NULL, "name %d", i);
        /* the message quotes it harmlessly */
        ck_assert_msg(strpbrk(err, "\r\n\t\x7f") == NULL, "%s", err);
        ck_assert_int_eq(acme_lease_peek(&busy, test_pool, conn, NS, bad_names[i], &err),
                         ACME_LEASE_EBADNAME);
    }
    for (i = 0; bad_holders[i]; ++i) {
        ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NS, "a.example",
                                            bad_holders[i], ttl, &busy, &err),
                         ACME_LEASE_EBADNAME);
    }
    ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, long_ns, "a.example", "w:1", ttl,
                                        &busy, &err), ACME_LEASE_EBADNAME);
    ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NS, long_name, "w:1", ttl, &busy,
                                        &err), ACME_LEASE_EBADNAME);
    ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NS, "a.example", long_holder, ttl,
                                        &busy, &err), ACME_LEASE_EBADNAME);
    ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NULL, "a.example", "w:1", ttl,
                                        &busy, &err), ACME_LEASE_EBADNAME);
    ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NS, NULL, "w:1", ttl, &busy,
                                        &err), ACME_LEASE_EBADNAME);
    ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NS, "a.example", NULL, ttl, &busy,
                                        &err), ACME_LEASE_EBADNAME);
    /* a ttl below Redis' millisecond */
    ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NS, "a.example", "w:1", 999,
                                        &busy, &err), APR_EINVAL);
    ck_assert_ptr_null(lse);
    ck_assert(acme_redis_is_open(conn));
    /* and a good name does reach the server that is gone */
    ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NS, "a.example", "w:1", ttl,
                                        &busy, &err), ACME_REDIS_ECONNECT);
    ck_assert(!acme_redis_is_open(conn));
}
END_TEST

/* The server goes away under a holder: each call says so with the
 * connection's code, none pretends the lease was lost or kept. */
START_TEST(dropped_connection)
{
    acme_redis_t *conn = tr_connect(test_pool, tr_url(test_pool, down_server.port, NULL), NULL);
    const char *keys[] = { NS ":job:x" }, *vals[] = { "v" }, *err = NULL;
    apr_size_t lens[] = { 1 };
    acme_lease_t *lse = NULL, *again = NULL;
    int lost = -1;

    ck_assert_int_eq(acme_lease_acquire(&lse, test_pool, conn, NS, "drop.example", "w:1",
                                        apr_time_from_sec(10), NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_lease_fenced_set(lse, test_pool, conn, 1, keys, vals, lens, &err),
                     APR_SUCCESS);
    tr_server_stop(&down_server);
    err = NULL;
    ck_assert_int_eq(acme_lease_renew(lse, test_pool, conn, apr_time_from_sec(10), &err),
                     ACME_REDIS_ECONNECT);
    ck_assert_msg(err != NULL && strncmp(err, "redis://127.0.0.1:", 18) == 0, "%s", err);
    ck_assert_int_eq(acme_lease_fenced_set(lse, test_pool, conn, 1, keys, vals, lens, &err),
                     ACME_REDIS_ECONNECT);
    ck_assert_int_eq(acme_lease_fenced_del(lse, test_pool, conn, 1, keys, &err),
                     ACME_REDIS_ECONNECT);
    ck_assert_int_eq(acme_lease_release(lse, test_pool, conn, &lost, &err), ACME_REDIS_ECONNECT);
    ck_assert_int_eq(lost, -1);
    ck_assert_int_eq(acme_lease_acquire(&again, test_pool, conn, NS, "drop.example", "w:2",
                                        apr_time_from_sec(10), NULL, &err), ACME_REDIS_ECONNECT);
    ck_assert_ptr_null(again);
}
END_TEST

/* ------------------------------------------------------------------ race
 * Threads, each with its own connection, take the same lease in turn. Inside
 * a lease each one reads a counter, waits a little, and writes it + 1 with
 * a fenced write; if two ever held the lease at once, the overlap is seen
 * directly (race_inside) or as a lost increment. */
#define RACE_THREADS 4
#define RACE_WINS 10
#define RACE_DEADLINE_MS 60000

typedef struct {
    int index;
    int port;
    int wins;
    int busy;
    char failure[512];
} race_arg_t;

static int race_inside;
static apr_int64_t race_last_token;

static void race_fail(race_arg_t *arg, const char *what, apr_status_t rv, const char *err)
{
    if (arg->failure[0] == '\0') {
        snprintf(arg->failure, sizeof(arg->failure), "thread %d: %s (%d) %s", arg->index, what,
                 rv, err ? err : "");
    }
}

/* One turn inside the lease: read the counter, write it + 1. */
static int race_turn(race_arg_t *arg, acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn)
{
    const char *key = NS ":race:count", *val = "0", *err = NULL, *next;
    const char *keys[1] = { key }, *vals[1];
    apr_size_t len, lens[1];
    apr_int64_t prev;
    apr_status_t rv;
    int ok = 1;

    if (__atomic_add_fetch(&race_inside, 1, __ATOMIC_SEQ_CST) != 1) {
        race_fail(arg, "two holders at once", 0, NULL);
        ok = 0;
    }
    prev = __atomic_exchange_n(&race_last_token, acme_lease_token(lse), __ATOMIC_SEQ_CST);
    if (acme_lease_token(lse) <= prev) {
        race_fail(arg, apr_psprintf(p, "token %" APR_INT64_T_FMT " after %" APR_INT64_T_FMT,
                                    acme_lease_token(lse), prev), 0, NULL);
        ok = 0;
    }
    rv = acme_redis_get(&val, &len, p, conn, key, &err);
    if (rv != APR_SUCCESS && rv != APR_ENOENT) {
        race_fail(arg, "GET", rv, err);
        ok = 0;
    }
    usleep(1000);
    next = apr_psprintf(p, "%d", atoi(rv == APR_SUCCESS ? val : "0") + 1);
    vals[0] = next;
    lens[0] = strlen(next);
    if ((rv = acme_lease_fenced_set(lse, p, conn, 1, keys, vals, lens, &err)) != APR_SUCCESS) {
        race_fail(arg, "fenced set", rv, err);
        ok = 0;
    }
    __atomic_sub_fetch(&race_inside, 1, __ATOMIC_SEQ_CST);
    return ok;
}

static void *race_main(void *data)
{
    race_arg_t *arg = data;
    acme_redis_url_t *url = NULL;
    acme_redis_t *conn = NULL;
    acme_lease_t *lse;
    apr_pool_t *p, *turn;
    const char *err = NULL, *holder;
    long until = tr_now_ms() + RACE_DEADLINE_MS;
    apr_status_t rv;
    int lost;

    apr_pool_create(&p, NULL);
    apr_pool_create(&turn, p);
    holder = apr_psprintf(p, "racer:%d", arg->index);
    if ((rv = acme_redis_url_parse(&url, p, tr_url(p, arg->port, NULL), &err)) != APR_SUCCESS
        || (rv = acme_redis_connect(&conn, p, url, NULL, &err)) != APR_SUCCESS) {
        race_fail(arg, "connect", rv, err);
    }
    while (arg->failure[0] == '\0' && arg->wins < RACE_WINS) {
        if (tr_now_ms() > until) {
            race_fail(arg, "not enough turns before the deadline", 0, NULL);
            break;
        }
        apr_pool_clear(turn);
        rv = acme_lease_acquire(&lse, turn, conn, NS, "race.example", holder,
                                apr_time_from_sec(30), NULL, &err);
        if (rv == ACME_LEASE_EBUSY) {
            arg->busy++;
            usleep(200 + 100 * arg->index);
            continue;
        }
        if (rv != APR_SUCCESS) {
            race_fail(arg, "acquire", rv, err);
            break;
        }
        if (race_turn(arg, lse, turn, conn)) {
            arg->wins++;
        }
        lost = -1;
        if ((rv = acme_lease_release(lse, turn, conn, &lost, &err)) != APR_SUCCESS || lost != 0) {
            race_fail(arg, "release", rv, err);
        }
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(race_one_holder_at_a_time)
{
    race_arg_t args[RACE_THREADS];
    pthread_t threads[RACE_THREADS];
    int i, busy = 0;

    must_del(NS ":race:count");
    memset(args, 0, sizeof(args));
    for (i = 0; i < RACE_THREADS; ++i) {
        args[i].index = i;
        args[i].port = tr_main.port;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, race_main, &args[i]), 0);
    }
    for (i = 0; i < RACE_THREADS; ++i) {
        pthread_join(threads[i], NULL);
    }
    for (i = 0; i < RACE_THREADS; ++i) {
        ck_assert_msg(args[i].failure[0] == '\0', "%s", args[i].failure);
        ck_assert_int_eq(args[i].wins, RACE_WINS);
        busy += args[i].busy;
    }
    /* every increment counted once, and the threads did contend */
    ck_assert_str_eq(get_or_null(NS ":race:count"),
                     apr_psprintf(test_pool, "%d", RACE_THREADS * RACE_WINS));
    ck_assert_int_gt(busy, 0);
}
END_TEST

TCase *tr_lease_tcase(void)
{
    TCase *tc = tcase_create("lease");

    tcase_add_unchecked_fixture(tc, tr_main_setup, NULL);
    tcase_add_checked_fixture(tc, lease_setup, lease_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, acquire_free);
    tcase_add_test(tc, busy_reports_holder);
    tcase_add_test(tc, expired_holder_is_fenced);
    tcase_add_test(tc, renew_extends_and_fails_once_lost);
    tcase_add_test(tc, release_only_our_own);
    tcase_add_test(tc, tokens_grow_after_external_delete);
    tcase_add_test(tc, fenced_writes_all_or_nothing);
    tcase_add_test(tc, fenced_write_bounds);
    tcase_add_test(tc, race_one_holder_at_a_time);
    return tc;
}

TCase *tr_lease_down_tcase(void)
{
    TCase *tc = tcase_create("lease_down");

    tcase_add_checked_fixture(tc, down_setup, down_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bad_names_refused_offline);
    tcase_add_test(tc, dropped_connection);
    return tc;
}
