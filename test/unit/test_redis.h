/* check_redis: what its test files share. The program starts real
 * redis-server processes (test_redis_server.c) on free loopback ports, with
 * no persistence, in a temporary directory; a fake server thread plays the
 * faults a real server does not make. */
#ifndef TEST_REDIS_H
#define TEST_REDIS_H

#include <sys/types.h>

#include "acme_redis.h"
#include "check_main.h"

/* A redis-server this program started. */
typedef struct {
    pid_t pid;
    int port;                 /* the TLS port for a TLS server */
} tr_server_t;

/* The program's temporary directory (made on first use, removed at exit). */
const char *tr_dir(void);

/* Starts redis-server (from PATH, else /usr/bin/redis-server) on a free port
 * of 127.0.0.1, with `extra` (NULL-terminated, may be NULL) added to its
 * command line; with `tls`, that port is its TLS port and the plain one is
 * off. Fails the test when it cannot: a missing redis-server is an error,
 * not a skip. The server dies with this process. */
void tr_server_start(tr_server_t *srv, const char *tag, int tls, const char *const *extra);
void tr_server_stop(tr_server_t *srv);

/* The plain server most tests share, started once per program by the
 * unchecked fixture tr_main_setup and stopped when the program exits. */
extern tr_server_t tr_main;
void tr_main_setup(void);

/* Parses `url` and connects, failing the test with the reason if either fails. */
acme_redis_t *tr_connect(apr_pool_t *p, const char *url, const acme_redis_options_t *opts);

/* "redis://127.0.0.1:<port><rest>" in p. */
const char *tr_url(apr_pool_t *p, int port, const char *rest);

/* A port on 127.0.0.1 where nothing listens (as far as anyone can tell). */
int tr_free_port(void);

/* Milliseconds since some fixed point, for timing. */
long tr_now_ms(void);

/* A fake server on a thread: accepts one connection, reads once (a command),
 * sends `reply` (len bytes, may be 0), then closes (close_after) or holds
 * the connection until tr_fake_stop(). */
typedef struct tr_fake_t tr_fake_t;
tr_fake_t *tr_fake_start(const char *reply, apr_size_t len, int close_after);
int tr_fake_port(const tr_fake_t *fake);
void tr_fake_stop(tr_fake_t *fake);

TCase *tr_url_tcase(void);
TCase *tr_cmd_tcase(void);
TCase *tr_auth_tcase(void);
TCase *tr_tls_tcase(void);
TCase *tr_fault_tcase(void);
TCase *tr_cluster_tcase(void);
TCase *tr_lease_tcase(void);
TCase *tr_lease_down_tcase(void);

#endif /* TEST_REDIS_H */
