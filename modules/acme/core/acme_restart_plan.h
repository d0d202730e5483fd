/* When the server restarts itself to activate staged certificate sets
 * (MDActivation graceful, see docs/operations.md): a pure function of the
 * sets waiting, the policy and the clock, so that it can be tested without a
 * server. The httpd glue (mod_acme_restart.c) collects the sets, runs the
 * configuration check and raises the restart.
 *
 * The rules:
 *  - a set is due once it may go live (notBefore + MDActivationDelay) and
 *    has been staged;
 *  - settle: sets that become due close together share one restart: the
 *    restart waits until no further set became due for `settle`, but never
 *    longer than `settle_max` after the first due set of the batch;
 *  - at most one self-initiated restart per `interval` (after `last`);
 *  - a set that was already ready at `tries` earlier self-initiated restarts
 *    and is still staged (the activation left it, e.g. its lock was busy)
 *    waits interval * 2^tries after the last one (at most a day), so that a
 *    set that cannot be activated does not restart the server every minute;
 *  - `not_before`: nothing before this time (e.g. after a failed
 *    configuration check). */
#ifndef ACME_RESTART_PLAN_H
#define ACME_RESTART_PLAN_H

#include <apr_time.h>

/* The longest backoff of a set that restarts did not activate. */
#define ACME_RESTART_BACKOFF_MAX apr_time_from_sec(86400)

typedef struct {
    apr_time_t ready_at;        /* notBefore + MDActivationDelay (latest over key types) */
    apr_time_t staged_at;       /* when the renewal staged it; 0 unknown */
    int tries;                  /* self-initiated restarts that left it staged */
    int tag;                    /* the caller's (e.g. an index), left as it is */
    apr_time_t due;             /* set by acme_restart_plan(): when it may join a restart */
    int backoff;                /* set by acme_restart_plan(): due was moved by tries */
} acme_restart_set_t;

typedef struct {
    apr_interval_time_t interval;   /* MDActivationInterval */
    apr_interval_time_t settle;     /* quiet time that closes a batch */
    apr_interval_time_t settle_max; /* longest a batch waits for more sets */
    apr_time_t last;                /* last self-initiated restart, 0 never */
    apr_time_t not_before;          /* no restart before this, 0 none */
} acme_restart_policy_t;

/* Why the planned time is what it is (the last constraint that moved it). */
typedef enum {
    ACME_RESTART_WHY_NONE = 0,      /* nothing to activate */
    ACME_RESTART_WHY_DUE,           /* a set becomes due (MDActivationDelay) */
    ACME_RESTART_WHY_SETTLE,        /* waiting for more sets to join the batch */
    ACME_RESTART_WHY_INTERVAL,      /* MDActivationInterval since the last restart */
    ACME_RESTART_WHY_BACKOFF,       /* a set left staged by earlier restarts */
    ACME_RESTART_WHY_NOT_BEFORE     /* policy.not_before (e.g. failed config check) */
} acme_restart_why_e;

/* When to restart for `sets` (n of them, any order; sorted by due on
 * return): 0 when n is 0, else the planned time (at or before `now`:
 * restart now). *pwhy (if given) says what decided it; *pbatch (if given)
 * how many sets are due by then. O(n log n), no allocation. */
apr_time_t acme_restart_plan(acme_restart_set_t *sets, int n,
                             const acme_restart_policy_t *policy, apr_time_t now,
                             acme_restart_why_e *pwhy, int *pbatch);

/* A short text for why ("settle time", "MDActivationInterval", ...). */
const char *acme_restart_why_text(acme_restart_why_e why);

#endif /* ACME_RESTART_PLAN_H */
