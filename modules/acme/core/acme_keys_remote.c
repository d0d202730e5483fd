/* Key custody through the key holder: a request per operation over its Unix
 * socket (acme_keys_remote.h, protocol in acme_keyholder.h). Connections are
 * kept and reused: a renewal makes a dozen requests in a row. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "acme_b64.h"
#include "acme_csr.h"
#include "acme_jwk.h"
#include "acme_keyholder_int.h"
#include "acme_keys_remote.h"
#include "acme_seal.h"

/* Idle connections kept per custody: one per renewal worker (16 at most in
 * a child) at work at once is what a busy child uses; more are closed. */
#define REMOTE_IDLE_MAX 16
/* An idle connection is reused while the key holder surely still keeps it. */
#define REMOTE_IDLE_REUSE (ACME_KEYHOLDER_IDLE_TIMEOUT / 2)

typedef struct {
    int fd;
    apr_time_t since;
} remote_idle_t;

typedef struct {
    const char *socket_path;
    apr_interval_time_t timeout;
    apr_thread_mutex_t *lock;               /* idle, idle_count */
    remote_idle_t idle[REMOTE_IDLE_MAX];
    int idle_count;
} keys_remote_t;

/* The baton of an account key's signer: lives in the key's pool. */
typedef struct {
    keys_remote_t *kr;
    const char *account_id;
} remote_signer_t;

static apr_status_t remote_fail(const char **perr, apr_status_t rv, const char *why)
{
    if (perr) {
        *perr = why;
    }
    return rv;
}

/* A connected socket to the key holder, before `deadline`. A Unix connect
 * blocks only while the key holder's backlog is full; SO_SNDTIMEO bounds that
 * wait (Linux applies it to connect). Frames use MSG_DONTWAIT and poll. */
static apr_status_t remote_connect(int *pfd, keys_remote_t *kr, apr_time_t deadline)
{
    struct sockaddr_un addr;
    struct timeval tv;
    apr_interval_time_t left = deadline - apr_time_now();
    apr_status_t rv;
    int fd, err, dirfd;

    if (left <= 0) {
        return APR_TIMEUP;
    }
    if ((rv = acme_keyholder_addr(&addr, &dirfd, kr->socket_path)) != APR_SUCCESS) {
        return rv;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = errno;
        if (dirfd >= 0) {
            close(dirfd);
        }
        return APR_FROM_OS_ERROR(err);
    }
    tv.tv_sec = (time_t)apr_time_sec(left);
    tv.tv_usec = (suseconds_t)apr_time_usec(left);
    err = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0
        || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        err = errno;
    }
    if (dirfd >= 0) {
        close(dirfd);
    }
    if (err != 0) {
        close(fd);
        return (err == EAGAIN || err == EINPROGRESS || err == EWOULDBLOCK)
               ? APR_TIMEUP : APR_FROM_OS_ERROR(err);
    }
    *pfd = fd;
    return APR_SUCCESS;
}

/* An idle connection to reuse (the newest), or -1. Older ones the key
 * holder may close any moment are closed here. */
static int remote_idle_take(keys_remote_t *kr)
{
    apr_time_t now = apr_time_now();
    int fd = -1;

    if (kr->lock == NULL) {
        return -1;
    }
    apr_thread_mutex_lock(kr->lock);
    while (fd < 0 && kr->idle_count > 0) {
        remote_idle_t *last = &kr->idle[--kr->idle_count];

        if (now - last->since < REMOTE_IDLE_REUSE) {
            fd = last->fd;
        }
        else {
            close(last->fd);
        }
    }
    apr_thread_mutex_unlock(kr->lock);
    return fd;
}

/* Keeps a connection whose exchange completed, for the next request. */
static void remote_idle_put(keys_remote_t *kr, int fd)
{
    if (kr->lock != NULL) {
        apr_thread_mutex_lock(kr->lock);
        if (kr->idle_count < REMOTE_IDLE_MAX) {
            kr->idle[kr->idle_count].fd = fd;
            kr->idle[kr->idle_count].since = apr_time_now();
            kr->idle_count++;
            fd = -1;
        }
        apr_thread_mutex_unlock(kr->lock);
    }
    if (fd >= 0) {
        close(fd);
    }
}

static apr_status_t remote_idle_close_all(void *data)
{
    keys_remote_t *kr = data;

    while (kr->idle_count > 0) {
        close(kr->idle[--kr->idle_count].fd);
    }
    return APR_SUCCESS;
}

/* A reused connection that the key holder closed meanwhile (idle, or it was
 * restarted): the request goes again on a new one. Every operation may be
 * asked twice (signatures, CSRs and the EAB are made again; keys are read,
 * or made once). */
static int remote_stale(apr_status_t rv)
{
    return APR_STATUS_IS_EOF(rv) || APR_STATUS_IS_EPIPE(rv) || APR_STATUS_IS_ECONNRESET(rv);
}

/* One exchange: the request out, its answer in (*preply in p). */
static apr_status_t remote_exchange(char **preply, apr_size_t *plen, apr_pool_t *p,
                                    keys_remote_t *kr, const char *text, apr_time_t deadline,
                                    const char **perr)
{
    apr_status_t rv;
    int fd, reused;

    for (;;) {
        fd = remote_idle_take(kr);
        reused = fd >= 0;
        if (!reused && (rv = remote_connect(&fd, kr, deadline)) != APR_SUCCESS) {
            return remote_fail(perr, rv, "the key holder cannot be reached");
        }
        if ((rv = acme_keyholder_frame_write(fd, text, strlen(text), deadline)) == APR_SUCCESS
            && (rv = acme_keyholder_frame_read(preply, plen, p, fd, deadline))
               == APR_SUCCESS) {
            remote_idle_put(kr, fd);
            return APR_SUCCESS;
        }
        close(fd);
        if (!(reused && remote_stale(rv))) {
            return remote_fail(perr, rv, APR_STATUS_IS_TIMEUP(rv) ? "the key holder did not "
                               "answer in time" : "the key holder did not answer");
        }
    }
}

/* Sends `request` (consumed) and returns the "ok" answer, or the key
 * holder's status and reason. *panswer is a new reference. */
static apr_status_t remote_call(json_t **panswer, apr_pool_t *p, keys_remote_t *kr,
                                json_t *request, const char **perr)
{
    json_t *answer = NULL, *status;
    char *text = NULL, *reply;
    apr_size_t len;
    apr_status_t rv;

    text = request ? json_dumps(request, JSON_COMPACT) : NULL;
    json_decref(request);
    if (text == NULL) {
        return remote_fail(perr, APR_EINVAL, "the key holder request cannot be made");
    }
    if (strlen(text) > ACME_KEYHOLDER_FRAME_MAX) {
        /* e.g. a sealed text far bigger than a key's */
        rv = remote_fail(perr, APR_EINVAL, "the request is over the key holder's frame size");
        goto cleanup;
    }
    rv = remote_exchange(&reply, &len, p, kr, text, apr_time_now() + kr->timeout, perr);
    if (rv != APR_SUCCESS) {
        goto cleanup;
    }
    answer = json_loadb(reply, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(answer) || !json_is_boolean(json_object_get(answer, "ok"))) {
        rv = remote_fail(perr, APR_EGENERAL, "the key holder's answer is not valid");
        goto cleanup;
    }
    if (json_is_false(json_object_get(answer, "ok"))) {
        status = json_object_get(answer, "status");
        rv = json_is_integer(status) && json_integer_value(status) > 0
             && json_integer_value(status) <= 0x7fffffff
             ? (apr_status_t)json_integer_value(status) : APR_EGENERAL;
        rv = remote_fail(perr, rv, json_is_string(json_object_get(answer, "error"))
                         ? apr_pstrcat(p, "key holder: ", json_string_value(
                                       json_object_get(answer, "error")), NULL)
                         : "the key holder refused");
        goto cleanup;
    }
    *panswer = answer;
    answer = NULL;
cleanup:
    json_decref(answer);
    free(text);
    return rv;
}

/* The string member `name` of an ok answer. */
static apr_status_t remote_answer_string(const char **pvalue, apr_pool_t *p, json_t *answer,
                                         const char *name, const char **perr)
{
    json_t *v = json_object_get(answer, name);

    if (!json_is_string(v)) {
        return remote_fail(perr, APR_EGENERAL, "the key holder's answer is not valid");
    }
    *pvalue = apr_pstrdup(p, json_string_value(v));
    return APR_SUCCESS;
}

/* The public key in the "jwk" member of an ok answer. */
static apr_status_t remote_answer_key(acme_pkey_t **pkey, apr_pool_t *p, json_t *answer,
                                      const char **perr)
{
    json_t *jwk = json_object_get(answer, "jwk");

    if (!json_is_object(jwk) || json_object_get(jwk, "d") != NULL) {
        return remote_fail(perr, APR_EGENERAL, "the key holder's answer is not a public JWK");
    }
    return acme_jwk_to_pkey(pkey, p, jwk, perr);
}

static apr_status_t remote_sign(const char **psig, apr_pool_t *p, void *baton,
                                const char *input, apr_size_t len, const char **perr)
{
    remote_signer_t *signer = baton;
    json_t *answer = NULL;
    apr_status_t rv;

    rv = remote_call(&answer, p, signer->kr,
                     json_pack("{s:s, s:s, s:s%}", "op", "sign", "account",
                               signer->account_id, "input", input, len), perr);
    if (rv == APR_SUCCESS) {
        rv = remote_answer_string(psig, p, answer, "signature", perr);
    }
    json_decref(answer);
    return rv;
}

/* Makes the public half of an account key sign through the key holder. */
static void remote_account_signer(acme_pkey_t *key, apr_pool_t *p, keys_remote_t *kr,
                                  const char *account_id)
{
    remote_signer_t *signer = apr_pcalloc(p, sizeof(*signer));

    signer->kr = kr;
    signer->account_id = apr_pstrdup(p, account_id);
    acme_pkey_set_signer(key, remote_sign, signer);
}

static apr_status_t remote_account_key(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                       const char *account_id, int create, const char **perr)
{
    json_t *answer = NULL;
    acme_pkey_t *key;
    apr_status_t rv;

    rv = remote_call(&answer, p, baton,
                     json_pack("{s:s, s:s, s:b}", "op", "account-key", "account", account_id,
                               "create", create), perr);
    if (rv == APR_SUCCESS && (rv = remote_answer_key(&key, p, answer, perr)) == APR_SUCCESS) {
        remote_account_signer(key, p, baton, account_id);
        *pkey = key;
    }
    json_decref(answer);
    return rv;
}

static apr_status_t remote_eab(json_t **pjws, apr_pool_t *p, void *baton,
                               const char *account_id, const char *eab_kid,
                               const char *eab_hmac, const char *url, const char **perr)
{
    json_t *answer = NULL, *jws;
    apr_status_t rv;

    (void)eab_hmac;  /* a child has none: the key holder uses the configured one */
    rv = remote_call(&answer, p, baton,
                     json_pack("{s:s, s:s, s:s, s:s}", "op", "eab", "account", account_id,
                               "eab-kid", eab_kid, "url", url), perr);
    if (rv == APR_SUCCESS) {
        jws = json_object_get(answer, "jws");
        if (json_is_object(jws) && json_object_size(jws) == 3
            && json_is_string(json_object_get(jws, "protected"))
            && json_is_string(json_object_get(jws, "payload"))
            && json_is_string(json_object_get(jws, "signature"))) {
            *pjws = json_incref(jws);
        }
        else {
            rv = remote_fail(perr, APR_EGENERAL, "the key holder's answer is not a JWS");
        }
    }
    json_decref(answer);
    return rv;
}

static apr_status_t remote_domain_key(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                      const char *md, const acme_pkey_spec_t *spec,
                                      int create, const char **perr)
{
    json_t *answer = NULL;
    apr_status_t rv;

    rv = remote_call(&answer, p, baton,
                     json_pack("{s:s, s:s, s:s, s:b}", "op", "domain-key", "md", md,
                               "spec", acme_pkey_spec_name(p, spec), "create", create), perr);
    if (rv == APR_SUCCESS) {
        rv = remote_answer_key(pkey, p, answer, perr);
    }
    json_decref(answer);
    return rv;
}

static apr_status_t remote_csr(const unsigned char **pder, apr_size_t *plen, apr_pool_t *p,
                               void *baton, const char *md, const acme_pkey_spec_t *spec,
                               const apr_array_header_t *names, unsigned int flags,
                               const char **perr)
{
    json_t *answer = NULL, *jnames = json_array();
    const char *b64;
    unsigned char *der;
    apr_size_t len;
    apr_status_t rv;
    int i;

    for (i = 0; jnames && i < names->nelts; i++) {
        json_array_append_new(jnames, json_string(APR_ARRAY_IDX(names, i, const char *)));
    }
    rv = remote_call(&answer, p, baton,
                     json_pack("{s:s, s:s, s:s, s:o, s:b}", "op", "csr", "md", md,
                               "spec", acme_pkey_spec_name(p, spec), "names", jnames,
                               "must-staple", (flags & ACME_CSR_MUST_STAPLE) != 0),
                     perr);
    if (rv == APR_SUCCESS
        && (rv = remote_answer_string(&b64, p, answer, "csr", perr)) == APR_SUCCESS) {
        if (acme_b64url_decode_str(&der, &len, p, b64) != APR_SUCCESS || len == 0) {
            rv = remote_fail(perr, APR_EGENERAL, "the key holder's CSR is not base64url");
        }
        else {
            *pder = der;
            *plen = len;
        }
    }
    json_decref(answer);
    return rv;
}

/* The request naming `which`'s key, with the op and "aad" ("sealed" added
 * by unseal). */
static json_t *remote_which_request(apr_pool_t *p, const char *op_what,
                                    const acme_keys_which_t *which, const char *aad)
{
    if (which->account_id) {
        return json_pack("{s:s, s:s, s:s}", "op", apr_pstrcat(p, op_what, "-account-key", NULL),
                         "account", which->account_id, "aad", aad);
    }
    return json_pack("{s:s, s:s, s:s, s:s}", "op", apr_pstrcat(p, op_what, "-domain-key", NULL),
                     "md", which->md, "spec", acme_pkey_spec_name(p, which->spec), "aad", aad);
}

static apr_status_t remote_seal(const char **psealed, apr_pool_t *p, void *baton,
                                const acme_keys_which_t *which, const char *aad,
                                const char **perr)
{
    json_t *answer = NULL;
    const char *sealed;
    apr_status_t rv;

    rv = remote_call(&answer, p, baton, remote_which_request(p, "seal", which, aad), perr);
    if (rv == APR_SUCCESS
        && (rv = remote_answer_string(&sealed, p, answer, "sealed", perr)) == APR_SUCCESS) {
        if (acme_seal_is_sealed(sealed, strlen(sealed))) {
            *psealed = sealed;
        }
        else {
            rv = remote_fail(perr, APR_EGENERAL, "the key holder's answer is not sealed");
        }
    }
    json_decref(answer);
    return rv;
}

static apr_status_t remote_unseal(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                  const acme_keys_which_t *which, const char *sealed,
                                  const char *aad, const char **perr)
{
    json_t *request = remote_which_request(p, "unseal", which, aad), *answer = NULL;
    acme_pkey_t *key;
    apr_status_t rv;

    if (request != NULL && json_object_set_new(request, "sealed", json_string(sealed)) != 0) {
        json_decref(request);
        request = NULL;     /* remote_call() says so */
    }
    rv = remote_call(&answer, p, baton, request, perr);
    if (rv == APR_SUCCESS && (rv = remote_answer_key(&key, p, answer, perr)) == APR_SUCCESS) {
        if (which->account_id) {
            remote_account_signer(key, p, baton, which->account_id);
        }
        *pkey = key;
    }
    json_decref(answer);
    return rv;
}

static const acme_keys_ops_t remote_ops = {
    "remote", remote_account_key, remote_eab, remote_domain_key, remote_csr, remote_seal,
    remote_unseal
};

acme_keys_t *acme_keys_remote(apr_pool_t *p, const char *socket_path,
                              apr_interval_time_t timeout)
{
    keys_remote_t *kr = apr_pcalloc(p, sizeof(*kr));

    kr->socket_path = apr_pstrdup(p, socket_path);
    kr->timeout = timeout;
    /* without a lock (out of memory), every request has a connection of its own */
    if (apr_thread_mutex_create(&kr->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS) {
        kr->lock = NULL;
    }
    apr_pool_cleanup_register(p, kr, remote_idle_close_all, apr_pool_cleanup_null);
    return acme_keys_create(p, &remote_ops, kr);
}
