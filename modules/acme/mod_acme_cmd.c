/* Running MDNotifyCmd / MDMessageCmd (see mod_acme_cmd.h): argv without a
 * shell, output to the error log, a timeout that kills. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#include <apr_file_io.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_names.h"
#include "mod_acme_cmd.h"

APLOG_USE_MODULE(acme);

/* Longest output line logged; longer lines are cut (and continue). */
#define CMD_LINE_MAX 400
/* How often a command that closed its output is checked for its exit. */
#define CMD_WAIT_STEP (apr_time_from_msec(20))

static const char *const reason_names[] = {
    "renewing", "renewed", "installed", "expiring", "errored",
    "activation-failed"     /* ours: not a word of mod_md's */
};

/* Held while a command's pipe exists in an inheritable form (between its
 * creation and the fork), so that no other command of ours inherits it and
 * keeps it open: that would hide the end of the first command's output. */
#if APR_HAS_THREADS
static apr_thread_mutex_t *spawn_lock;
#endif

typedef struct {
    apr_pool_t *p;
    server_rec *s;
    const char *what;
    apr_proc_t proc;
    apr_file_t *out;            /* read end of the child's stdout+stderr */
    char line[CMD_LINE_MAX + 1];
    apr_size_t line_len;
    int lines_logged;
    int lines_dropped;
} cmd_run_t;

const char *acme_cmd_reason_name(acme_cmd_reason_e reason)
{
    if ((int)reason < 0 || (apr_size_t)reason >= sizeof(reason_names) / sizeof(reason_names[0])) {
        return NULL;
    }
    return reason_names[reason];
}

#if APR_HAS_THREADS
static apr_status_t spawn_lock_forget(void *data)
{
    (void)data;
    spawn_lock = NULL;
    return APR_SUCCESS;
}
#endif

apr_status_t acme_cmd_init(apr_pool_t *pconf)
{
#if APR_HAS_THREADS
    apr_status_t rv = apr_thread_mutex_create(&spawn_lock, APR_THREAD_MUTEX_DEFAULT, pconf);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(pconf, NULL, spawn_lock_forget, apr_pool_cleanup_null);
#else
    (void)pconf;
#endif
    return APR_SUCCESS;
}

static void spawn_lock_take(void)
{
#if APR_HAS_THREADS
    if (spawn_lock) {
        apr_thread_mutex_lock(spawn_lock);
    }
#endif
}

static void spawn_lock_release(void)
{
#if APR_HAS_THREADS
    if (spawn_lock) {
        apr_thread_mutex_unlock(spawn_lock);
    }
#endif
}

static const char **cmd_args_build(apr_pool_t *p, const apr_array_header_t *argv,
                                   const char *const *extra)
{
    apr_array_header_t *args = apr_array_make(p, argv->nelts + 4, sizeof(const char *));
    int i;

    for (i = 0; i < argv->nelts; ++i) {
        APR_ARRAY_PUSH(args, const char *) = APR_ARRAY_IDX(argv, i, const char *);
    }
    for (i = 0; extra && extra[i]; ++i) {
        APR_ARRAY_PUSH(args, const char *) = extra[i];
    }
    APR_ARRAY_PUSH(args, const char *) = NULL;
    return (const char **)args->elts;
}

/* A pipe whose two ends do not survive an exec (FD_CLOEXEC): only the copy
 * that the spawn places on the child's fd 1 and 2 does. */
static apr_status_t cmd_pipe_create(apr_file_t **prd, int *pwr, apr_pool_t *p)
{
    int fds[2];
    apr_os_file_t ofd;
    apr_status_t rv;

    if (pipe(fds) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        close(fds[0]);
        close(fds[1]);
        return rv;
    }
    ofd = fds[0];
    apr_os_pipe_put_ex(prd, &ofd, 1, p);
    *pwr = fds[1];
    return APR_SUCCESS;
}

/* The child gets /dev/null as stdin, the pipe as stdout and stderr, default
 * signal handling with nothing blocked (our threads block signals, and a
 * blocked SIGTERM would leave the timeout to SIGKILL), and a process group
 * of its own, so that a timeout also ends what the command started. */
static int cmd_spawn_attr_init(posix_spawnattr_t *attr, posix_spawn_file_actions_t *fa, int wr)
{
    sigset_t none, all;
    int err;

    sigemptyset(&none);
    sigfillset(&all);
    if ((err = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                              | POSIX_SPAWN_SETSIGDEF)) != 0
        || (err = posix_spawnattr_setpgroup(attr, 0)) != 0
        || (err = posix_spawnattr_setsigmask(attr, &none)) != 0
        || (err = posix_spawnattr_setsigdefault(attr, &all)) != 0
        || (err = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0))
               != 0
        || (err = posix_spawn_file_actions_adddup2(fa, wr, STDOUT_FILENO)) != 0
        || (err = posix_spawn_file_actions_adddup2(fa, wr, STDERR_FILENO)) != 0) {
        return err;
    }
    return 0;
}

/* Starts args[0] (searched in PATH, no shell). glibc reports a failed exec
 * as the spawn's result, so "not found" is known here, before any wait. */
static apr_status_t cmd_spawn(cmd_run_t *run, const char **args)
{
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int wr = -1, err;
    apr_status_t rv;

    spawn_lock_take();
    rv = cmd_pipe_create(&run->out, &wr, run->p);
    if (rv != APR_SUCCESS) {
        spawn_lock_release();
        return rv;
    }
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&fa);
    err = cmd_spawn_attr_init(&attr, &fa, wr);
    if (err == 0) {
        err = posix_spawnp(&pid, args[0], &fa, &attr, (char *const *)args, environ);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(wr);                  /* only the child's copies stay open */
    spawn_lock_release();
    if (err != 0) {
        apr_file_close(run->out);
        run->out = NULL;
        return APR_FROM_OS_ERROR(err);
    }
    memset(&run->proc, 0, sizeof(run->proc));
    run->proc.pid = pid;
    return APR_SUCCESS;
}

/* Output may come from anywhere: control characters become '?', so a
 * line cannot forge other log lines. */
static void cmd_line_flush(cmd_run_t *run)
{
    apr_size_t i;

    if (run->line_len == 0) {
        return;
    }
    run->line[run->line_len] = '\0';
    for (i = 0; i < run->line_len; ++i) {
        unsigned char c = (unsigned char)run->line[i];
        if (c < 0x20 || c == 0x7f) {
            run->line[i] = '?';
        }
    }
    if (run->lines_logged < ACME_CMD_LOG_LINES_MAX) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, run->s, "ACME1403 %s: %s", run->what,
                     run->line);
        run->lines_logged++;
    }
    else {
        run->lines_dropped++;
    }
    run->line_len = 0;
}

static void cmd_output_take(cmd_run_t *run, const char *buf, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        if (buf[i] == '\n') {
            cmd_line_flush(run);
        }
        else if (buf[i] != '\r') {
            run->line[run->line_len++] = buf[i];
            if (run->line_len == CMD_LINE_MAX) {
                cmd_line_flush(run);
            }
        }
    }
}

/* Reads the command's output until it closes it (APR_EOF, the normal end)
 * or the deadline passes (APR_TIMEUP). */
static apr_status_t cmd_output_read(cmd_run_t *run, apr_time_t deadline)
{
    char buf[4096];
    apr_size_t n;
    apr_status_t rv;

    for (;;) {
        apr_interval_time_t left = deadline - apr_time_now();
        if (left <= 0) {
            return APR_TIMEUP;
        }
        apr_file_pipe_timeout_set(run->out, left);
        n = sizeof(buf);
        rv = apr_file_read(run->out, buf, &n);
        if (n > 0) {
            cmd_output_take(run, buf, n);
        }
        if (rv == APR_EOF) {
            cmd_line_flush(run);
            return APR_EOF;
        }
        if (APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EAGAIN(rv)) {
            continue;       /* the deadline check above decides */
        }
        if (rv != APR_SUCCESS && !APR_STATUS_IS_EINTR(rv)) {
            return rv;
        }
    }
}

/* Waits for the exit until the deadline: APR_SUCCESS with *pcode (exit
 * code or 128 + signal), or APR_TIMEUP. */
static apr_status_t cmd_wait(int *pcode, cmd_run_t *run, apr_time_t deadline)
{
    apr_exit_why_e why;
    int code;

    for (;;) {
        apr_status_t rv = apr_proc_wait(&run->proc, &code, &why, APR_NOWAIT);
        if (rv == APR_CHILD_DONE) {
            *pcode = APR_PROC_CHECK_SIGNALED(why) ? 128 + code : code;
            return APR_SUCCESS;
        }
        if (rv != APR_CHILD_NOTDONE) {
            return rv;
        }
        if (apr_time_now() >= deadline) {
            return APR_TIMEUP;
        }
        apr_sleep(CMD_WAIT_STEP);
    }
}

/* SIGTERM to the command's process group, a grace period, SIGKILL to the
 * group; always reaps the command. */
static void cmd_kill(cmd_run_t *run)
{
    apr_exit_why_e why;
    int code;

    kill(-run->proc.pid, SIGTERM);
    if (cmd_wait(&code, run, apr_time_now() + ACME_CMD_KILL_GRACE) == APR_SUCCESS) {
        kill(-run->proc.pid, SIGKILL);  /* what it started and left behind */
        return;
    }
    kill(-run->proc.pid, SIGKILL);
    apr_proc_wait(&run->proc, &code, &why, APR_WAIT);
}

static apr_status_t cmd_finish(int *pexit, cmd_run_t *run, apr_time_t deadline)
{
    apr_status_t rv;
    int code = -1;

    rv = cmd_output_read(run, deadline);
    if (rv == APR_EOF) {
        rv = cmd_wait(&code, run, deadline);
    }
    if (rv != APR_SUCCESS) {
        cmd_kill(run);
        if (pexit) {
            *pexit = -1;
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, run->s, "ACME1406 %s: %s, killed", run->what,
                     APR_STATUS_IS_TIMEUP(rv) ? "did not end in time" : "cannot follow it");
        return APR_STATUS_IS_TIMEUP(rv) ? APR_TIMEUP : rv;
    }
    if (pexit) {
        *pexit = code;
    }
    if (run->lines_dropped) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, run->s, "ACME1404 %s: %d more output lines "
                     "not logged", run->what, run->lines_dropped);
    }
    if (code != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, run->s, "ACME1405 %s: exit code %d",
                     run->what, code);
        return APR_EGENERAL;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, run->s, "ACME1402 %s: done", run->what);
    return APR_SUCCESS;
}

apr_status_t acme_cmd_run(int *pexit, apr_pool_t *p, server_rec *s, const char *what,
                          const apr_array_header_t *argv, const char *const *extra,
                          apr_interval_time_t timeout)
{
    cmd_run_t *run;
    const char **args;
    apr_pool_t *ptemp;
    apr_status_t rv;
    apr_time_t deadline;

    if (pexit) {
        *pexit = -1;
    }
    if (argv == NULL || argv->nelts < 1 || !APR_ARRAY_IDX(argv, 0, const char *)) {
        return APR_EINVAL;
    }
    deadline = apr_time_now() + (timeout > 0 ? timeout : ACME_CMD_TIMEOUT_DEFAULT);
    apr_pool_create(&ptemp, p);
    apr_pool_tag(ptemp, "acme_cmd");
    run = apr_pcalloc(ptemp, sizeof(*run));
    run->p = ptemp;
    run->s = s;
    run->what = what;
    args = cmd_args_build(ptemp, argv, extra);
    rv = cmd_spawn(run, args);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1400 %s: cannot run %s", what, args[0]);
        goto cleanup;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1401 %s: started %s (pid %ld)", what,
                 args[0], (long)run->proc.pid);
    rv = cmd_finish(pexit, run, deadline);

cleanup:
    apr_pool_destroy(ptemp);
    return rv;
}

/* MDMessageCmd <word> <md_name>; word is ours or checked by the caller. */
static apr_status_t message_run(apr_pool_t *p, server_rec *s, const acme_config_global_t *g,
                                const char *word, const char *md_name)
{
    const char *extra[3];

    if (word == NULL || md_name == NULL
        || acme_names_check_domain(md_name, ACME_NAMES_WILDCARD) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1407 MDMessageCmd: refusing an invalid "
                     "event or domain name");
        return APR_EINVAL;
    }
    if (g->message_argv == NULL || g->message_argv->nelts == 0) {
        return APR_SUCCESS;
    }
    extra[0] = word;
    extra[1] = md_name;
    extra[2] = NULL;
    return acme_cmd_run(NULL, p, s, apr_psprintf(p, "MDMessageCmd %s %s", word, md_name),
                        g->message_argv, extra, 0);
}

apr_status_t acme_cmd_message(apr_pool_t *p, server_rec *s, const acme_config_global_t *g,
                              acme_cmd_reason_e reason, const char *md_name)
{
    return message_run(p, s, g, acme_cmd_reason_name(reason), md_name);
}

static apr_status_t challenge_setup_cb(void *baton, apr_pool_t *p, const char *type,
                                       const char *domain, const char *token,
                                       const char **pwhy)
{
    const acme_cmd_events_t *e = baton;
    apr_status_t rv;

    (void)token;
    /* the type is the CA's word, the domain its identifier: both checked
     * before they become part of an argument */
    if (type == NULL || type[0] == '\0'
        || type[strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789-")] != '\0'
        || domain == NULL || acme_names_check_domain(domain, ACME_NAMES_WILDCARD) != APR_SUCCESS) {
        *pwhy = "invalid challenge type or domain";
        return APR_EINVAL;
    }
    rv = message_run(p, e->s, e->g, apr_pstrcat(p, "challenge-setup:", type, ":", domain, NULL),
                     e->md_name);
    if (rv != APR_SUCCESS) {
        *pwhy = "MDMessageCmd challenge-setup failed";
    }
    return rv;
}

const acme_renew_events_t *acme_cmd_events_hook(acme_cmd_events_t *e, server_rec *s,
                                                const acme_config_global_t *g,
                                                const acme_config_md_t *md)
{
    if (g->message_argv == NULL || g->message_argv->nelts == 0) {
        return NULL;
    }
    e->s = s;
    e->g = g;
    e->md_name = md->name;
    e->hook.challenge_setup_cb = challenge_setup_cb;
    e->hook.baton = e;
    return &e->hook;
}

apr_status_t acme_cmd_notify(apr_pool_t *p, server_rec *s, const acme_config_global_t *g,
                             const char *md_name)
{
    const char *extra[2];

    if (md_name == NULL || acme_names_check_domain(md_name, ACME_NAMES_WILDCARD) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1407 MDNotifyCmd: refusing an invalid "
                     "domain name");
        return APR_EINVAL;
    }
    if (g->notify_argv == NULL || g->notify_argv->nelts == 0) {
        return APR_SUCCESS;
    }
    extra[0] = md_name;
    extra[1] = NULL;
    return acme_cmd_run(NULL, p, s, apr_psprintf(p, "MDNotifyCmd %s", md_name),
                        g->notify_argv, extra, 0);
}

void acme_cmd_installed(apr_pool_t *p, server_rec *s, const acme_config_global_t *g,
                        const char *md_name)
{
    apr_status_t rv = acme_cmd_message(p, s, g, ACME_CMD_INSTALLED, md_name);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "ACME1408 %s: the installed message "
                     "failed; the new certificate is in service anyway", md_name);
    }
}

/* ------------------------------------------------------------ dns-01 */

static apr_status_t dns01_run(acme_cmd_dns01_t *d, apr_pool_t *p, const char *action,
                              const char *domain, const char *value, const char **pwhy)
{
    const char *extra[4];
    int code = 0;
    apr_status_t rv;

    if (acme_names_check_domain(domain, 0) != APR_SUCCESS
        || (value && value[strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789-_")] != '\0')) {
        *pwhy = "refusing an invalid domain name or value";
        return APR_EINVAL;
    }
    extra[0] = action;
    extra[1] = domain;
    extra[2] = value;
    extra[3] = NULL;
    rv = acme_cmd_run(&code, p, d->s, apr_psprintf(p, "MDChallengeDns01 %s %s", action, domain),
                      d->argv, extra, 0);
    if (rv == APR_EGENERAL) {
        *pwhy = apr_psprintf(p, "MDChallengeDns01 %s exited with %d", action, code);
    }
    else if (APR_STATUS_IS_TIMEUP(rv)) {
        *pwhy = apr_psprintf(p, "MDChallengeDns01 %s was killed after %" APR_TIME_T_FMT "s",
                             action, apr_time_sec(ACME_CMD_TIMEOUT_DEFAULT));
    }
    else if (rv != APR_SUCCESS) {
        *pwhy = apr_psprintf(p, "MDChallengeDns01 %s could not be run (%s)", action,
                             (const char *)APR_ARRAY_IDX(d->argv, 0, const char *));
    }
    return rv;
}

static apr_status_t dns01_setup(void *baton, apr_pool_t *p, const char *domain,
                                const char *value, const char **pwhy)
{
    return dns01_run(baton, p, "setup", domain, value, pwhy);
}

static apr_status_t dns01_teardown(void *baton, apr_pool_t *p, const char *domain,
                                   const char *value, const char **pwhy)
{
    acme_cmd_dns01_t *d = baton;

    return dns01_run(d, p, "teardown", domain, d->version >= 2 ? value : NULL, pwhy);
}

const acme_renew_dns01_t *acme_cmd_dns01_hook(acme_cmd_dns01_t *d, server_rec *s,
                                              const acme_config_global_t *g,
                                              const acme_config_md_t *md)
{
    if (md->props.dns01_argv == NULL || md->props.dns01_argv->nelts == 0) {
        return NULL;
    }
    d->s = s;
    d->argv = md->props.dns01_argv;
    d->version = g->dns01_version;
    d->hook.setup_cb = dns01_setup;
    d->hook.teardown_cb = dns01_teardown;
    d->hook.baton = d;
    return &d->hook;
}
