/* The address of a Redis server, as MDSharedStore takes it:
 *
 *     redis://[user:password@]host[:port][/db]
 *     rediss://[user:password@]host[:port][/db]      (TLS)
 *
 * host: a DNS name, an IPv4 address, or an IPv6 address in brackets
 * ("[::1]"); port 1..65535, default 6379; db 0..15 in digits only, default 0.
 * user and password are percent-encoded in the text ("p%40ss" is "p@ss");
 * ":password@" without a user authenticates as Redis' default user (AUTH
 * password), "user:password@" as an ACL user (AUTH user password). Anything
 * else (a user without password, a query, a fragment, unbracketed IPv6) is
 * rejected.
 *
 * The password is a secret: it appears in no error message and not in
 * `printable`; the parsed password is only handed to AUTH. */
#ifndef ACME_REDIS_URL_H
#define ACME_REDIS_URL_H

#include <apr_errno.h>
#include <apr_network_io.h>
#include <apr_pools.h>

#define ACME_REDIS_PORT_DEFAULT 6379
#define ACME_REDIS_DB_MAX 15

typedef struct acme_redis_url_t {
    int tls;                 /* 1 for rediss:// */
    const char *host;        /* name or address, without brackets */
    apr_port_t port;
    int db;                  /* 0..ACME_REDIS_DB_MAX */
    const char *user;        /* decoded; NULL: Redis' default user */
    const char *password;    /* decoded; NULL: no AUTH. Never logged. */
    const char *printable;   /* "rediss://alice:***@[::1]:6380/2": for logs */
} acme_redis_url_t;

/* Parses `text` into *purl (allocated in `p`). APR_EINVAL for any text that
 * is not such a URL; *perr (when perr is not NULL) is then a one-line message
 * in `p` that quotes the text with its password masked and names the problem:
 * "MDSharedStore: 'redis://h:99999': port out of range". */
apr_status_t acme_redis_url_parse(acme_redis_url_t **purl, apr_pool_t *p, const char *text,
                                  const char **perr);

/* `text` (which need not parse) with what may be a password replaced by
 * "***" and control characters by '?', for messages. */
const char *acme_redis_url_mask(apr_pool_t *p, const char *text);

#endif /* ACME_REDIS_URL_H */
