/* The commands the shared store uses (acme_redis.h): GET, SET, DEL, scripts,
 * SCAN; each checks that the reply has the shape the command promises. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "acme_redis_int.h"

/* Keys asked for per SCAN round: a hint to the server, which bounds the
 * batch held in memory at once. */
#define CMD_SCAN_COUNT "100"

/* A reply of well-formed RESP but not the shape the command returns: a proxy
 * or a server of another kind. The connection stays usable. */
static apr_status_t cmd_unexpected(const char **perr, apr_pool_t *p, acme_redis_t *c,
                                   const char *what)
{
    if (perr) {
        *perr = apr_psprintf(p, "%s: unexpected reply to %s", acme_redis_name(c), what);
    }
    return ACME_REDIS_EPROTOCOL;
}

apr_status_t acme_redis_get(const char **pval, apr_size_t *plen, apr_pool_t *p,
                            acme_redis_t *conn, const char *key, const char **perr)
{
    const char *argv[2] = { "GET", key };
    apr_size_t argvlen[2] = { 3, strlen(key) };
    acme_redis_reply_t *r;
    apr_status_t rv;

    if ((rv = acme_redis_command(&r, p, conn, 2, argv, argvlen, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type == ACME_REDIS_REPLY_NIL) {
        return APR_ENOENT;
    }
    if (r->type != ACME_REDIS_REPLY_STRING) {
        return cmd_unexpected(perr, p, conn, "GET");
    }
    *pval = r->str;
    *plen = r->len;
    return APR_SUCCESS;
}

apr_status_t acme_redis_set(acme_redis_t *conn, apr_pool_t *p, const char *key,
                            const char *val, apr_size_t len, const acme_redis_set_opts_t *opts,
                            const char **perr)
{
    const char *argv[6] = { "SET", key, val };
    apr_size_t argvlen[6] = { 3, strlen(key), len };
    acme_redis_reply_t *r;
    apr_int64_t ms;
    apr_status_t rv;
    int argc = 3;

    if (opts != NULL && opts->expire > 0) {
        ms = apr_time_as_msec(opts->expire);
        argv[argc] = "PX";
        argvlen[argc++] = 2;
        argv[argc] = apr_psprintf(p, "%" APR_INT64_T_FMT, ms > 0 ? ms : 1);
        argvlen[argc] = strlen(argv[argc]);
        argc++;
    }
    if (opts != NULL && opts->nx) {
        argv[argc] = "NX";
        argvlen[argc++] = 2;
    }
    if ((rv = acme_redis_command(&r, p, conn, argc, argv, argvlen, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type == ACME_REDIS_REPLY_NIL && opts != NULL && opts->nx) {
        return APR_EEXIST;
    }
    if (r->type != ACME_REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) {
        return cmd_unexpected(perr, p, conn, "SET");
    }
    return APR_SUCCESS;
}

apr_status_t acme_redis_del(int *pdeleted, apr_pool_t *p, acme_redis_t *conn, const char *key,
                            const char **perr)
{
    const char *argv[2] = { "DEL", key };
    apr_size_t argvlen[2] = { 3, strlen(key) };
    acme_redis_reply_t *r;
    apr_status_t rv;

    if ((rv = acme_redis_command(&r, p, conn, 2, argv, argvlen, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type != ACME_REDIS_REPLY_INTEGER || r->integer < 0 || r->integer > 1) {
        return cmd_unexpected(perr, p, conn, "DEL");
    }
    if (pdeleted) {
        *pdeleted = (int)r->integer;
    }
    return APR_SUCCESS;
}

apr_status_t acme_redis_script_init(acme_redis_script_t *script, const char *body)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    script->body = body;
    if (EVP_Digest(body, strlen(body), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) {
        return APR_EGENERAL;
    }
    for (i = 0; i < mdlen; ++i) {
        script->sha1[2 * i] = hex[md[i] >> 4];
        script->sha1[2 * i + 1] = hex[md[i] & 0x0f];
    }
    script->sha1[40] = '\0';
    return APR_SUCCESS;
}

/* verb, script (body or SHA-1), the number of keys, the keys, the args. */
static apr_status_t cmd_eval(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *conn,
                             const char *verb, const char *script,
                             const acme_redis_args_t *keys, const acme_redis_args_t *args,
                             const char **perr)
{
    int nkeys = keys ? keys->argc : 0, nargs = args ? args->argc : 0, argc = 0, i;
    const char **argv = apr_palloc(p, (apr_size_t)(3 + nkeys + nargs) * sizeof(*argv));
    apr_size_t *argvlen = apr_palloc(p, (apr_size_t)(3 + nkeys + nargs) * sizeof(*argvlen));

    argv[argc++] = verb;
    argv[argc++] = script;
    argv[argc++] = apr_itoa(p, nkeys);
    for (i = 0; i < 3; ++i) {
        argvlen[i] = strlen(argv[i]);
    }
    for (i = 0; i < nkeys; ++i, ++argc) {
        argv[argc] = keys->argv[i];
        argvlen[argc] = keys->argvlen[i];
    }
    for (i = 0; i < nargs; ++i, ++argc) {
        argv[argc] = args->argv[i];
        argvlen[argc] = args->argvlen[i];
    }
    return acme_redis_command(preply, p, conn, argc, argv, argvlen, perr);
}

apr_status_t acme_redis_eval(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *conn,
                             const acme_redis_script_t *script, const acme_redis_args_t *keys,
                             const acme_redis_args_t *args, const char **perr)
{
    acme_redis_reply_t *r = NULL;
    apr_status_t rv;

    rv = cmd_eval(&r, p, conn, "EVALSHA", script->sha1, keys, args, perr);
    if (rv == ACME_REDIS_ESERVER && r != NULL && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        r = NULL;
        rv = cmd_eval(&r, p, conn, "EVAL", script->body, keys, args, perr);
    }
    if (r != NULL) {
        *preply = r;
    }
    return rv;
}

/* One SCAN round's reply: [cursor, [key, ...]]. */
static int cmd_scan_valid(const acme_redis_reply_t *r)
{
    const acme_redis_reply_t *cursor, *keys;
    apr_size_t i;

    if (r->type != ACME_REDIS_REPLY_ARRAY || r->elements != 2) {
        return 0;
    }
    cursor = r->element[0];
    keys = r->element[1];
    if (cursor->type != ACME_REDIS_REPLY_STRING || cursor->len == 0 || cursor->len > 20
        || keys->type != ACME_REDIS_REPLY_ARRAY) {
        return 0;
    }
    for (i = 0; i < cursor->len; ++i) {
        if (!apr_isdigit(cursor->str[i])) {
            return 0;
        }
    }
    for (i = 0; i < keys->elements; ++i) {
        if (keys->element[i]->type != ACME_REDIS_REPLY_STRING) {
            return 0;
        }
    }
    return 1;
}

apr_status_t acme_redis_scan(acme_redis_t *conn, apr_pool_t *p, const char *match,
                             acme_redis_scan_cb *cb, void *baton, const char **perr)
{
    const char *argv[6] = { "SCAN", "0", "COUNT", CMD_SCAN_COUNT, "MATCH", match };
    apr_size_t argvlen[6] = { 4, 1, 5, strlen(CMD_SCAN_COUNT), 5, match ? strlen(match) : 0 };
    char cursor[21] = "0";
    const acme_redis_reply_t *keys;
    acme_redis_reply_t *r;
    apr_pool_t *batch;
    const char *err = NULL;
    apr_status_t rv = APR_SUCCESS;
    apr_size_t i;

    apr_pool_create(&batch, p);
    do {
        apr_pool_clear(batch);
        argv[1] = cursor;
        argvlen[1] = strlen(cursor);
        rv = acme_redis_command(&r, batch, conn, match ? 6 : 4, argv, argvlen, &err);
        if (rv == APR_SUCCESS && !cmd_scan_valid(r)) {
            rv = cmd_unexpected(&err, batch, conn, "SCAN");
        }
        if (rv != APR_SUCCESS) {
            if (perr) {
                *perr = apr_pstrdup(p, err);
            }
            break;
        }
        keys = r->element[1];
        for (i = 0; i < keys->elements && rv == APR_SUCCESS; ++i) {
            rv = cb(baton, keys->element[i]->str, keys->element[i]->len);
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
    } while (rv == APR_SUCCESS && strcmp(cursor, "0") != 0);
    apr_pool_destroy(batch);
    return rv;
}
