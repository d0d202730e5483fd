/* The Redis connection (acme_redis.h): connect, AUTH, SELECT, one command at
 * a time, and closing for good after any failure of the connection. */
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <openssl/crypto.h>

#include "acme_assert.h"
#include "acme_log.h"
#include "acme_redis_int.h"

/* Read size: a reply of a store item arrives in a few dozen reads. */
#define REDIS_READ_CHUNK 16384

static apr_status_t conn_cleanup(void *data)
{
    acme_redis_t *c = data;

    if (c->reader != NULL) {
        redisReaderFree(c->reader);
        c->reader = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    return APR_SUCCESS;
}

/* The connection failed: it may hold half a reply, so it is never reused. */
static void conn_drop(acme_redis_t *c, const char *why)
{
    if (c->fd < 0) {
        return;
    }
    acme_log(ACME_LOG_DEBUG, 0, "ACME0781 redis %s: connection closed: %s", c->name, why);
    if (c->tls != NULL) {
        acme_redis_tls_close(c->tls);
        c->tls = NULL;
    }
    apr_pool_cleanup_run(c->pool, c, conn_cleanup);
}

static apr_status_t conn_send(acme_redis_t *c, apr_pool_t *p, const char *buf, apr_size_t len,
                              apr_time_t deadline, const char **pwhy)
{
    char errbuf[128];
    apr_status_t rv;

    rv = c->tls ? acme_redis_tls_send(c->tls, buf, len, deadline)
                : acme_redis_sock_send(c->fd, buf, len, deadline);
    if (rv == APR_SUCCESS) {
        return rv;
    }
    if (rv == ACME_REDIS_ETLS) {
        *pwhy = "TLS failed while sending";
        return rv;
    }
    if (rv == APR_TIMEUP) {
        *pwhy = "sending the command timed out (write timeout)";
        return rv;
    }
    *pwhy = rv == APR_EOF ? "connection closed by the server"
            : apr_psprintf(p, "sending the command: %s", apr_strerror(rv, errbuf, sizeof(errbuf)));
    return ACME_REDIS_ECONNECT;
}

static apr_status_t conn_recv(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *c,
                              apr_time_t deadline, const char **pwhy)
{
    char buf[REDIS_READ_CHUNK], errbuf[128];
    acme_redis_frame_t frame;
    acme_redis_reply_t *r = NULL;
    apr_size_t n = 0;
    apr_status_t rv;

    acme_redis_frame_reset(&frame);
    do {
        rv = c->tls ? acme_redis_tls_recv(c->tls, buf, sizeof(buf), &n, deadline)
                    : acme_redis_sock_recv(c->fd, buf, sizeof(buf), &n, deadline);
        if (rv == APR_TIMEUP) {
            *pwhy = "no complete reply in time";
            return rv;
        }
        if (rv == ACME_REDIS_ETLS) {
            *pwhy = "TLS failed while reading the reply";
            return rv;
        }
        if (rv != APR_SUCCESS) {
            *pwhy = rv == APR_EOF ? "connection closed by the server"
                    : apr_psprintf(p, "reading the reply: %s",
                                   apr_strerror(rv, errbuf, sizeof(errbuf)));
            return ACME_REDIS_ECONNECT;
        }
        if ((rv = acme_redis_reply_feed(&r, p, c->reader, &frame, buf, n, pwhy))
            != APR_SUCCESS) {
            return rv;
        }
    } while (r == NULL);
    *preply = r;
    return APR_SUCCESS;
}

/* One command and its reply, before `deadline` (0: the write timeout for
 * sending, then the read timeout for the reply). An error reply gives
 * ACME_REDIS_ESERVER/EAUTH, *preply set and *pwhy its text; any other failure
 * closes the connection. */
static apr_status_t conn_call(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *c,
                              int argc, const char *const *argv, const apr_size_t *argvlen,
                              apr_time_t deadline, const char **pwhy)
{
    acme_redis_reply_t *r = NULL;
    char *cmd = NULL;
    apr_status_t rv;
    int len;

    ACME_ASSERT(argc >= 1 && argv != NULL && argvlen != NULL);
    if (c->fd < 0) {
        *pwhy = "connection closed after an earlier failure";
        return ACME_REDIS_ECONNECT;
    }
    if ((len = redisFormatCommandArgv(&cmd, argc, (const char **)argv, argvlen)) < 0) {
        *pwhy = "out of memory";
        return APR_ENOMEM;
    }
    rv = conn_send(c, p, cmd, (apr_size_t)len,
                   deadline ? deadline : apr_time_now() + c->write_timeout, pwhy);
    /* AUTH carries a password, SET a value: nothing lingers in freed memory */
    OPENSSL_cleanse(cmd, (size_t)len);
    redisFreeCommand(cmd);
    if (rv == APR_SUCCESS) {
        rv = conn_recv(&r, p, c, deadline ? deadline : apr_time_now() + c->read_timeout, pwhy);
    }
    if (rv != APR_SUCCESS) {
        conn_drop(c, *pwhy);
        return rv;
    }
    *preply = r;
    if (r->type == ACME_REDIS_REPLY_ERROR) {
        *pwhy = acme_redis_reply_error_text(p, r, NULL);
        return acme_redis_reply_error_status(r);
    }
    return APR_SUCCESS;
}

/* AUTH when the URL has a password, then SELECT (or PING, for db 0): a
 * connection that returns from connect is one that commands can use. */
static apr_status_t conn_hello(acme_redis_t *c, apr_pool_t *p, const acme_redis_url_t *url,
                               apr_time_t deadline, const char **pwhy)
{
    const char *argv[3];
    apr_size_t argvlen[3];
    acme_redis_reply_t *r;
    apr_status_t rv;
    int argc = 0;

    if (url->password != NULL) {
        argv[argc] = "AUTH";
        argvlen[argc++] = 4;
        if (url->user != NULL) {
            argv[argc] = url->user;
            argvlen[argc++] = strlen(url->user);
        }
        argv[argc] = url->password;
        argvlen[argc++] = strlen(url->password);
        rv = conn_call(&r, p, c, argc, argv, argvlen, deadline, pwhy);
        if (rv == ACME_REDIS_ESERVER || rv == ACME_REDIS_EAUTH) {
            /* the server's words, minus the password should it echo it */
            *pwhy = apr_psprintf(p, "AUTH%s%s refused: %s", url->user ? " as " : "",
                                 url->user ? url->user : "",
                                 acme_redis_reply_error_text(p, r, url->password));
            return ACME_REDIS_EAUTH;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    argv[0] = url->db ? "SELECT" : "PING";
    argv[1] = apr_itoa(p, url->db);
    argvlen[0] = strlen(argv[0]);
    argvlen[1] = strlen(argv[1]);
    rv = conn_call(&r, p, c, url->db ? 2 : 1, argv, argvlen, deadline, pwhy);
    if (rv == ACME_REDIS_ESERVER || rv == ACME_REDIS_EAUTH) {
        *pwhy = apr_psprintf(p, "%s refused: %s", argv[0], *pwhy);
    }
    else if (rv == APR_SUCCESS && (r->type != ACME_REDIS_REPLY_STATUS
                                   || strcmp(r->str, url->db ? "OK" : "PONG") != 0)) {
        *pwhy = apr_psprintf(p, "unexpected reply to %s (is it a Redis server?)", argv[0]);
        rv = ACME_REDIS_EPROTOCOL;
    }
    return rv;
}

apr_status_t acme_redis_connect(acme_redis_t **pconn, apr_pool_t *p, const acme_redis_url_t *url,
                                const acme_redis_options_t *opts, const char **perr)
{
    static const acme_redis_options_t defaults;
    apr_pool_t *pool;
    acme_redis_t *c;
    const char *why = "out of memory";
    apr_time_t deadline;
    apr_status_t rv = APR_ENOMEM;

    opts = opts ? opts : &defaults;
    apr_pool_create(&pool, p);
    apr_pool_tag(pool, "acme_redis");
    c = apr_pcalloc(pool, sizeof(*c));
    c->pool = pool;
    c->fd = -1;
    c->name = apr_pstrdup(pool, url->printable);
    c->read_timeout = opts->read_timeout > 0 ? opts->read_timeout : ACME_REDIS_TIMEOUT_DEFAULT;
    c->write_timeout = opts->write_timeout > 0 ? opts->write_timeout
                                               : ACME_REDIS_TIMEOUT_DEFAULT;
    apr_pool_cleanup_register(pool, c, conn_cleanup, apr_pool_cleanup_null);
    deadline = apr_time_now()
               + (opts->connect_timeout > 0 ? opts->connect_timeout : ACME_REDIS_TIMEOUT_DEFAULT);
    if ((c->reader = redisReaderCreate()) == NULL) {
        goto fail;
    }
    rv = acme_redis_sock_connect(&c->fd, pool, url->host, url->port, deadline, &why);
    if (rv == APR_SUCCESS && url->tls) {
        rv = acme_redis_tls_connect(&c->tls, pool, c->fd, url->host, opts->ca_file, deadline,
                                    &why);
    }
    if (rv == APR_SUCCESS) {
        rv = conn_hello(c, pool, url, deadline, &why);
    }
    if (rv != APR_SUCCESS) {
        goto fail;
    }
    acme_log(ACME_LOG_DEBUG, 0, "ACME0780 redis %s: connected%s", c->name,
             url->tls ? " with TLS" : "");
    *pconn = c;
    return APR_SUCCESS;

fail:
    if (perr) {
        *perr = apr_psprintf(p, "%s: %s", url->printable, why);
    }
    apr_pool_destroy(pool);
    return rv;
}

void acme_redis_close(acme_redis_t *conn)
{
    if (conn != NULL) {
        apr_pool_destroy(conn->pool);
    }
}

int acme_redis_is_open(const acme_redis_t *conn)
{
    return conn->fd >= 0;
}

const char *acme_redis_name(const acme_redis_t *conn)
{
    return conn->name;
}

apr_status_t acme_redis_command(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *conn,
                                int argc, const char *const *argv, const apr_size_t *argvlen,
                                const char **perr)
{
    acme_redis_reply_t *r = NULL;
    const char *why = NULL;
    apr_status_t rv;

    rv = conn_call(&r, p, conn, argc, argv, argvlen, 0, &why);
    if (r != NULL) {
        *preply = r;
    }
    if (rv != APR_SUCCESS && perr) {
        *perr = apr_psprintf(p, "%s: %s", conn->name, why);
    }
    return rv;
}

apr_status_t acme_redis_ping(acme_redis_t *conn, apr_pool_t *p, const char **perr)
{
    static const char *const argv[] = { "PING" };
    static const apr_size_t argvlen[] = { 4 };
    acme_redis_reply_t *r;
    apr_status_t rv;

    if ((rv = acme_redis_command(&r, p, conn, 1, argv, argvlen, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type != ACME_REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0) {
        if (perr) {
            *perr = apr_psprintf(p, "%s: PING not answered with PONG", conn->name);
        }
        return ACME_REDIS_EPROTOCOL;
    }
    return APR_SUCCESS;
}
