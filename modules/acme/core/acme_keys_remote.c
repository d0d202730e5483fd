/* Key custody through the key holder: a request per operation over its Unix
 * socket (acme_keys_remote.h, protocol in acme_keyholder.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_csr.h"
#include "acme_jwk.h"
#include "acme_keyholder_int.h"
#include "acme_keys_remote.h"

typedef struct {
    const char *socket_path;
    apr_interval_time_t timeout;
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

/* Sends `request` (consumed) and returns the "ok" answer, or the key
 * holder's status and reason. *panswer is a new reference. */
static apr_status_t remote_call(json_t **panswer, apr_pool_t *p, keys_remote_t *kr,
                                json_t *request, const char **perr)
{
    apr_time_t deadline = apr_time_now() + kr->timeout;
    json_t *answer = NULL, *status;
    char *text = NULL, *reply;
    apr_size_t len;
    apr_status_t rv;
    int fd = -1;

    text = request ? json_dumps(request, JSON_COMPACT) : NULL;
    json_decref(request);
    if (text == NULL) {
        return remote_fail(perr, APR_EINVAL, "the key holder request cannot be made");
    }
    if ((rv = remote_connect(&fd, kr, deadline)) != APR_SUCCESS) {
        rv = remote_fail(perr, rv, "the key holder cannot be reached");
        goto cleanup;
    }
    if ((rv = acme_keyholder_frame_write(fd, text, strlen(text), deadline)) != APR_SUCCESS
        || (rv = acme_keyholder_frame_read(&reply, &len, p, fd, deadline)) != APR_SUCCESS) {
        rv = remote_fail(perr, rv, APR_STATUS_IS_TIMEUP(rv) ? "the key holder did not answer"
                         " in time" : "the key holder did not answer");
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
    if (fd >= 0) {
        close(fd);
    }
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

static apr_status_t remote_account_key(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                       const char *account_id, int create, const char **perr)
{
    remote_signer_t *signer;
    json_t *answer = NULL;
    acme_pkey_t *key;
    apr_status_t rv;

    rv = remote_call(&answer, p, baton,
                     json_pack("{s:s, s:s, s:b}", "op", "account-key", "account", account_id,
                               "create", create), perr);
    if (rv == APR_SUCCESS && (rv = remote_answer_key(&key, p, answer, perr)) == APR_SUCCESS) {
        signer = apr_pcalloc(p, sizeof(*signer));
        signer->kr = baton;
        signer->account_id = apr_pstrdup(p, account_id);
        acme_pkey_set_signer(key, remote_sign, signer);
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

static const acme_keys_ops_t remote_ops = {
    "remote", remote_account_key, remote_eab, remote_domain_key, remote_csr
};

acme_keys_t *acme_keys_remote(apr_pool_t *p, const char *socket_path,
                              apr_interval_time_t timeout)
{
    keys_remote_t *kr = apr_pcalloc(p, sizeof(*kr));

    kr->socket_path = apr_pstrdup(p, socket_path);
    kr->timeout = timeout;
    return acme_keys_create(p, &remote_ops, kr);
}
