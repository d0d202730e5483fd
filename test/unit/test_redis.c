/* check_redis: the suite, the shared server, and the connection basics
 * (connect, PING, SELECT, error replies, closing). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "test_redis.h"

tr_server_t tr_main;
static pid_t main_owner;

static void main_stop(void)
{
    if (getpid() == main_owner) {
        tr_server_stop(&tr_main);
    }
}

void tr_main_setup(void)
{
    /* an unchecked fixture: runs in the runner's process, so once is once
     * for the whole program (forked tests inherit the port) */
    if (tr_main.pid == 0) {
        tr_server_start(&tr_main, "main", 0, NULL);
        main_owner = getpid();
        atexit(main_stop);
    }
}

const char *tr_url(apr_pool_t *p, int port, const char *rest)
{
    return apr_psprintf(p, "redis://127.0.0.1:%d%s", port, rest ? rest : "");
}

acme_redis_t *tr_connect(apr_pool_t *p, const char *url, const acme_redis_options_t *opts)
{
    acme_redis_url_t *u = NULL;
    acme_redis_t *conn = NULL;
    const char *err = NULL;

    ck_assert_msg(acme_redis_url_parse(&u, p, url, &err) == APR_SUCCESS, "%s", err);
    ck_assert_msg(acme_redis_connect(&conn, p, u, opts, &err) == APR_SUCCESS, "%s", err);
    return conn;
}

START_TEST(connect_and_ping)
{
    acme_redis_t *conn = tr_connect(test_pool, tr_url(test_pool, tr_main.port, NULL), NULL);
    const char *err = NULL;

    ck_assert(acme_redis_is_open(conn));
    ck_assert_int_eq(acme_redis_ping(conn, test_pool, &err), APR_SUCCESS);
    ck_assert_str_eq(acme_redis_name(conn),
                     apr_psprintf(test_pool, "redis://127.0.0.1:%d/0", tr_main.port));
    acme_redis_close(conn);
}
END_TEST

/* The db of the URL is selected: a key written through /3 is not in /0. */
START_TEST(select_db)
{
    acme_redis_t *db3 = tr_connect(test_pool, tr_url(test_pool, tr_main.port, "/3"), NULL);
    acme_redis_t *db0 = tr_connect(test_pool, tr_url(test_pool, tr_main.port, "/0"), NULL);
    const char *val, *err = NULL;
    apr_size_t len;

    ck_assert_int_eq(acme_redis_set(db3, test_pool, "select:k", "in3", 3, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, db0, "select:k", &err), APR_ENOENT);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, db3, "select:k", &err), APR_SUCCESS);
    ck_assert_str_eq(val, "in3");
}
END_TEST

/* An error reply is the server's word, not a broken connection. */
START_TEST(error_reply_keeps_connection)
{
    acme_redis_t *conn = tr_connect(test_pool, tr_url(test_pool, tr_main.port, NULL), NULL);
    const char *argv[] = { "NOSUCHCOMMAND", "x" };
    apr_size_t argvlen[] = { 13, 1 };
    acme_redis_reply_t *r = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_redis_command(&r, test_pool, conn, 2, argv, argvlen, &err),
                     ACME_REDIS_ESERVER);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, ACME_REDIS_REPLY_ERROR);
    ck_assert_msg(strstr(err, "unknown command") != NULL, "%s", err);
    ck_assert_msg(strncmp(err, "redis://127.0.0.1:", 18) == 0, "%s", err);
    ck_assert(acme_redis_is_open(conn));
    ck_assert_int_eq(acme_redis_ping(conn, test_pool, &err), APR_SUCCESS);
}
END_TEST

/* The reply tree: arrays, integers, nil, status. */
START_TEST(reply_tree)
{
    acme_redis_t *conn = tr_connect(test_pool, tr_url(test_pool, tr_main.port, NULL), NULL);
    const char *push[] = { "RPUSH", "tree:list", "a", "", "ccc" };
    apr_size_t pushlen[] = { 5, 9, 1, 0, 3 };
    const char *range[] = { "LRANGE", "tree:list", "0", "-1" };
    apr_size_t rangelen[] = { 6, 9, 1, 2 };
    acme_redis_reply_t *r;
    const char *err = NULL;

    ck_assert_int_eq(acme_redis_del(NULL, test_pool, conn, "tree:list", &err), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_command(&r, test_pool, conn, 5, push, pushlen, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(r->type, ACME_REDIS_REPLY_INTEGER);
    ck_assert_int_eq(r->integer, 3);
    ck_assert_int_eq(acme_redis_command(&r, test_pool, conn, 4, range, rangelen, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(r->type, ACME_REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(r->elements, 3);
    ck_assert_int_eq(r->element[0]->type, ACME_REDIS_REPLY_STRING);
    ck_assert_str_eq(r->element[0]->str, "a");
    ck_assert_uint_eq(r->element[1]->len, 0);
    ck_assert_uint_eq(r->element[2]->len, 3);
    ck_assert_str_eq(r->element[2]->str, "ccc");
}
END_TEST

/* A closed connection is gone; a new one is the caller's to make. */
START_TEST(close_then_reconnect)
{
    const char *url = tr_url(test_pool, tr_main.port, NULL);
    acme_redis_t *conn = tr_connect(test_pool, url, NULL);
    const char *err = NULL;

    acme_redis_close(conn);
    acme_redis_close(NULL);
    conn = tr_connect(test_pool, url, NULL);
    ck_assert_int_eq(acme_redis_ping(conn, test_pool, &err), APR_SUCCESS);
}
END_TEST

static TCase *basics_tcase(void)
{
    TCase *tc = tcase_create("basics");

    tcase_add_unchecked_fixture(tc, tr_main_setup, NULL);
    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, connect_and_ping);
    tcase_add_test(tc, select_db);
    tcase_add_test(tc, error_reply_keeps_connection);
    tcase_add_test(tc, reply_tree);
    tcase_add_test(tc, close_then_reconnect);
    return tc;
}

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("redis");

    suite_add_tcase(s, tr_url_tcase());
    suite_add_tcase(s, basics_tcase());
    suite_add_tcase(s, tr_cmd_tcase());
    suite_add_tcase(s, tr_auth_tcase());
    suite_add_tcase(s, tr_tls_tcase());
    suite_add_tcase(s, tr_fault_tcase());
    suite_add_tcase(s, tr_lease_tcase());
    suite_add_tcase(s, tr_lease_down_tcase());
    suite_add_tcase(s, tr_cluster_tcase());
    return s;
}
