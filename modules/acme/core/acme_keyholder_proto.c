/* The key holder's framing: a 4-byte big-endian length, then JSON text
 * (acme_keyholder.h). Sockets only: send/recv with MSG_NOSIGNAL so that a
 * peer that hung up gives EPIPE, not a signal that kills the key holder. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "acme_keyholder_int.h"

/* Waits until `fd` is ready for `events` or the deadline passes. */
static apr_status_t frame_wait(int fd, short events, apr_time_t deadline)
{
    struct pollfd pfd;
    apr_time_t left;
    int rc;

    for (;;) {
        left = deadline - apr_time_now();
        if (left <= 0) {
            return APR_TIMEUP;
        }
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        /* round up, so that a wait of less than 1 ms is not a busy loop */
        rc = poll(&pfd, 1, (int)((left + 999) / 1000));
        if (rc > 0) {
            return APR_SUCCESS;
        }
        if (rc < 0 && errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
    }
}

static apr_status_t frame_send_all(int fd, const unsigned char *buf, apr_size_t len,
                                   apr_time_t deadline)
{
    apr_status_t rv;
    ssize_t n;

    while (len > 0) {
        n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf += n;
            len -= (apr_size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
        if ((rv = frame_wait(fd, POLLOUT, deadline)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t frame_recv_all(int fd, unsigned char *buf, apr_size_t len,
                                   apr_time_t deadline)
{
    apr_status_t rv;
    ssize_t n;

    while (len > 0) {
        n = recv(fd, buf, len, MSG_DONTWAIT);
        if (n > 0) {
            buf += n;
            len -= (apr_size_t)n;
            continue;
        }
        if (n == 0) {
            return APR_EOF;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
        if ((rv = frame_wait(fd, POLLIN, deadline)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_keyholder_frame_write(int fd, const char *data, apr_size_t len,
                                        apr_time_t deadline)
{
    unsigned char head[4];
    apr_status_t rv;

    if (len == 0 || len > ACME_KEYHOLDER_FRAME_MAX) {
        return APR_EINVAL;
    }
    head[0] = (unsigned char)(len >> 24);
    head[1] = (unsigned char)(len >> 16);
    head[2] = (unsigned char)(len >> 8);
    head[3] = (unsigned char)len;
    if ((rv = frame_send_all(fd, head, sizeof(head), deadline)) != APR_SUCCESS) {
        return rv;
    }
    return frame_send_all(fd, (const unsigned char *)data, len, deadline);
}

apr_status_t acme_keyholder_frame_read(char **pdata, apr_size_t *plen, apr_pool_t *p, int fd,
                                       apr_time_t deadline)
{
    unsigned char head[4];
    apr_size_t len;
    char *data;
    apr_status_t rv;

    if ((rv = frame_recv_all(fd, head, sizeof(head), deadline)) != APR_SUCCESS) {
        return rv;
    }
    len = ((apr_size_t)head[0] << 24) | ((apr_size_t)head[1] << 16)
          | ((apr_size_t)head[2] << 8) | head[3];
    /* checked before anything is allocated: the length is the peer's word */
    if (len == 0 || len > ACME_KEYHOLDER_FRAME_MAX) {
        return APR_EINVAL;
    }
    data = apr_palloc(p, len + 1);
    if ((rv = frame_recv_all(fd, (unsigned char *)data, len, deadline)) != APR_SUCCESS) {
        return rv;
    }
    data[len] = '\0';
    *pdata = data;
    *plen = len;
    return APR_SUCCESS;
}
