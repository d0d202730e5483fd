/* The parent's side of the self-test after an activation (see
 * mod_acme_selftest.h and docs/operations.md "Self-test and rollback").
 *
 * The activation (post_config) notes each set it made live; the monitor
 * hook, once ACME_SELFTEST_SETTLE has passed since the restart, forks the
 * probe for all of them at once, and at later turns collects its verdicts
 * (it never waits for the probe: waitpid WNOHANG, kill at the deadline).
 * A failed verdict under MDActivation graceful, with a real previous set to
 * go back to, asks for the rollback restart (mod_acme_restart.c checks the
 * configuration first, as for any self-initiated restart); the restore
 * itself runs at that restart (mod_acme_rollback.c).
 *
 * Entries (one per domain ever activated since httpd started) live in the
 * process pool as plain data: they survive restarts, which unload the
 * module. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_mpm.h>

#include "acme_store.h"
#include "mod_acme_restart.h"
#include "mod_acme_selftest.h"
#include "mod_acme_selftest_int.h"
#include "mod_acme_status_shm.h"

APLOG_USE_MODULE(acme);

#define CARRY_KEY "mod_acme_selftest_carry"
#define VERDICTS_MAX (1024 * 1024)

/* ------------------------------------------------ what survives restarts */

static acme_selftest_carry_t *carry_get(apr_pool_t *process_pool)
{
    void *v = NULL;
    acme_selftest_carry_t *c;

    apr_pool_userdata_get(&v, CARRY_KEY, process_pool);
    if (v) {
        return v;
    }
    c = apr_pcalloc(process_pool, sizeof(*c));
    c->pool = process_pool;
    apr_pool_userdata_set(c, CARRY_KEY, apr_pool_cleanup_null, process_pool);
    return c;
}

acme_selftest_carry_t *acme_selftest_carry(server_rec *s)
{
    return carry_get(s->process->pool);
}

acme_selftest_entry_t *acme_selftest_entry_find(acme_selftest_carry_t *c, const char *md_name,
                                                int create)
{
    acme_selftest_entry_t *grown;
    int i;

    for (i = 0; i < c->n; ++i) {
        if (strcmp(c->entries[i].md, md_name) == 0) {
            return &c->entries[i];
        }
    }
    if (!create || strlen(md_name) > ACME_STORE_NAME_MAX) {
        return NULL;
    }
    if (c->n == c->cap) {
        /* the process pool only grows: doubling keeps the waste at one copy */
        c->cap = c->cap ? 2 * c->cap : 16;
        grown = apr_pcalloc(c->pool, sizeof(*grown) * (apr_size_t)c->cap);
        if (c->n) {
            memcpy(grown, c->entries, sizeof(*grown) * (apr_size_t)c->n);
        }
        c->entries = grown;
    }
    memset(&c->entries[c->n], 0, sizeof(c->entries[0]));
    apr_cpystrn(c->entries[c->n].md, md_name, sizeof(c->entries[0].md));
    return &c->entries[c->n++];
}

void acme_selftest_entry_set(acme_selftest_entry_t *e, int state, const char *message)
{
    e->result.state = state;
    e->result.at = apr_time_now();
    apr_cpystrn(e->result.message, message ? message : "", sizeof(e->result.message));
}

void acme_selftest_note_activated(server_rec *s, const char *md_name, const char *archived,
                                  int had_fallback)
{
    acme_selftest_entry_t *e = acme_selftest_entry_find(acme_selftest_carry(s), md_name, 1);

    if (e == NULL) {
        return;
    }
    apr_cpystrn(e->archived, archived && !had_fallback ? archived : "", sizeof(e->archived));
    acme_selftest_entry_set(e, ACME_SELFTEST_WAITING, "");
}

int acme_selftest_rollbacks(const char *md_name)
{
    acme_selftest_entry_t *e;

    if (acme_selftest_gen == NULL) {
        return 0;
    }
    e = acme_selftest_entry_find(acme_selftest_gen->carry, md_name, 0);
    return e ? e->rollbacks : 0;
}

/* ------------------------------------------------ this generation (parent) */

acme_selftest_gen_t *acme_selftest_gen;       /* set in post_config, before children fork */

static void entry_publish(const acme_selftest_entry_t *e)
{
    int index = acme_status_slot_index(e->md);

    acme_selftest_status_write(index, &e->result);
}

static int count_in(int state)
{
    int i, n = 0;

    for (i = 0; acme_selftest_gen && i < acme_selftest_gen->carry->n; ++i) {
        n += acme_selftest_gen->carry->entries[i].result.state == state;
    }
    return n;
}

int acme_selftest_busy(void)
{
    return acme_selftest_gen && (acme_selftest_gen->probe_pid > 0 || count_in(ACME_SELFTEST_WAITING) > 0
                   || count_in(ACME_SELFTEST_ROLLBACK) > 0);
}

/* Kills a probe still running when the generation ends (restart, stop):
 * SIGKILL, so the wait is short. Its domains are tested again by the next
 * generation. */
static apr_status_t gen_forget(void *data)
{
    acme_selftest_gen_t *g = data;
    int status, i;

    if (g->probe_pid > 0 && !g->probe_reaped) {
        kill(g->probe_pid, SIGKILL);
        while (waitpid(g->probe_pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    if (g->probe_fd >= 0) {
        close(g->probe_fd);
    }
    for (i = 0; i < g->carry->n; ++i) {
        if (g->carry->entries[i].result.state == ACME_SELFTEST_RUNNING) {
            g->carry->entries[i].result.state = ACME_SELFTEST_WAITING;
        }
    }
    acme_selftest_gen = NULL;
    return APR_SUCCESS;
}

/* The domain of an entry in this generation's configuration, if it still
 * has one whose certificates mod_acme manages. */
static const acme_config_md_t *md_of(const char *name)
{
    int i;

    for (i = 0; i < acme_selftest_gen->g->mds->nelts; ++i) {
        const acme_config_md_t *md = APR_ARRAY_IDX(acme_selftest_gen->g->mds, i, const acme_config_md_t *);

        if (strcmp(md->name, name) == 0) {
            return (md->cert_files && md->cert_files->nelts > 0) || md->config_error
                   ? NULL : md;
        }
    }
    return NULL;
}

static void verdict_apply(server_rec *s, apr_pool_t *p, acme_selftest_entry_t *e, int state,
                          const char *why);

/* Forks the probe for every waiting entry. One that cannot start leaves
 * them untested (reported), so that nothing waits for it for ever. */
static void probe_start(server_rec *s, apr_pool_t *p)
{
    acme_selftest_target_t *targets;
    char path[] = "/tmp/mod_acme-selftest-XXXXXX";
    int i, n = 0, fd;
    pid_t pid;

    targets = apr_pcalloc(p, sizeof(*targets) * (apr_size_t)acme_selftest_gen->carry->n);
    for (i = 0; i < acme_selftest_gen->carry->n; ++i) {
        acme_selftest_entry_t *e = &acme_selftest_gen->carry->entries[i];
        const acme_config_md_t *md;

        if (e->result.state != ACME_SELFTEST_WAITING) {
            continue;
        }
        if ((md = md_of(e->md)) == NULL) {
            e->result.state = ACME_SELFTEST_NONE;   /* no longer ours to test */
            entry_publish(e);
            continue;
        }
        targets[n].md = md;
        targets[n++].index = i;
    }
    if (n == 0) {
        return;
    }
    pid = -1;
    if ((fd = mkstemp(path)) >= 0) {
        unlink(path);
        pid = fork();
    }
    if (pid == 0) {
        acme_selftest_probe_run(fd, s, acme_selftest_gen->g, targets, n);     /* does not return */
        _exit(0);
    }
    if (pid < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), s, "ACME1424 self-test: "
                     "cannot start the probe process");
        if (fd >= 0) {
            close(fd);
        }
        for (i = 0; i < n; ++i) {
            verdict_apply(s, p, &acme_selftest_gen->carry->entries[targets[i].index],
                          ACME_SELFTEST_UNREACHABLE, "the probe process could not start");
        }
        return;
    }
    acme_selftest_gen->probe_pid = pid;
    acme_selftest_gen->probe_fd = fd;
    acme_selftest_gen->probe_reaped = 0;
    acme_selftest_gen->probe_deadline = apr_time_now() + ACME_SELFTEST_DEADLINE;
    acme_selftest_other_child_register(acme_selftest_gen, pid);
    for (i = 0; i < n; ++i) {
        acme_selftest_entry_t *e = &acme_selftest_gen->carry->entries[targets[i].index];

        acme_selftest_entry_set(e, ACME_SELFTEST_RUNNING, "");
        entry_publish(e);
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ACME1420 self-test of %d activated "
                 "certificate set(s) started (probe process %ld)", n, (long)pid);
}

/* The verdict for an entry: logs it and sets what follows from it. */
static void verdict_apply(server_rec *s, apr_pool_t *p, acme_selftest_entry_t *e, int state,
                          const char *why)
{
    int graceful = acme_selftest_gen->g->activation_mode == ACME_ACTIVATION_GRACEFUL;

    switch (state) {
    case ACME_SELFTEST_PASSED:
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "ACME1421 %s: self-test passed: %s",
                     e->md, why);
        acme_selftest_entry_set(e, ACME_SELFTEST_PASSED, "");
        break;
    case ACME_SELFTEST_FAILED:
        if (graceful && e->archived[0]) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1422 %s: self-test FAILED: %s; "
                         "the previous certificate (archive/%s) comes back at a restart now",
                         e->md, why, e->archived);
            acme_selftest_entry_set(e, ACME_SELFTEST_ROLLBACK,
                                    apr_pstrcat(p, "activation failed: ", why, NULL));
        }
        else {
            const char *note = !graceful ? "MDActivation manual: reported, not rolled back"
                                         : "no previous certificate to roll back to";

            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1422 %s: self-test FAILED: %s; "
                         "%s", e->md, why, note);
            acme_selftest_entry_set(e, ACME_SELFTEST_FAILED,
                                    apr_psprintf(p, "activation failed: %s (%s)", why, note));
        }
        break;
    default:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ACME1423 %s: self-test could not "
                     "reach the server (%s); reported, not rolled back", e->md, why);
        acme_selftest_entry_set(e, ACME_SELFTEST_UNREACHABLE,
                                apr_pstrcat(p, "not tested: ", why, NULL));
        break;
    }
    entry_publish(e);
}

/* Reads the probe's verdict lines; entries it left out are not tested. */
static void verdicts_read(server_rec *s, apr_pool_t *p, int killed)
{
    char *buf = apr_palloc(p, VERDICTS_MAX + 1), *line, *last, *rest;
    ssize_t len = pread(acme_selftest_gen->probe_fd, buf, VERDICTS_MAX, 0);
    int i, ended = 0;

    buf[len > 0 ? len : 0] = '\0';
    for (line = apr_strtok(buf, "\n", &last); line; line = apr_strtok(NULL, "\n", &last)) {
        long index, state;

        if (strcmp(line, "end") == 0) {
            ended = 1;
            continue;
        }
        index = strtol(line, &rest, 10);
        state = strtol(rest, &rest, 10);
        if (index < 0 || index >= acme_selftest_gen->carry->n || *rest != ' '
            || acme_selftest_gen->carry->entries[index].result.state != ACME_SELFTEST_RUNNING) {
            continue;
        }
        verdict_apply(s, p, &acme_selftest_gen->carry->entries[index], (int)state, rest + 1);
    }
    if (!ended) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1424 self-test: the probe %s before "
                     "it was done", killed ? "was killed at its deadline" : "ended");
    }
    for (i = 0; i < acme_selftest_gen->carry->n; ++i) {
        if (acme_selftest_gen->carry->entries[i].result.state == ACME_SELFTEST_RUNNING) {
            verdict_apply(s, p, &acme_selftest_gen->carry->entries[i], ACME_SELFTEST_UNREACHABLE,
                          "the self-test did not finish");
        }
    }
}

static void probe_poll(server_rec *s, apr_pool_t *p, apr_time_t now)
{
    int status = 0, killed = 0;
    pid_t got;

    if (!acme_selftest_gen->probe_reaped) {
        got = waitpid(acme_selftest_gen->probe_pid, &status, WNOHANG);
        if (got == acme_selftest_gen->probe_pid || (got < 0 && errno == ECHILD)) {
            acme_selftest_gen->probe_reaped = 1;
        }
    }
    if (!acme_selftest_gen->probe_reaped && now >= acme_selftest_gen->probe_deadline) {
        kill(acme_selftest_gen->probe_pid, SIGKILL);
        while (waitpid(acme_selftest_gen->probe_pid, &status, 0) < 0 && errno == EINTR) {
        }
        acme_selftest_gen->probe_reaped = killed = 1;
    }
    if (!acme_selftest_gen->probe_reaped) {
        return;
    }
    acme_selftest_other_child_unregister(acme_selftest_gen);
    verdicts_read(s, p, killed);
    close(acme_selftest_gen->probe_fd);
    acme_selftest_gen->probe_fd = -1;
    acme_selftest_gen->probe_pid = 0;
}

/* Under graceful: the restart that brings the previous sets back. */
static void rollback_request(server_rec *s, apr_pool_t *p, apr_time_t now)
{
    const char *names = "";
    int i, n = 0;

    if (acme_selftest_gen->g->activation_mode != ACME_ACTIVATION_GRACEFUL || now < acme_selftest_gen->rollback_not_before) {
        return;
    }
    for (i = 0; i < acme_selftest_gen->carry->n; ++i) {
        if (acme_selftest_gen->carry->entries[i].result.state == ACME_SELFTEST_ROLLBACK) {
            names = apr_pstrcat(p, names, n++ ? ", " : "", acme_selftest_gen->carry->entries[i].md, NULL);
        }
    }
    if (n == 0) {
        return;
    }
    if (acme_restart_request(p, s, apr_psprintf(p, "roll back %d certificate set(s) that "
                                                 "failed their self-test: %s", n, names))
        != APR_SUCCESS) {
        acme_selftest_gen->rollback_not_before = now + acme_selftest_gen->g->activation_interval;
    }
}

static int mpm_running(void)
{
    int state = AP_MPMQ_STOPPING;

    return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS && state == AP_MPMQ_RUNNING;
}

int acme_selftest_monitor(apr_pool_t *p, server_rec *s)
{
    apr_time_t now = apr_time_now();
    apr_pool_t *tmp;

    if (acme_selftest_gen == NULL || !mpm_running()) {
        return DECLINED;
    }
    if (apr_pool_create(&tmp, p) != APR_SUCCESS) {
        return DECLINED;
    }
    if (acme_selftest_gen->probe_pid > 0) {
        probe_poll(s, tmp, now);
    }
    else if (now >= acme_selftest_gen->started + ACME_SELFTEST_SETTLE && count_in(ACME_SELFTEST_WAITING)) {
        probe_start(s, tmp);
    }
    if (acme_selftest_gen->probe_pid == 0) {
        rollback_request(s, tmp, now);
    }
    apr_pool_destroy(tmp);
    return OK;
}

int acme_selftest_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    acme_config_global_t *g = acme_config_global_get(s);
    int i;

    (void)plog;
    (void)ptemp;
    if (g->mds->nelts == 0 || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    acme_selftest_gen = apr_pcalloc(pconf, sizeof(*acme_selftest_gen));
    acme_selftest_gen->g = g;
    acme_selftest_gen->carry = acme_selftest_carry(s);
    acme_selftest_gen->started = apr_time_now();
    acme_selftest_gen->probe_fd = -1;
    acme_selftest_gen->pconf = pconf;
    apr_pool_cleanup_register(pconf, acme_selftest_gen, gen_forget, apr_pool_cleanup_null);
    acme_selftest_status_create(pconf, g->mds->nelts, s);
    for (i = 0; i < acme_selftest_gen->carry->n; ++i) {
        entry_publish(&acme_selftest_gen->carry->entries[i]);
    }
    return OK;
}

/* ------------------------------------------------ httpd's other-child hook */

static void probe_maintenance_cb(int reason, void *data, int status)
{
    acme_selftest_gen_t *g = data;

    (void)status;
    if (reason == APR_OC_REASON_UNREGISTER) {
        g->probe_registered = 0;    /* gone from APR's list (its pool's cleanup too) */
    }
    else if (reason == APR_OC_REASON_DEATH || reason == APR_OC_REASON_LOST) {
        g->probe_reaped = 1;    /* the MPM waited for it; the verdicts are in its file */
        acme_selftest_other_child_unregister(g);
    }
}

void acme_selftest_other_child_register(acme_selftest_gen_t *g, pid_t pid)
{
    memset(&g->probe_proc, 0, sizeof(g->probe_proc));
    g->probe_proc.pid = pid;
    apr_proc_other_child_register(&g->probe_proc, probe_maintenance_cb, g, NULL, g->pconf);
    g->probe_registered = 1;
}

void acme_selftest_other_child_unregister(acme_selftest_gen_t *g)
{
    /* APR's unregister crashes on data it does not know: once only */
    if (g->probe_registered) {
        g->probe_registered = 0;
        apr_proc_other_child_unregister(g);
    }
}
