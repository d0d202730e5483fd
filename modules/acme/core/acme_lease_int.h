/* Inside the leases (acme_lease.h): the lease record and what acme_lease.c
 * and acme_lease_fenced.c share. */
#ifndef ACME_LEASE_INT_H
#define ACME_LEASE_INT_H

#include "acme_lease.h"

struct acme_lease_t {
    const char *ns;
    const char *name;
    const char *holder;
    const char *key;          /* <ns>:lease:<name> */
    const char *value;        /* "<token> <holder>": what the key holds while ours */
    apr_int64_t token;
    apr_time_t expires;       /* acme_lease_expires() */
};

/* 1 when `s` is 1..max bytes of visible ASCII (0x21-0x7e): no space, control
 * or non-ASCII byte, so that it stays one word in a key, a value or a log. */
int acme_lease_visible_ok(const char *s, apr_size_t max);

/* Runs `body` (a script of KEYS and ARGV, binary-safe) on `conn`. */
apr_status_t acme_lease_eval(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *conn,
                             const char *body, int nkeys, const char *const *keys,
                             const apr_size_t *keylens, int nargs, const char *const *args,
                             const apr_size_t *arglens, const char **perr);

/* The reply of a script that acts only while the lease holds our value:
 * integer 1 when it did; else the lease key's value (a string, or nil when
 * the key is gone) and nothing was done: ACME_LEASE_ELOST with *perr saying
 * who holds it now. Any other reply: ACME_REDIS_EPROTOCOL. `what` names the
 * step for messages ("renew"). */
apr_status_t acme_lease_owned_reply(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                    const acme_redis_reply_t *r, const char *what,
                                    const char **perr);

#endif /* ACME_LEASE_INT_H */
