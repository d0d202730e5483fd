/* The renewal watchdog: mod_watchdog's singleton thread in one child runs
 * our callback, which keeps the schedule and hands due domains to the
 * renewal workers (see mod_acme_drive.h).
 *
 * mod_watchdog starts the thread of an instance in child_init only when a
 * callback was registered before its own post_config (hooked last), so the
 * parent registers here in post_config; everything the callback builds
 * belongs to the child that runs it. */
#include <string.h>
#include <unistd.h>

#include <apr_allocator.h>
#include <apr_optional.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_watchdog.h>

#include <apr_atomic.h>

#include "acme_http_curl.h"
#include "acme_renew.h"
#include "acme_schedule.h"
#include "mod_acme_ari.h"
#include "mod_acme_child.h"
#include "mod_acme_cmd.h"
#include "mod_acme_drive.h"
#include "mod_acme_keyholder.h"
#include "mod_acme_serve.h"
#include "mod_acme_shared.h"

APLOG_USE_MODULE(acme);

#define ACME_WATCHDOG_NAME "_acme_renew_"

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register_callback;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_set_callback_interval) *wd_set_interval;

/* Registered with the callback; allocated in pconf, so a child has its own
 * copy and `drive` is only ever set in the child running the watchdog.
 *
 * mod_watchdog calls STOPPING from the child's MAIN thread (its pool
 * cleanup) while the watchdog thread may still be inside STARTING or RUNNING,
 * then joins that thread and lets the process exit. So STOPPING raises
 * `stopping` first (STARTING's long scheduling loop looks at it and gives
 * up), then takes `lock`, which every callback holds while it works: when
 * STOPPING gets it, no callback uses the drive, and none will again. */
typedef struct {
    acme_config_global_t *g;
    server_rec *s;
    ap_watchdog_t *wd;
    acme_drive_t *drive;        /* (lock) */
    apr_thread_mutex_t *lock;
    volatile apr_uint32_t stopping;
} wd_baton_t;

static apr_status_t watchdog_cb(int state, void *data, apr_pool_t *ptemp);

/* The baton of this configuration generation, for the child_stopping hook. */
static wd_baton_t *generation_baton;

static const char *date_text(apr_pool_t *p, apr_time_t t)
{
    char buf[APR_RFC822_DATE_LEN];

    apr_rfc822_date(buf, t);
    return apr_pstrdup(p, buf);
}

/* A finished job whose set went live (the STAGING set is gone and the live
 * certificate is not due): forgotten, so the next renewal starts clean. */
static void job_forget(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p)
{
    acme_cmd_dns01_t dns01;
    apr_status_t rv;

    if (!APR_STATUS_IS_ENOENT(acme_store_exists(d->store, p, ACME_STORE_STAGING,
                                                dm->md->name, NULL))) {
        return;
    }
    /* the hook tears down dns-01 records a job left (e.g. after a crash) */
    rv = acme_renew_reset(d->store, p, dm->md->name,
                          acme_cmd_dns01_hook(&dns01, d->s, d->g, dm->md));
    ap_log_error(APLOG_MARK, rv == APR_SUCCESS ? APLOG_DEBUG : APLOG_WARNING, rv, d->s,
                 "ACME1449 %s: finished renewal job %s", dm->md->name,
                 rv == APR_SUCCESS ? "forgotten" : "could not be removed");
    dm->notified[0] = '\0';
    dm->errors_seen = 0;
}

/* The job of a domain found in the store at start: a renewal interrupted by
 * a restart or crash resumes where it was, not before its own next time. */
static apr_time_t job_resume(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                             apr_time_t due, apr_time_t now)
{
    acme_renew_info_t *info;
    int done;

    if (acme_renew_info_load(&info, p, d->store, dm->md->name) != APR_SUCCESS) {
        return due;
    }
    done = info->step && strcmp(info->step, "done") == 0;
    dm->errors_seen = info->errors;
    if (due > now) {
        if (done) {
            job_forget(d, dm, p);
        }
        return due;     /* the live certificate is fine */
    }
    dm->cycle = 1;      /* "renewing" was said when the job began */
    if (done) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, d->s, "ACME1448 %s: a renewed certificate "
                     "waits in staging for a graceful restart", dm->md->name);
        return due;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, d->s, "ACME1432 %s: resuming the renewal job "
                 "at step %s%s%s%s", dm->md->name, info->step ? info->step : "?",
                 info->order_url ? " (order " : "", info->order_url ? info->order_url : "",
                 info->order_url ? ")" : "");
    return info->next_at > due ? info->next_at : due;
}

static apr_status_t drive_make(acme_drive_t **pd, wd_baton_t *b)
{
    apr_allocator_t *allocator;
    apr_pool_t *pool;
    acme_drive_t *d;
    apr_status_t rv;

    if ((rv = apr_allocator_create(&allocator)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create_ex(&pool, NULL, NULL, allocator)) != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return rv;
    }
    apr_allocator_owner_set(allocator, pool);
    apr_pool_tag(pool, "acme_drive");
    d = apr_pcalloc(pool, sizeof(*d));
    d->pool = pool;
    d->s = b->s;
    d->g = b->g;
    d->store = acme_glue_store_get();
    d->started = apr_time_now();
    d->first_run = d->started + (b->g->initial_delay > 0 ? b->g->initial_delay : 0);
    d->by_name = apr_hash_make(pool);
    if (d->store == NULL) {
        rv = APR_ENOENT;
    }
    /* the key holder's, or (no key holder in this generation) the store's */
    else if ((d->keys = acme_glue_keyholder_custody(pool)) == NULL
             && (d->keys = acme_keys_local(pool, d->store)) == NULL) {
        rv = APR_ENOMEM;
    }
    else if ((rv = apr_thread_mutex_create(&d->mutex, APR_THREAD_MUTEX_DEFAULT, pool))
             == APR_SUCCESS
             && (rv = apr_thread_mutex_create(&d->ca_down_mutex, APR_THREAD_MUTEX_DEFAULT,
                                              pool)) == APR_SUCCESS
             && (rv = apr_thread_cond_create(&d->cond, pool)) == APR_SUCCESS) {
        rv = acme_due_queue_create(&d->queue, pool);
    }
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return rv;
    }
    *pd = d;
    return APR_SUCCESS;
}

/* Puts every driven domain into the queue (workers do not run yet).
 * APR_EINTR when the child is told to stop meanwhile: with thousands of
 * domains this loop takes a while, and the child must not wait for it. */
static apr_status_t drive_schedule(acme_drive_t *d, volatile apr_uint32_t *stopping,
                                   apr_pool_t *ptemp)
{
    apr_time_t now = apr_time_now(), due;
    apr_pool_t *p;
    apr_status_t rv = APR_SUCCESS;
    int i;

    apr_pool_create(&p, ptemp);
    for (i = 0; i < d->g->mds->nelts && rv == APR_SUCCESS; ++i) {
        const acme_config_md_t *md = APR_ARRAY_IDX(d->g->mds, i, const acme_config_md_t *);
        acme_drive_md_t *dm;

        if (!md->driven) {
            continue;
        }
        if (apr_atomic_read32(stopping)) {
            rv = APR_EINTR;
            break;
        }
        dm = apr_pcalloc(d->pool, sizeof(*dm));
        dm->md = md;
        due = acme_drive_md_init(d, dm, p, now);
        due = job_resume(d, dm, p, due, now);
        due = acme_ari_md_init(d, dm, p, due, now);
        due = due > d->first_run ? due : d->first_run;
        apr_hash_set(d->by_name, md->name, APR_HASH_KEY_STRING, dm);
        rv = acme_due_queue_set(d->queue, md->name, due);
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return rv;
}

static apr_status_t watchdog_starting(wd_baton_t *b, apr_pool_t *ptemp)
{
    acme_drive_t *d = NULL;
    apr_time_t next;
    apr_status_t rv;

    rv = drive_make(&d, b);
    if (rv == APR_SUCCESS && (rv = drive_schedule(d, &b->stopping, ptemp)) == APR_SUCCESS) {
        /* the link before the workers, which read d->shared */
        acme_shared_link_start(&d->shared, d->pool, d->g, d->store, d->s);
        rv = acme_renewals_start(d);
    }
    if (APR_STATUS_IS_EINTR(rv)) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, b->s, "ACME1490 renewal watchdog told to stop "
                     "while starting in pid %ld", (long)getpid());
        acme_renewals_stop(d);
        acme_shared_link_stop(d->shared);
        apr_pool_destroy(d->pool);
        return rv;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, b->s, "ACME1431 renewal watchdog cannot start "
                     "(store %s); no renewals in this process",
                     acme_glue_store_get() ? "open" : "not open");
        if (d != NULL) {
            acme_renewals_stop(d);
            acme_shared_link_stop(d->shared);
            apr_pool_destroy(d->pool);
        }
        return rv;
    }
    b->drive = d;
    next = acme_renewals_dispatch(d, apr_time_now());
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, b->s, "ACME1430 renewal watchdog running in pid "
                 "%ld: %d domains, %d workers, next look at %s", (long)getpid(),
                 (int)apr_hash_count(d->by_name), d->worker_count, date_text(ptemp, next));
    wd_set_interval(b->wd, next - apr_time_now(), b, watchdog_cb);
    return APR_SUCCESS;
}

/* RUNNING: hands due domains to the workers, sleeps until the next one. */
static apr_status_t watchdog_running(wd_baton_t *b)
{
    apr_time_t now, next;

    if (b->drive == NULL) {
        return APR_EGENERAL;
    }
    now = apr_time_now();
    next = acme_renewals_dispatch(b->drive, now);
    ap_log_error(APLOG_MARK, APLOG_TRACE1, 0, b->s, "renewal watchdog: next look in "
                 "%" APR_TIME_T_FMT "ms", apr_time_as_msec(next - now));
    wd_set_interval(b->wd, next - now, b, watchdog_cb);
    return APR_SUCCESS;
}

/* STOPPING, from the child's main thread (see wd_baton_t). Also called
 * from the child_stopping hook: mod_watchdog's own STOPPING runs from a pool
 * cleanup that may come only at exit(), after OpenSSL's atexit handler freed
 * what a still running STARTING was using; this stops our threads first. */
static apr_status_t watchdog_stopping(wd_baton_t *b)
{
    apr_atomic_set32(&b->stopping, 1);
    if (b->lock == NULL) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(b->lock);
    if (b->drive) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, b->s, "ACME1433 renewal watchdog "
                     "stopping in pid %ld", (long)getpid());
        acme_renewals_stop(b->drive);
        acme_shared_link_stop(b->drive->shared);
        apr_pool_destroy(b->drive->pool);
        b->drive = NULL;
    }
    apr_thread_mutex_unlock(b->lock);
    return APR_SUCCESS;
}

static apr_status_t watchdog_cb(int state, void *data, apr_pool_t *ptemp)
{
    wd_baton_t *b = data;
    apr_status_t rv = APR_SUCCESS;

    if (state == AP_WATCHDOG_STATE_STOPPING) {
        return watchdog_stopping(b);
    }
    acme_child_thread_enrol();
    apr_thread_mutex_lock(b->lock);
    if (!apr_atomic_read32(&b->stopping)) {
        if (state == AP_WATCHDOG_STATE_STARTING) {
            rv = watchdog_starting(b, ptemp);
        }
        else if (state == AP_WATCHDOG_STATE_RUNNING) {
            rv = watchdog_running(b);
        }
    }
    apr_thread_mutex_unlock(b->lock);
    return rv;
}

static apr_status_t generation_forget(void *data)
{
    *(wd_baton_t **)data = NULL;
    return APR_SUCCESS;
}

void acme_drive_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    (void)graceful;
    if (generation_baton) {
        watchdog_stopping(generation_baton);
    }
}

int acme_watchdog_register(acme_config_global_t *g, apr_pool_t *pconf, server_rec *s)
{
    wd_baton_t *b;
    apr_status_t rv;
    int i, driven = 0;

    for (i = 0; i < g->mds->nelts; ++i) {
        driven += APR_ARRAY_IDX(g->mds, i, const acme_config_md_t *)->driven ? 1 : 0;
    }
    /* a member of a cluster copies the others' challenge answers even when
     * it renews nothing itself: the CA's validation may reach it */
    if (driven == 0 && g->shared_url == NULL) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1434 no domain to renew, no "
                     "renewal watchdog");
        return OK;
    }
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    wd_set_interval = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_set_callback_interval);
    if (!wd_get_instance || !wd_register_callback || !wd_set_interval) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ACME1435 mod_watchdog is needed to renew "
                     "certificates (LoadModule watchdog_module)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    b = apr_pcalloc(pconf, sizeof(*b));
    b->g = g;
    b->s = s;
    generation_baton = b;
    apr_pool_cleanup_register(pconf, &generation_baton, generation_forget,
                              apr_pool_cleanup_null);
    rv = apr_thread_mutex_create(&b->lock, APR_THREAD_MUTEX_DEFAULT, pconf);
    if (rv == APR_SUCCESS) {
        rv = wd_get_instance(&b->wd, ACME_WATCHDOG_NAME, 0, 1, pconf);
    }
    if (rv == APR_SUCCESS) {
        rv = wd_register_callback(b->wd, ACME_SCHEDULE_WAKE_MIN, b, watchdog_cb);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ACME1436 cannot register the renewal "
                     "watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1437 renewal watchdog registered for %d "
                 "domains", driven);
    return OK;
}

/* post_config hook (see mod_acme.c). libcurl's global state is set up here,
 * in the parent before any child or thread exists, once per process. */
int acme_drive_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    static int curl_ready;
    acme_config_global_t *g = acme_config_global_get(s);
    apr_status_t rv;

    (void)plog;
    (void)ptemp;
    if (g->mds->nelts == 0 || acme_glue_is_dry_run()) {
        return OK;
    }
    if (!curl_ready) {
        if ((rv = acme_http_curl_global_init()) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ACME1438 libcurl cannot initialize");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        curl_ready = 1;
    }
    if ((rv = acme_cmd_init(pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ACME1439 cannot prepare MDNotifyCmd and "
                     "MDMessageCmd");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return acme_watchdog_register(g, pconf, s);
}
