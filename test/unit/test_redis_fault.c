/* check_redis: what a real server does not do. Nothing listening, a server
 * that accepts and never answers, one that answers garbage, one that
 * announces more than we take: each is an error (never a crash, never a wait
 * for data that was announced but is refused), in time. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <apr_strings.h>

#include "test_redis.h"

/* Generous: every case that fails "at once" must fail well before it. */
#define FAULT_TIMEOUT_MS 10000
#define FAULT_QUICK_MS 3000

static acme_redis_options_t fault_opts(apr_interval_time_t timeout)
{
    acme_redis_options_t opts = { 0 };

    opts.connect_timeout = opts.read_timeout = opts.write_timeout = timeout;
    return opts;
}

START_TEST(fault_refused)
{
    acme_redis_options_t opts = fault_opts(apr_time_from_msec(FAULT_TIMEOUT_MS));
    int port = tr_free_port();
    acme_redis_url_t *u;
    acme_redis_t *conn = NULL;
    const char *err = NULL;
    long start = tr_now_ms();

    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool,
                                          apr_psprintf(test_pool, "redis://:pw@127.0.0.1:%d",
                                                       port), &err), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_connect(&conn, test_pool, u, &opts, &err), ACME_REDIS_ECONNECT);
    ck_assert_ptr_null(conn);
    ck_assert_int_lt(tr_now_ms() - start, FAULT_QUICK_MS);
    ck_assert_str_eq(err, apr_psprintf(test_pool, "redis://:***@127.0.0.1:%d/0: connect to "
                                       "127.0.0.1 port %d: Connection refused", port, port));
}
END_TEST

START_TEST(fault_unresolvable)
{
    acme_redis_url_t *u;
    acme_redis_t *conn = NULL;
    const char *err = NULL;

    /* .invalid never resolves (RFC 6761) */
    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, "redis://redis.invalid", &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_connect(&conn, test_pool, u, NULL, &err), ACME_REDIS_ECONNECT);
    ck_assert_msg(strstr(err, "cannot resolve redis.invalid") != NULL, "%s", err);
}
END_TEST

/* A listener whose backlog is full: SYNs go unanswered, connect() hangs. */
START_TEST(fault_connect_timeout)
{
    acme_redis_options_t opts = fault_opts(apr_time_from_msec(300));
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    struct pollfd pfd;
    int lfd = socket(AF_INET, SOCK_STREAM, 0), fill[16], nfill = 0, pending = 0;
    acme_redis_url_t *u;
    acme_redis_t *conn = NULL;
    const char *err = NULL;
    long start, took;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 0), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    while (nfill < 16 && !pending) {
        fill[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(fill[nfill], (struct sockaddr *)&a, sizeof(a)) != 0) {
            ck_assert_int_eq(errno, EINPROGRESS);
            pfd.fd = fill[nfill];
            pfd.events = POLLOUT;
            pending = poll(&pfd, 1, 200) == 0;
        }
        nfill++;
    }
    ck_assert_msg(pending, "could not fill the listen backlog");
    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool,
                                          tr_url(test_pool, ntohs(a.sin_port), NULL), &err),
                     APR_SUCCESS);
    start = tr_now_ms();
    ck_assert_int_eq(acme_redis_connect(&conn, test_pool, u, &opts, &err), APR_TIMEUP);
    took = tr_now_ms() - start;
    ck_assert_msg(took >= 250 && took < FAULT_QUICK_MS, "took %ld ms", took);
    ck_assert_msg(strstr(err, "timed out (connect timeout)") != NULL, "%s", err);
    while (nfill > 0) {
        close(fill[--nfill]);
    }
    close(lfd);
}
END_TEST

/* Connected, then the server stops answering: the read timeout ends the
 * wait, and the connection is not used again. */
START_TEST(fault_read_timeout)
{
    static const char pong[] = "+PONG\r\n";
    acme_redis_options_t opts = fault_opts(apr_time_from_msec(300));
    tr_fake_t *fake = tr_fake_start(pong, sizeof(pong) - 1, 0);
    acme_redis_t *conn = tr_connect(test_pool, tr_url(test_pool, tr_fake_port(fake), NULL),
                                    &opts);
    const char *err = NULL;
    long start = tr_now_ms(), took;

    ck_assert_int_eq(acme_redis_ping(conn, test_pool, &err), APR_TIMEUP);
    took = tr_now_ms() - start;
    ck_assert_msg(took >= 250 && took < FAULT_QUICK_MS, "took %ld ms", took);
    ck_assert_msg(strstr(err, "no complete reply in time") != NULL, "%s", err);
    ck_assert(!acme_redis_is_open(conn));
    start = tr_now_ms();
    ck_assert_int_eq(acme_redis_ping(conn, test_pool, &err), ACME_REDIS_ECONNECT);
    ck_assert_int_lt(tr_now_ms() - start, 100);
    tr_fake_stop(fake);
}
END_TEST

typedef struct {
    const char *reply;
    int close_after;
    apr_status_t expect;
    const char *why;              /* in the message */
} fault_case_t;

static const fault_case_t garbage[] = {
    { "HTTP/1.1 400 Bad Request\r\n\r\n", 0, ACME_REDIS_EPROTOCOL, "unknown type byte" },
    { "\x15\x03\x03\x00\x02\x02\x28", 0, ACME_REDIS_EPROTOCOL, "unknown type byte" },
    { "+PONG\n", 0, ACME_REDIS_EPROTOCOL, "not ended by CRLF" },
    { "$abc\r\n", 0, ACME_REDIS_EPROTOCOL, "invalid length" },
    { "$-5\r\n", 0, ACME_REDIS_EPROTOCOL, "invalid length" },
    { "*-0\r\n", 0, ACME_REDIS_EPROTOCOL, "invalid length" },
    { "$99999999999999999999999999\r\n", 0, ACME_REDIS_EPROTOCOL, "invalid length" },
    { "*1\r\n!x\r\n", 0, ACME_REDIS_EPROTOCOL, "unknown type byte" },
    { "+PONG\r\n+PONG\r\n", 0, ACME_REDIS_EPROTOCOL, "unexpected data after the reply" },
    { "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", 0,
      ACME_REDIS_EPROTOCOL, "invalid reply" },
    { "$2000000\r\n", 0, ACME_REDIS_ETOOLARGE, "string of 2000000 bytes" },
    { "*100000000\r\n", 0, ACME_REDIS_ETOOLARGE, "array of 100000000 values" },
    { "*2\r\n*65535\r\n", 0, ACME_REDIS_ETOOLARGE, "array of 65535 values" },
    { "*3\r\n$1\r\na\r\n", 1, ACME_REDIS_ECONNECT, "connection closed by the server" },
    { "", 1, ACME_REDIS_ECONNECT, "connection closed by the server" },
    { "+OK\r\n", 0, ACME_REDIS_EPROTOCOL, "unexpected reply to PING" },
    { ":1\r\n", 0, ACME_REDIS_EPROTOCOL, "unexpected reply to PING" },
    /* the server's own errors: its words, its status */
    { "-LOADING Redis is loading the dataset in memory\r\n", 0, ACME_REDIS_ESERVER,
      "PING refused: LOADING Redis is loading the dataset in memory" },
    { "-NOAUTH Authentication required.\r\n", 0, ACME_REDIS_EAUTH,
      "PING refused: NOAUTH Authentication required." },
    { "-ERR \x1b[31mred\x07\r\n", 0, ACME_REDIS_ESERVER, "PING refused: ERR ?[31mred?" },
};

/* The fake answers the PING of connect with the case's bytes. */
static void fault_expect(const char *reply, apr_size_t len, int close_after,
                         apr_status_t expect, const char *why)
{
    acme_redis_options_t opts = fault_opts(apr_time_from_msec(FAULT_TIMEOUT_MS));
    tr_fake_t *fake = tr_fake_start(reply, len, close_after);
    acme_redis_url_t *u;
    acme_redis_t *conn = NULL;
    const char *err = NULL;
    apr_status_t rv;
    long start = tr_now_ms();

    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool,
                                          tr_url(test_pool, tr_fake_port(fake), NULL), &err),
                     APR_SUCCESS);
    rv = acme_redis_connect(&conn, test_pool, u, &opts, &err);
    ck_assert_msg(rv == expect, "got %d (%s), wanted %d", rv, err, expect);
    ck_assert_msg(strstr(err, why) != NULL, "'%s' not in: %s", why, err);
    ck_assert_ptr_null(conn);
    ck_assert_int_lt(tr_now_ms() - start, FAULT_QUICK_MS);
    tr_fake_stop(fake);
}

START_TEST(fault_garbage)
{
    const fault_case_t *c = &garbage[_i];

    fault_expect(c->reply, strlen(c->reply), c->close_after, c->expect, c->why);
}
END_TEST

/* A line that never ends is cut at ACME_REDIS_LINE_MAX. */
START_TEST(fault_endless_line)
{
    apr_size_t len = ACME_REDIS_LINE_MAX + 100;
    char *line = apr_palloc(test_pool, len);

    line[0] = '+';
    memset(line + 1, 'a', len - 1);
    fault_expect(line, len, 0, ACME_REDIS_ETOOLARGE, "line longer than");
}
END_TEST

/* Strings each within the bound, more than ACME_REDIS_REPLY_MAX together. */
START_TEST(fault_reply_too_large)
{
    apr_size_t n = ACME_REDIS_REPLY_MAX / ACME_REDIS_BULK_MAX + 1, i, off = 0;
    const char *head = apr_psprintf(test_pool, "$%d\r\n", ACME_REDIS_BULK_MAX);
    apr_size_t cap = 16 + n * (strlen(head) + ACME_REDIS_BULK_MAX + 2);
    char *reply = malloc(cap);

    ck_assert_ptr_nonnull(reply);
    off += (apr_size_t)sprintf(reply, "*%u\r\n", (unsigned)n);
    for (i = 0; i < n; ++i) {
        memcpy(reply + off, head, strlen(head));
        off += strlen(head);
        memset(reply + off, 'x', ACME_REDIS_BULK_MAX);
        off += ACME_REDIS_BULK_MAX;
        memcpy(reply + off, "\r\n", 2);
        off += 2;
    }
    fault_expect(reply, off, 0, ACME_REDIS_ETOOLARGE, "reply larger than");
    free(reply);
}
END_TEST

TCase *tr_fault_tcase(void)
{
    TCase *tc = tcase_create("faults");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fault_refused);
    tcase_add_test(tc, fault_unresolvable);
    tcase_add_test(tc, fault_connect_timeout);
    tcase_add_test(tc, fault_read_timeout);
    tcase_add_loop_test(tc, fault_garbage, 0, (int)(sizeof(garbage) / sizeof(garbage[0])));
    tcase_add_test(tc, fault_endless_line);
    tcase_add_test(tc, fault_reply_too_large);
    return tc;
}
