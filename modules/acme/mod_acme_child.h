/* The end of a child process (mod_acme_child.c): the child waits for the
 * watchdog threads before it exits, since OpenSSL is torn down at exit()
 * before mod_watchdog joins its threads. */
#ifndef MOD_ACME_CHILD_H
#define MOD_ACME_CHILD_H

#include <apr_pools.h>
#include <httpd.h>

/* child_init hook, before mod_watchdog's: the exit cleanup on pchild, and
 * the tasks there are before mod_watchdog starts its threads. */
void acme_child_init(apr_pool_t *pchild, server_rec *s);

/* child_init hook, after mod_watchdog's: the tasks it started are waited
 * for at exit. */
void acme_child_init_after_watchdog(apr_pool_t *pchild, server_rec *s);

/* child_stopping hook (and at exit): raises the stop flag, stops the
 * renewal workers. */
void acme_child_stopping(apr_pool_t *pchild, int graceful);

/* Called by each of our watchdog callbacks in the thread it runs in: the
 * child waits for that thread at exit. Cheap after the first call. */
void acme_child_thread_enrol(void);

/* Non-zero once the child is ending: long work gives up. */
int acme_child_is_stopping(void);

/* The same as a flag for acme_http_options_t.cancel. */
volatile apr_uint32_t *acme_child_stop_flag(void);

#endif /* MOD_ACME_CHILD_H */
