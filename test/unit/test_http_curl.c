/* The libcurl transport against a real loopback listener opened by the test:
 * a thread accepts connections on 127.0.0.1 and answers each request with
 * the next canned response, counting connections, so header capture,
 * keep-alive, the body limit and timeouts are exercised for real. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* strcasestr */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "acme_http_curl.h"
#include "check_main.h"
#include "test_http.h"

#define LB_MAX_REQUESTS 8
#define LB_WAIT_MS 5000  /* no step of the server waits longer than this */

typedef enum {
    LB_SERVE,   /* read a request, send the next response */
    LB_SILENT,  /* read a request, never answer */
    LB_RAW      /* read whatever arrives (e.g. a TLS hello), send the response */
} lb_mode_e;

typedef struct {
    int fd;
    int port;
    lb_mode_e mode;
    const char **responses;
    int nresponses;
    apr_thread_t *thread;
    /* Filled by the server thread; read by the test after the join. */
    int accepts;
    int nrequests;
    char requests[LB_MAX_REQUESTS][4096];
} loopback_t;

static int lb_wait(int fd, short events)
{
    struct pollfd pfd = { fd, events, 0 };

    return poll(&pfd, 1, LB_WAIT_MS) == 1;
}

/* Reads one request (head, plus a Content-Length body); 0 on EOF/timeout. */
static int lb_read_request(loopback_t *lb, int conn)
{
    char *buf = lb->requests[lb->nrequests < LB_MAX_REQUESTS ? lb->nrequests
                                                              : LB_MAX_REQUESTS - 1];
    size_t len = 0, want = 0;
    const char *end, *cl;
    ssize_t n;

    memset(buf, 0, sizeof(lb->requests[0]));
    while (len < sizeof(lb->requests[0]) - 1) {
        if (!lb_wait(conn, POLLIN) || (n = read(conn, buf + len, sizeof(lb->requests[0]) - 1
                                                - len)) <= 0) {
            return 0;
        }
        len += (size_t)n;
        if (lb->mode == LB_RAW) {
            break;
        }
        if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
            cl = strcasestr(buf, "\r\nContent-Length:");
            want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
            if (len >= want) {
                break;
            }
        }
    }
    ++lb->nrequests;
    return 1;
}

/* Serves requests on one connection; returns how many were answered. */
static int lb_serve(loopback_t *lb, int conn, int served)
{
    int answered = 0;
    char sink[256];
    const char *r;

    while (served + answered < lb->nresponses && lb_read_request(lb, conn)) {
        if (lb->mode == LB_SILENT) {
            while (lb_wait(conn, POLLIN) && read(conn, sink, sizeof(sink)) > 0)
                ;
            return lb->nresponses;
        }
        r = lb->responses[served + answered];
        if (send(conn, r, strlen(r), MSG_NOSIGNAL) < 0) {
            break;
        }
        ++answered;
    }
    if (lb->mode == LB_RAW) {  /* let the client see the answer, then close */
        while (lb_wait(conn, POLLIN) && read(conn, sink, sizeof(sink)) > 0)
            ;
    }
    return answered;
}

static void *APR_THREAD_FUNC lb_main(apr_thread_t *thread, void *data)
{
    loopback_t *lb = data;
    int served = 0, conn, answered;

    while (served < lb->nresponses && lb_wait(lb->fd, POLLIN)) {
        if ((conn = accept(lb->fd, NULL, NULL)) < 0) {
            break;
        }
        ++lb->accepts;
        answered = lb_serve(lb, conn, served);
        close(conn);
        if (answered == 0 && lb->mode != LB_SERVE) {
            break;
        }
        served += answered;
    }
    /* A plain return: apr_thread_exit()'s pthread_exit() trips ASan. The
     * thread's pool goes with test_pool. */
    return NULL;
}

/* A bound socket on 127.0.0.1 with a kernel-chosen port. */
static int lb_socket(int *pport)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
    *pport = ntohs(sa.sin_port);
    return fd;
}

static loopback_t *lb_start(lb_mode_e mode, const char **responses, int n)
{
    loopback_t *lb = apr_pcalloc(test_pool, sizeof(*lb));

    lb->fd = lb_socket(&lb->port);
    ck_assert_int_eq(listen(lb->fd, 8), 0);
    lb->mode = mode;
    lb->responses = responses;
    lb->nresponses = n;
    ck_assert_int_eq(apr_thread_create(&lb->thread, NULL, lb_main, lb, test_pool),
                     APR_SUCCESS);
    return lb;
}

static void lb_join(loopback_t *lb)
{
    apr_status_t trv;

    apr_thread_join(&trv, lb->thread);
    close(lb->fd);
}

static const char *lb_url(const loopback_t *lb, const char *path)
{
    return apr_psprintf(test_pool, "http://127.0.0.1:%d%s", lb->port, path);
}

static acme_http_transport_t *transport(apr_size_t max_body, apr_interval_time_t timeout,
                                        int max_redirects)
{
    acme_http_options_t opts;
    acme_http_transport_t *t;

    acme_http_options_init(&opts);
    opts.proxy_url = "";  /* never a proxy from the environment in tests */
    opts.max_body = max_body;
    opts.timeout = timeout;
    opts.max_redirects = max_redirects;
    ck_assert_int_eq(acme_http_curl_create(&t, test_pool, &opts), APR_SUCCESS);
    return t;
}

static apr_status_t get(acme_http_response_t **presp, acme_http_transport_t *t,
                        const char *url)
{
    return acme_http_perform(presp, test_pool, t,
                             acme_http_request_make(test_pool, ACME_HTTP_GET, url));
}

static void curl_setup(void)
{
    ck_assert_int_eq(acme_http_curl_global_init(), APR_SUCCESS);
}

START_TEST(curl_captures_status_headers_and_body)
{
    static const char *responses[] = {
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        "Replay-Nonce:   nonce-abc  \r\nLocation: /acme/order/1\r\n"
        "Link: <https://ca.example/dir>;rel=\"index\"\r\n"
        "Link: <https://ca.example/x>;rel=\"up\"\r\nContent-Length: 16\r\n\r\n"
        "{\"status\":\"ok\"}\n",
    };
    loopback_t *lb = lb_start(LB_SERVE, responses, 1);
    acme_http_transport_t *t = transport(0, apr_time_from_sec(5), 0);
    acme_http_request_t *req = acme_http_request_make(test_pool, ACME_HTTP_POST,
                                                      lb_url(lb, "/acme/new-order"));
    acme_http_response_t *resp;

    req->content_type = ACME_MEDIA_JOSE;
    req->body = "{\"payload\":\"\"}";
    req->body_len = strlen(req->body);
    apr_table_set(req->headers, "Accept-Language", "en");
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t, req), APR_SUCCESS);
    lb_join(lb);
    ck_assert_int_eq(resp->status, 201);
    ck_assert_str_eq(acme_http_response_header(resp, "replay-nonce"), "nonce-abc");
    ck_assert_str_eq(acme_http_response_header(resp, "LOCATION"), "/acme/order/1");
    ck_assert(acme_http_response_is_type(resp, ACME_MEDIA_JSON));
    ck_assert_int_eq(apr_table_elts(resp->headers)->nelts, 6);
    ck_assert_str_eq(resp->body, "{\"status\":\"ok\"}\n");
    ck_assert_str_eq(resp->effective_url, req->url);
    /* What went over the wire. */
    ck_assert_ptr_nonnull(strstr(lb->requests[0], "POST /acme/new-order HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(lb->requests[0], "\r\nContent-Type: application/jose+json"));
    ck_assert_ptr_nonnull(strstr(lb->requests[0], "\r\nUser-Agent: mod_acme/"));
    ck_assert_ptr_nonnull(strstr(lb->requests[0], "\r\nAccept-Language: en\r\n"));
    ck_assert_ptr_null(strcasestr(lb->requests[0], "Expect:"));
    ck_assert_ptr_nonnull(strstr(lb->requests[0], "\r\n\r\n{\"payload\":\"\"}"));
}
END_TEST

START_TEST(curl_reuses_the_connection)
{
    static const char *responses[] = {
        "HTTP/1.1 200 OK\r\nReplay-Nonce: n1\r\nContent-Length: 100\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo",
    };
    loopback_t *lb = lb_start(LB_SERVE, responses, 3);
    acme_http_transport_t *t = transport(0, apr_time_from_sec(5), 0);
    acme_http_request_t *req;
    acme_http_response_t *resp;

    /* HEAD, POST, GET on one handle: each must use its own method. */
    req = acme_http_request_make(test_pool, ACME_HTTP_HEAD, lb_url(lb, "/nonce"));
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t, req), APR_SUCCESS);
    ck_assert_uint_eq(resp->body_len, 0);
    ck_assert_str_eq(acme_http_response_header(resp, "Replay-Nonce"), "n1");
    req = acme_http_request_make(test_pool, ACME_HTTP_POST, lb_url(lb, "/post"));
    req->body = "x";
    req->body_len = 1;
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t, req), APR_SUCCESS);
    ck_assert_str_eq(resp->body, "one");
    ck_assert_ptr_null(acme_http_response_header(resp, "Replay-Nonce"));
    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/get")), APR_SUCCESS);
    ck_assert_str_eq(resp->body, "two");
    lb_join(lb);
    ck_assert_int_eq(lb->accepts, 1);
    ck_assert_int_eq(lb->nrequests, 3);
    ck_assert_int_eq(strncmp(lb->requests[0], "HEAD /nonce ", 12), 0);
    ck_assert_int_eq(strncmp(lb->requests[1], "POST /post ", 11), 0);
    ck_assert_int_eq(strncmp(lb->requests[2], "GET /get ", 9), 0);
    ck_assert_ptr_null(strstr(lb->requests[2], "Content-Length"));
}
END_TEST

START_TEST(curl_body_over_the_limit)
{
    static const char *responses[3];
    loopback_t *lb;
    acme_http_transport_t *t = transport(1024, apr_time_from_sec(5), 0);
    acme_http_response_t *resp = (acme_http_response_t *)1;
    char *big = apr_palloc(test_pool, 4097);
    const char *chunk;

    memset(big, 'x', 4096);
    big[4096] = '\0';
    chunk = apr_pstrndup(test_pool, big, 600);
    /* Announced by Content-Length, streamed in chunks, then a fine one. */
    responses[0] = apr_pstrcat(test_pool, "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n",
                               big, NULL);
    responses[1] = apr_pstrcat(test_pool, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                               "\r\n\r\n258\r\n", chunk, "\r\n258\r\n", chunk, "\r\n0\r\n\r\n",
                               NULL);
    responses[2] = apr_pstrcat(test_pool, "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n",
                               apr_pstrndup(test_pool, big, 1024), NULL);
    lb = lb_start(LB_SERVE, responses, 3);
    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/big")), ACME_HTTP_ETOOLARGE);
    ck_assert_ptr_null(resp);
    ck_assert_ptr_nonnull(strstr(acme_http_transport_error(t), "exceeds 1024 bytes"));
    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/chunked")), ACME_HTTP_ETOOLARGE);
    /* Exactly at the limit is fine, and the transport still works. */
    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/ok")), APR_SUCCESS);
    ck_assert_uint_eq(resp->body_len, 1024);
    lb_join(lb);
}
END_TEST

START_TEST(curl_headers_over_the_limit)
{
    static const char *responses[1];
    char *fill = apr_palloc(test_pool, 1001);
    const char *r = "HTTP/1.1 200 OK\r\n";
    loopback_t *lb;
    acme_http_transport_t *t = transport(0, apr_time_from_sec(5), 0);
    acme_http_response_t *resp;
    int i;

    memset(fill, 'h', 1000);
    fill[1000] = '\0';
    for (i = 0; i * 1000 <= ACME_HTTP_MAX_HEADER_BYTES; ++i) {
        r = apr_psprintf(test_pool, "%sX-Fill-%d: %s\r\n", r, i, fill);
    }
    responses[0] = apr_pstrcat(test_pool, r, "Content-Length: 0\r\n\r\n", NULL);
    lb = lb_start(LB_SERVE, responses, 1);
    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/")), ACME_HTTP_ETOOLARGE);
    ck_assert_ptr_nonnull(strstr(acme_http_transport_error(t), "headers exceed"));
    lb_join(lb);
}
END_TEST

START_TEST(curl_server_that_never_answers_times_out)
{
    static const char *responses[] = { "unused" };
    loopback_t *lb = lb_start(LB_SILENT, responses, 1);
    acme_http_transport_t *t = transport(0, apr_time_from_sec(1), 0);
    acme_http_response_t *resp;
    apr_time_t start = apr_time_now();
    apr_interval_time_t took;

    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/slow")), ACME_HTTP_ETIMEOUT);
    took = apr_time_now() - start;
    ck_assert_msg(took >= apr_time_from_msec(900) && took < apr_time_from_sec(4),
                  "took %" APR_TIME_T_FMT " us", took);
    acme_http_transport_destroy(t);  /* closes the connection: the server ends */
    lb_join(lb);
    ck_assert_int_eq(lb->nrequests, 1);
}
END_TEST

static void *APR_THREAD_FUNC cancel_later(apr_thread_t *thread, void *data)
{
    (void)thread;
    apr_sleep(apr_time_from_msec(300));
    apr_atomic_set32(data, 1);
    return NULL;    /* a plain return, as lb_main */
}

/* A process that ends cancels a request that waits on a silent peer: it
 * ends with APR_EINTR, not after the 15 s timeout (which would also fail
 * the test case's 20 s limit with ETIMEOUT's code). */
START_TEST(curl_cancel_ends_a_request_in_flight)
{
    static const char *responses[] = { "unused" };
    volatile apr_uint32_t *cancel = apr_pcalloc(test_pool, sizeof(*cancel));
    loopback_t *lb = lb_start(LB_SILENT, responses, 1);
    acme_http_options_t opts;
    acme_http_transport_t *t;
    acme_http_response_t *resp;
    apr_thread_t *canceller;
    apr_status_t trv;

    acme_http_options_init(&opts);
    opts.proxy_url = "";
    opts.timeout = apr_time_from_sec(15);
    opts.cancel = cancel;
    ck_assert_int_eq(acme_http_curl_create(&t, test_pool, &opts), APR_SUCCESS);
    ck_assert_int_eq(apr_thread_create(&canceller, NULL, cancel_later, (void *)cancel,
                                       test_pool), APR_SUCCESS);
    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/slow")), APR_EINTR);
    ck_assert_ptr_null(resp);
    apr_thread_join(&trv, canceller);
    acme_http_transport_destroy(t);
    lb_join(lb);
    ck_assert_int_eq(lb->nrequests, 1);     /* it was in flight, not refused */
    /* once cancelled, no request starts: the peer sees nothing */
    ck_assert_int_eq(acme_http_curl_create(&t, test_pool, &opts), APR_SUCCESS);
    ck_assert_int_eq(get(&resp, t, "http://127.0.0.1:9/never"), APR_EINTR);
    ck_assert_str_eq(acme_http_transport_error(t), "cancelled: the process is ending");
}
END_TEST

START_TEST(curl_connection_refused)
{
    int port, fd = lb_socket(&port);
    acme_http_transport_t *t = transport(0, apr_time_from_sec(5), 0);
    acme_http_response_t *resp;

    close(fd);  /* bound, never listened: nobody accepts on this port */
    ck_assert_int_eq(get(&resp, t, apr_psprintf(test_pool, "http://127.0.0.1:%d/", port)),
                     ACME_HTTP_ECONNECT);
    ck_assert_str_ne(acme_http_transport_error(t), "");
}
END_TEST

START_TEST(curl_tls_failure)
{
    static const char *responses[] = { "HTTP/1.1 400 Bad Request\r\n\r\n" };
    loopback_t *lb = lb_start(LB_RAW, responses, 1);
    acme_http_transport_t *t = transport(0, apr_time_from_sec(5), 0);
    acme_http_response_t *resp;

    /* A TLS client hello answered in plain HTTP. */
    ck_assert_int_eq(get(&resp, t, apr_psprintf(test_pool, "https://127.0.0.1:%d/", lb->port)),
                     ACME_HTTP_ETLS);
    acme_http_transport_destroy(t);
    lb_join(lb);
}
END_TEST

START_TEST(curl_garbage_is_a_protocol_error)
{
    static const char *responses[] = { "SSH-2.0-OpenSSH_9.2\r\n\r\n" };
    loopback_t *lb = lb_start(LB_SERVE, responses, 1);
    acme_http_transport_t *t = transport(0, apr_time_from_sec(5), 0);
    acme_http_response_t *resp;

    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/")), ACME_HTTP_EPROTOCOL);
    acme_http_transport_destroy(t);
    lb_join(lb);
}
END_TEST

static const char *redirect_responses[] = {
    "HTTP/1.1 302 Found\r\nLocation: /final\r\nX-First: 1\r\nContent-Length: 5\r\n\r\nfirst",
    "HTTP/1.1 200 OK\r\nX-Second: 2\r\nContent-Length: 6\r\n\r\nsecond",
};

START_TEST(curl_redirects_only_when_asked)
{
    loopback_t *lb = lb_start(LB_SERVE, redirect_responses, 1);
    acme_http_transport_t *t = transport(0, apr_time_from_sec(5), 0);
    acme_http_response_t *resp;

    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/start")), APR_SUCCESS);
    lb_join(lb);
    ck_assert_int_eq(resp->status, 302);
    ck_assert_str_eq(acme_http_response_header(resp, "Location"), "/final");
    ck_assert_str_eq(resp->body, "first");
}
END_TEST

START_TEST(curl_follows_redirects_with_fresh_headers)
{
    loopback_t *lb = lb_start(LB_SERVE, redirect_responses, 2);
    acme_http_transport_t *t = transport(0, apr_time_from_sec(5), 2);
    acme_http_response_t *resp;

    ck_assert_int_eq(get(&resp, t, lb_url(lb, "/start")), APR_SUCCESS);
    lb_join(lb);
    ck_assert_int_eq(resp->status, 200);
    ck_assert_ptr_null(acme_http_response_header(resp, "X-First"));
    ck_assert_ptr_null(acme_http_response_header(resp, "Location"));
    ck_assert_str_eq(acme_http_response_header(resp, "X-Second"), "2");
    ck_assert_str_eq(resp->body, "second");
    ck_assert_str_eq(resp->effective_url, lb_url(lb, "/final"));
    ck_assert_int_eq(lb->accepts, 1);
}
END_TEST

START_TEST(curl_rejects_header_injection)
{
    int port, fd = lb_socket(&port);
    acme_http_transport_t *t = transport(0, apr_time_from_sec(5), 0);
    acme_http_request_t *req;
    acme_http_response_t *resp;

    close(fd);
    req = acme_http_request_make(test_pool, ACME_HTTP_GET,
                                 apr_psprintf(test_pool, "http://127.0.0.1:%d/", port));
    apr_table_set(req->headers, "X-Evil", "a\r\nHost: other.example");
    /* EINVAL, not a connection error: nothing was sent. */
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t, req), APR_EINVAL);
}
END_TEST

TCase *test_http_curl_tcase(void)
{
    TCase *tc = tcase_create("curl");

    tcase_add_unchecked_fixture(tc, curl_setup, NULL);
    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, curl_captures_status_headers_and_body);
    tcase_add_test(tc, curl_reuses_the_connection);
    tcase_add_test(tc, curl_body_over_the_limit);
    tcase_add_test(tc, curl_headers_over_the_limit);
    tcase_add_test(tc, curl_server_that_never_answers_times_out);
    tcase_add_test(tc, curl_cancel_ends_a_request_in_flight);
    tcase_add_test(tc, curl_connection_refused);
    tcase_add_test(tc, curl_tls_failure);
    tcase_add_test(tc, curl_garbage_is_a_protocol_error);
    tcase_add_test(tc, curl_redirects_only_when_asked);
    tcase_add_test(tc, curl_follows_redirects_with_fresh_headers);
    tcase_add_test(tc, curl_rejects_header_injection);
    return tc;
}
