/* TLS for rediss:// (acme_redis_int.h), with OpenSSL over our non-blocking
 * socket. The socket goes through a small BIO of our own rather than
 * OpenSSL's socket BIO: that one writes with write(2), and a server that
 * closed would raise SIGPIPE in whatever process links the core. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme_ossl.h"
#include "acme_redis_int.h"

struct acme_redis_tls_t {
    apr_pool_t *pool;
    int fd;
    int eof;                      /* the peer closed the socket */
    int err;                      /* errno of the last failed send/recv, or 0 */
    SSL_CTX *ctx;
    SSL *ssl;
    BIO_METHOD *meth;
};

static int tls_bio_write(BIO *b, const char *data, size_t len, size_t *pwritten)
{
    acme_redis_tls_t *t = BIO_get_data(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    if ((n = send(t->fd, data, len, MSG_NOSIGNAL)) >= 0) {
        *pwritten = (size_t)n;
        return 1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        BIO_set_retry_write(b);
    }
    else {
        t->err = errno;
    }
    return 0;
}

static int tls_bio_read(BIO *b, char *data, size_t len, size_t *pread)
{
    acme_redis_tls_t *t = BIO_get_data(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    if ((n = recv(t->fd, data, len, 0)) > 0) {
        *pread = (size_t)n;
        return 1;
    }
    if (n == 0) {
        t->eof = 1;
    }
    else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        BIO_set_retry_read(b);
    }
    else {
        t->err = errno;
    }
    return 0;
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int tls_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static apr_status_t tls_cleanup(void *data)
{
    acme_redis_tls_t *t = data;

    SSL_free(t->ssl);             /* frees the BIO */
    SSL_CTX_free(t->ctx);
    BIO_meth_free(t->meth);
    t->ssl = NULL;
    t->ctx = NULL;
    t->meth = NULL;
    return APR_SUCCESS;
}

void acme_redis_tls_close(acme_redis_tls_t *tls)
{
    apr_pool_cleanup_run(tls->pool, tls, tls_cleanup);
}

/* OpenSSL's reasons, for a message. */
static const char *tls_reasons(apr_pool_t *p)
{
    const char *reasons = acme_ossl_reasons(p);

    return reasons ? reasons : "no details from OpenSSL";
}

/* After an SSL call returned `rc`: waits for what it wants and returns
 * APR_SUCCESS to retry it, or the failure. */
static apr_status_t tls_wait(acme_redis_tls_t *t, int rc, apr_time_t deadline)
{
    switch (SSL_get_error(t->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        return acme_redis_sock_wait(t->fd, POLLIN, deadline);
    case SSL_ERROR_WANT_WRITE:
        return acme_redis_sock_wait(t->fd, POLLOUT, deadline);
    case SSL_ERROR_ZERO_RETURN:
        return APR_EOF;
    default:
        if (t->eof) {
            return APR_EOF;
        }
        return t->err ? APR_FROM_OS_ERROR(t->err) : ACME_REDIS_ETLS;
    }
}

/* Context and session: trust anchors, verification of `host`. */
static apr_status_t tls_setup(acme_redis_tls_t *t, apr_pool_t *p, const char *host,
                              const char *ca_file, const char **pwhy)
{
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    BIO *bio;

    if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL
        || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION)) {
        *pwhy = apr_psprintf(p, "TLS setup failed: %s", tls_reasons(p));
        return ACME_REDIS_ETLS;
    }
    if (ca_file ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1
                : SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        *pwhy = apr_psprintf(p, "cannot load the CA certificates%s%s: %s",
                             ca_file ? " of " : "", ca_file ? ca_file : "", tls_reasons(p));
        return ACME_REDIS_ETLS;
    }
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if ((t->ssl = SSL_new(t->ctx)) == NULL
        || (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1
                  : (SSL_set1_host(t->ssl, host) != 1
                     || SSL_set_tlsext_host_name(t->ssl, host) != 1))
        || (t->meth = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "acme_redis")) == NULL
        || !BIO_meth_set_write_ex(t->meth, tls_bio_write)
        || !BIO_meth_set_read_ex(t->meth, tls_bio_read)
        || !BIO_meth_set_ctrl(t->meth, tls_bio_ctrl)
        || !BIO_meth_set_create(t->meth, tls_bio_create)
        || (bio = BIO_new(t->meth)) == NULL) {
        *pwhy = apr_psprintf(p, "TLS setup failed: %s", tls_reasons(p));
        return ACME_REDIS_ETLS;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio);
    return APR_SUCCESS;
}

apr_status_t acme_redis_tls_connect(acme_redis_tls_t **ptls, apr_pool_t *p, int fd,
                                    const char *host, const char *ca_file, apr_time_t deadline,
                                    const char **pwhy)
{
    acme_redis_tls_t *t = apr_pcalloc(p, sizeof(*t));
    char errbuf[128];
    long verify;
    apr_status_t rv;
    int rc;

    t->pool = p;
    t->fd = fd;
    apr_pool_cleanup_register(p, t, tls_cleanup, apr_pool_cleanup_null);
    ERR_clear_error();
    if ((rv = tls_setup(t, p, host, ca_file, pwhy)) != APR_SUCCESS) {
        return rv;
    }
    do {
        ERR_clear_error();
        rc = SSL_connect(t->ssl);
    } while (rc != 1 && (rv = tls_wait(t, rc, deadline)) == APR_SUCCESS);
    if (rc == 1) {
        *ptls = t;
        return APR_SUCCESS;
    }
    if ((verify = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
        *pwhy = apr_psprintf(p, "TLS: the server's certificate failed verification: %s",
                             X509_verify_cert_error_string(verify));
        return ACME_REDIS_ETLS;
    }
    if (rv == APR_TIMEUP) {
        *pwhy = "TLS handshake timed out (connect timeout)";
        return rv;
    }
    if (rv == APR_EOF || rv != ACME_REDIS_ETLS) {
        *pwhy = rv == APR_EOF ? "connection closed during the TLS handshake (is it a TLS port?)"
                : apr_psprintf(p, "TLS handshake: %s", apr_strerror(rv, errbuf, sizeof(errbuf)));
        return ACME_REDIS_ECONNECT;
    }
    *pwhy = apr_psprintf(p, "TLS handshake failed: %s", tls_reasons(p));
    return ACME_REDIS_ETLS;
}

apr_status_t acme_redis_tls_send(acme_redis_tls_t *tls, const char *buf, apr_size_t len,
                                 apr_time_t deadline)
{
    apr_status_t rv;
    size_t n;

    while (len > 0) {
        ERR_clear_error();
        /* a retry passes the same buffer, as SSL_write wants */
        if (SSL_write_ex(tls->ssl, buf, len, &n) == 1) {
            buf += n;
            len -= n;
        }
        else if ((rv = tls_wait(tls, 0, deadline)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_redis_tls_recv(acme_redis_tls_t *tls, char *buf, apr_size_t cap,
                                 apr_size_t *pn, apr_time_t deadline)
{
    apr_status_t rv;
    size_t n;

    for (;;) {
        ERR_clear_error();
        if (SSL_read_ex(tls->ssl, buf, cap, &n) == 1) {
            *pn = n;
            return APR_SUCCESS;
        }
        if ((rv = tls_wait(tls, 0, deadline)) != APR_SUCCESS) {
            return rv;
        }
    }
}
