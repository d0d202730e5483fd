/* A connection to a Redis (or Valkey) server: the shared store's link
 * (MDSharedStore, issue 18).
 *
 * hiredis only encodes commands and parses replies (Debian 12's 0.14 has no
 * TLS); the bytes move over our own socket, through OpenSSL for rediss://.
 * Every wait is bounded: connecting (TCP, TLS, AUTH, SELECT) by the connect
 * timeout, sending a command by the write timeout, its whole reply by the
 * read timeout. Replies are bounded too (ACME_REDIS_BULK_MAX and friends,
 * checked before anything is buffered): a hostile server cannot make us
 * allocate without bound.
 *
 * A connection is not thread-safe: one thread uses it at a time. Commands
 * are sent one at a time (no pipelining). After any failure of the
 * connection itself (timeout, I/O, garbled or oversized reply) it is closed
 * and every later command fails with ACME_REDIS_ECONNECT: the caller
 * reconnects (acme_redis_ping() tells whether a kept connection still works).
 * An error reply of the server (ACME_REDIS_ESERVER, ACME_REDIS_EAUTH) leaves
 * the connection usable.
 *
 * Errors: functions return an apr_status_t and, when `perr` is not NULL, set
 * *perr to a one-line message in the pool passed, starting with the URL's
 * printable form ("redis://:***@10.0.0.5:6379/0: ..."). Passwords never
 * appear in messages or logs. */
#ifndef ACME_REDIS_H
#define ACME_REDIS_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "acme_redis_url.h"
#include "acme_store.h"

/* Codes of this area: offset 730 of APR's user range (store log numbers). */
#define ACME_REDIS_ETIMEOUT  APR_TIMEUP  /* connect, send or reply too slow */
#define ACME_REDIS_ECONNECT  (APR_OS_START_USERERR + 730) /* resolve, connect,
                                      * connection lost or closed earlier */
#define ACME_REDIS_ETLS      (APR_OS_START_USERERR + 731) /* handshake, certificate
                                      * verification, CA file */
#define ACME_REDIS_EPROTOCOL (APR_OS_START_USERERR + 732) /* not a valid reply */
#define ACME_REDIS_ETOOLARGE (APR_OS_START_USERERR + 733) /* reply over the bounds */
#define ACME_REDIS_ESERVER   (APR_OS_START_USERERR + 734) /* an error reply: *perr
                                      * holds the server's message ("LOADING ...") */
#define ACME_REDIS_EAUTH     (APR_OS_START_USERERR + 735) /* an error reply that
                                      * means configuration: WRONGPASS, NOAUTH, NOPERM */

/* Bounds of one reply. A string value: what the store holds at most. */
#define ACME_REDIS_BULK_MAX  ACME_STORE_ITEM_MAX
/* All bytes of one reply (a script may return a few values). */
#define ACME_REDIS_REPLY_MAX (4 * ACME_STORE_ITEM_MAX)
/* Values in one reply, arrays and their elements counted alike. */
#define ACME_REDIS_ITEMS_MAX 65536
/* A status, error or integer line (Redis' own are short). */
#define ACME_REDIS_LINE_MAX  (64 * 1024)

#define ACME_REDIS_TIMEOUT_DEFAULT apr_time_from_sec(5)

typedef struct acme_redis_t acme_redis_t;

typedef struct acme_redis_options_t {
    apr_interval_time_t connect_timeout; /* TCP + TLS + AUTH + SELECT; 0: default */
    apr_interval_time_t read_timeout;    /* one whole reply; 0: default */
    apr_interval_time_t write_timeout;   /* sending one command; 0: default */
    const char *ca_file;     /* rediss://: PEM trust anchors; NULL: the system's */
} acme_redis_options_t;

typedef enum {
    ACME_REDIS_REPLY_STRING,     /* a bulk string: binary, use len */
    ACME_REDIS_REPLY_STATUS,     /* "+OK" */
    ACME_REDIS_REPLY_ERROR,      /* "-ERR ..." inside an array; at the top
                                  * level a command returns ACME_REDIS_ESERVER */
    ACME_REDIS_REPLY_INTEGER,
    ACME_REDIS_REPLY_NIL,        /* absent (GET of a missing key) */
    ACME_REDIS_REPLY_ARRAY
} acme_redis_reply_type_e;

/* A reply, all of it in the pool the command was given. */
typedef struct acme_redis_reply_t {
    acme_redis_reply_type_e type;
    apr_int64_t integer;                  /* INTEGER */
    const char *str;                      /* STRING, STATUS, ERROR: NUL-terminated,
                                           * a STRING may hold NUL bytes */
    apr_size_t len;
    apr_size_t elements;                  /* ARRAY */
    struct acme_redis_reply_t **element;
} acme_redis_reply_t;

/* Connects to `url` (resolving its host, then TCP, TLS for rediss:// with
 * the server's name or IP verified against its certificate, AUTH when the
 * URL has a password, SELECT when db is not 0, else PING), all before the
 * connect timeout. `opts` may be NULL (defaults). The connection lives in a
 * child pool of `p`: acme_redis_close() or destroying `p` closes it. A failed
 * AUTH is ACME_REDIS_EAUTH. `url` need not outlive the call. No client
 * certificate is presented: a TLS server must run with tls-auth-clients no
 * (or optional). */
apr_status_t acme_redis_connect(acme_redis_t **pconn, apr_pool_t *p, const acme_redis_url_t *url,
                                const acme_redis_options_t *opts, const char **perr);

/* Closes the connection and frees its memory. NULL is fine. */
void acme_redis_close(acme_redis_t *conn);

/* 1 while the connection is usable, 0 after it failed. */
int acme_redis_is_open(const acme_redis_t *conn);

/* The printable URL of the connection ("rediss://alice:***@h:6380/0"). */
const char *acme_redis_name(const acme_redis_t *conn);

/* Sends the command argv[0..argc) (binary-safe: argvlen[i] bytes each; argc
 * >= 1) and reads its reply into *preply (in `p`). An error reply gives
 * ACME_REDIS_ESERVER or ACME_REDIS_EAUTH, with *preply set to it and *perr to
 * its message. */
apr_status_t acme_redis_command(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *conn,
                                int argc, const char *const *argv, const apr_size_t *argvlen,
                                const char **perr);

/* PING: APR_SUCCESS when the server answers PONG. */
apr_status_t acme_redis_ping(acme_redis_t *conn, apr_pool_t *p, const char **perr);

/* ------------------------------------------------------------ conveniences
 * (acme_redis_cmd.c). Keys are NUL-terminated text, values binary. */

/* GET: *pval (NUL-terminated for convenience, may hold NUL bytes) and *plen
 * in `p`; APR_ENOENT when the key does not exist. */
apr_status_t acme_redis_get(const char **pval, apr_size_t *plen, apr_pool_t *p,
                            acme_redis_t *conn, const char *key, const char **perr);

typedef struct acme_redis_set_opts_t {
    int nx;                       /* only if the key does not exist yet (SET NX) */
    apr_interval_time_t expire;   /* > 0: expires after this (SET PX, in ms, >= 1) */
} acme_redis_set_opts_t;

/* SET; `opts` may be NULL. With nx, APR_EEXIST when the key exists (nothing
 * written). */
apr_status_t acme_redis_set(acme_redis_t *conn, apr_pool_t *p, const char *key,
                            const char *val, apr_size_t len, const acme_redis_set_opts_t *opts,
                            const char **perr);

/* DEL of one key; *pdeleted (may be NULL) is 1 when it existed, else 0. */
apr_status_t acme_redis_del(int *pdeleted, apr_pool_t *p, acme_redis_t *conn, const char *key,
                            const char **perr);

/* Binary-safe arguments, e.g. the KEYS and ARGV of a script. */
typedef struct acme_redis_args_t {
    int argc;
    const char *const *argv;
    const apr_size_t *argvlen;
} acme_redis_args_t;

/* A Lua script and its SHA-1 (what EVALSHA names it by). */
typedef struct acme_redis_script_t {
    const char *body;
    char sha1[41];                /* lowercase hex */
} acme_redis_script_t;

/* Fills script->sha1 from `body` (kept by reference: it must outlive the
 * script). */
apr_status_t acme_redis_script_init(acme_redis_script_t *script, const char *body);

/* Runs the script with `keys` as KEYS and `args` as ARGV (either may be NULL):
 * EVALSHA first, and EVAL when the server does not have the script cached
 * (NOSCRIPT, e.g. after a restart), which caches it. The reply as in
 * acme_redis_command(); an error raised by the script is ACME_REDIS_ESERVER. */
apr_status_t acme_redis_eval(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *conn,
                             const acme_redis_script_t *script, const acme_redis_args_t *keys,
                             const acme_redis_args_t *args, const char **perr);

/* Called for each key of a SCAN: a status other than APR_SUCCESS ends the
 * scan and is returned by acme_redis_scan(). `key` lives for the call. */
typedef apr_status_t acme_redis_scan_cb(void *baton, const char *key, apr_size_t len);

/* Iterates with SCAN over the keys matching `match` (Redis glob; NULL: all);
 * a status from `cb` is returned as is, *perr untouched.
 * As SCAN guarantees: every key present during the whole scan is seen at
 * least once; a key may be seen twice, keys added or removed meanwhile may or
 * may not be. Memory stays bounded by one batch. */
apr_status_t acme_redis_scan(acme_redis_t *conn, apr_pool_t *p, const char *match,
                             acme_redis_scan_cb *cb, void *baton, const char **perr);

#endif /* ACME_REDIS_H */
