/* The renewal watchdog child's link to the cluster's shared store
 * (MDSharedStore, docs/cluster.md): one thread keeps a connection to Redis,
 * announces this server there as a member (acme_cluster_chal.h: a key that
 * expires when it stops doing so), copies the other members' challenge
 * answers every second (mod_acme_shared_chal.c) and tells the status
 * whether the shared store answers.
 *
 * Serving never waits for it: children serve from the local store whatever
 * Redis does. A failure is logged once per reason (not at every retry), an
 * answer after failures once; retries back off from 1 s to a minute. */
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_cluster_chal.h"
#include "acme_redis.h"
#include "mod_acme_child.h"
#include "mod_acme_serve.h"
#include "mod_acme_shared.h"
#include "mod_acme_status_slot.h"

APLOG_USE_MODULE(acme);

/* How often a working link looks for answers to copy, how often it proves
 * itself, and how long the announcement outlives a server that stopped. */
#define LINK_TICK          apr_time_from_sec(1)
#define LINK_BEAT          apr_time_from_sec(10)
#define LINK_ANNOUNCE_TTL  apr_time_from_sec(30)
#define LINK_BACKOFF_FIRST apr_time_from_sec(1)
#define LINK_BACKOFF_MAX   apr_time_from_sec(60)
/* Short: a stopping child joins this thread (acme_shared_link_stop), which
 * may be connecting or waiting for an answer. */
#define LINK_TIMEOUT apr_time_from_sec(3)

struct acme_shared_link_t {
    server_rec *s;
    const acme_redis_url_t *url;
    acme_redis_options_t opts;
    const char *server_id;          /* "host:pid of httpd's parent" */
    apr_pool_t *pool;               /* the thread's; own allocator */
    apr_thread_t *thread;
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;
    int stopping;                   /* (mutex) */
    volatile apr_uint32_t up;
    apr_time_t announced;           /* last announcement, 0 after a failure */
    acme_shared_mirror_t mirror;
    acme_shared_keep_t *keep;       /* the workers' leases, renewed here */
    acme_status_shared_t status;    /* what this thread last wrote */
    char logged[256];               /* the failure last logged, "" after an answer */
};

const char *acme_shared_server_id(apr_pool_t *p)
{
    char host[256];

    if (gethostname(host, sizeof(host)) != 0) {
        apr_cpystrn(host, "unknown", sizeof(host));
    }
    host[sizeof(host) - 1] = '\0';
    return apr_psprintf(p, "%s:%ld", host, (long)getppid());
}

static void status_set(acme_shared_link_t *link, int state, const char *error,
                       apr_time_t next_try)
{
    apr_time_t now = apr_time_now();

    if (link->status.state != state) {
        link->status.since = now;
    }
    link->status.state = state;
    acme_status_text_copy(link->status.error, sizeof(link->status.error), error ? error : "");
    if (state == ACME_STATUS_SHARED_UP) {
        link->status.last_ok = now;
    }
    link->status.next_try = next_try;
    acme_status_shared_write(&link->status);
}

static void link_failed(acme_shared_link_t *link, apr_status_t rv, const char *why,
                        apr_interval_time_t backoff)
{
    int config = rv == ACME_REDIS_EAUTH || rv == ACME_REDIS_ETLS;

    apr_atomic_set32(&link->up, 0);
    status_set(link, ACME_STATUS_SHARED_DOWN, why, apr_time_now() + backoff);
    if (strcmp(link->logged, why) != 0) {
        /* why starts with the printable URL; a wrong password or TLS setup
         * will not mend itself: an error, else a warning */
        ap_log_error(APLOG_MARK, config ? APLOG_ERR : APLOG_WARNING, 0, link->s,
                     "ACME1801 MDSharedStore: %s; renewals wait for it, this server serves "
                     "from its local store; retrying", why);
        acme_status_text_copy(link->logged, sizeof(link->logged), why);
    }
}

static void link_answered(acme_shared_link_t *link)
{
    if (!apr_atomic_read32(&link->up)) {
        ap_log_error(APLOG_MARK, link->logged[0] ? APLOG_NOTICE : APLOG_INFO, 0, link->s,
                     "ACME1800 MDSharedStore %s answers%s (this server is %s)",
                     link->url->printable, link->logged[0] ? " again" : "", link->server_id);
        link->logged[0] = '\0';
        apr_atomic_set32(&link->up, 1);
    }
    status_set(link, ACME_STATUS_SHARED_UP, NULL, 0);
}

/* One tick of a connected link: the announcement when due, the copies. */
static apr_status_t link_tick(acme_shared_link_t *link, acme_redis_t *conn, apr_pool_t *p,
                              const char **perr)
{
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    /* first: a lease not renewed in time lets another server take over */
    rv = acme_shared_keep_tick(link->keep, conn, p, perr);
    if (rv == APR_SUCCESS && now - link->announced >= LINK_BEAT) {
        rv = acme_cluster_server_announce(conn, p, ACME_SHARED_NS, link->server_id,
                                          LINK_ANNOUNCE_TTL, perr);
        link->announced = rv == APR_SUCCESS ? now : 0;
    }
    return rv == APR_SUCCESS ? acme_shared_mirror_tick(&link->mirror, conn, p, perr) : rv;
}

/* Waits `t` or until told to stop; 1 when stopping. */
static int link_wait(acme_shared_link_t *link, apr_interval_time_t t)
{
    int stopping;

    apr_thread_mutex_lock(link->mutex);
    if (!link->stopping && !acme_child_is_stopping()) {
        apr_thread_cond_timedwait(link->cond, link->mutex, t);
    }
    stopping = link->stopping || acme_child_is_stopping();
    apr_thread_mutex_unlock(link->mutex);
    return stopping;
}

static void *APR_THREAD_FUNC link_main(apr_thread_t *thread, void *data)
{
    acme_shared_link_t *link = data;
    apr_interval_time_t backoff = LINK_BACKOFF_FIRST;
    acme_redis_t *conn = NULL;
    apr_pool_t *p;
    const char *why;
    apr_status_t rv;

    apr_pool_create(&p, link->pool);
    do {
        why = NULL;
        rv = APR_SUCCESS;
        if (conn == NULL) {
            rv = acme_redis_connect(&conn, link->pool, link->url, &link->opts, &why);
        }
        if (rv == APR_SUCCESS) {
            rv = link_tick(link, conn, p, &why);
        }
        if (rv != APR_SUCCESS) {
            link_failed(link, rv, why ? why : apr_psprintf(p, "%s: %pm",
                                                           link->url->printable, &rv),
                        backoff);
            acme_redis_close(conn);
            conn = NULL;
            link->announced = 0;
            apr_pool_clear(p);
            if (link_wait(link, backoff)) {
                break;
            }
            backoff = backoff * 2 < LINK_BACKOFF_MAX ? backoff * 2 : LINK_BACKOFF_MAX;
            continue;
        }
        backoff = LINK_BACKOFF_FIRST;
        link_answered(link);
        apr_pool_clear(p);
    } while (!link_wait(link, LINK_TICK));
    acme_redis_close(conn);
    apr_pool_destroy(p);
    /* a plain return, not apr_thread_exit(): pthread_exit() from deep in a
     * frame left ASan's poison of the frames it skipped on this stack, and
     * the thread's TSD destructors then ran over it (a false
     * stack-buffer-overflow at exit); the thread's pool goes with link->pool */
    (void)thread;
    return NULL;
}

apr_status_t acme_shared_link_start(acme_shared_link_t **plink, apr_pool_t *p,
                                    const acme_config_global_t *g, acme_store_t *store,
                                    server_rec *s)
{
    acme_shared_link_t *link;
    apr_allocator_t *allocator;
    apr_status_t rv;

    *plink = NULL;
    if (!g->shared_url || g->shared_error) {
        return APR_SUCCESS;
    }
    link = apr_pcalloc(p, sizeof(*link));
    link->s = s;
    link->url = g->shared_url;
    link->opts.connect_timeout = LINK_TIMEOUT;
    link->opts.read_timeout = LINK_TIMEOUT;
    link->opts.write_timeout = LINK_TIMEOUT;
    link->opts.ca_file = g->shared_ca_file;
    link->server_id = acme_shared_server_id(p);
    link->status.state = ACME_STATUS_SHARED_CONNECTING;
    acme_status_text_copy(link->status.url, sizeof(link->status.url), g->shared_url->printable);
    if ((rv = apr_thread_mutex_create(&link->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&link->cond, p)) != APR_SUCCESS
        || (rv = apr_allocator_create(&allocator)) != APR_SUCCESS) {
        return rv;
    }
    /* the thread's pool has its own allocator, as a renewal worker's */
    apr_pool_create_ex(&link->pool, p, NULL, allocator);
    apr_allocator_owner_set(allocator, link->pool);
    apr_pool_tag(link->pool, "acme_shared_link");
    acme_shared_mirror_init(&link->mirror, link->pool, store, s);
    if ((rv = acme_shared_keep_create(&link->keep, p, s)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_thread_create(&link->thread, NULL, link_main, link, link->pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, acme_glue_log_rv(rv), s,
                     "ACME1802 cannot start the thread of MDSharedStore %s; renewals wait",
                     g->shared_url->printable);
        return rv;
    }
    *plink = link;
    return APR_SUCCESS;
}

acme_shared_keep_t *acme_shared_link_keep(acme_shared_link_t *link)
{
    return link ? link->keep : NULL;
}

int acme_shared_link_is_up(const acme_shared_link_t *link)
{
    return link != NULL && apr_atomic_read32(&((acme_shared_link_t *)link)->up);
}

void acme_shared_link_stop(acme_shared_link_t *link)
{
    apr_status_t rv;

    if (link == NULL || link->thread == NULL) {
        return;
    }
    apr_thread_mutex_lock(link->mutex);
    link->stopping = 1;
    apr_thread_cond_broadcast(link->cond);
    apr_thread_mutex_unlock(link->mutex);
    apr_thread_join(&rv, link->thread);
    link->thread = NULL;
}

void acme_shared_status_seed(const acme_config_global_t *g)
{
    acme_status_shared_t st;

    memset(&st, 0, sizeof(st));
    if (g->shared_url) {
        st.state = g->shared_error ? ACME_STATUS_SHARED_OFF : ACME_STATUS_SHARED_CONNECTING;
        acme_status_text_copy(st.url, sizeof(st.url), g->shared_url->printable);
        acme_status_text_copy(st.error, sizeof(st.error),
                              g->shared_error ? g->shared_error : "");
        st.since = apr_time_now();
    }
    acme_status_shared_write(&st);
}
