/* check_redis: real redis-server processes and the fake server thread. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_redis.h"

#define SERVER_ARGS_MAX 48
/* A fresh redis-server is ready in well under a second; valgrind and a
 * busy machine slow everything. */
#define SERVER_READY_MS 15000

static char dir_path[64];
static pid_t dir_owner;

long tr_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* At exit of the process that made it (a forked test child exits too). */
static void dir_remove(void)
{
    if (dir_path[0] && getpid() == dir_owner) {
        nftw(dir_path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

const char *tr_dir(void)
{
    const char *tmp = getenv("TMPDIR");

    if (dir_path[0] == '\0') {
        snprintf(dir_path, sizeof(dir_path), "%s/acme-redis-XXXXXX",
                 tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        ck_assert_msg(mkdtemp(dir_path) != NULL, "mkdtemp %s: %s", dir_path, strerror(errno));
        dir_owner = getpid();
        atexit(dir_remove);
    }
    return dir_path;
}

int tr_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    ck_assert_int_ge(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static const char *server_binary(void)
{
    static char found[4096];
    const char *path = getenv("PATH");
    const char *s, *e;

    for (s = path; s && *s; s = *e ? e + 1 : e) {
        e = s + strcspn(s, ":");
        snprintf(found, sizeof(found), "%.*s/redis-server", (int)(e - s), s);
        if (e > s && access(found, X_OK) == 0) {
            return found;
        }
    }
    return access("/usr/bin/redis-server", X_OK) == 0 ? "/usr/bin/redis-server" : NULL;
}

static int server_listening(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static pid_t server_spawn(const char *bin, const char *const *argv)
{
    pid_t parent = getpid(), pid = fork();
    int null;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* no orphaned server when this program dies */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(127);
        }
        if ((null = open("/dev/null", O_RDWR)) >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* 1 when ready, 0 when the server exited (e.g. its port was taken). */
static int server_wait_ready(pid_t pid, int port)
{
    long until = tr_now_ms() + SERVER_READY_MS;
    int status;

    while (tr_now_ms() < until) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            return 0;
        }
        if (server_listening(port)) {
            return 1;
        }
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ck_abort_msg("redis-server on port %d not ready after %d ms", port, SERVER_READY_MS);
    return 0;
}

void tr_server_start(tr_server_t *srv, const char *tag, int tls, const char *const *extra)
{
    const char *argv[SERVER_ARGS_MAX];
    const char *bin = server_binary();
    char port[16], logfile[256];
    int argc, attempt;

    ck_assert_msg(bin != NULL, "redis-server not found (PATH, /usr/bin/redis-server): install "
                  "the Debian package redis-server (scripts/install-deps.sh does)");
    snprintf(logfile, sizeof(logfile), "%s/%s.log", tr_dir(), tag);
    /* a free port may be taken between the probe and the server's bind */
    for (attempt = 0; attempt < 5; ++attempt) {
        srv->port = tr_free_port();
        snprintf(port, sizeof(port), "%d", srv->port);
        argc = 0;
        argv[argc++] = bin;
        argv[argc++] = "--port";
        argv[argc++] = tls ? "0" : port;
        if (tls) {
            argv[argc++] = "--tls-port";
            argv[argc++] = port;
        }
        argv[argc++] = "--bind";
        argv[argc++] = "127.0.0.1";
        argv[argc++] = "--save";
        argv[argc++] = "";
        argv[argc++] = "--appendonly";
        argv[argc++] = "no";
        argv[argc++] = "--dir";
        argv[argc++] = tr_dir();
        argv[argc++] = "--logfile";
        argv[argc++] = logfile;
        argv[argc++] = "--daemonize";
        argv[argc++] = "no";
        for (; extra && *extra; ++extra) {
            ck_assert_int_lt(argc, SERVER_ARGS_MAX - 1);
            argv[argc++] = *extra;
        }
        argv[argc] = NULL;
        srv->pid = server_spawn(bin, argv);
        if (server_wait_ready(srv->pid, srv->port)) {
            return;
        }
    }
    srv->pid = 0;
    ck_abort_msg("redis-server (%s) did not start, see %s", tag, logfile);
}

void tr_server_stop(tr_server_t *srv)
{
    long until = tr_now_ms() + 5000;
    int status;

    if (srv->pid <= 0) {
        return;
    }
    kill(srv->pid, SIGTERM);
    while (waitpid(srv->pid, &status, WNOHANG) == 0) {
        if (tr_now_ms() > until) {
            kill(srv->pid, SIGKILL);
            waitpid(srv->pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    srv->pid = 0;
}

/* ------------------------------------------------------------ fake server */

struct tr_fake_t {
    int listen_fd;
    int port;
    int wake[2];
    const char *reply;
    apr_size_t len;
    int close_after;
    pthread_t thread;
};

static void *fake_main(void *arg)
{
    tr_fake_t *f = arg;
    struct pollfd pfd[2];
    char buf[4096];
    apr_size_t off = 0;
    ssize_t n;
    int fd;

    pfd[0].fd = f->listen_fd;
    pfd[0].events = POLLIN;
    pfd[1].fd = f->wake[0];
    pfd[1].events = POLLIN;
    if (poll(pfd, 2, 30000) <= 0 || pfd[1].revents
        || (fd = accept(f->listen_fd, NULL, NULL)) < 0) {
        return NULL;
    }
    pfd[0].fd = fd;
    if (poll(pfd, 2, 30000) > 0 && !pfd[1].revents) {
        (void)recv(fd, buf, sizeof(buf), 0);
        while (off < f->len
               && (n = send(fd, f->reply + off, f->len - off, MSG_NOSIGNAL)) > 0) {
            off += (apr_size_t)n;
        }
        if (!f->close_after) {
            pfd[0].fd = -1;
            poll(pfd, 2, 30000);
        }
    }
    close(fd);
    return NULL;
}

tr_fake_t *tr_fake_start(const char *reply, apr_size_t len, int close_after)
{
    tr_fake_t *f = calloc(1, sizeof(*f));
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    ck_assert_ptr_nonnull(f);
    f->reply = reply;
    f->len = len;
    f->close_after = close_after;
    ck_assert_int_eq(pipe(f->wake), 0);
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(f->listen_fd, 4), 0);
    ck_assert_int_eq(getsockname(f->listen_fd, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
    return f;
}

int tr_fake_port(const tr_fake_t *fake)
{
    return fake->port;
}

void tr_fake_stop(tr_fake_t *fake)
{
    ck_assert_int_eq(write(fake->wake[1], "x", 1), 1);
    pthread_join(fake->thread, NULL);
    close(fake->listen_fd);
    close(fake->wake[0]);
    close(fake->wake[1]);
    free(fake);
}
