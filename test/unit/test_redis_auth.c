/* check_redis: AUTH against a server with requirepass and ACL users, and
 * passwords that never show in messages. */
#include <string.h>

#include <apr_strings.h>

#include "test_redis.h"

#define AUTH_DEFAULT_PW "default-Pw-7"
#define AUTH_ALICE_PW "al@ce:pw/1"         /* written al%40ce:pw%2F1 in a URL */

static tr_server_t auth_server;

static void auth_server_start(void)
{
    /* requirepass protects the default user; alice and bob are ACL users
     * (Redis 7 takes `user` rules on its command line); bob may only PING */
    static const char *const extra[] = {
        "--requirepass", AUTH_DEFAULT_PW,
        "--user", "alice", "on", ">" AUTH_ALICE_PW, "~*", "&*", "+@all",
        "--user", "bob", "on", ">bob-pw", "+ping",
        NULL
    };

    tr_server_start(&auth_server, "auth", 0, extra);
}

static void auth_server_stop(void)
{
    tr_server_stop(&auth_server);
}

static apr_status_t auth_try(const char *userinfo, const char **perr)
{
    const char *text = apr_psprintf(test_pool, "redis://%s127.0.0.1:%d/1", userinfo,
                                    auth_server.port);
    acme_redis_url_t *u = NULL;
    acme_redis_t *conn = NULL;

    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, text, perr), APR_SUCCESS);
    return acme_redis_connect(&conn, test_pool, u, NULL, perr);
}

START_TEST(auth_password_only)
{
    const char *url = apr_psprintf(test_pool, "redis://:%s@127.0.0.1:%d", AUTH_DEFAULT_PW,
                                   auth_server.port);
    acme_redis_t *conn = tr_connect(test_pool, url, NULL);
    const char *val, *err = NULL;
    apr_size_t len;

    ck_assert_int_eq(acme_redis_set(conn, test_pool, "auth:k", "v", 1, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, conn, "auth:k", &err), APR_SUCCESS);
    ck_assert_ptr_null(strstr(acme_redis_name(conn), AUTH_DEFAULT_PW));
}
END_TEST

START_TEST(auth_acl_user)
{
    const char *url = apr_psprintf(test_pool, "redis://alice:al%%40ce:pw%%2F1@127.0.0.1:%d/2",
                                   auth_server.port);
    acme_redis_t *conn = tr_connect(test_pool, url, NULL);
    const char *argv[] = { "ACL", "WHOAMI" };
    apr_size_t argvlen[] = { 3, 6 };
    acme_redis_reply_t *r;
    const char *err = NULL;

    ck_assert_int_eq(acme_redis_command(&r, test_pool, conn, 2, argv, argvlen, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(r->str, "alice");
    ck_assert_str_eq(acme_redis_name(conn),
                     apr_psprintf(test_pool, "redis://alice:***@127.0.0.1:%d/2",
                                  auth_server.port));
}
END_TEST

START_TEST(auth_wrong_password)
{
    const char *err = NULL;

    ck_assert_int_eq(auth_try(":Not-The-Pw-42@", &err), ACME_REDIS_EAUTH);
    ck_assert_msg(strstr(err, "AUTH refused: WRONGPASS") != NULL, "%s", err);
    ck_assert_msg(strstr(err, ":***@127.0.0.1") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "Not-The-Pw") == NULL, "password in: %s", err);

    ck_assert_int_eq(auth_try("alice:" AUTH_DEFAULT_PW "@", &err), ACME_REDIS_EAUTH);
    ck_assert_msg(strstr(err, "AUTH as alice refused: WRONGPASS") != NULL, "%s", err);
    ck_assert_msg(strstr(err, AUTH_DEFAULT_PW) == NULL, "password in: %s", err);

    ck_assert_int_eq(auth_try("nobody:x@", &err), ACME_REDIS_EAUTH);
}
END_TEST

/* No password for a server that wants one: said at connect, not later. */
START_TEST(auth_missing)
{
    const char *err = NULL;

    ck_assert_int_eq(auth_try("", &err), ACME_REDIS_EAUTH);
    ck_assert_msg(strstr(err, "SELECT refused: NOAUTH") != NULL, "%s", err);
}
END_TEST

/* A user the server knows but may not run a command: ACME_REDIS_EAUTH, and
 * the connection stays (it is a matter of configuration, not of the link). */
START_TEST(auth_no_permission)
{
    const char *url = apr_psprintf(test_pool, "redis://bob:bob-pw@127.0.0.1:%d",
                                   auth_server.port);
    acme_redis_t *conn = tr_connect(test_pool, url, NULL);
    const char *val, *err = NULL;
    apr_size_t len;

    ck_assert_int_eq(acme_redis_get(&val, &len, test_pool, conn, "auth:k", &err),
                     ACME_REDIS_EAUTH);
    ck_assert_msg(strstr(err, "NOPERM") != NULL, "%s", err);
    ck_assert(acme_redis_is_open(conn));
    ck_assert_int_eq(acme_redis_ping(conn, test_pool, &err), APR_SUCCESS);
}
END_TEST

/* A server (here a fake) that echoes the AUTH arguments in its error: the
 * password is masked out of the message. */
START_TEST(auth_echo_masked)
{
    static const char echo[] =
        "-ERR unknown command 'AUTH', with args beginning with: 'Echo-Pw-99' \r\n";
    tr_fake_t *fake = tr_fake_start(echo, sizeof(echo) - 1, 0);
    const char *text = apr_psprintf(test_pool, "redis://:Echo-Pw-99@127.0.0.1:%d",
                                    tr_fake_port(fake));
    acme_redis_url_t *u;
    acme_redis_t *conn;
    const char *err = NULL;

    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, text, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_connect(&conn, test_pool, u, NULL, &err), ACME_REDIS_EAUTH);
    ck_assert_msg(strstr(err, "Echo-Pw") == NULL, "password in: %s", err);
    ck_assert_msg(strstr(err, "with args beginning with: '***'") != NULL, "%s", err);
    tr_fake_stop(fake);
}
END_TEST

TCase *tr_auth_tcase(void)
{
    TCase *tc = tcase_create("auth");

    tcase_add_unchecked_fixture(tc, auth_server_start, auth_server_stop);
    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, auth_password_only);
    tcase_add_test(tc, auth_acl_user);
    tcase_add_test(tc, auth_wrong_password);
    tcase_add_test(tc, auth_missing);
    tcase_add_test(tc, auth_no_permission);
    tcase_add_test(tc, auth_echo_masked);
    return tc;
}
