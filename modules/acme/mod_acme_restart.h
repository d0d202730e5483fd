/* MDActivation graceful: the parent process restarts itself gracefully once
 * staged certificate sets are ready to go live, as `apachectl graceful`
 * would (same pid, same listeners), after the same configuration check.
 * See docs/operations.md ("Activation by the server itself").
 *
 *  - mod_acme_restart.c: the monitor hook (runs in the parent's main loop,
 *    about every 10 s under event, worker and prefork): reads the staged
 *    facts the renewal workers publish in the status slots, plans the
 *    restart (acme_restart_plan.h), checks the configuration, raises
 *    AP_SIG_GRACEFUL at itself;
 *  - mod_acme_restart_check.c: the configuration check (`httpd -t` with the
 *    arguments the parent was started with);
 *  - mod_acme_restart_status.c: what the status pages show about it, in a
 *    small shared segment the parent writes and children read (seqlock, one
 *    writer: the parent).
 *
 * Under `httpd -X` (one process, no parent loop) nothing restarts by itself. */
#ifndef MOD_ACME_RESTART_H
#define MOD_ACME_RESTART_H

#include <apr_pools.h>
#include <apr_time.h>

#include <httpd.h>

/* The smallest MDActivationInterval: the parent looks about every 10 s. */
#define ACME_RESTART_INTERVAL_MIN apr_time_from_sec(10)
/* Sets that become ready within this of each other share one restart ... */
#define ACME_RESTART_SETTLE apr_time_from_sec(10)
/* ... but the first of them waits at most this long for the others. */
#define ACME_RESTART_SETTLE_MAX apr_time_from_sec(60)
/* How long the configuration check may take before it counts as failed. */
#define ACME_RESTART_CHECK_TIMEOUT apr_time_from_sec(30)

/* The waiting reason while the configuration check fails. */
#define ACME_RESTART_WAIT_CHECK "configuration check fails"
/* ... while the last activation's self-test runs (mod_acme_selftest.h). */
#define ACME_RESTART_WAIT_SELFTEST "self-test of the last activation"

/* What the status pages show (a plain value, copied out). */
typedef struct {
    int mode;                   /* acme_activation_mode_e */
    apr_interval_time_t interval;   /* MDActivationInterval */
    apr_time_t next_at;         /* next planned self-initiated restart; 0 none */
    int pending;                /* staged sets waiting to go live */
    int batch;                  /* of them, how many the next restart is for */
    apr_time_t last_at;         /* last self-initiated restart; 0 none */
    int restarts;               /* self-initiated restarts since httpd started */
    apr_time_t checked_at;      /* last configuration check; 0 none */
    char waiting[128];          /* why the next restart is not now; "" if nothing waits */
    char check_error[512];      /* the failed check's output (cut); "" if it passed */
} acme_restart_status_t;

/* ------------------------------------------------ mod_acme_restart.c */

/* post_config (parent, real pass, after the status slots are seeded): the
 * shared status record, what the last self-initiated restart left staged. */
int acme_restart_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s);

/* monitor hook (parent only): plans, checks and restarts (see above). */
int acme_restart_monitor(apr_pool_t *p, server_rec *s);

/* A self-initiated restart now, for `what` (e.g. "roll back ...", for the
 * log line): the configuration check first, as for an activation; counts
 * as one of them (status, MDActivationInterval). APR_SUCCESS when the
 * restart was raised; APR_EGENERAL when the check failed (logged, shown
 * in status); APR_EAGAIN outside a running parent. Blocks for the check. */
apr_status_t acme_restart_request(apr_pool_t *p, server_rec *s, const char *what);

/* ------------------------------------------------ mod_acme_restart_check.c */

/* Runs the server binary with the arguments the parent was started with
 * and -t (as apachectl graceful does before it signals), with a timeout.
 * APR_SUCCESS when it passes; otherwise *pwhy says why (its output, or why
 * it could not run), from p. Blocks the caller for the check's duration. */
apr_status_t acme_restart_config_check(const char **pwhy, apr_pool_t *p,
                                       apr_interval_time_t timeout);

/* ------------------------------------------------ mod_acme_restart_status.c */

/* Makes this generation's shared record (parent, post_config) from *init. */
apr_status_t acme_restart_status_create(apr_pool_t *pconf, const acme_restart_status_t *init,
                                        server_rec *s);

/* Parent: replaces the shared record. Ignored without one. */
void acme_restart_status_write(const acme_restart_status_t *in);

/* Anyone: copies the shared record; APR_ENOENT without one (dry run, no
 * managed domain), APR_EAGAIN when the writer kept it busy. */
apr_status_t acme_restart_status_read(acme_restart_status_t *out);

#endif /* MOD_ACME_RESTART_H */
