/* The cluster's members and challenge answers in the shared Redis
 * (MDSharedStore, docs/cluster.md).
 *
 * Members: each server announces itself, again and again:
 *   <ns>:servers            a set of server ids ("web2:1234")
 *   <ns>:server:<id>        exists while the server lives (expires)
 * A member whose key expired is not live; it stays in the set until a live
 * server prunes it.
 *
 * Challenge answers: the CA validates http-01 on whichever server its
 * request reaches, so the server that renews publishes each answer before
 * it asks the CA to validate, every other server copies it into its own
 * store (where its children answer from) and acknowledges, and the renewing
 * server waits for the acknowledgements of the live members:
 *   <ns>:chals              sorted set: "<domain> <token>" by expiry (ms)
 *   <ns>:chal:<domain>:<token>      {"by": id, "keyauth": key authorization}
 *   <ns>:chal-ack:<domain>:<token>  set of the ids that copied it
 * Answers are public (a key authorization is the token and the account key's
 * thumbprint): they are not written under a lease. All keys expire.
 *
 * Reads trust nothing: a domain must be a valid host name, a token a valid
 * token, a key authorization "<token>.<thumbprint>". */
#ifndef ACME_CLUSTER_CHAL_H
#define ACME_CLUSTER_CHAL_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "acme_redis.h"

/* Answers read in one go (the oldest beyond are left for the next). */
#define ACME_CLUSTER_CHALS_MAX 512
/* Members read in one go. */
#define ACME_CLUSTER_SERVERS_MAX 256

typedef struct {
    const char *domain;
    const char *token;
    const char *by;         /* the id of the server that published it */
    const char *keyauth;
    apr_time_t expires;     /* on the publisher's clock */
} acme_cluster_chal_t;

/* Announces server `id` as live for `ttl` (and a member). */
apr_status_t acme_cluster_server_announce(acme_redis_t *conn, apr_pool_t *p, const char *ns,
                                          const char *id, apr_interval_time_t ttl,
                                          const char **perr);

/* The ids of the live members (const char *), in p; members that are no
 * longer live are pruned from the set. */
apr_status_t acme_cluster_servers_live(apr_array_header_t **pids, apr_pool_t *p,
                                       acme_redis_t *conn, const char *ns, const char **perr);

/* Publishes an http-01 answer until `expires`. APR_EINVAL for a domain,
 * token or key authorization that is not one. */
apr_status_t acme_cluster_chal_publish(acme_redis_t *conn, apr_pool_t *p, const char *ns,
                                       const acme_cluster_chal_t *chal, const char **perr);

/* The answers not expired at `now` (acme_cluster_chal_t, at most
 * ACME_CLUSTER_CHALS_MAX, each checked; one that is not an answer is left
 * out, and expired ones are pruned from the index). */
apr_status_t acme_cluster_chal_list(apr_array_header_t **pchals, apr_pool_t *p,
                                    acme_redis_t *conn, const char *ns, apr_time_t now,
                                    const char **perr);

/* Server `id` has copied the answer. */
apr_status_t acme_cluster_chal_ack(acme_redis_t *conn, apr_pool_t *p, const char *ns,
                                   const acme_cluster_chal_t *chal, const char *id,
                                   const char **perr);

/* The ids that acknowledged the answer (const char *). */
apr_status_t acme_cluster_chal_acks(apr_array_header_t **pids, apr_pool_t *p,
                                    acme_redis_t *conn, const char *ns,
                                    const acme_cluster_chal_t *chal, const char **perr);

/* 1 when the answer's fields are what an answer holds (domain, token, key
 * authorization of that token, publisher id). */
int acme_cluster_chal_is_valid(const acme_cluster_chal_t *chal);

#endif /* ACME_CLUSTER_CHAL_H */
