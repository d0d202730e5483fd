/* The self-test probe: a short-lived process forked from the parent (see
 * mod_acme_selftest.h for why a process), as root like the parent, with the
 * parent's configuration in its copy of memory.
 *
 * Per target domain: the https listeners of its SSL vhosts (a vhost on
 * `*:port` is reached at each listener of that port, a wildcard listener at
 * the loopback address of its family); per listener, name and key type of
 * MDPrivateKeys a TLS handshake with that name as SNI, offering only that
 * key type's signature algorithms (so that the server picks that
 * certificate), each with a timeout. What is presented is compared with the
 * LIVE set (acme_chain_presented_check()). Names that cannot be SNI (IP
 * addresses) are not tested; a wildcard `*.x` is tested as
 * `mod-acme-selftest.x`.
 *
 * Verdict per domain: failed at the first handshake that presents anything
 * else or fails as TLS (tried ACME_SELFTEST_TRIES times, in case an old
 * child still answered); unreachable when no listener could be connected
 * to (or the time budget ran out before any); passed otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <httpd.h>
#include <http_config.h>
#include <ap_listen.h>

#include "acme_chain.h"
#include "acme_chain_presented.h"
#include "acme_layout.h"
#include "acme_ossl.h"
#include "acme_pkey.h"
#include "mod_acme_cmd.h"
#include "mod_acme_selftest.h"
#include "mod_acme_serve.h"

typedef struct {
    struct sockaddr_storage sa;
    socklen_t len;
    const char *text;           /* "127.0.0.1:5001" */
} address_t;

typedef enum { SHAKE_OK, SHAKE_NO_CONNECT, SHAKE_BAD } shake_e;

/* ------------------------------------------------ where to connect */

static void address_add(apr_array_header_t *addrs, apr_pool_t *p, const apr_sockaddr_t *sa)
{
    address_t a;
    int i;

    memset(&a, 0, sizeof(a));
    memcpy(&a.sa, &sa->sa, (apr_size_t)sa->salen);
    a.len = (socklen_t)sa->salen;
    if (apr_sockaddr_is_wildcard(sa)) {
        if (sa->family == AF_INET) {
            ((struct sockaddr_in *)&a.sa)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
        else if (sa->family == AF_INET6) {
            ((struct sockaddr_in6 *)&a.sa)->sin6_addr = in6addr_loopback;
        }
    }
    if (sa->family == AF_INET6) {
        char buf[INET6_ADDRSTRLEN];

        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a.sa)->sin6_addr, buf, sizeof(buf));
        a.text = apr_psprintf(p, "[%s]:%d", buf, sa->port);
    }
    else {
        char buf[INET_ADDRSTRLEN];

        inet_ntop(AF_INET, &((struct sockaddr_in *)&a.sa)->sin_addr, buf, sizeof(buf));
        a.text = apr_psprintf(p, "%s:%d", buf, sa->port);
    }
    for (i = 0; i < addrs->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(addrs, i, address_t).text, a.text) == 0) {
            return;
        }
    }
    APR_ARRAY_PUSH(addrs, address_t) = a;
}

/* The listeners the domain's https vhosts answer on. */
static apr_array_header_t *addresses_of(apr_pool_t *p, const acme_config_md_t *md)
{
    apr_array_header_t *addrs = apr_array_make(p, 2, sizeof(address_t));
    int i;

    for (i = 0; md->vhosts && i < md->vhosts->nelts; ++i) {
        server_rec *vs = APR_ARRAY_IDX(md->vhosts, i, server_rec *);
        const acme_config_srv_t *sc = acme_config_srv_get(vs);
        server_addr_rec *sar;

        if (sc == NULL || !sc->is_ssl) {
            continue;
        }
        for (sar = vs->addrs; sar; sar = sar->next) {
            ap_listen_rec *lr;

            for (lr = ap_listeners; lr; lr = lr->next) {
                if (lr->bind_addr == NULL
                    || (sar->host_port && lr->bind_addr->port != sar->host_port)) {
                    continue;
                }
                if (!apr_sockaddr_is_wildcard(sar->host_addr)
                    && !apr_sockaddr_is_wildcard(lr->bind_addr)
                    && !apr_sockaddr_equal(sar->host_addr, lr->bind_addr)) {
                    continue;
                }
                if (!apr_sockaddr_is_wildcard(sar->host_addr)) {
                    apr_sockaddr_t copy = *sar->host_addr;

                    copy.port = lr->bind_addr->port;
                    if (copy.family == AF_INET) {
                        copy.sa.sin.sin_port = htons(lr->bind_addr->port);
                    }
                    else if (copy.family == AF_INET6) {
                        copy.sa.sin6.sin6_port = htons(lr->bind_addr->port);
                    }
                    address_add(addrs, p, &copy);
                }
                else {
                    address_add(addrs, p, lr->bind_addr);
                }
            }
        }
    }
    return addrs;
}

/* ------------------------------------------------ one handshake */

static int connect_timed(const address_t *a, apr_interval_time_t timeout)
{
    int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct pollfd pfd;
    struct timeval tv;
    int err = 0, flags;
    socklen_t len = sizeof(err);

    if (fd < 0) {
        return -1;
    }
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (connect(fd, (const struct sockaddr *)&a->sa, a->len) != 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, (int)apr_time_as_msec(timeout)) != 1
            || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close(fd);
            errno = err ? err : ETIMEDOUT;
            return -1;
        }
    }
    fcntl(fd, F_SETFL, flags);
    tv.tv_sec = (time_t)apr_time_sec(timeout);
    tv.tv_usec = (suseconds_t)apr_time_usec(timeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Signature algorithms (TLS 1.3 and 1.2) and TLS 1.2 ciphers that make the
 * server present its certificate of this key type. */
static void client_prefer(SSL_CTX *ctx, const acme_pkey_spec_t *spec)
{
    if (spec->type == ACME_PKEY_EC) {
        SSL_CTX_set1_sigalgs_list(ctx, spec->curve == ACME_PKEY_P384 ? "ECDSA+SHA384"
                                                                    : "ECDSA+SHA256");
        SSL_CTX_set_cipher_list(ctx, "aECDSA");
    }
    else {
        SSL_CTX_set1_sigalgs_list(ctx, "RSA-PSS+SHA256:RSA-PSS+SHA384:RSA-PSS+SHA512:"
                                  "RSA+SHA256:RSA+SHA384:RSA+SHA512");
        SSL_CTX_set_cipher_list(ctx, "aRSA");
    }
}

static const char *ssl_error_text(apr_pool_t *p)
{
    const char *reasons = acme_ossl_reasons(p);

    return reasons ? reasons : "the connection ended";
}

static shake_e handshake(const char **pwhy, apr_pool_t *p, const address_t *a,
                         const char *sni, const acme_pkey_spec_t *spec,
                         const acme_cert_chain_t *expected)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    shake_e result = SHAKE_BAD;
    int fd = -1, rc;

    if (ctx == NULL) {
        *pwhy = "cannot make a TLS client";
        return SHAKE_NO_CONNECT;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    client_prefer(ctx, spec);
    if ((fd = connect_timed(a, ACME_SELFTEST_HANDSHAKE_TIMEOUT)) < 0) {
        *pwhy = apr_psprintf(p, "cannot connect to %s: %s", a->text, strerror(errno));
        result = SHAKE_NO_CONNECT;
        goto cleanup;
    }
    ssl = SSL_new(ctx);
    if (ssl == NULL || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, sni)) {
        *pwhy = "cannot set up the TLS connection";
        goto cleanup;
    }
    ERR_clear_error();
    if ((rc = SSL_connect(ssl)) != 1) {
        int err = SSL_get_error(ssl, rc);

        if (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            *pwhy = apr_psprintf(p, "%s did not answer the TLS handshake in time", a->text);
            result = SHAKE_NO_CONNECT;
        }
        else {
            *pwhy = apr_psprintf(p, "TLS handshake failed: %s", ssl_error_text(p));
        }
        goto cleanup;
    }
    if (acme_chain_presented_check(pwhy, p, expected, SSL_get_peer_cert_chain(ssl), sni,
                                   apr_time_now()) == APR_SUCCESS) {
        result = SHAKE_OK;
    }
    SSL_shutdown(ssl);
cleanup:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) {
        close(fd);
    }
    return result;
}

/* ------------------------------------------------ one domain */

/* The activated chain of a key spec, from LIVE. */
static const acme_cert_chain_t *live_chain(const char **pwhy, apr_pool_t *p,
                                           const acme_config_md_t *md, const char *spec_name)
{
    acme_cert_chain_t *chain;
    const char *pem;
    apr_size_t len;
    acme_store_t *store = acme_glue_store_get();

    if (store == NULL
        || acme_store_load(&pem, &len, p, store, ACME_STORE_LIVE, md->name,
                           acme_layout_pubcert(p, spec_name)) != APR_SUCCESS
        || acme_chain_from_pem(&chain, p, pem, len) != APR_SUCCESS) {
        *pwhy = apr_psprintf(p, "cannot read the activated %s certificate", spec_name);
        return NULL;
    }
    return chain;
}

static int is_ip(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* The names to send as SNI. */
static apr_array_header_t *sni_names(apr_pool_t *p, const acme_config_md_t *md)
{
    apr_array_header_t *names = apr_array_make(p, md->names->nelts, sizeof(const char *));
    int i;

    for (i = 0; i < md->names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(md->names, i, const char *);

        if (is_ip(name)) {
            continue;
        }
        APR_ARRAY_PUSH(names, const char *) = name[0] == '*' && name[1] == '.'
            ? apr_pstrcat(p, "mod-acme-selftest", name + 1, NULL) : name;
    }
    return names;
}

/* One handshake, tried again while it presents something else. */
static shake_e handshake_tries(const char **pwhy, apr_pool_t *p, const address_t *a,
                               const char *sni, const acme_pkey_spec_t *spec,
                               const acme_cert_chain_t *expected)
{
    shake_e r = SHAKE_BAD;
    int i;

    for (i = 0; i < ACME_SELFTEST_TRIES; ++i) {
        if (i > 0) {
            apr_sleep(ACME_SELFTEST_RETRY_GAP);
        }
        if ((r = handshake(pwhy, p, a, sni, spec, expected)) != SHAKE_BAD) {
            return r;
        }
    }
    return r;
}

static int domain_test(const char **pwhy, apr_pool_t *p, const acme_config_md_t *md,
                       apr_time_t deadline)
{
    const apr_array_header_t *specs = md->props.pkey_specs;
    apr_array_header_t *addrs = addresses_of(p, md), *names = sni_names(p, md);
    const char *why = NULL, *unreached = NULL;
    int a, n, k, passed = 0, missed = 0;

    if (addrs->nelts == 0) {
        *pwhy = "none of its virtual hosts has an https listener the server could name";
        return ACME_SELFTEST_UNREACHABLE;
    }
    if (names->nelts == 0) {
        *pwhy = "it has only IP address names, which cannot be asked for by SNI";
        return ACME_SELFTEST_UNREACHABLE;
    }
    for (a = 0; a < addrs->nelts; ++a) {
        const address_t *addr = &APR_ARRAY_IDX(addrs, a, address_t);
        int reached = 1;

        for (k = 0; reached && k < specs->nelts; ++k) {
            const acme_pkey_spec_t *spec = &APR_ARRAY_IDX(specs, k, acme_pkey_spec_t);
            const char *spec_name = acme_pkey_spec_name(p, spec);
            const acme_cert_chain_t *chain = live_chain(pwhy, p, md, spec_name);

            if (chain == NULL) {
                return ACME_SELFTEST_UNREACHABLE;
            }
            for (n = 0; reached && n < names->nelts; ++n) {
                const char *sni = APR_ARRAY_IDX(names, n, const char *);

                if (apr_time_now() > deadline) {
                    *pwhy = "the time budget of the self-test ran out";
                    return passed ? ACME_SELFTEST_PASSED : ACME_SELFTEST_UNREACHABLE;
                }
                switch (handshake_tries(&why, p, addr, sni, spec, chain)) {
                case SHAKE_OK:
                    passed++;
                    break;
                case SHAKE_NO_CONNECT:
                    reached = 0;        /* the other names would not reach it either */
                    missed++;
                    unreached = unreached ? unreached : why;
                    break;
                default:
                    *pwhy = apr_psprintf(p, "%s (%s) at %s: %s", sni, spec_name,
                                         addr->text, why);
                    return ACME_SELFTEST_FAILED;
                }
            }
        }
    }
    if (passed == 0) {
        *pwhy = apr_psprintf(p, "no https listener answered (%s)", unreached);
        return ACME_SELFTEST_UNREACHABLE;
    }
    *pwhy = apr_psprintf(p, "%d handshake(s) presented the new certificate and chain%s", passed,
                         missed ? apr_psprintf(p, "; %d listener(s) not reachable: %s", missed,
                                               unreached) : "");
    return ACME_SELFTEST_PASSED;
}

/* ------------------------------------------------ the process */

/* A verdict line: one line, whatever the text holds. */
static void verdict_write(int fd, apr_pool_t *p, int index, int state, const char *why)
{
    char *text = apr_pstrdup(p, why ? why : ""), *c;
    const char *line;

    for (c = text; *c; ++c) {
        if (*c == '\n' || *c == '\r') {
            *c = ' ';
        }
    }
    line = apr_psprintf(p, "%d %d %s\n", index, state, text);
    if (write(fd, line, strlen(line)) < 0) {
        _exit(1);
    }
}

void acme_selftest_probe_run(int fd, server_rec *s, const acme_config_global_t *g,
                             const acme_selftest_target_t *targets, int n)
{
    apr_time_t deadline = apr_time_now() + ACME_SELFTEST_BUDGET;
    int *states;
    apr_pool_t *p;
    int i;

    /* the parent's handlers only set flags of the parent's loop */
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        _exit(1);
    }
    states = apr_pcalloc(p, sizeof(*states) * (apr_size_t)n);
    for (i = 0; i < n; ++i) {
        const char *why = "";

        states[i] = domain_test(&why, p, targets[i].md, deadline);
        verdict_write(fd, p, targets[i].index, states[i], why);
    }
    if (write(fd, "end\n", 4) < 0) {
        _exit(1);
    }
    /* MDMessageCmd, as root as `installed` is; each run has its timeout */
    for (i = 0; i < n; ++i) {
        if (states[i] == ACME_SELFTEST_FAILED) {
            acme_cmd_message(p, s, g, ACME_CMD_ACTIVATION_FAILED, targets[i].md->name);
        }
    }
    _exit(0);
}
