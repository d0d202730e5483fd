/* The renewal workers: a few threads in the watchdog child that take due
 * domains from the watchdog and run their jobs, so renewals of several
 * domains proceed at the same time and a slow one holds only its own worker
 * (see mod_acme_drive.h for the whole picture and the locking rules). */
#include <apr_allocator.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>

#include "mod_acme_drive.h"
#include "mod_acme_shared.h"

APLOG_USE_MODULE(acme);

struct acme_drive_worker_t {
    acme_drive_t *d;
    int index;
    apr_pool_t *pool;               /* own allocator: touched by this thread only */
    apr_pool_t *scratch;            /* cleared after every job */
    apr_thread_t *thread;
    acme_drive_clients_t *clients;  /* this worker's CA connections */
};

/* Pops a due domain from the queue and marks it in flight (d->mutex held);
 * NULL when none is due. With MDSharedStore, none is while the shared store
 * does not answer: a renewal there needs the cluster's lease, and the
 * domains stay due until it does (the watchdog looks again shortly). */
static acme_drive_md_t *due_take(acme_drive_t *d, apr_time_t now)
{
    acme_drive_md_t *dm = NULL;
    const char *name;

    if (d->g->shared_url && !acme_shared_link_is_up(d->shared)) {
        return NULL;
    }
    while (dm == NULL && acme_due_queue_pop_due(d->queue, now, &name, NULL) == APR_SUCCESS) {
        dm = apr_hash_get(d->by_name, name, APR_HASH_KEY_STRING);
        if (dm != NULL && dm->in_flight) {
            dm = NULL;  /* cannot happen: every queued name is driven and idle */
        }
    }
    if (dm != NULL) {
        dm->in_flight = 1;
        d->in_flight++;
    }
    return dm;
}

/* Waits for a domain (with d->mutex held); NULL when stopping. A worker
 * done with a job takes the next due domain itself, without waiting for
 * the watchdog's next look. */
static acme_drive_md_t *worker_take(acme_drive_t *d)
{
    acme_drive_md_t *dm;
    int i;

    while (!d->stopping && d->ready_count == 0) {
        if ((dm = due_take(d, apr_time_now())) != NULL) {
            return dm;
        }
        d->idle++;
        apr_thread_cond_wait(d->cond, d->mutex);
        d->idle--;
    }
    if (d->stopping) {
        return NULL;
    }
    dm = d->ready[0];
    for (i = 1; i < d->ready_count; ++i) {
        d->ready[i - 1] = d->ready[i];
    }
    d->ready_count--;
    return dm;
}

static void *APR_THREAD_FUNC worker_main(apr_thread_t *thread, void *data)
{
    acme_drive_worker_t *w = data;
    acme_drive_t *d = w->d;
    acme_drive_md_t *dm;
    apr_time_t next;

    apr_thread_mutex_lock(d->mutex);
    while ((dm = worker_take(d)) != NULL) {
        apr_thread_mutex_unlock(d->mutex);

        next = acme_drive_job_run(d, dm, w->clients, w->scratch);
        apr_pool_clear(w->scratch);

        apr_thread_mutex_lock(d->mutex);
        dm->in_flight = 0;
        d->in_flight--;
        if (next <= 0) {
            next = apr_time_now() + d->g->check_interval;
        }
        if (acme_due_queue_set(d->queue, dm->md->name, next) != APR_SUCCESS) {
            /* out of memory: the domain waits for the next generation */
            ap_log_error(APLOG_MARK, APLOG_CRIT, APR_ENOMEM, d->s, "ACME1450 %s: cannot "
                         "reschedule", dm->md->name);
        }
    }
    apr_thread_mutex_unlock(d->mutex);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

static apr_status_t worker_make(acme_drive_worker_t **pw, acme_drive_t *d, int index)
{
    apr_allocator_t *allocator;
    acme_drive_worker_t *w;
    apr_status_t rv;

    w = apr_pcalloc(d->pool, sizeof(*w));
    w->d = d;
    w->index = index;
    rv = apr_allocator_create(&allocator);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_pool_create_ex(&w->pool, d->pool, NULL, allocator);
    if (rv != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return rv;
    }
    apr_allocator_owner_set(allocator, w->pool);
    apr_allocator_max_free_set(allocator, 1);
    apr_pool_tag(w->pool, "acme_renewal_worker");
    apr_pool_create(&w->scratch, w->pool);
    apr_pool_tag(w->scratch, "acme_renewal_job");
    w->clients = acme_drive_clients_create(w->pool);
    *pw = w;
    return APR_SUCCESS;
}

apr_status_t acme_renewals_start(acme_drive_t *d)
{
    int n = (int)apr_hash_count(d->by_name), i;
    apr_status_t rv;

    n = n < ACME_DRIVE_WORKERS_MAX ? n : ACME_DRIVE_WORKERS_MAX;
    d->workers = apr_pcalloc(d->pool, (apr_size_t)(n > 0 ? n : 1) * sizeof(*d->workers));
    d->ready = apr_pcalloc(d->pool, (apr_size_t)(n > 0 ? n : 1) * sizeof(*d->ready));
    for (i = 0; i < n; ++i) {
        rv = worker_make(&d->workers[i], d, i);
        if (rv == APR_SUCCESS) {
            /* the thread's own pool hangs below the worker's: the thread
             * destroys it when it exits, and its parent must be one that no
             * other thread touches then */
            rv = apr_thread_create(&d->workers[i]->thread, NULL, worker_main, d->workers[i],
                                   d->workers[i]->pool);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, d->s, "ACME1451 cannot start renewal "
                         "worker %d; renewing with %d", i + 1, i);
            break;
        }
        d->worker_count++;
    }
    /* none to start (a cluster member that renews nothing) is fine */
    return n == 0 || d->worker_count > 0 ? APR_SUCCESS : APR_EGENERAL;
}

/* The next look when no job runs (d->mutex held): the schedule's wake-up,
 * but a domain due within ACME_SCHEDULE_WAKE_MIN (a job polling the CA) is
 * looked at on time, not up to a second late. Nothing due stays in the queue
 * unhanded when no job runs, so this cannot spin. */
static apr_time_t soonest_due(acme_drive_t *d, apr_time_t now)
{
    apr_time_t next = acme_due_queue_next_wakeup(d->queue, now, d->g->check_interval), due;
    apr_interval_time_t soonest = ACME_DRIVE_BUSY_WAKE;

    if (d->g->shared_url && !acme_shared_link_is_up(d->shared)) {
        soonest = ACME_DRIVE_SHARED_WAKE;   /* due domains wait for the link */
    }
    if (acme_due_queue_peek(d->queue, NULL, &due) == APR_SUCCESS && due < next) {
        next = due > now + soonest ? due : now + soonest;
    }
    return next;
}

apr_time_t acme_renewals_dispatch(acme_drive_t *d, apr_time_t now)
{
    acme_drive_md_t *dm;
    apr_time_t next;
    int handed = 0;

    apr_thread_mutex_lock(d->mutex);
    /* in_flight counts the ready list too: hand out as many as there are
     * workers, also to workers that have not reached their first wait yet */
    while (!d->stopping && d->in_flight < d->worker_count
           && (dm = due_take(d, now)) != NULL) {
        d->ready[d->ready_count++] = dm;
        handed++;
    }
    if (handed) {
        apr_thread_cond_broadcast(d->cond);
    }
    next = d->in_flight > 0 ? now + ACME_DRIVE_BUSY_WAKE : soonest_due(d, now);
    apr_thread_mutex_unlock(d->mutex);
    return next;
}

void acme_renewals_stop(acme_drive_t *d)
{
    apr_status_t rv;
    int i;

    apr_thread_mutex_lock(d->mutex);
    d->stopping = 1;
    apr_thread_cond_broadcast(d->cond);
    apr_thread_mutex_unlock(d->mutex);
    /* a worker inside a job finishes it first: the job's steps are bounded by
     * the transport's timeouts, and its state is saved after each one */
    for (i = 0; i < d->worker_count; ++i) {
        apr_thread_join(&rv, d->workers[i]->thread);
    }
    d->worker_count = 0;
}
