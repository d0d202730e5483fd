/* The leases this server holds, kept alive while their runs last
 * (MDSharedStore, docs/cluster.md).
 *
 * Leases are short (ACME_SHARED_LEASE_TTL): a server that dies mid-renewal
 * blocks the domain only that long. A run can take longer (a slow CA, a
 * challenge waiting for its copies), so the link thread renews every lease
 * registered here every ACME_SHARED_LEASE_KEEP on its own connection.
 *
 * Threads: a worker adds its lease after acquiring it and removes it before
 * it releases it; the link thread renews. The mutex is held around each
 * renew, so that once acme_shared_keep_remove() returns the lease record is
 * the worker's alone again (acme_lease_renew() writes the record's expiry;
 * the worker's fenced writes meanwhile read only what acquire fixed).
 *
 * A renewal refused (the lease expired or was taken) or one that could not
 * reach Redis before the lease ran out marks the lease lost: logged once
 * (ACME1830), never renewed again; the run's fenced writes fail by
 * themselves. */
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_lease.h"
#include "mod_acme_serve.h"
#include "mod_acme_shared.h"

APLOG_USE_MODULE(acme);

typedef struct keep_entry_t {
    struct keep_entry_t *next;
    acme_lease_t *lease;        /* the worker's; renewed under the mutex */
    apr_time_t renewed;         /* last acquire or renew (this host's clock) */
    int lost;
} keep_entry_t;

struct acme_shared_keep_t {
    server_rec *s;
    apr_thread_mutex_t *mutex;
    apr_pool_t *pool;           /* entries, own allocator; (mutex) */
    keep_entry_t *held;         /* (mutex) */
    keep_entry_t *spare;        /* removed entries for reuse; (mutex) */
};

apr_status_t acme_shared_keep_create(acme_shared_keep_t **pkeep, apr_pool_t *p, server_rec *s)
{
    acme_shared_keep_t *keep = apr_pcalloc(p, sizeof(*keep));
    apr_allocator_t *allocator;
    apr_status_t rv;

    *pkeep = NULL;
    keep->s = s;
    if ((rv = apr_thread_mutex_create(&keep->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_allocator_create(&allocator)) != APR_SUCCESS) {
        return rv;
    }
    /* its own allocator: workers allocate entries while other threads use
     * pools of the same parent */
    apr_pool_create_ex(&keep->pool, p, NULL, allocator);
    apr_allocator_owner_set(allocator, keep->pool);
    apr_pool_tag(keep->pool, "acme_shared_keep");
    *pkeep = keep;
    return APR_SUCCESS;
}

void acme_shared_keep_add(acme_shared_keep_t *keep, acme_lease_t *lease)
{
    keep_entry_t *e;

    if (keep == NULL || lease == NULL) {
        return;
    }
    apr_thread_mutex_lock(keep->mutex);
    if ((e = keep->spare) != NULL) {
        keep->spare = e->next;
    }
    else {
        e = apr_palloc(keep->pool, sizeof(*e));
    }
    e->lease = lease;
    e->renewed = apr_time_now();
    e->lost = 0;
    e->next = keep->held;
    keep->held = e;
    apr_thread_mutex_unlock(keep->mutex);
}

int acme_shared_keep_remove(acme_shared_keep_t *keep, const acme_lease_t *lease)
{
    keep_entry_t **pe, *e;
    int lost = 0;

    if (keep == NULL || lease == NULL) {
        return 0;
    }
    apr_thread_mutex_lock(keep->mutex);
    for (pe = &keep->held; (e = *pe) != NULL; pe = &e->next) {
        if (e->lease == lease) {
            lost = e->lost;
            *pe = e->next;
            e->next = keep->spare;
            keep->spare = e;
            break;
        }
    }
    apr_thread_mutex_unlock(keep->mutex);
    return lost;
}

static void keep_lost(acme_shared_keep_t *keep, keep_entry_t *e, apr_status_t rv,
                      const char *why)
{
    e->lost = 1;
    ap_log_error(APLOG_MARK, APLOG_WARNING, acme_glue_log_rv(rv), keep->s,
                 "ACME1830 lease %s (token %" APR_INT64_T_FMT ") lost: %s; its run's results "
                 "are not shared, the next holder continues", acme_lease_key(e->lease),
                 acme_lease_token(e->lease), why);
}

apr_status_t acme_shared_keep_tick(acme_shared_keep_t *keep, acme_redis_t *conn,
                                   apr_pool_t *p, const char **perr)
{
    apr_status_t rv = APR_SUCCESS, one;
    const char *err;
    keep_entry_t *e;
    apr_time_t now;

    if (keep == NULL) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(keep->mutex);
    for (e = keep->held; e && rv == APR_SUCCESS; e = e->next) {
        now = apr_time_now();
        if (e->lost || now - e->renewed < ACME_SHARED_LEASE_KEEP) {
            continue;
        }
        if (now >= acme_lease_expires(e->lease)) {
            /* Redis did not answer while it ran out (the link was down) */
            keep_lost(keep, e, 0, "it expired before it could be renewed");
            continue;
        }
        err = NULL;
        one = acme_lease_renew(e->lease, p, conn, ACME_SHARED_LEASE_TTL, &err);
        if (one == APR_SUCCESS) {
            e->renewed = now;
        }
        else if (one == ACME_LEASE_ELOST) {
            keep_lost(keep, e, 0, err ? err : "refused");
        }
        else {
            rv = one;   /* the connection: tried again once the link answers */
            *perr = err;
        }
    }
    apr_thread_mutex_unlock(keep->mutex);
    return rv;
}
