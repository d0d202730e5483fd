/* check_redis: the conveniences against a real server: GET/SET with binary
 * values, NX, expiry, DEL, scripts (compare-and-set), SCAN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "test_redis.h"

static acme_redis_t *cmd_conn;

static void cmd_setup(void)
{
    test_pool_setup();
    cmd_conn = tr_connect(test_pool, tr_url(test_pool, tr_main.port, NULL), NULL);
}

static void cmd_teardown(void)
{
    cmd_conn = NULL;
    test_pool_teardown();
}

START_TEST(set_get_binary)
{
    static const char value[] = { 'a', '\0', 'b', '\r', '\n', '\0', (char)0xff, '$' };
    const char *val = NULL, *err = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "bin:k", value, sizeof(value), NULL,
                                    &err), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, cmd_conn, "bin:k", &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(len, sizeof(value));
    ck_assert_mem_eq(val, value, sizeof(value));
    /* the empty value is a value, not an absent key */
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "bin:empty", "", 0, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, cmd_conn, "bin:empty", &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, cmd_conn, "bin:absent", &err),
                     APR_ENOENT);
}
END_TEST

START_TEST(set_nx)
{
    acme_redis_set_opts_t nx = { 1, 0 };
    const char *val, *err = NULL;
    apr_size_t len;

    acme_redis_del(NULL, test_pool, cmd_conn, "nx:k", &err);
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "nx:k", "first", 5, &nx, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "nx:k", "second", 6, &nx, &err),
                     APR_EEXIST);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, cmd_conn, "nx:k", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(val, "first");
    /* without NX the value is replaced */
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "nx:k", "third", 5, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, cmd_conn, "nx:k", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(val, "third");
}
END_TEST

/* Polls until the key is gone; returns the milliseconds it took, or -1. */
static long wait_gone(const char *key, long max_ms)
{
    long start = tr_now_ms();
    const char *val, *err = NULL;
    apr_size_t len;
    apr_status_t rv;

    while (tr_now_ms() - start < max_ms) {
        rv = acme_redis_get(&val, &len, test_pool, cmd_conn, key, &err);
        if (rv == APR_ENOENT) {
            return tr_now_ms() - start;
        }
        ck_assert_msg(rv == APR_SUCCESS, "%s", err);
        usleep(5000);
    }
    return -1;
}

START_TEST(set_px_expires)
{
    acme_redis_set_opts_t px = { 0, apr_time_from_msec(80) };
    acme_redis_set_opts_t nx_px = { 1, apr_time_from_msec(80) };
    const char *argv[] = { "PTTL", "px:k" };
    apr_size_t argvlen[] = { 4, 4 };
    acme_redis_reply_t *r;
    const char *val, *err = NULL;
    apr_size_t len;

    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "px:k", "v", 1, &px, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_command(&r, test_pool, cmd_conn, 2, argv, argvlen, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(r->type, ACME_REDIS_REPLY_INTEGER);
    ck_assert_msg(r->integer > 0 && r->integer <= 80, "PTTL %lld", (long long)r->integer);
    ck_assert_int_ne(wait_gone("px:k", 5000), -1);
    /* NX with an expiry: the lease pattern; taken again once it expired */
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "px:lease", "a", 1, &nx_px, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "px:lease", "b", 1, &nx_px, &err),
                     APR_EEXIST);
    ck_assert_int_ne(wait_gone("px:lease", 5000), -1);
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "px:lease", "b", 1, &nx_px, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, cmd_conn, "px:lease", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(val, "b");
}
END_TEST

START_TEST(pexpire_and_del)
{
    const char *argv[] = { "PEXPIRE", "del:k", "30" };
    apr_size_t argvlen[] = { 7, 5, 2 };
    acme_redis_reply_t *r;
    const char *err = NULL;
    int deleted = -1;

    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "del:k", "v", 1, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_command(&r, test_pool, cmd_conn, 3, argv, argvlen, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(r->integer, 1);
    ck_assert_int_ne(wait_gone("del:k", 5000), -1);

    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "del:k", "v", 1, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_del(&deleted, test_pool, cmd_conn, "del:k", &err),
                     APR_SUCCESS);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(acme_redis_del(&deleted, test_pool, cmd_conn, "del:k", &err),
                     APR_SUCCESS);
    ck_assert_int_eq(deleted, 0);
}
END_TEST

/* Compare-and-set: replaces the value only when it still is the expected
 * one (the fencing-token pattern the shared store builds on). */
static const char cas_body[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('SET', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

static apr_int64_t cas(const acme_redis_script_t *script, const char *expect, apr_size_t elen,
                       const char *next, apr_size_t nlen)
{
    const char *key[] = { "cas:k" };
    apr_size_t keylen[] = { 5 };
    const char *arg[] = { expect, next };
    apr_size_t arglen[] = { elen, nlen };
    acme_redis_args_t keys = { 1, key, keylen }, args = { 2, arg, arglen };
    acme_redis_reply_t *r = NULL;
    const char *err = NULL;

    ck_assert_msg(acme_redis_eval(&r, test_pool, cmd_conn, script, &keys, &args, &err)
                  == APR_SUCCESS, "%s", err);
    ck_assert_int_eq(r->type, ACME_REDIS_REPLY_INTEGER);
    return r->integer;
}

/* calls=N of a command in INFO commandstats, 0 when absent. */
static long command_calls(const char *name)
{
    const char *argv[] = { "INFO", "commandstats" };
    apr_size_t argvlen[] = { 4, 12 };
    acme_redis_reply_t *r;
    const char *err = NULL, *hit;
    char *needle = apr_psprintf(test_pool, "cmdstat_%s:calls=", name);

    ck_assert_int_eq(acme_redis_command(&r, test_pool, cmd_conn, 2, argv, argvlen, &err),
                     APR_SUCCESS);
    hit = strstr(r->str, needle);
    return hit ? atol(hit + strlen(needle)) : 0;
}

START_TEST(eval_compare_and_set)
{
    const char *flush[] = { "SCRIPT", "FLUSH" }, *reset[] = { "CONFIG", "RESETSTAT" };
    apr_size_t flushlen[] = { 6, 5 }, resetlen[] = { 6, 9 };
    acme_redis_script_t script;
    acme_redis_reply_t *r;
    const char *val, *err = NULL;
    apr_size_t len;

    ck_assert_int_eq(acme_redis_script_init(&script, cas_body), APR_SUCCESS);
    ck_assert_uint_eq(strlen(script.sha1), 40);
    ck_assert_int_eq(acme_redis_command(&r, test_pool, cmd_conn, 2, flush, flushlen, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_command(&r, test_pool, cmd_conn, 2, reset, resetlen, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "cas:k", "v\0001", 3, NULL, &err),
                     APR_SUCCESS);
    /* not cached: EVALSHA says NOSCRIPT, EVAL runs it */
    ck_assert_int_eq(cas(&script, "v\0001", 3, "v\0002", 3), 1);
    /* cached now: a stale expectation changes nothing */
    ck_assert_int_eq(cas(&script, "v\0001", 3, "v\0003", 3), 0);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, cmd_conn, "cas:k", &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(val, "v\0002", 3);
    ck_assert_int_eq(command_calls("eval"), 1);
    ck_assert_int_eq(command_calls("evalsha"), 2);
    /* our SHA-1 is the server's name for the script */
    {
        const char *exists[] = { "SCRIPT", "EXISTS", script.sha1 };
        apr_size_t existslen[] = { 6, 6, 40 };

        ck_assert_int_eq(acme_redis_command(&r, test_pool, cmd_conn, 3, exists, existslen,
                                            &err), APR_SUCCESS);
        ck_assert_uint_eq(r->elements, 1);
        ck_assert_int_eq(r->element[0]->integer, 1);
    }
}
END_TEST

START_TEST(eval_script_error)
{
    acme_redis_script_t script;
    acme_redis_reply_t *r = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_redis_script_init(&script, "return redis.error_reply('FENCED stale token')"),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_eval(&r, test_pool, cmd_conn, &script, NULL, NULL, &err),
                     ACME_REDIS_ESERVER);
    ck_assert_msg(strstr(err, "FENCED stale token") != NULL, "%s", err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, ACME_REDIS_REPLY_ERROR);
    ck_assert(acme_redis_is_open(cmd_conn));
    /* a script returning a table comes back as an array */
    ck_assert_int_eq(acme_redis_script_init(&script, "return {1, 'two', false}"), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_eval(&r, test_pool, cmd_conn, &script, NULL, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(r->type, ACME_REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(r->elements, 3);
    ck_assert_int_eq(r->element[0]->integer, 1);
    ck_assert_str_eq(r->element[1]->str, "two");
    ck_assert_int_eq(r->element[2]->type, ACME_REDIS_REPLY_NIL);
}
END_TEST

#define SCAN_KEYS 1000

static apr_status_t scan_collect(void *baton, const char *key, apr_size_t len)
{
    apr_hash_t *seen = baton;
    apr_pool_t *p = apr_hash_pool_get(seen);

    apr_hash_set(seen, apr_pstrmemdup(p, key, len), len, "");
    return APR_SUCCESS;
}

static apr_status_t scan_stop(void *baton, const char *key, apr_size_t len)
{
    int *count = baton;

    (void)key;
    (void)len;
    return ++*count == 5 ? APR_EINTR : APR_SUCCESS;
}

START_TEST(scan_many_keys)
{
    apr_hash_t *seen = apr_hash_make(test_pool);
    const char *err = NULL;
    char key[32];
    int i, count = 0;

    for (i = 0; i < SCAN_KEYS; ++i) {
        snprintf(key, sizeof(key), "scan:%d", i);
        ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, key, "x", 1, NULL, &err),
                         APR_SUCCESS);
        snprintf(key, sizeof(key), "other:%d", i);
        ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, key, "x", 1, NULL, &err),
                         APR_SUCCESS);
    }
    ck_assert_int_eq(acme_redis_scan(cmd_conn, test_pool, "scan:*", scan_collect, seen, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_hash_count(seen), SCAN_KEYS);
    for (i = 0; i < SCAN_KEYS; ++i) {
        snprintf(key, sizeof(key), "scan:%d", i);
        ck_assert_msg(apr_hash_get(seen, key, APR_HASH_KEY_STRING) != NULL, "%s not seen", key);
    }
    /* all keys: both families (and whatever other tests left) */
    seen = apr_hash_make(test_pool);
    ck_assert_int_eq(acme_redis_scan(cmd_conn, test_pool, NULL, scan_collect, seen, &err),
                     APR_SUCCESS);
    ck_assert_int_ge(apr_hash_count(seen), 2 * SCAN_KEYS);
    /* the callback ends the scan */
    ck_assert_int_eq(acme_redis_scan(cmd_conn, test_pool, "scan:*", scan_stop, &count, &err),
                     APR_EINTR);
    ck_assert_int_eq(count, 5);
}
END_TEST

/* A value of the largest size is read; one byte more is refused, and the
 * connection, which holds the rest of it, is closed. */
START_TEST(bulk_limit)
{
    char *big = malloc(ACME_REDIS_BULK_MAX + 1);
    const char *val, *err = NULL;
    apr_size_t len;

    ck_assert_ptr_nonnull(big);
    memset(big, 'z', ACME_REDIS_BULK_MAX + 1);
    big[0] = '\0';
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "big:max", big, ACME_REDIS_BULK_MAX,
                                    NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_set(cmd_conn, test_pool, "big:over", big,
                                    ACME_REDIS_BULK_MAX + 1, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, cmd_conn, "big:max", &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(len, ACME_REDIS_BULK_MAX);
    ck_assert_mem_eq(val, big, ACME_REDIS_BULK_MAX);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, cmd_conn, "big:over", &err),
                     ACME_REDIS_ETOOLARGE);
    ck_assert_msg(strstr(err, "string of 1048577 bytes") != NULL, "%s", err);
    ck_assert(!acme_redis_is_open(cmd_conn));
    ck_assert_int_eq(acme_redis_ping(cmd_conn, test_pool, &err), ACME_REDIS_ECONNECT);
    ck_assert_msg(strstr(err, "closed after an earlier failure") != NULL, "%s", err);
    free(big);
}
END_TEST

TCase *tr_cmd_tcase(void)
{
    TCase *tc = tcase_create("commands");

    tcase_add_unchecked_fixture(tc, tr_main_setup, NULL);
    tcase_add_checked_fixture(tc, cmd_setup, cmd_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, set_get_binary);
    tcase_add_test(tc, set_nx);
    tcase_add_test(tc, set_px_expires);
    tcase_add_test(tc, pexpire_and_del);
    tcase_add_test(tc, eval_compare_and_set);
    tcase_add_test(tc, eval_script_error);
    tcase_add_test(tc, scan_many_keys);
    tcase_add_test(tc, bulk_limit);
    return tc;
}
