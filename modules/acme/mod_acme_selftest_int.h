/* Shared between mod_acme_selftest.c and mod_acme_rollback.c: the entries
 * that survive restarts and this generation's record. */
#ifndef MOD_ACME_SELFTEST_INT_H
#define MOD_ACME_SELFTEST_INT_H

#include <sys/types.h>

#include <apr_thread_proc.h>

#include "acme_store.h"
#include "mod_acme_selftest.h"

/* One domain activated since httpd started (plain data: no pointer into a
 * pool that a restart clears, nor into the module). */
typedef struct {
    char md[ACME_STORE_NAME_MAX + 1];
    char archived[ACME_STORE_NAME_MAX + 16]; /* ARCHIVE name of the set it replaced;
                                              * "" when that was none or the fallback */
    acme_selftest_result_t result;
    int rollbacks;              /* since httpd started */
    int held;                   /* rolled back in this pass: nothing of it is activated */
} acme_selftest_entry_t;

/* In the process pool. */
typedef struct {
    apr_pool_t *pool;           /* the process pool: entries grow in it */
    acme_selftest_entry_t *entries;
    int n, cap;
} acme_selftest_carry_t;

/* This generation's (pconf). */
typedef struct {
    const acme_config_global_t *g;
    acme_selftest_carry_t *carry;
    apr_pool_t *pconf;
    apr_time_t started;         /* post_config of this generation */
    pid_t probe_pid;            /* 0: none */
    int probe_fd;               /* its verdicts; -1: none */
    int probe_reaped;           /* waited for (by us, or by the MPM: other-child) */
    apr_time_t probe_deadline;
    apr_proc_t probe_proc;      /* for httpd's other-child registration */
    int probe_registered;
    apr_time_t rollback_not_before;
} acme_selftest_gen_t;

extern acme_selftest_gen_t *acme_selftest_gen;   /* this generation's, NULL before post_config */

acme_selftest_carry_t *acme_selftest_carry(server_rec *s);

/* The entry of md_name; with `create` a new one (NONE) when there is none.
 * NULL when there is none (or the name is too long). */
acme_selftest_entry_t *acme_selftest_entry_find(acme_selftest_carry_t *c, const char *md_name,
                                                int create);

/* Sets the entry's result, stamped now. */
void acme_selftest_entry_set(acme_selftest_entry_t *e, int state, const char *message);

/* httpd's other-child registration of the probe: when the MPM's wait for
 * its children reaps the probe first, we hear of it instead of a warning
 * about an unknown child. */
void acme_selftest_other_child_register(acme_selftest_gen_t *g, pid_t pid);
void acme_selftest_other_child_unregister(acme_selftest_gen_t *g);

#endif /* MOD_ACME_SELFTEST_INT_H */
