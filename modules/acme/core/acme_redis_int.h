/* Inside the Redis connection (acme_redis.h): the connection record and the
 * pieces its files share. Only acme_redis*.c include this (it brings in
 * hiredis). */
#ifndef ACME_REDIS_INT_H
#define ACME_REDIS_INT_H

#include <hiredis.h>

#include "acme_redis.h"

typedef struct acme_redis_tls_t acme_redis_tls_t;

struct acme_redis_t {
    apr_pool_t *pool;             /* the connection's own (child of the caller's) */
    const char *name;             /* printable URL, for messages */
    int fd;                       /* -1 once closed */
    acme_redis_tls_t *tls;        /* NULL for redis:// */
    redisReader *reader;          /* hiredis' parser; NULL once closed */
    apr_interval_time_t read_timeout;
    apr_interval_time_t write_timeout;
};

/* -------------------------------------------- acme_redis_sock.c: TCP, poll
 * Every wait ends at `deadline` with APR_TIMEUP. Name resolution
 * (getaddrinfo) is the one wait no deadline bounds. */

/* A connected non-blocking socket to host:port (each address in turn).
 * ACME_REDIS_ECONNECT or APR_TIMEUP with *pwhy in `p`. */
apr_status_t acme_redis_sock_connect(int *pfd, apr_pool_t *p, const char *host, apr_port_t port,
                                     apr_time_t deadline, const char **pwhy);

/* Waits until `fd` is ready for `events` (POLLIN, POLLOUT). */
apr_status_t acme_redis_sock_wait(int fd, short events, apr_time_t deadline);

/* Sends all of buf (never raising SIGPIPE). An OS error as APR status. */
apr_status_t acme_redis_sock_send(int fd, const char *buf, apr_size_t len, apr_time_t deadline);

/* Receives 1..cap bytes into buf; APR_EOF when the peer closed. */
apr_status_t acme_redis_sock_recv(int fd, char *buf, apr_size_t cap, apr_size_t *pn,
                                  apr_time_t deadline);

/* ------------------------------------------------- acme_redis_tls.c: TLS */

/* A TLS client session over the connected `fd`: the certificate chain is
 * verified against `ca_file` (NULL: the system's trust store) and must name
 * `host` (a DNS name, or an IP address matched against IP SANs). Freed by a
 * cleanup on `p` or by acme_redis_tls_close(). ACME_REDIS_ETLS,
 * ACME_REDIS_ECONNECT or APR_TIMEUP with *pwhy in `p`. */
apr_status_t acme_redis_tls_connect(acme_redis_tls_t **ptls, apr_pool_t *p, int fd,
                                    const char *host, const char *ca_file, apr_time_t deadline,
                                    const char **pwhy);

/* As acme_redis_sock_send/recv, through TLS; ACME_REDIS_ETLS when TLS fails. */
apr_status_t acme_redis_tls_send(acme_redis_tls_t *tls, const char *buf, apr_size_t len,
                                 apr_time_t deadline);
apr_status_t acme_redis_tls_recv(acme_redis_tls_t *tls, char *buf, apr_size_t cap,
                                 apr_size_t *pn, apr_time_t deadline);

/* Frees the session now (not the socket). */
void acme_redis_tls_close(acme_redis_tls_t *tls);

/* --------------------------------------------- acme_redis_reply.c: replies */

/* Walks the framing of RESP ahead of hiredis (which only acts once a whole
 * value is buffered) so that announced lengths are checked before a byte of
 * them is kept: lines, then bulk payloads skipped by their announced length. */
typedef struct acme_redis_frame_t {
    apr_size_t total;             /* bytes of this reply so far */
    apr_size_t items;             /* values announced so far */
    apr_size_t skip;              /* bulk payload (+CRLF) still to pass */
    apr_size_t line_len;          /* bytes of the current line so far */
    char prev;                    /* its last byte */
    char head[24];                /* its first bytes: type and length */
} acme_redis_frame_t;

/* Ready for a new reply. */
void acme_redis_frame_reset(acme_redis_frame_t *frame);

/* Feeds the next `len` received bytes of a reply: checks them (frame), hands
 * them to `reader` and, once the reply is whole, sets *preply to it
 * (converted into `p`); *preply stays NULL while more is needed. Bytes after
 * the reply are an error (nothing is pipelined). ACME_REDIS_EPROTOCOL or
 * ACME_REDIS_ETOOLARGE with *pwhy in `p`. */
apr_status_t acme_redis_reply_feed(acme_redis_reply_t **preply, apr_pool_t *p,
                                   redisReader *reader, acme_redis_frame_t *frame,
                                   const char *buf, apr_size_t len, const char **pwhy);

/* The text of an error reply for a message: `secret` (may be NULL) masked as
 * "***", control characters as '?', at most 200 characters. */
const char *acme_redis_reply_error_text(apr_pool_t *p, const acme_redis_reply_t *r,
                                        const char *secret);

/* ACME_REDIS_EAUTH for WRONGPASS, NOAUTH and NOPERM, else ACME_REDIS_ESERVER. */
apr_status_t acme_redis_reply_error_status(const acme_redis_reply_t *r);

#endif /* ACME_REDIS_INT_H */
