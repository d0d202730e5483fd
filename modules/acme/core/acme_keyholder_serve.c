/* The key holder's socket: listening, accepting, one thread per connection,
 * which serves its requests one after another (acme_keyholder.h). Linux:
 * SO_PEERCRED, accept4. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "acme_keyholder_int.h"
#include "acme_log.h"

#define KH_STOP_CHECK_MS 200

apr_status_t acme_keyholder_listen(int *pfd, const char *path, uid_t uid, gid_t gid)
{
    struct sockaddr_un addr;
    struct stat st;
    apr_status_t rv;
    int fd, dirfd;

    if ((rv = acme_keyholder_addr(&addr, &dirfd, path)) != APR_SUCCESS) {
        return rv;
    }
    /* only a socket is replaced: root must not unlink whatever is there */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return APR_EEXIST;
        }
        if (unlink(path) != 0 && errno != ENOENT) {
            return APR_FROM_OS_ERROR(errno);
        }
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        if (dirfd >= 0) {
            close(dirfd);
        }
        return rv;
    }
    /* nobody can connect before listen(): owner and mode are set first */
    rv = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ? APR_FROM_OS_ERROR(errno)
                                                                : APR_SUCCESS;
    if (dirfd >= 0) {
        close(dirfd);
    }
    if (rv != APR_SUCCESS || lchown(path, uid, gid) != 0 || chmod(path, 0600) != 0
        || listen(fd, 64) != 0) {
        rv = rv != APR_SUCCESS ? rv : APR_FROM_OS_ERROR(errno);
        close(fd);
        return rv;
    }
    *pfd = fd;
    return APR_SUCCESS;
}

/* What run() and its connection threads share. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* a connection thread ended */
    int active;                 /* connection threads running */
    acme_keys_t *local;
    const acme_keyholder_policy_t *policy;
    volatile sig_atomic_t *stop;
    int wake_fd;                /* readable once *stop is set; -1: none */
} kh_server_t;

typedef struct {
    kh_server_t *server;
    int fd;
} kh_conn_t;

/* Waits for the next request on an idle connection: APR_SUCCESS when there
 * is something to read (or the peer closed it), APR_TIMEUP after
 * ACME_KEYHOLDER_IDLE_TIMEOUT, APR_EINTR when the key holder stops. */
static apr_status_t kh_conn_wait(kh_conn_t *conn)
{
    apr_time_t idle_end = apr_time_now() + ACME_KEYHOLDER_IDLE_TIMEOUT;
    struct pollfd pfd[2];
    int rc;

    while (!*conn->server->stop) {
        if (apr_time_now() >= idle_end) {
            return APR_TIMEUP;
        }
        pfd[0].fd = conn->fd;
        pfd[1].fd = conn->server->wake_fd;
        pfd[0].events = pfd[1].events = POLLIN;
        pfd[0].revents = pfd[1].revents = 0;
        rc = poll(pfd, conn->server->wake_fd >= 0 ? 2 : 1, KH_STOP_CHECK_MS);
        if (rc > 0 && pfd[0].revents != 0) {
            return APR_SUCCESS;
        }
        if (rc < 0 && errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
    }
    return APR_EINTR;
}

/* Reads one request and answers it. APR_EOF: the peer closed the connection
 * between requests, as it may. */
static apr_status_t kh_conn_request(kh_conn_t *conn, apr_pool_t *p)
{
    const char *answer;
    apr_size_t len, answer_len;
    char *request;
    apr_status_t rv;

    rv = acme_keyholder_frame_read(&request, &len, p, conn->fd,
                                   apr_time_now() + ACME_KEYHOLDER_IO_TIMEOUT);
    if (APR_STATUS_IS_EOF(rv)) {
        return rv;
    }
    if (rv != APR_SUCCESS) {
        /* a frame too large, a timeout, a peer gone: closed without answer */
        acme_log(ACME_LOG_WARNING, rv, "ACME0262 acme[keyholder]: no valid request on a"
                 " connection (%s), closed", APR_STATUS_IS_EINVAL(rv) ? "bad frame length"
                 : APR_STATUS_IS_TIMEUP(rv) ? "timeout" : "read failed");
        return rv;
    }
    if ((rv = acme_keyholder_handle(&answer, &answer_len, p, conn->server->local,
                                    conn->server->policy, request, len)) != APR_SUCCESS
        || (rv = acme_keyholder_frame_write(conn->fd, answer, answer_len, apr_time_now()
                                            + ACME_KEYHOLDER_IO_TIMEOUT)) != APR_SUCCESS) {
        acme_log(ACME_LOG_WARNING, rv, "ACME0263 acme[keyholder]: cannot answer a request");
    }
    return rv;
}

/* A connection is kept for the peer's next request: a renewal sends a dozen
 * in a row, and a connection (with its thread and peer check) per request
 * was most of what the key holder cost. */
static void kh_conn_serve(kh_conn_t *conn)
{
    apr_pool_t *p;

    /* its own allocator: no lock shared with the other threads */
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    while (kh_conn_wait(conn) == APR_SUCCESS && kh_conn_request(conn, p) == APR_SUCCESS) {
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
}

static void *kh_conn_thread(void *arg)
{
    kh_conn_t *conn = arg;
    kh_server_t *server = conn->server;

    kh_conn_serve(conn);
    close(conn->fd);
    free(conn);
    pthread_mutex_lock(&server->lock);
    server->active--;
    pthread_cond_broadcast(&server->changed);
    pthread_mutex_unlock(&server->lock);
    return NULL;
}

/* Waits until fewer than ACME_KEYHOLDER_CONN_MAX connections run (or
 * none, with `all`), at most KH_STOP_CHECK_MS. True when that is so. */
static int kh_wait_slots(kh_server_t *server, int all)
{
    struct timespec until;
    int ok;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += KH_STOP_CHECK_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&server->lock);
    while (!(ok = all ? server->active == 0 : server->active < ACME_KEYHOLDER_CONN_MAX)) {
        if (pthread_cond_timedwait(&server->changed, &server->lock, &until) != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&server->lock);
    return ok;
}

/* The peer's credentials pass `peer_ok`. */
static int kh_peer_allowed(int fd, acme_keyholder_peer_fn *peer_ok, void *baton)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
        acme_log(ACME_LOG_WARNING, APR_FROM_OS_ERROR(errno), "ACME0264 acme[keyholder]:"
                 " a peer's credentials cannot be read, refused");
        return 0;
    }
    if (peer_ok != NULL && !peer_ok(baton, cred.pid, cred.uid, cred.gid)) {
        acme_log(ACME_LOG_WARNING, APR_EACCES, "ACME0265 acme[keyholder]: refused a"
                 " connection of pid %ld uid %ld gid %ld", (long)cred.pid, (long)cred.uid,
                 (long)cred.gid);
        return 0;
    }
    return 1;
}

/* Hands an accepted connection to a thread of its own. */
static void kh_conn_start(kh_server_t *server, int fd)
{
    pthread_attr_t attr;
    pthread_t thread;
    kh_conn_t *conn = malloc(sizeof(*conn));
    int rc = -1;

    if (conn != NULL) {
        conn->server = server;
        conn->fd = fd;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&server->lock);
        server->active++;
        rc = pthread_create(&thread, &attr, kh_conn_thread, conn);
        if (rc != 0) {
            server->active--;
        }
        pthread_mutex_unlock(&server->lock);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        acme_log(ACME_LOG_ERR, rc > 0 ? APR_FROM_OS_ERROR(rc) : APR_ENOMEM,
                 "ACME0266 acme[keyholder]: no thread for a connection, closed");
        free(conn);
        close(fd);
    }
}

apr_status_t acme_keyholder_run(int listen_fd, apr_pool_t *p, acme_keys_t *local,
                                const acme_keyholder_policy_t *policy,
                                acme_keyholder_peer_fn *peer_ok, void *baton,
                                volatile sig_atomic_t *stop, int wake_fd)
{
    kh_server_t server;
    struct pollfd pfd[2];
    apr_status_t rv = APR_SUCCESS;
    int fd, rc;

    (void)p;
    memset(&server, 0, sizeof(server));
    pthread_mutex_init(&server.lock, NULL);
    pthread_cond_init(&server.changed, NULL);
    server.local = local;
    server.policy = policy;
    server.stop = stop;
    server.wake_fd = wake_fd;
    while (!*stop) {
        if (!kh_wait_slots(&server, 0)) {
            continue;  /* all slots busy: the connection waits in the backlog */
        }
        pfd[0].fd = listen_fd;
        pfd[1].fd = wake_fd;
        pfd[0].events = pfd[1].events = POLLIN;
        pfd[0].revents = pfd[1].revents = 0;
        rc = poll(pfd, wake_fd >= 0 ? 2 : 1, KH_STOP_CHECK_MS);
        if (rc < 0 && errno != EINTR) {
            rv = APR_FROM_OS_ERROR(errno);
            break;
        }
        if (rc <= 0 || pfd[0].revents == 0) {
            continue;
        }
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                || errno == ECONNABORTED || errno == EPROTO) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of resources for now: the loop's poll paces the retries,
                 * connections in the backlog wait */
                acme_log(ACME_LOG_ERR, APR_FROM_OS_ERROR(errno), "ACME0267 acme[keyholder]:"
                         " cannot accept a connection");
                poll(NULL, 0, KH_STOP_CHECK_MS);
                continue;
            }
            rv = APR_FROM_OS_ERROR(errno);
            acme_log(ACME_LOG_ERR, rv, "ACME0268 acme[keyholder]: accept failed, stopping");
            break;
        }
        if (!kh_peer_allowed(fd, peer_ok, baton)) {
            close(fd);
            continue;
        }
        kh_conn_start(&server, fd);
    }
    /* the threads use `local` and `policy`: they end before we return */
    while (!kh_wait_slots(&server, 1)) {
    }
    pthread_cond_destroy(&server.changed);
    pthread_mutex_destroy(&server.lock);
    return rv;
}
