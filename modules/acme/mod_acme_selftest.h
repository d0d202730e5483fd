/* The self-test after an activation, and the rollback when it fails
 * (issue 17, see docs/operations.md "Self-test and rollback").
 *
 * After any restart that activated a staged set (self-initiated under
 * MDActivation graceful, or the admin's), the parent checks from the
 * outside that the server now presents it: a TLS handshake to each https
 * listener of each vhost of the domain, per name (SNI) and key type, must
 * present the new leaf and the activated chain, verifying up to its top
 * issuer (acme_chain_presented.h says why that anchor).
 *
 *  - mod_acme_selftest.c: the parent's side. post_config notes what the
 *    activation made live; the monitor hook (about every 10 s) starts the
 *    probe once the new generation serves, collects its verdicts, logs
 *    them, publishes them and, under MDActivation graceful, asks for the
 *    rollback restart. What must survive restarts lives in the process
 *    pool, as plain data.
 *  - mod_acme_selftest_probe.c: the probe, a short-lived process forked
 *    from the parent. The parent's main loop must never wait on the
 *    network: it reaps and starts children and handles signals, and a
 *    handshake to a server that is itself busy restarting can take seconds.
 *    So the handshakes (each with a timeout) run in the probe, which writes
 *    one verdict line per domain into an unlinked file and exits; the
 *    parent only looks whether it ended (waitpid WNOHANG, and httpd's
 *    other-child hook, which sees it when the MPM reaps it first) and
 *    kills it at its deadline. The probe also runs MDMessageCmd
 *    `activation-failed <domain>` (a program of the admin's with its own
 *    timeout), so the parent never waits for that either.
 *  - mod_acme_selftest_status.c: the verdicts in a shared segment the
 *    parent writes and children read for md-status and server-status.
 *  - mod_acme_rollback.c: at the next restart (post_config, before the
 *    activation), a domain whose self-test failed gets its previous live
 *    set back from ARCHIVE; the set that failed goes to the archive with
 *    rolled-back.json saying why, and is never activated again.
 *
 * Verdicts:
 *  - passed: every handshake that connected presented the activated set;
 *  - failed: one did not (or its handshake failed): under graceful the
 *    previous set comes back (rollback), under manual it is reported;
 *  - unreachable: no https listener of the domain could be reached (or it
 *    has none the parent can name): reported, never rolled back.
 */
#ifndef MOD_ACME_SELFTEST_H
#define MOD_ACME_SELFTEST_H

#include <apr_pools.h>
#include <apr_time.h>

#include <httpd.h>

#include "mod_acme_config.h"

/* How long after the restart the probe waits for the new generation. */
#define ACME_SELFTEST_SETTLE apr_time_from_sec(2)
/* One handshake (connect and TLS) at most. */
#define ACME_SELFTEST_HANDSHAKE_TIMEOUT apr_time_from_sec(5)
/* All handshakes of one probe at most; the rest is reported untested. */
#define ACME_SELFTEST_BUDGET apr_time_from_sec(60)
/* After this the parent kills the probe (handshakes, then the messages). */
#define ACME_SELFTEST_DEADLINE apr_time_from_sec(150)
/* A handshake that presents the old set is tried again this often, this
 * far apart: children of the old generation may still finish a handshake
 * accepted before the restart. */
#define ACME_SELFTEST_TRIES 3
#define ACME_SELFTEST_RETRY_GAP apr_time_from_msec(1500)

typedef enum {
    ACME_SELFTEST_NONE = 0,
    ACME_SELFTEST_WAITING,      /* activated, the probe has not run yet */
    ACME_SELFTEST_RUNNING,      /* the probe runs */
    ACME_SELFTEST_PASSED,
    ACME_SELFTEST_FAILED,       /* reported (manual, or nothing to roll back to) */
    ACME_SELFTEST_UNREACHABLE,  /* reported, not rolled back */
    ACME_SELFTEST_ROLLBACK,     /* failed; the previous set comes back at the next restart */
    ACME_SELFTEST_ROLLED_BACK   /* failed; the previous set is served again */
} acme_selftest_state_e;

#define ACME_SELFTEST_MESSAGE_MAX 400

/* One domain's verdict as the status pages show it (plain data). */
typedef struct {
    int state;                  /* acme_selftest_state_e */
    apr_time_t at;              /* when it was reached */
    char message[ACME_SELFTEST_MESSAGE_MAX];   /* why; "" when passed */
} acme_selftest_result_t;

/* The word for a state ("passed", "rolled-back", ...). */
const char *acme_selftest_state_name(int state);

/* ------------------------------------------------ mod_acme_selftest.c */

/* The activation (parent, real pass) made STAGING/<md> live; the previous
 * live set went to ARCHIVE/<archived> (NULL: none), `had_fallback` when
 * that was only the fallback certificate (then there is nothing to roll
 * back to). */
void acme_selftest_note_activated(server_rec *s, const char *md_name, const char *archived,
                                  int had_fallback);

/* post_config (parent, real pass, after the status slots): this
 * generation's record and the shared status. */
int acme_selftest_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s);

/* monitor hook (parent): starts and collects the probe (see above). */
int acme_selftest_monitor(apr_pool_t *p, server_rec *s);

/* True while a self-test waits or runs, or a rollback waits for its
 * restart: the planner of self-initiated restarts holds back meanwhile. */
int acme_selftest_busy(void);

/* Rollbacks of md since httpd started: the planner backs off a domain whose
 * activations keep failing their self-test. */
int acme_selftest_rollbacks(const char *md_name);

/* ------------------------------------------------ mod_acme_rollback.c */

/* Before the activation (parent, real pass): restores the previous live set
 * of every domain whose rollback is due (see above). Its staged set, if a
 * renewal made a new one meanwhile, waits for a later restart:
 * acme_selftest_hold() is true for it in this pass. */
void acme_rollback_run(acme_config_global_t *g, apr_pool_t *ptemp, server_rec *s);

/* True when md was rolled back in this pass: nothing of it is activated. */
int acme_selftest_hold(server_rec *s, const char *md_name);

/* ------------------------------------------------ mod_acme_selftest_probe.c */

/* One domain for the probe. */
typedef struct {
    const acme_config_md_t *md;
    int index;                  /* the caller's, echoed in the verdict */
} acme_selftest_target_t;

/* In the forked probe: tests each target, writes one line per target to fd
 * ("<index> <state> <message>\n", state a acme_selftest_state_e number),
 * then "end\n", then runs MDMessageCmd activation-failed for those that
 * failed. Never returns (_exit). */
void acme_selftest_probe_run(int fd, server_rec *s, const acme_config_global_t *g,
                             const acme_selftest_target_t *targets, int n);

/* ------------------------------------------------ mod_acme_selftest_status.c */

/* Makes this generation's shared array, `n` results (parent, post_config). */
apr_status_t acme_selftest_status_create(apr_pool_t *pconf, int n, server_rec *s);

/* Parent: sets result `index` (an acme_status_slot_index()). */
void acme_selftest_status_write(int index, const acme_selftest_result_t *in);

/* Anyone: copies result `index`; APR_ENOENT when there is none (state NONE
 * counts as none), APR_EAGAIN when the writer kept it busy. */
apr_status_t acme_selftest_status_read(acme_selftest_result_t *out, int index);

#endif /* MOD_ACME_SELFTEST_H */
