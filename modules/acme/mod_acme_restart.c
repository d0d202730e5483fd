/* MDActivation graceful: the parent restarts itself gracefully when staged
 * certificate sets are ready (see mod_acme_restart.h and docs/operations.md).
 *
 * Each monitor run (parent, about every 10 s) collects the staged sets the
 * status slots show (the renewal worker publishes a set once its job is
 * done; post_config seeds sets left staged), plans the restart from their
 * times, MDActivationDelay, the settle time and MDActivationInterval
 * (acme_restart_plan.h), and when it is time, checks the configuration as
 * `apachectl graceful` does and raises AP_SIG_GRACEFUL at itself: httpd's
 * own graceful restart, same pid, same listeners. The activation itself
 * is the one every restart runs (mod_acme_activate.c).
 *
 * What must survive the restart (the module is unloaded and loaded again)
 * lives in the process pool: the time of the last self-initiated restart,
 * their count, and the sets each was for (a set still staged after a
 * restart made for it backs off). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <mpm_common.h>

#include "acme_restart_plan.h"
#include "mod_acme_config.h"
#include "mod_acme_restart.h"
#include "mod_acme_selftest.h"
#include "mod_acme_status.h"
#include "mod_acme_status_shm.h"
#include "mod_acme_status_slot.h"

APLOG_USE_MODULE(acme);

/* The names listed in the restart's log line. */
#define NAMES_LISTED 10

/* ------------------------------------------------ what survives restarts */

#define CARRY_KEY "mod_acme_restart_carry"
#define TRIED_MAX 256

typedef struct {
    apr_time_t last_at;             /* last self-initiated restart, 0 none */
    int restarts;                   /* since httpd started */
    int tried_n;
    apr_uint64_t tried[TRIED_MAX];  /* set_key() of the sets the last restart was for */
    int tries[TRIED_MAX];           /* restarts made for each while it was ready */
    int timer_made;                 /* `timer` exists (graceful_raise) */
    timer_t timer;
} carry_t;

/* Plain data in the process pool: no pointer into a pool or the module. */
static carry_t *carry_get(apr_pool_t *process_pool)
{
    void *v = NULL;
    carry_t *c;

    apr_pool_userdata_get(&v, CARRY_KEY, process_pool);
    if (v) {
        return v;
    }
    c = apr_pcalloc(process_pool, sizeof(*c));
    apr_pool_userdata_set(c, CARRY_KEY, apr_pool_cleanup_null, process_pool);
    return c;
}

/* Identifies a staged set: its domain and its first certificate. */
static apr_uint64_t set_key(const acme_status_slot_t *slot)
{
    char buf[sizeof(slot->md_name) + sizeof(slot->staged[0].sha256) + 2];

    apr_snprintf(buf, sizeof(buf), "%s\n%s", slot->md_name, slot->staged[0].sha256);
    return acme_status_text_hash(buf);
}

static int carry_tries(const carry_t *c, apr_uint64_t key)
{
    int i;

    for (i = 0; i < c->tried_n; ++i) {
        if (c->tried[i] == key) {
            return c->tries[i];
        }
    }
    return 0;
}

/* ------------------------------------------------ this generation (parent) */

typedef struct {
    const acme_config_global_t *g;
    carry_t *carry;
    acme_restart_status_t status;   /* what the shared record shows */
    apr_time_t not_before;          /* after a failed configuration check */
    apr_time_t logged_plan;         /* the planned time last logged */
} restart_gen_t;

static restart_gen_t *gen;          /* set in post_config, before children fork */

static apr_status_t gen_forget(void *data)
{
    (void)data;
    gen = NULL;
    return APR_SUCCESS;
}

/* A staged set of the slot as the planner sees it; 0 when it has none. */
static int set_of_slot(acme_restart_set_t *set, apr_uint64_t *pkey,
                       const acme_status_slot_t *slot, const acme_config_global_t *g,
                       const carry_t *c)
{
    apr_time_t from = 0;
    int i;

    if (slot->staged_until == 0) {
        return 0;
    }
    for (i = 0; i < ACME_STATUS_SPECS_MAX && slot->staged[i].spec[0]; ++i) {
        from = slot->staged[i].from > from ? slot->staged[i].from : from;
    }
    memset(set, 0, sizeof(*set));
    set->ready_at = from + g->activation_delay;
    set->staged_at = slot->last_success;
    *pkey = set_key(slot);
    /* a domain whose activations failed their self-test backs off too */
    set->tries = carry_tries(c, *pkey) + acme_selftest_rollbacks(slot->md_name);
    return 1;
}

/* The staged sets in the slots (of domains whose certificates mod_acme
 * obtains); each set's tag is its slot index, keys[tag] its set_key(). */
static int sets_collect(acme_restart_set_t **psets, apr_uint64_t **pkeys, apr_pool_t *p,
                        const acme_config_global_t *g, const carry_t *c)
{
    acme_restart_set_t *sets = apr_pcalloc(p, sizeof(*sets) * (apr_size_t)(g->mds->nelts + 1));
    apr_uint64_t *keys = apr_pcalloc(p, sizeof(*keys) * (apr_size_t)(g->mds->nelts + 1));
    int i, n = 0;

    for (i = 0; i < g->mds->nelts; ++i) {
        const acme_config_md_t *md = APR_ARRAY_IDX(g->mds, i, const acme_config_md_t *);
        acme_status_slot_t slot;
        int index = acme_status_slot_index(md->name);

        if ((md->cert_files && md->cert_files->nelts > 0) || md->config_error || index < 0
            || index >= g->mds->nelts || acme_status_slot_read(&slot, index) != APR_SUCCESS) {
            continue;
        }
        if (set_of_slot(&sets[n], &keys[index], &slot, g, c)) {
            sets[n].tag = index;
            n++;
        }
    }
    *psets = sets;
    *pkeys = keys;
    return n;
}

static apr_time_t plan_make(acme_restart_why_e *pwhy, int *pbatch, acme_restart_set_t *sets,
                            int n, apr_time_t now)
{
    acme_restart_policy_t policy;

    memset(&policy, 0, sizeof(policy));
    policy.interval = gen->g->activation_interval;
    policy.settle = ACME_RESTART_SETTLE;
    policy.settle_max = ACME_RESTART_SETTLE_MAX;
    policy.last = gen->carry->last_at;
    policy.not_before = gen->not_before;
    return acme_restart_plan(sets, n, &policy, now, pwhy, pbatch);
}

/* The domains of the first `batch` sets (planned order), for the log line. */
static const char *names_text(apr_pool_t *p, const acme_restart_set_t *sets, int batch)
{
    const char *text = "";
    int i;

    for (i = 0; i < batch && i < NAMES_LISTED; ++i) {
        const acme_status_md_t *smd = acme_status_md_at(sets[i].tag);

        text = apr_pstrcat(p, text, i ? ", " : "", smd ? smd->md->name : "?", NULL);
    }
    return batch > NAMES_LISTED ? apr_psprintf(p, "%s and %d more", text,
                                               batch - NAMES_LISTED) : text;
}

/* The restart is made for the first `batch` sets: each counts one more try. */
static void carry_record(carry_t *c, const acme_restart_set_t *sets, const apr_uint64_t *keys,
                         int batch, apr_time_t now)
{
    int i;

    for (i = 0; i < batch && i < TRIED_MAX; ++i) {
        c->tried[i] = keys[sets[i].tag];
        c->tries[i] = sets[i].tries + 1;
    }
    c->tried_n = i;
    c->last_at = now;
    c->restarts++;
}

static int mpm_running(void)
{
    int state = AP_MPMQ_STOPPING;

    return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS && state == AP_MPMQ_RUNNING;
}

/* The configuration check before any self-initiated restart; 0 (logged,
 * shown in status, retried after the interval) when it fails. `what`: the
 * sets that wait, for the log line. */
static int check_passes(apr_pool_t *p, server_rec *s, const char *what)
{
    acme_restart_status_t *st = &gen->status;
    const char *why = NULL;
    apr_status_t rv;

    rv = acme_restart_config_check(&why, p, ACME_RESTART_CHECK_TIMEOUT);
    st->checked_at = apr_time_now();
    if (rv != APR_SUCCESS) {
        gen->not_before = st->checked_at + gen->g->activation_interval;
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1411 activation waiting: the "
                     "configuration check fails, so httpd does not restart (a restart would "
                     "stop it); %s wait, checked again at %s: %s",
                     what, acme_status_time_text(p, gen->not_before), why);
        apr_cpystrn(st->waiting, ACME_RESTART_WAIT_CHECK, sizeof(st->waiting));
        apr_cpystrn(st->check_error, why, sizeof(st->check_error));
        st->next_at = gen->not_before;
        acme_restart_status_write(st);
        return 0;
    }
    st->check_error[0] = '\0';
    return mpm_running();   /* not when a stop or restart came in while the check ran */
}

/* As `apachectl graceful` (httpd -k graceful) does: SIGUSR1 to the parent.
 *
 * Not at once: the monitor hook runs right before httpd's one-second sleep
 * in ap_wait_or_timeout(), and a signal handled here only sets httpd's
 * restart flag, so that sleep would run whole and every self-initiated
 * restart would start a second late. A one-shot timer delivers the signal
 * RAISE_DELAY later, inside the sleep, which it ends (select() is never
 * restarted). The timer is made once per process and re-armed. */
#define RAISE_DELAY_NS (20 * 1000 * 1000)

static int raise_by_timer(carry_t *c)
{
    struct itimerspec when;

    if (!c->timer_made) {
        struct sigevent ev;

        memset(&ev, 0, sizeof(ev));
        ev.sigev_notify = SIGEV_SIGNAL;
        ev.sigev_signo = AP_SIG_GRACEFUL;
        if (timer_create(CLOCK_MONOTONIC, &ev, &c->timer) != 0) {
            return 0;
        }
        c->timer_made = 1;
    }
    memset(&when, 0, sizeof(when));
    when.it_value.tv_nsec = RAISE_DELAY_NS;
    return timer_settime(c->timer, 0, &when, NULL) == 0;
}

static void graceful_raise(server_rec *s, carry_t *c)
{
    if (!raise_by_timer(c) && kill(getpid(), AP_SIG_GRACEFUL) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), s, "ACME1412 cannot "
                     "signal the graceful restart to the parent process");
    }
}

apr_status_t acme_restart_request(apr_pool_t *p, server_rec *s, const char *what)
{
    acme_restart_status_t *st;
    apr_time_t now = apr_time_now();

    if (gen == NULL || !mpm_running()) {
        return APR_EAGAIN;
    }
    st = &gen->status;
    if (!check_passes(p, s, apr_pstrcat(p, "the restart to ", what, NULL))) {
        return APR_EGENERAL;
    }
    gen->carry->last_at = now;
    gen->carry->restarts++;
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "ACME1410 MDActivation graceful: "
                 "configuration check passed, restarting gracefully (self-initiated restart "
                 "%d) to %s", gen->carry->restarts, what);
    st->last_at = now;
    st->restarts = gen->carry->restarts;
    st->waiting[0] = '\0';
    acme_restart_status_write(st);
    graceful_raise(s, gen->carry);
    return APR_SUCCESS;
}

/* Checks the configuration and restarts; 0 when the check failed. */
static int restart_now(apr_pool_t *p, server_rec *s, const acme_restart_set_t *sets,
                       const apr_uint64_t *keys, int n, int batch, apr_time_t now)
{
    acme_restart_status_t *st = &gen->status;
    const char *names;

    if (!check_passes(p, s, apr_psprintf(p, "%d staged certificate set(s)", n))) {
        return 0;
    }
    names = names_text(p, sets, batch);
    carry_record(gen->carry, sets, keys, batch, now);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "ACME1410 MDActivation graceful: "
                 "configuration check passed, restarting gracefully (self-initiated restart "
                 "%d) to activate %d staged certificate set(s): %s", gen->carry->restarts,
                 batch, names);
    st->last_at = now;
    st->restarts = gen->carry->restarts;
    st->next_at = 0;
    st->waiting[0] = '\0';
    acme_restart_status_write(st);
    graceful_raise(s, gen->carry);
    return 1;
}

int acme_restart_monitor(apr_pool_t *p, server_rec *s)
{
    acme_restart_status_t *st;
    acme_restart_why_e why;
    acme_restart_set_t *sets;
    apr_uint64_t *keys;
    apr_pool_t *tmp;
    apr_time_t now = apr_time_now(), planned;
    int n, batch;

    if (gen == NULL || gen->g->activation_mode != ACME_ACTIVATION_GRACEFUL || !mpm_running()) {
        return DECLINED;
    }
    st = &gen->status;
    if (apr_pool_create(&tmp, p) != APR_SUCCESS) {
        return DECLINED;
    }
    n = sets_collect(&sets, &keys, tmp, gen->g, gen->carry);
    planned = plan_make(&why, &batch, sets, n, now);
    st->pending = n;
    st->batch = batch;
    st->next_at = planned;
    if (planned > 0 && planned <= now && acme_selftest_busy()) {
        /* the last activation is still being tested (or rolled back) */
        apr_cpystrn(st->waiting, ACME_RESTART_WAIT_SELFTEST, sizeof(st->waiting));
        acme_restart_status_write(st);
        apr_pool_destroy(tmp);
        return OK;
    }
    if (planned > 0 && planned <= now) {
        restart_now(tmp, s, sets, keys, n, batch, now);
        apr_pool_destroy(tmp);
        return OK;
    }
    if (planned != gen->logged_plan && planned > 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ACME1413 MDActivation graceful: %d staged "
                     "certificate set(s), a self-initiated graceful restart is planned for %s "
                     "(waiting for: %s)", n, acme_status_time_text(tmp, planned),
                     acme_restart_why_text(why));
    }
    gen->logged_plan = planned;
    if (why != ACME_RESTART_WHY_NOT_BEFORE) {
        apr_cpystrn(st->waiting, planned ? acme_restart_why_text(why) : "", sizeof(st->waiting));
    }
    acme_restart_status_write(st);
    apr_pool_destroy(tmp);
    return OK;
}

/* Sets the last self-initiated restart was made for and that are still
 * staged: logged once, they back off (acme_restart_plan.h). */
static void leftovers_log(apr_pool_t *ptemp, server_rec *s)
{
    acme_restart_set_t *sets;
    apr_uint64_t *keys;
    int i, n = sets_collect(&sets, &keys, ptemp, gen->g, gen->carry);

    for (i = 0; i < n; ++i) {
        const acme_status_md_t *smd = acme_status_md_at(sets[i].tag);

        if (sets[i].tries > 0 && smd) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ACME1414 %s: the staged set was "
                         "not activated at %d self-initiated restart(s) made for it (see the "
                         "ACME121x lines of the activation); the next one waits for %s",
                         smd->md->name, sets[i].tries,
                         acme_restart_why_text(ACME_RESTART_WHY_BACKOFF));
        }
    }
}

int acme_restart_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s)
{
    acme_config_global_t *g = acme_config_global_get(s);
    acme_restart_status_t init;

    (void)plog;
    if (g->mds->nelts == 0 || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    gen = apr_pcalloc(pconf, sizeof(*gen));
    gen->g = g;
    gen->carry = carry_get(s->process->pool);
    apr_pool_cleanup_register(pconf, NULL, gen_forget, apr_pool_cleanup_null);
    memset(&init, 0, sizeof(init));
    init.mode = g->activation_mode;
    init.interval = g->activation_interval;
    init.last_at = gen->carry->last_at;
    init.restarts = gen->carry->restarts;
    gen->status = init;
    acme_restart_status_create(pconf, &init, s);
    if (g->activation_mode == ACME_ACTIVATION_GRACEFUL) {
        leftovers_log(ptemp, s);
    }
    return OK;
}
