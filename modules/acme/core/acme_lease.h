/* Leases on the shared Redis store (issue 18): one renewal per domain for the
 * whole cluster, and fenced writes, so that a server that stalled past its
 * lease cannot overwrite what the next holder wrote.
 *
 * Keys, for the cluster's namespace `ns` and a lease `name` (a domain):
 *   <ns>:fence:<name>  a counter, INCR'ed by every acquisition; never
 *                      expires, never goes down: the fencing tokens.
 *   <ns>:lease:<name>  "<token> <holder>" while held, with the lease's
 *                      expiry (PX); absent when free.
 * `ns` has no ':' and `name` cannot reach outside its key (ACME_LEASE_EBADNAME),
 * so a crafted domain cannot name another lease, counter or namespace.
 *
 * Each step is one Lua script (acme_lease.c, acme_lease_fenced.c), which Redis
 * runs atomically:
 *   acquire  lease key absent: token = INCR fence, SET lease PX ttl;
 *            present: its value and PTTL (ACME_LEASE_EBUSY).
 *   renew    PEXPIRE lease, only while it holds our value.
 *   release  DEL lease, only while it holds our value.
 *   fenced   SET (or DEL) n keys, only while the lease holds our value;
 *            otherwise none of them.
 * "Our value" is the whole "<token> <holder>" string. The token is what
 * proves possession; the holder string ("web2:1234") is only a label for
 * people.
 *
 * Why fencing: a holder cannot know that it still holds its lease when its
 * write arrives (a GC-like stall, a stopped VM, a slow network: the lease can
 * expire and be taken by the next server between its check and its write).
 * The check therefore runs inside Redis, in the same script as the write.
 * Tokens only grow, so a holder can also tell which of two tokens is newer
 * (e.g. in a job record).
 *
 * When a holder dies mid-renewal its lease expires after ttl; the next
 * acquisition gets a greater token and resumes the job from what the fenced
 * writes left.
 *
 * Re-acquiring a lease one already holds: ACME_LEASE_EBUSY, like anyone else,
 * even with the same holder string. Extending is acme_lease_renew()'s, with
 * the token in hand. A holder string is not a credential: two threads of one
 * process share it, and so does a server restarted under the same host and
 * pid (containers: pid 1); neither may take over a lease it does not hold.
 * The price: a server that crashed and came back waits out its old lease.
 *
 * Requirements on the Redis: the fence counters must survive, so no FLUSH,
 * and an eviction policy that spares keys without expiry (noeviction or
 * volatile-*, not allkeys-*): a counter that restarts could hand out a token
 * again. Clocks: Redis measures the ttl on its own clock; this side never
 * compares its clock with Redis', it only assumes both run at about the
 * same rate (acme_lease_expires()).
 *
 * Connections: each call uses `conn` for one command; a failure of the
 * connection is its code (ACME_REDIS_ECONNECT, APR_TIMEUP, ...), and then the
 * lease's state is unknown: a renew or fenced write may or may not have
 * happened. A lease record may be used with any connection to the same
 * Redis. Threads: renew and release write the record's expiry, so they and
 * acme_lease_expires() are one thread's at a time; the fenced writes and the
 * other getters read only what acquire fixed, so one thread may write
 * fenced while another renews (the glue's keep-alive does).
 *
 * Errors: as acme_redis.h (*perr in the pool passed, when perr is not NULL). */
#ifndef ACME_LEASE_H
#define ACME_LEASE_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "acme_redis.h"

/* Codes of this area: offsets 740-744 of APR's user range (744 is free). */
#define ACME_LEASE_EBUSY     (APR_OS_START_USERERR + 740) /* held by another */
#define ACME_LEASE_ELOST     (APR_OS_START_USERERR + 741) /* no longer ours: expired,
                                      * deleted, or taken by the next holder */
#define ACME_LEASE_EBADNAME  (APR_OS_START_USERERR + 742) /* ns, name, holder or
                                      * a fenced key not allowed; Redis untouched */
#define ACME_LEASE_ETOOLARGE (APR_OS_START_USERERR + 743) /* a fenced write of too
                                      * many keys or a value over the bounds */

#define ACME_LEASE_NS_MAX     64   /* [A-Za-z0-9._-], no ':' */
#define ACME_LEASE_NAME_MAX   ACME_STORE_NAME_MAX /* visible ASCII (0x21-0x7e) */
#define ACME_LEASE_HOLDER_MAX 128  /* visible ASCII */
#define ACME_LEASE_KEY_MAX    512  /* a fenced key: visible ASCII */
/* One fenced write: keys, and bytes per value (what acme_redis_get() reads). */
#define ACME_LEASE_KEYS_MAX   16
#define ACME_LEASE_VALUE_MAX  ACME_REDIS_BULK_MAX

typedef struct acme_lease_t acme_lease_t;

/* Who holds a lease we could not take (acme_lease_acquire(), acme_lease_peek()). */
typedef struct acme_lease_busy_t {
    const char *holder;             /* "web2:1234"; "?" when the key holds
                                     * something not written by us */
    apr_int64_t token;              /* 0 when unreadable */
    apr_interval_time_t remaining;  /* until it expires; -1: no expiry (set by hand) */
} acme_lease_busy_t;

/* Takes the lease `name` in namespace `ns` for `holder` (printable, e.g.
 * "web2:1234"), for `ttl` (>= 1 ms; APR_EINVAL otherwise). *plse is set on
 * success, in `p`, with a fencing token greater than any before for this
 * name. When another holds it: ACME_LEASE_EBUSY, *busy (may be NULL) filled
 * (strings in `p`) and *perr saying who and for how long. */
apr_status_t acme_lease_acquire(acme_lease_t **plse, apr_pool_t *p, acme_redis_t *conn,
                                const char *ns, const char *name, const char *holder,
                                apr_interval_time_t ttl, acme_lease_busy_t *busy,
                                const char **perr);

/* Reads who holds the lease, without taking it (for status): APR_SUCCESS
 * with *busy filled, APR_ENOENT when it is free. */
apr_status_t acme_lease_peek(acme_lease_busy_t *busy, apr_pool_t *p, acme_redis_t *conn,
                             const char *ns, const char *name, const char **perr);

/* Sets the lease to expire `ttl` (>= 1 ms) from now, only while it is still
 * ours; ACME_LEASE_ELOST otherwise (then nothing changed; acquire again for a
 * new token). */
apr_status_t acme_lease_renew(acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                              apr_interval_time_t ttl, const char **perr);

/* Frees the lease, only while it is still ours. A lease already lost is not
 * an error (nothing to free): APR_SUCCESS with *plost (may be NULL) 1 and
 * *perr saying what holds it now; else *plost is 0. */
apr_status_t acme_lease_release(acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                int *plost, const char **perr);

/* Writes keys[i] = vals[i] (lens[i] bytes, binary) for i < n (1..
 * ACME_LEASE_KEYS_MAX), all of them only while the lease is still ours;
 * otherwise none and ACME_LEASE_ELOST. Keys must lie in the lease's
 * namespace ("<ns>:...") outside its lease and fence keys
 * (ACME_LEASE_EBADNAME); values are at most ACME_LEASE_VALUE_MAX bytes
 * (ACME_LEASE_ETOOLARGE); n < 1 is APR_EINVAL. All checked before Redis is
 * asked. The Redis user must be allowed to write every key of the namespace:
 * a write refused halfway by an ACL would be left half done. */
apr_status_t acme_lease_fenced_set(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                   int n, const char *const *keys, const char *const *vals,
                                   const apr_size_t *lens, const char **perr);

/* As acme_lease_fenced_set(), deleting the n keys (absent ones are fine). */
apr_status_t acme_lease_fenced_del(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                   int n, const char *const *keys, const char **perr);

/* The fencing token (>= 1). */
apr_int64_t acme_lease_token(const acme_lease_t *lse);
/* The holder string and the lease's name, as given to acme_lease_acquire(). */
const char *acme_lease_holder(const acme_lease_t *lse);
const char *acme_lease_name(const acme_lease_t *lse);
/* The lease key ("<ns>:lease:<name>"). */
const char *acme_lease_key(const acme_lease_t *lse);
/* Until when the lease is ours at least, on this host's clock: the time
 * before the last acquire or successful renew was sent, plus its ttl (Redis
 * started counting later). Work that must be covered by the lease renews or
 * stops before then. 0 after acme_lease_release(). */
apr_time_t acme_lease_expires(const acme_lease_t *lse);

#endif /* ACME_LEASE_H */
