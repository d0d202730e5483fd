/* check_redis: MDSharedStore's URL, accepted and rejected, and the password
 * never in what is printed. */
#include <string.h>

#include "test_redis.h"

typedef struct {
    const char *text;
    int tls;
    const char *host;
    int port;
    int db;
    const char *user;
    const char *password;
    const char *printable;
} url_good_t;

static const url_good_t good[] = {
    { "redis://localhost", 0, "localhost", 6379, 0, NULL, NULL, "redis://localhost:6379/0" },
    { "rediss://cache.example.org:6380/2", 1, "cache.example.org", 6380, 2, NULL, NULL,
      "rediss://cache.example.org:6380/2" },
    { "redis://127.0.0.1:7000/", 0, "127.0.0.1", 7000, 0, NULL, NULL,
      "redis://127.0.0.1:7000/0" },
    { "redis://[::1]:6380/15", 0, "::1", 6380, 15, NULL, NULL, "redis://[::1]:6380/15" },
    { "rediss://[2001:db8::7]/1", 1, "2001:db8::7", 6379, 1, NULL, NULL,
      "rediss://[2001:db8::7]:6379/1" },
    { "redis://:pa%40ss@h", 0, "h", 6379, 0, NULL, "pa@ss", "redis://:***@h:6379/0" },
    { "redis://alice:s3cr%2Fet:x@h.example/1", 0, "h.example", 6379, 1, "alice", "s3cr/et:x",
      "redis://alice:***@h.example:6379/1" },
    { "redis://us%65r:p!$&'()*+,;=~w@h:1", 0, "h", 1, 0, "user", "p!$&'()*+,;=~w",
      "redis://us%65r:***@h:1/0" },
    { "REDISS://H-1.example:65535/07", 1, "H-1.example", 65535, 7, NULL, NULL,
      "rediss://H-1.example:65535/7" },
};

START_TEST(url_accepted)
{
    const url_good_t *g = &good[_i];
    acme_redis_url_t *u = NULL;
    const char *err = NULL;

    ck_assert_msg(acme_redis_url_parse(&u, test_pool, g->text, &err) == APR_SUCCESS,
                  "%s: %s", g->text, err);
    ck_assert_int_eq(u->tls, g->tls);
    ck_assert_str_eq(u->host, g->host);
    ck_assert_int_eq(u->port, g->port);
    ck_assert_int_eq(u->db, g->db);
    ck_assert_pstr_eq(u->user, g->user);
    ck_assert_pstr_eq(u->password, g->password);
    ck_assert_str_eq(u->printable, g->printable);
    if (g->password) {
        ck_assert_ptr_null(strstr(u->printable, g->password));
    }
}
END_TEST

typedef struct {
    const char *text;
    const char *why;              /* the message ends with it */
    const char *secret;           /* must not appear in the message */
} url_bad_t;

static const url_bad_t bad[] = {
    { "", "empty", NULL },
    { "http://h", "not a redis:// or rediss:// URL", NULL },
    { "redis:/h", "not a redis:// or rediss:// URL", NULL },
    { "redis://h:99999", "port out of range", NULL },
    { "redis://h:0", "port out of range", NULL },
    { "redis://h:123456", "port out of range", NULL },
    { "redis://h:", "empty port", NULL },
    { "redis://h:6x", "port is not a number", NULL },
    { "redis://h/16", "database out of range (0 to 15)", NULL },
    { "redis://h/100", "database out of range (0 to 15)", NULL },
    { "redis://h/1a", "database must be a number from 0 to 15", NULL },
    { "redis://h/-1", "database must be a number from 0 to 15", NULL },
    { "redis://h/+1", "database must be a number from 0 to 15", NULL },
    { "redis://h/1/2", "database must be a number from 0 to 15", NULL },
    { "redis://::1", "an IPv6 address must be in brackets ([::1])", NULL },
    { "redis://[::1", "'[' without ']' around the IPv6 address", NULL },
    { "redis://[zz::q]", "invalid IPv6 address in brackets", NULL },
    { "redis://[127.0.0.1]", "invalid IPv6 address in brackets", NULL },
    { "redis://[::1]x", "unexpected characters after ']'", NULL },
    { "redis://", "empty host", NULL },
    { "redis://:6379", "empty host", NULL },
    { "redis://h?timeout=1", "query or fragment not supported", NULL },
    { "redis://h/0#x", "query or fragment not supported", NULL },
    { "redis://h/0?x", "query or fragment not supported", NULL },
    { "redis://ex*ample", "invalid character in host", NULL },
    { "redis://h st", "white space or control character", NULL },
    { "redis://h\x01", "white space or control character", NULL },
    { "redis://alice@h", "user without password (write user:password@ or :password@)",
      "alice" },
    { "redis://alice:@h", "empty password", NULL },
    { "redis://:pw%4@h", "bad percent-encoding in user or password (write %XX)", "pw" },
    { "redis://:pw%zz@h", "bad percent-encoding in user or password (write %XX)", "pw" },
    { "redis://:pw%00x@h", "%00 in user or password", "pw" },
    { "redis://:se@cret@h", "'@' in user or password must be written %40", "cret" },
    { "redis://:sec/ret@h", "character in user or password must be percent-encoded", "ret" },
    { "redis://:sec ret@h", "white space or control character", "ret" },
    { "redis://al ice:hunter2@h", "white space or control character", "hunter2" },
    { "redis://alice:hunter2", "port is not a number", "hunter2" },
    { "redis://alice:hunter2/3", "port is not a number", "hunter2" },
};

START_TEST(url_rejected)
{
    const url_bad_t *b = &bad[_i];
    acme_redis_url_t *u = NULL;
    const char *err = NULL;
    apr_size_t elen, wlen = strlen(b->why);

    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, b->text, &err), APR_EINVAL);
    ck_assert_ptr_null(u);
    ck_assert_ptr_nonnull(err);
    elen = strlen(err);
    ck_assert_msg(strncmp(err, "MDSharedStore: '", 16) == 0, "%s", err);
    ck_assert_msg(elen > wlen && strcmp(err + elen - wlen, b->why) == 0 && err[elen - wlen - 2] == ':',
                  "'%s' gave \"%s\", wanted it to end with \"%s\"", b->text, err, b->why);
    ck_assert_msg(strchr(err, '\x01') == NULL, "%s", err);
    if (b->secret) {
        ck_assert_msg(strstr(err, b->secret) == NULL, "secret in: %s", err);
    }
}
END_TEST

/* The example of the issue, to the letter. */
START_TEST(url_message_exact)
{
    acme_redis_url_t *u;
    const char *err = NULL;

    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, "redis://h:99999", &err), APR_EINVAL);
    ck_assert_str_eq(err, "MDSharedStore: 'redis://h:99999': port out of range");
    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, "rediss://bob:pw@h:99999/1", &err),
                     APR_EINVAL);
    ck_assert_str_eq(err, "MDSharedStore: 'rediss://bob:***@h:99999/1': port out of range");
    /* NULL perr is fine */
    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, "redis://h:0", NULL), APR_EINVAL);
}
END_TEST

START_TEST(url_mask)
{
    ck_assert_str_eq(acme_redis_url_mask(test_pool, "redis://u:pw@h"), "redis://u:***@h");
    ck_assert_str_eq(acme_redis_url_mask(test_pool, "redis://:p:w@h/1"), "redis://:***@h/1");
    ck_assert_str_eq(acme_redis_url_mask(test_pool, "redis://pw@h"), "redis://***@h");
    ck_assert_str_eq(acme_redis_url_mask(test_pool, "redis://u:p@w@h"), "redis://u:***@h");
    ck_assert_str_eq(acme_redis_url_mask(test_pool, "u:pw@h"), "u:***@h");
    ck_assert_str_eq(acme_redis_url_mask(test_pool, "redis://u:pw"), "redis://u:***");
    ck_assert_str_eq(acme_redis_url_mask(test_pool, "redis://h:6379/2"), "redis://h:6379/2");
    ck_assert_str_eq(acme_redis_url_mask(test_pool, "redis://[::1]:1"), "redis://[::1]:1");
    ck_assert_str_eq(acme_redis_url_mask(test_pool, "redis://h\n"), "redis://h?");
    ck_assert_str_eq(acme_redis_url_mask(test_pool, NULL), "");
}
END_TEST

/* 253 characters of host name are a name; 254 are not. */
START_TEST(url_host_length)
{
    char text[300];
    acme_redis_url_t *u;
    const char *err = NULL;

    memcpy(text, "redis://", 8);
    memset(text + 8, 'a', 253);
    text[8 + 253] = '\0';
    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, text, &err), APR_SUCCESS);
    ck_assert_uint_eq(strlen(u->host), 253);
    text[8 + 253] = 'a';
    text[8 + 254] = '\0';
    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, text, &err), APR_EINVAL);
    ck_assert_msg(strstr(err, "host name too long") != NULL, "%s", err);
}
END_TEST

TCase *tr_url_tcase(void)
{
    TCase *tc = tcase_create("url");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_loop_test(tc, url_accepted, 0, (int)(sizeof(good) / sizeof(good[0])));
    tcase_add_loop_test(tc, url_rejected, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, url_message_exact);
    tcase_add_test(tc, url_mask);
    tcase_add_test(tc, url_host_length);
    return tc;
}
