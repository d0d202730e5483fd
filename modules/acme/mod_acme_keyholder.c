/* The key holder process (issue 16; docs/security.md).
 *
 * httpd's User runs CGI and PHP as well as the renewals. So the private keys
 * (account keys, staged domain keys) and the EAB HMACs live in one small
 * process instead, forked by the root parent on the real configuration pass
 * (after the store is opened, before the MPM makes children) and staying
 * root. It serves acme_keyholder.h's narrow protocol on a Unix socket in
 * DefaultRuntimeDir that only User (and root) can open, and answers only
 * httpd's own children (their parent is httpd's parent). Its policy (the CA
 * origins it signs for, the names and key specs of each domain, the EAB
 * HMACs by key id) is the configuration of its generation.
 *
 * Life cycle, all in the parent:
 *   post_config   socket made, process forked; the parent closes its copy of
 *                 the socket, so children never inherit it
 *   dies          httpd's other-child maintenance sees it (the MPM reaps it)
 *                 and starts it again at once; while it keeps dying young,
 *                 the monitor hook does, after a growing pause
 *   restart/stop  pconf's cleanup ends it (SIGTERM, then SIGKILL); the next
 *                 generation starts its own with the new configuration
 * In the children: the renewal workers use acme_glue_keyholder_custody(),
 * and child_init wipes the EAB HMACs from the child's copy of the
 * configuration, the store key from its copy of the store and the seal key
 * of MDSharedStoreKeyFile (acme_glue_keyholder_child_init()). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_listen.h>
#include <unixd.h>

#include "acme_keyholder.h"
#include "acme_keys_remote.h"
#include "acme_store_fs.h"
#include "mod_acme_keyholder.h"
#include "mod_acme_secrets.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

/* How long a child waits for one answer: an RSA 8192 key takes seconds. */
#define KEYHOLDER_TIMEOUT apr_time_from_sec(60)
/* A key holder that lived less than this "died young": the next start waits. */
#define KEYHOLDER_YOUNG apr_time_from_sec(30)
#define KEYHOLDER_PAUSE_MAX apr_time_from_sec(60)
/* How long a stop waits for the process before SIGKILL. */
#define KEYHOLDER_STOP_WAIT apr_time_from_sec(3)

typedef struct {
    server_rec *s;
    apr_pool_t *pconf;
    const char *socket_path;
    acme_keyholder_policy_t *policy;
    acme_keys_t *local;
    uid_t user_uid;
    gid_t user_gid;
    pid_t parent;
    apr_proc_t proc;            /* the running key holder (pid 0: none) */
    int registered;             /* proc is in httpd's other-child list */
    apr_time_t started;
    apr_time_t start_at;        /* when the monitor starts it again, 0: not due */
    apr_interval_time_t pause;  /* the wait after the last young death */
    int young_deaths;           /* deaths in a row, each soon after its start */
} keyholder_gen_t;

static keyholder_gen_t *keyholder_gen;

/* ------------------------------------------------------------ the process */

static volatile sig_atomic_t keyholder_stop;
/* The stop's pipe: its read end wakes every thread of the key holder at once
 * (a restart of httpd waits for the old key holder to end). */
static int keyholder_wake[2] = { -1, -1 };

static void keyholder_on_term(int sig)
{
    int saved = errno;

    (void)sig;
    keyholder_stop = 1;
    if (keyholder_wake[1] >= 0) {
        (void)!write(keyholder_wake[1], "x", 1);
    }
    errno = saved;
}

/* Field 4 of /proc/<pid>/stat, after the command in parentheses (which may
 * hold blanks and parentheses itself). -1 when unknown. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512], *close_paren;
    long ppid = -1;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((f = fopen(path, "r")) == NULL) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if ((close_paren = strrchr(buf, ')')) == NULL
        || sscanf(close_paren + 1, " %*c %ld", &ppid) != 1) {
        return -1;
    }
    return (pid_t)ppid;
}

/* Only httpd's children, running as User (or root, when User is root or
 * httpd was not started as root): a CGI script runs as User too, but its
 * parent is a child (or mod_cgid's daemon), never httpd's parent. */
static int keyholder_peer_ok(void *baton, pid_t pid, uid_t uid, gid_t gid)
{
    const keyholder_gen_t *g = baton;

    (void)gid;
    if (uid != g->user_uid && uid != 0) {
        return 0;
    }
    return parent_of(pid) == g->parent;
}

static void keyholder_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = keyholder_on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* httpd signals its process group at restarts: not for us */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
}

/* The forked key holder: serves until told to stop or its parent is gone. */
static void keyholder_main(keyholder_gen_t *g, int fd)
{
    apr_pool_t *p;
    apr_status_t rv;

    if (pipe2(keyholder_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        keyholder_wake[0] = keyholder_wake[1] = -1;     /* the 200 ms checks remain */
    }
    keyholder_signals();
    /* a parent killed hard takes its key holder along */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != g->parent) {
        _exit(0);
    }
    umask(077);
    ap_close_listeners();
    if (apr_pool_create(&p, g->pconf) != APR_SUCCESS) {
        _exit(1);
    }
    rv = acme_keyholder_run(fd, p, g->local, g->policy, keyholder_peer_ok, g, &keyholder_stop,
                            keyholder_wake[0]);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, g->s, "ACME1441 key holder: stopped on an "
                     "error; httpd's parent starts it again");
    }
    _exit(rv == APR_SUCCESS ? 0 : 1);
}

/* ------------------------------------------------------------ the parent */

static void keyholder_maintenance(int reason, void *data, int status);

static void keyholder_start(keyholder_gen_t *g)
{
    apr_status_t rv;
    pid_t pid;
    int fd;

    g->start_at = 0;
    rv = acme_keyholder_listen(&fd, g->socket_path, g->user_uid, g->user_gid);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, g->s, "ACME1442 key holder: cannot listen on "
                     "%s; renewals wait until it can", g->socket_path);
        g->start_at = apr_time_now() + apr_time_from_sec(5);
        return;
    }
    pid = fork();
    if (pid == 0) {
        keyholder_main(g, fd);      /* does not return */
    }
    close(fd);
    if (pid < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), g->s, "ACME1442 key "
                     "holder: cannot fork; renewals wait until it runs");
        g->start_at = apr_time_now() + apr_time_from_sec(5);
        return;
    }
    memset(&g->proc, 0, sizeof(g->proc));
    g->proc.pid = pid;
    g->started = apr_time_now();
    apr_proc_other_child_register(&g->proc, keyholder_maintenance, g, NULL, g->pconf);
    g->registered = 1;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, g->s, "ACME1440 key holder started (pid %ld, "
                 "socket %s)", (long)pid, g->socket_path);
}

static void keyholder_unregister(keyholder_gen_t *g)
{
    /* APR's unregister crashes on data it does not know: once only */
    if (g->registered) {
        g->registered = 0;
        apr_proc_other_child_unregister(g);
    }
}

/* httpd reaped it (or lost it): start it again, pausing while it dies young. */
static void keyholder_maintenance(int reason, void *data, int status)
{
    keyholder_gen_t *g = data;
    apr_time_t now = apr_time_now();

    if (reason == APR_OC_REASON_UNREGISTER) {
        g->registered = 0;
        return;
    }
    if (reason != APR_OC_REASON_DEATH && reason != APR_OC_REASON_LOST) {
        return;
    }
    keyholder_unregister(g);
    /* one death (a kill, a crash) is restarted at once; a key holder that
     * keeps dying young waits 1 s, 2 s, 4 s... up to a minute between tries */
    g->young_deaths = now - g->started < KEYHOLDER_YOUNG ? g->young_deaths + 1 : 0;
    g->pause = g->young_deaths <= 1 ? 0 : apr_time_from_sec(1) << (g->young_deaths - 2);
    if (g->pause > KEYHOLDER_PAUSE_MAX || g->young_deaths > 8) {
        g->pause = KEYHOLDER_PAUSE_MAX;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, g->s, "ACME1443 key holder (pid %ld) ended "
                 "(%s %d); starting it again%s", (long)g->proc.pid,
                 WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                 g->pause ? " after a pause" : "");
    g->proc.pid = 0;
    if (g->pause == 0) {
        keyholder_start(g);
    }
    else {
        g->start_at = now + g->pause;
    }
}

int acme_glue_keyholder_monitor(apr_pool_t *p, server_rec *s)
{
    (void)p;
    (void)s;
    if (keyholder_gen && keyholder_gen->start_at && apr_time_now() >= keyholder_gen->start_at
        && keyholder_gen->proc.pid == 0) {
        keyholder_start(keyholder_gen);
    }
    return DECLINED;
}

/* Ends this generation's key holder: a restart starts the next one with the
 * next configuration. */
static apr_status_t keyholder_gen_end(void *data)
{
    keyholder_gen_t *g = data;
    apr_time_t deadline = apr_time_now() + KEYHOLDER_STOP_WAIT;
    pid_t pid = g->proc.pid;

    if (getpid() != g->parent) {
        return APR_SUCCESS;     /* a child's copy of pconf: not its key holder */
    }
    keyholder_unregister(g);
    if (pid > 0 && kill(pid, SIGTERM) == 0) {
        while (waitpid(pid, NULL, WNOHANG) == 0) {
            if (apr_time_now() >= deadline) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                break;
            }
            apr_sleep(apr_time_from_msec(10));
        }
    }
    g->proc.pid = 0;
    unlink(g->socket_path);
    keyholder_gen = NULL;
    return APR_SUCCESS;
}

/* What the key holder may do: the generation's domains, CAs and EABs, and
 * sealing with `seal_key` (NULL: none). */
static acme_keyholder_policy_t *policy_make(apr_pool_t *p, const acme_config_global_t *cg,
                                            const acme_seal_key_t *seal_key)
{
    acme_keyholder_policy_t *policy = apr_pcalloc(p, sizeof(*policy));
    apr_array_header_t *ca_urls = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *eabs = apr_array_make(p, 1, sizeof(acme_keyholder_eab_t));
    int i, j;

    policy->mds = apr_hash_make(p);
    for (i = 0; i < cg->mds->nelts; ++i) {
        const acme_config_md_t *md = APR_ARRAY_IDX(cg->mds, i, const acme_config_md_t *);
        acme_keyholder_md_t *kmd;

        if (md->config_error || md->props.pkey_specs == NULL) {
            continue;   /* never driven: no key for it */
        }
        kmd = apr_pcalloc(p, sizeof(*kmd));
        kmd->name = md->name;
        kmd->names = md->names;
        kmd->pkey_specs = md->props.pkey_specs;
        apr_hash_set(policy->mds, md->name, APR_HASH_KEY_STRING, kmd);
        for (j = 0; md->props.ca_urls && j < md->props.ca_urls->nelts; ++j) {
            APR_ARRAY_PUSH(ca_urls, const char *) = APR_ARRAY_IDX(md->props.ca_urls, j,
                                                                const char *);
        }
        if (md->props.eab_kid && md->props.eab_hmac) {
            acme_keyholder_eab_t *eab = apr_array_push(eabs);
            eab->kid = md->props.eab_kid;
            eab->hmac = md->props.eab_hmac;
        }
    }
    policy->ca_urls = ca_urls;
    policy->eabs = eabs;
    policy->seal_key = seal_key;
    return policy;
}

int acme_glue_keyholder_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                    server_rec *s)
{
    acme_config_global_t *cg = acme_config_global_get(s);
    acme_store_t *store = acme_glue_store_get();
    keyholder_gen_t *g;

    (void)plog;
    (void)ptemp;
    /* the last post_config hook: what forks from here on is the key holder
     * (which keeps the secrets) or the MPM's children (child_init) */
    acme_glue_secrets_guard_off();
    if (acme_glue_is_dry_run() || cg->mds->nelts == 0 || store == NULL) {
        return OK;
    }
    g = apr_pcalloc(pconf, sizeof(*g));
    g->s = s;
    g->pconf = pconf;
    g->parent = getpid();
    g->socket_path = ap_runtime_dir_relative(pconf, apr_psprintf(pconf,
                                             "mod_acme-keys.%ld.sock", (long)g->parent));
    g->user_uid = geteuid() == 0 ? ap_unixd_config.user_id : geteuid();
    g->user_gid = geteuid() == 0 ? ap_unixd_config.group_id : getegid();
    g->policy = policy_make(pconf, cg, acme_config_shared_seal_key(cg, pconf, s));
    g->local = acme_keys_local_sealing(pconf, store, g->policy->seal_key);
    /* registered before the other-child entry: cleanups run last-in first */
    apr_pool_cleanup_register(pconf, g, keyholder_gen_end, apr_pool_cleanup_null);
    keyholder_gen = g;
    keyholder_start(g);
    return OK;
}

acme_keys_t *acme_glue_keyholder_custody(apr_pool_t *p)
{
    if (keyholder_gen == NULL) {
        return NULL;
    }
    return acme_keys_remote(p, keyholder_gen->socket_path, KEYHOLDER_TIMEOUT);
}

/* ------------------------------------------------------------ children */

void acme_glue_keyholder_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    /* without a key holder the children's renewals need the HMACs and the
     * store key; the seal key is the key holder's alone in any case */
    acme_glue_secrets_wipe(s, keyholder_gen == NULL ? ACME_SECRETS_SEAL_KEY
                                                    : ACME_SECRETS_KEYS);
}
