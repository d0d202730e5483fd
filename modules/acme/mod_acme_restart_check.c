/* The configuration check before a self-initiated restart: what
 * `apachectl graceful` runs before it signals, `httpd -t`, with the very
 * arguments the parent was started with (-f, -D, -C, -c ... as found in
 * /proc/self/cmdline, without "-k <verb>", a relative -d made absolute)
 * and the parent's environment,
 * using the binary the parent runs (/proc/self/exe). httpd reads its
 * configuration again at a restart; one that does not pass this check would
 * stop the server instead of restarting it.
 *
 * Runs in the parent's main loop and blocks it while the check runs (a
 * fraction of a second, at most ACME_RESTART_CHECK_TIMEOUT): the children
 * serve on meanwhile. The check process is our own child, reaped here by its
 * pid before the MPM's waitpid(-1) can see it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include <httpd.h>
#include <http_log.h>
#include <http_main.h>

#include "mod_acme_restart.h"

APLOG_USE_MODULE(acme);

#define CMDLINE_MAX 65536
#define OUTPUT_MAX 4096

/* The parent's arguments after argv[0], without "-k <verb>", a relative
 * "-d" replaced by the ServerRoot in use; NULL with *pwhy when /proc/self/cmdline cannot
 * be read. */
static apr_array_header_t *args_read(apr_pool_t *p, const char **pwhy)
{
    apr_array_header_t *args = apr_array_make(p, 16, sizeof(const char *));
    char *buf = apr_palloc(p, CMDLINE_MAX + 1);
    ssize_t n, len = 0;
    const char *arg;
    int fd, first = 1;
    char *c;

    if ((fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)) < 0) {
        *pwhy = apr_psprintf(p, "cannot read /proc/self/cmdline: %s", strerror(errno));
        return NULL;
    }
    while (len < CMDLINE_MAX && (n = read(fd, buf + len, (size_t)(CMDLINE_MAX - len))) > 0) {
        len += n;
    }
    close(fd);
    if (len <= 0 || len >= CMDLINE_MAX) {
        *pwhy = "cannot read the parent's arguments from /proc/self/cmdline";
        return NULL;
    }
    buf[len] = '\0';
    for (c = buf; c < buf + len; c += strlen(c) + 1) {
        arg = c;
        if (first) {
            first = 0;      /* argv[0] */
            continue;
        }
        if (!strcmp(arg, "-k")) {
            c += strlen(c) + 1;     /* and its verb */
            continue;
        }
        if (!strncmp(arg, "-k", 2)) {
            continue;               /* -kstart */
        }
        if (!strncmp(arg, "-d", 2)) {
            const char *root = arg[2] ? arg + 2 : c + strlen(c) + 1;

            if (!arg[2]) {
                c += strlen(c) + 1;
            }
            /* a relative one was relative to the directory httpd was started
             * in, which the parent has left: the ServerRoot in use */
            APR_ARRAY_PUSH(args, const char *) = "-d";
            APR_ARRAY_PUSH(args, const char *) = (c < buf + len && root[0] == '/')
                                                 ? root : ap_server_root;
            continue;
        }
        APR_ARRAY_PUSH(args, const char *) = arg;
    }
    return args;
}

/* Closes every descriptor from 3 on (in the forked child). */
static void fds_close(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    int fd;

    if (max < 0 || max > 65536) {
        max = 65536;
    }
    for (fd = 3; fd < max; ++fd) {
        close(fd);
    }
}

/* The check's output: the first lines, newlines as " | ", "Syntax OK" and
 * blank lines dropped. */
static const char *output_read(apr_pool_t *p, int fd)
{
    char buf[OUTPUT_MAX + 1];
    ssize_t n = pread(fd, buf, OUTPUT_MAX, 0);
    const char *out = "";
    char *line, *last;

    if (n <= 0) {
        return out;
    }
    buf[n] = '\0';
    for (line = apr_strtok(buf, "\r\n", &last); line; line = apr_strtok(NULL, "\r\n", &last)) {
        if (!*line || strstr(line, "Syntax OK")) {
            continue;
        }
        out = *out ? apr_pstrcat(p, out, " | ", line, NULL) : apr_pstrdup(p, line);
    }
    return out;
}

/* Waits for pid until `timeout`; kills its process group then. */
static apr_status_t check_wait(int *pstatus, pid_t pid, apr_interval_time_t timeout)
{
    apr_time_t deadline = apr_time_now() + timeout;
    apr_interval_time_t nap = 2000;
    pid_t got;

    for (;;) {
        got = waitpid(pid, pstatus, WNOHANG);
        if (got == pid) {
            return APR_SUCCESS;
        }
        if (got < 0 && errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
        if (apr_time_now() >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, pstatus, 0) < 0 && errno == EINTR) {
            }
            return APR_TIMEUP;
        }
        apr_sleep(nap);
        nap = nap < 50000 ? nap * 2 : 50000;
    }
}

apr_status_t acme_restart_config_check(const char **pwhy, apr_pool_t *p,
                                       apr_interval_time_t timeout)
{
    char out_path[] = "/tmp/mod_acme-check-XXXXXX";
    apr_array_header_t *args;
    const char **argv;
    const char *argv0 = ap_server_argv0 ? ap_server_argv0 : "httpd";
    int out_fd, null_fd, status = 0, i;
    apr_status_t rv;
    pid_t pid;

    if ((args = args_read(p, pwhy)) == NULL) {
        return APR_EGENERAL;
    }
    argv = apr_pcalloc(p, sizeof(*argv) * (apr_size_t)(args->nelts + 3));
    argv[0] = argv0;
    for (i = 0; i < args->nelts; ++i) {
        argv[i + 1] = APR_ARRAY_IDX(args, i, const char *);
    }
    argv[i + 1] = "-t";
    if ((out_fd = mkstemp(out_path)) < 0) {
        *pwhy = apr_psprintf(p, "cannot make a file for its output: %s", strerror(errno));
        return APR_FROM_OS_ERROR(errno);
    }
    unlink(out_path);
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid = fork();
    if (pid == 0) {
        /* the child: async-signal-safe calls only */
        setpgid(0, 0);
        if (null_fd >= 0) {
            dup2(null_fd, 0);
        }
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        fds_close();
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    if (null_fd >= 0) {
        close(null_fd);
    }
    if (pid < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        close(out_fd);
        *pwhy = apr_psprintf(p, "cannot start %s -t: %s", argv0, strerror(errno));
        return rv;
    }
    rv = check_wait(&status, pid, timeout);
    if (rv == APR_TIMEUP) {
        *pwhy = apr_psprintf(p, "%s -t did not finish in %" APR_TIME_T_FMT "s and was killed",
                             argv0, apr_time_sec(timeout));
    }
    else if (rv != APR_SUCCESS) {
        *pwhy = apr_psprintf(p, "cannot wait for %s -t", argv0);
    }
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const char *out = output_read(p, out_fd);

        *pwhy = apr_psprintf(p, "%s -t %s %d%s%s", argv0,
                             WIFEXITED(status) ? "exited with" : "ended by signal",
                             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                             *out ? ": " : "", out);
        rv = APR_EGENERAL;
    }
    close(out_fd);
    return rv;
}
