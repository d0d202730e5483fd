/* The end of a child process: no thread of ours still runs when it exits.
 *
 * mod_watchdog starts its threads on a pool of its own that only
 * apr_terminate() destroys (joining them), and apr_terminate() is an atexit
 * handler registered before OpenSSL's: at exit(), OPENSSL_cleanup() runs
 * first. A watchdog thread of ours still running then (its last tick, the
 * thread-local destructors of its exit, an OCSP fetch) used OpenSSL while it
 * was freed: a double free in the watchdog thread under ASan at stop, a
 * segfault in a child stopping right after a graceful restart.
 *
 * So each of our watchdog threads enrols when one of our callbacks first
 * runs in it. The child_stopping hook, and again a cleanup of the child's
 * pool (every MPM runs it before exit()), raise the stop flag (callbacks
 * give up, requests in flight are cancelled: acme_http_options_t.cancel)
 * and stop the renewal workers; the cleanup then waits until the kernel has
 * no task of an enrolled thread left. The threads end on their own:
 * mod_watchdog's loop leaves when the MPM says it is stopping, which every
 * MPM says before its pool cleanup.
 */
#include <stdio.h>
#include <unistd.h>

#include <apr_atomic.h>

#include <httpd.h>
#include <http_log.h>
#include <http_main.h>

#include "mod_acme_child.h"
#include "mod_acme_drive.h"

APLOG_USE_MODULE(acme);

/* Our watchdog instances: renewals and OCSP; room to spare. */
#define CHILD_THREADS_MAX 4
/* The longest wait for them at exit. An OCSP fetch is cancelled within about
 * a second; httpd's parent sends SIGKILL to a child still there after 9 s. */
#define CHILD_EXIT_WAIT (apr_time_from_sec(5))
#define CHILD_EXIT_POLL (apr_time_from_msec(10))

static volatile apr_uint32_t child_stopping;
static volatile apr_uint32_t thread_ids[CHILD_THREADS_MAX];

volatile apr_uint32_t *acme_child_stop_flag(void)
{
    return &child_stopping;
}

int acme_child_is_stopping(void)
{
    return apr_atomic_read32(&child_stopping) != 0;
}

void acme_child_thread_enrol(void)
{
    apr_uint32_t tid = (apr_uint32_t)gettid();
    int i;

    for (i = 0; i < CHILD_THREADS_MAX; ++i) {
        apr_uint32_t seen = apr_atomic_cas32(&thread_ids[i], tid, 0);

        if (seen == 0 || seen == tid) {
            return;     /* taken now, or enrolled before */
        }
    }
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, ap_server_conf, "ACME1496 more than %d "
                 "watchdog threads to wait for at exit", CHILD_THREADS_MAX);
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
    apr_time_t start = apr_time_now(), deadline = start + CHILD_EXIT_WAIT;
    int i, waiting, enrolled = 0;

    (void)data;
    acme_child_stopping(NULL, 0);   /* prefork skips child_stopping when exiting on error */
    do {
        waiting = enrolled = 0;
        for (i = 0; i < CHILD_THREADS_MAX; ++i) {
            apr_uint32_t tid = apr_atomic_read32(&thread_ids[i]);

            enrolled += tid != 0;
            waiting += tid != 0 && thread_alive(tid);
        }
        if (waiting) {
            apr_sleep(CHILD_EXIT_POLL);
        }
    } while (waiting && apr_time_now() < deadline);
    if (waiting) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf, "ACME1495 pid %ld exits "
                     "with %d of its watchdog threads still running", (long)getpid(), waiting);
    }
    else if (enrolled) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, "ACME1494 pid %ld: its "
                     "watchdog threads ended before its exit (waited %" APR_TIME_T_FMT " ms)",
                     (long)getpid(), apr_time_as_msec(apr_time_now() - start));
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
    }
    apr_pool_cleanup_register(pchild, NULL, child_exit_cleanup, apr_pool_cleanup_null);
}
