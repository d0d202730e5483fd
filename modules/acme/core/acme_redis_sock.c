/* TCP for the Redis connection (acme_redis_int.h): non-blocking sockets and
 * poll, so that every wait ends at a deadline. */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_redis_int.h"

apr_status_t acme_redis_sock_wait(int fd, short events, apr_time_t deadline)
{
    struct pollfd pfd;
    apr_interval_time_t left;
    int rc;

    for (;;) {
        if ((left = deadline - apr_time_now()) <= 0) {
            return APR_TIMEUP;
        }
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        left = (left + 999) / 1000;
        rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        /* POLLERR and POLLHUP are reported by the send or recv that follows */
        if (rc > 0) {
            return APR_SUCCESS;
        }
        if (rc < 0 && errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
    }
}

/* Connects `fd` to `ai` before the deadline: 0 or an errno value. */
static int sock_connect_one(int fd, const struct addrinfo *ai, apr_time_t deadline)
{
    socklen_t len;
    int err = 0;
    apr_status_t rv;

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        return 0;
    }
    if (errno != EINPROGRESS) {
        return errno;
    }
    if ((rv = acme_redis_sock_wait(fd, POLLOUT, deadline)) != APR_SUCCESS) {
        return rv == APR_TIMEUP ? ETIMEDOUT : APR_TO_OS_ERROR(rv);
    }
    len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return errno;
    }
    return err;
}

apr_status_t acme_redis_sock_connect(int *pfd, apr_pool_t *p, const char *host, apr_port_t port,
                                     apr_time_t deadline, const char **pwhy)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8], errbuf[128];
    int fd = -1, rc, err = ECONNREFUSED, one = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
        *pwhy = apr_psprintf(p, "cannot resolve %s: %s", host, gai_strerror(rc));
        return ACME_REDIS_ECONNECT;
    }
    for (ai = res; ai != NULL && err != ETIMEDOUT; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if ((err = sock_connect_one(fd, ai, deadline)) == 0) {
            break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        *pwhy = apr_psprintf(p, "connect to %s port %u: %s", host, (unsigned)port,
                             err == ETIMEDOUT ? "timed out (connect timeout)"
                             : apr_strerror(APR_FROM_OS_ERROR(err), errbuf, sizeof(errbuf)));
        return err == ETIMEDOUT ? APR_TIMEUP : ACME_REDIS_ECONNECT;
    }
    /* small commands that wait for their reply: no Nagle delay */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *pfd = fd;
    return APR_SUCCESS;
}

apr_status_t acme_redis_sock_send(int fd, const char *buf, apr_size_t len, apr_time_t deadline)
{
    apr_status_t rv;
    ssize_t n;

    while (len > 0) {
        n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (apr_size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
        if ((rv = acme_redis_sock_wait(fd, POLLOUT, deadline)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_redis_sock_recv(int fd, char *buf, apr_size_t cap, apr_size_t *pn,
                                  apr_time_t deadline)
{
    apr_status_t rv;
    ssize_t n;

    for (;;) {
        n = recv(fd, buf, cap, 0);
        if (n > 0) {
            *pn = (apr_size_t)n;
            return APR_SUCCESS;
        }
        if (n == 0) {
            return APR_EOF;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
        if ((rv = acme_redis_sock_wait(fd, POLLIN, deadline)) != APR_SUCCESS) {
            return rv;
        }
    }
}
