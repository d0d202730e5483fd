/* The end of a child process: no watchdog thread still runs when it exits.
 *
 * mod_watchdog starts its threads on a pool of its own that only
 * apr_terminate() destroys (joining them). At exit(), the atexit handlers
 * run in reverse order of registration: httpd registers its terminate
 * handler when the MPM first runs, after OpenSSL's (mod_ssl's pre_config,
 * curl_global_init()), so it runs first; its pool teardown runs the
 * process's cleanups, which unload mod_acme.so (and libcurl with it), and
 * OPENSSL_cleanup() runs last. A watchdog thread still running at exit()
 * (its last tick, its own exit, an OCSP fetch) used memory or code freed
 * under it: a double free in the watchdog thread under ASan at stop, a
 * segfault in a child stopping right after a graceful restart. (An earlier
 * version of this comment had the two handlers the other way round; the
 * order above was read off Debian's apache2 binary.)
 *
 * So the child waits for those threads before it exits. Which they are is
 * seen twice: the threads that appear while mod_watchdog's child_init runs
 * (every instance's thread, also one that never runs a callback of ours,
 * e.g. the renewal singleton in a child that does not hold its lock), and
 * each thread one of our callbacks runs in (it enrols). The child_stopping
 * hook, and again a cleanup of the child's pool (every MPM runs it before
 * exit()), raise the stop flag (callbacks give up, requests in flight are
 * cancelled: acme_http_options_t.cancel) and stop the renewal workers; the
 * cleanup then waits until the kernel has no task of those threads left.
 * The threads end on their own: mod_watchdog's loop leaves when the MPM says
 * it is stopping, which every MPM says before its pool cleanup.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <apr_atomic.h>

#include <httpd.h>
#include <http_log.h>
#include <http_main.h>

#include "mod_acme_child.h"
#include "mod_acme_drive.h"

APLOG_USE_MODULE(acme);

/* Watchdog threads: ours (renewals, OCSP) and other modules'. */
#define CHILD_THREADS_MAX 16
/* The longest wait for them at exit. An OCSP fetch is cancelled within about
 * a second; httpd's parent sends SIGKILL to a child still there after 9 s.
 * A thread none of our callbacks ran in only sleeps in mod_watchdog's loop,
 * which looks at the MPM's state every 100 ms: it gets a shorter wait, in
 * case another module started a thread of its own meanwhile that ends later. */
#define CHILD_EXIT_WAIT (apr_time_from_sec(5))
#define CHILD_EXIT_WAIT_SEEN (apr_time_from_sec(1))
#define CHILD_EXIT_POLL (apr_time_from_msec(10))

static volatile apr_uint32_t child_stopping;
/* The threads waited for: tid, and whether one of our callbacks ran in it. */
static volatile apr_uint32_t thread_ids[CHILD_THREADS_MAX];
static volatile apr_uint32_t thread_enrolled[CHILD_THREADS_MAX];
/* The tasks of the child before mod_watchdog's child_init ran. */
static apr_uint32_t tasks_before[CHILD_THREADS_MAX * 4];
static int tasks_before_count;

volatile apr_uint32_t *acme_child_stop_flag(void)
{
    return &child_stopping;
}

int acme_child_is_stopping(void)
{
    return apr_atomic_read32(&child_stopping) != 0;
}

/* Adds tid to the threads waited for (once); enrolled: ours for sure. */
static void thread_add(apr_uint32_t tid, int enrolled)
{
    int i;

    for (i = 0; i < CHILD_THREADS_MAX; ++i) {
        apr_uint32_t seen = apr_atomic_cas32(&thread_ids[i], tid, 0);

        if (seen == 0 || seen == tid) {     /* taken now, or added before */
            if (enrolled) {
                apr_atomic_set32(&thread_enrolled[i], 1);
            }
            return;
        }
    }
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, ap_server_conf, "ACME1496 more than %d "
                 "watchdog threads to wait for at exit", CHILD_THREADS_MAX);
}

void acme_child_thread_enrol(void)
{
    thread_add((apr_uint32_t)gettid(), 1);
}

/* Calls fn with each task of this process but the main thread; 0 when
 * /proc is not there. */
static int tasks_each(void (*fn)(apr_uint32_t tid))
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *e;
    apr_uint32_t self = (apr_uint32_t)getpid();

    if (dir == NULL) {
        return 0;
    }
    while ((e = readdir(dir)) != NULL) {
        apr_uint32_t tid = (apr_uint32_t)strtoul(e->d_name, NULL, 10);

        if (tid != 0 && tid != self) {
            fn(tid);
        }
    }
    closedir(dir);
    return 1;
}

static void task_remember(apr_uint32_t tid)
{
    if (tasks_before_count < (int)(sizeof(tasks_before) / sizeof(tasks_before[0]))) {
        tasks_before[tasks_before_count++] = tid;
    }
}

static void task_add_if_new(apr_uint32_t tid)
{
    int i;

    for (i = 0; i < tasks_before_count; ++i) {
        if (tasks_before[i] == tid) {
            return;
        }
    }
    thread_add(tid, 0);
}

/* The task of thread `tid` still exists: its /proc entry goes once the
 * thread has run its exit (thread-local destructors included). Without
 * /proc mounted nothing is waited for: the exit is as before. */
static int thread_alive(apr_uint32_t tid)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/self/task/%u", (unsigned)tid);
    return access(path, F_OK) == 0;
}

/* Also runs from prefork's SIGTERM handler (its clean_child_exit): nothing
 * here takes a lock but the renewal stop, which the MPMs' own child_stopping
 * call has normally done already. */
static apr_status_t child_exit_cleanup(void *data)
{
    apr_time_t start = apr_time_now(), now;
    int i, waiting, known = 0;

    (void)data;
    acme_child_stopping(NULL, 0);   /* prefork skips child_stopping when exiting on error */
    for (;;) {
        waiting = known = 0;
        now = apr_time_now();
        for (i = 0; i < CHILD_THREADS_MAX; ++i) {
            apr_uint32_t tid = apr_atomic_read32(&thread_ids[i]);
            apr_time_t wait = apr_atomic_read32(&thread_enrolled[i]) ? CHILD_EXIT_WAIT
                                                                     : CHILD_EXIT_WAIT_SEEN;

            known += tid != 0;
            waiting += tid != 0 && now < start + wait && thread_alive(tid);
        }
        if (!waiting) {
            break;
        }
        apr_sleep(CHILD_EXIT_POLL);
    }
    for (i = 0, waiting = 0; i < CHILD_THREADS_MAX; ++i) {
        apr_uint32_t tid = apr_atomic_read32(&thread_ids[i]);

        waiting += tid != 0 && thread_alive(tid);
    }
    if (waiting) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf, "ACME1495 pid %ld exits "
                     "with %d of its watchdog threads still running", (long)getpid(), waiting);
    }
    else if (known) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, "ACME1494 pid %ld: its %d "
                     "watchdog threads ended before its exit (waited %" APR_TIME_T_FMT " ms)",
                     (long)getpid(), known, apr_time_as_msec(apr_time_now() - start));
    }
    return APR_SUCCESS;
}

void acme_child_stopping(apr_pool_t *pchild, int graceful)
{
    apr_atomic_set32(&child_stopping, 1);
    acme_drive_child_stopping(pchild, graceful);
}

void acme_child_init(apr_pool_t *pchild, server_rec *s)
{
    int i;

    (void)s;
    /* a child is a fork of the parent: nothing enrolled there counts here */
    apr_atomic_set32(&child_stopping, 0);
    for (i = 0; i < CHILD_THREADS_MAX; ++i) {
        apr_atomic_set32(&thread_ids[i], 0);
        apr_atomic_set32(&thread_enrolled[i], 0);
    }
    tasks_before_count = 0;
    tasks_each(task_remember);
    apr_pool_cleanup_register(pchild, NULL, child_exit_cleanup, apr_pool_cleanup_null);
}

void acme_child_init_after_watchdog(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    (void)s;
    tasks_each(task_add_if_new);
}
