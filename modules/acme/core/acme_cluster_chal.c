/* The cluster's members and challenge answers (see acme_cluster_chal.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "acme_cluster_chal.h"
#include "acme_keyauth.h"
#include "acme_names.h"

#define ID_MAX 128
/* A thumbprint: base64url of a SHA-256, unpadded. */
#define THUMBPRINT_LEN 43
/* Acknowledgements outlive the answer a little: they are only waited for
 * while it is fresh. */
#define ACK_TTL apr_time_from_sec(900)

/* One command of text arguments, NULL-terminated. */
static apr_status_t cmd(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *conn,
                        const char **perr, ...)
{
    const char *argv[16];
    apr_size_t lens[16];
    acme_redis_reply_t *reply;
    int argc = 0;
    va_list ap;

    va_start(ap, perr);
    while (argc < 16 && (argv[argc] = va_arg(ap, const char *)) != NULL) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    va_end(ap);
    return acme_redis_command(preply ? preply : &reply, p, conn, argc, argv, lens, perr);
}

static const char *ms_text(apr_pool_t *p, apr_time_t t)
{
    return apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_as_msec(t));
}

static int id_is_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    const char *c;

    if (n == 0 || n > ID_MAX) {
        return 0;
    }
    for (c = id; *c; ++c) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

int acme_cluster_chal_is_valid(const acme_cluster_chal_t *chal)
{
    size_t tl = chal->token ? strlen(chal->token) : 0;
    const char *tp;

    if (!chal->domain || acme_names_check_domain(chal->domain, 0) != APR_SUCCESS
        || !chal->token || !acme_keyauth_token_is_valid(chal->token)
        || !chal->keyauth || strncmp(chal->keyauth, chal->token, tl) != 0
        || chal->keyauth[tl] != '.' || !id_is_valid(chal->by)) {
        return 0;
    }
    tp = chal->keyauth + tl + 1;
    return strlen(tp) == THUMBPRINT_LEN
           && strspn(tp, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
              == THUMBPRINT_LEN;
}

apr_status_t acme_cluster_server_announce(acme_redis_t *conn, apr_pool_t *p, const char *ns,
                                          const char *id, apr_interval_time_t ttl,
                                          const char **perr)
{
    apr_status_t rv;

    if (!id_is_valid(id) || ttl < apr_time_from_msec(1)) {
        *perr = "not a server id or no ttl";
        return APR_EINVAL;
    }
    rv = cmd(NULL, p, conn, perr, "SADD", apr_pstrcat(p, ns, ":servers", NULL), id, NULL);
    if (rv == APR_SUCCESS) {
        rv = cmd(NULL, p, conn, perr, "SET", apr_pstrcat(p, ns, ":server:", id, NULL), "1",
                 "PX", ms_text(p, ttl), NULL);
    }
    return rv;
}

/* The string elements of an array reply that pass `valid`, at most max. */
static apr_array_header_t *strings_of(apr_pool_t *p, const acme_redis_reply_t *reply, int max,
                                      int (*valid)(const char *))
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    apr_size_t i;

    for (i = 0; reply->type == ACME_REDIS_REPLY_ARRAY && i < reply->elements; ++i) {
        const acme_redis_reply_t *e = reply->element[i];
        if (out->nelts < max && e->type == ACME_REDIS_REPLY_STRING
            && strlen(e->str) == e->len && valid(e->str)) {
            APR_ARRAY_PUSH(out, const char *) = e->str;
        }
    }
    return out;
}

apr_status_t acme_cluster_servers_live(apr_array_header_t **pids, apr_pool_t *p,
                                       acme_redis_t *conn, const char *ns, const char **perr)
{
    const char *set = apr_pstrcat(p, ns, ":servers", NULL);
    const char *argv[ACME_CLUSTER_SERVERS_MAX + 1];
    apr_size_t lens[ACME_CLUSTER_SERVERS_MAX + 1];
    apr_array_header_t *ids, *live;
    acme_redis_reply_t *reply, *alive;
    apr_status_t rv;
    int i;

    *pids = NULL;
    if ((rv = cmd(&reply, p, conn, perr, "SMEMBERS", set, NULL)) != APR_SUCCESS) {
        return rv;
    }
    ids = strings_of(p, reply, ACME_CLUSTER_SERVERS_MAX, id_is_valid);
    live = apr_array_make(p, ids->nelts + 1, sizeof(const char *));
    if (ids->nelts == 0) {
        *pids = live;
        return APR_SUCCESS;
    }
    argv[0] = "MGET";
    lens[0] = 4;
    for (i = 0; i < ids->nelts; ++i) {
        argv[i + 1] = apr_pstrcat(p, ns, ":server:", APR_ARRAY_IDX(ids, i, const char *), NULL);
        lens[i + 1] = strlen(argv[i + 1]);
    }
    rv = acme_redis_command(&alive, p, conn, ids->nelts + 1, argv, lens, perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < ids->nelts && (apr_size_t)i < alive->elements; ++i) {
        const char *id = APR_ARRAY_IDX(ids, i, const char *);
        if (alive->element[i]->type == ACME_REDIS_REPLY_NIL) {
            cmd(NULL, p, conn, perr, "SREM", set, id, NULL);     /* gone: pruned */
        }
        else {
            APR_ARRAY_PUSH(live, const char *) = id;
        }
    }
    *pids = live;
    return APR_SUCCESS;
}

static const char *chal_key(apr_pool_t *p, const char *ns, const char *kind,
                            const acme_cluster_chal_t *chal)
{
    return apr_pstrcat(p, ns, ":", kind, ":", chal->domain, ":", chal->token, NULL);
}

apr_status_t acme_cluster_chal_publish(acme_redis_t *conn, apr_pool_t *p, const char *ns,
                                       const acme_cluster_chal_t *chal, const char **perr)
{
    apr_time_t now = apr_time_now();
    json_t *val;
    char *text;
    const char *ttl;
    apr_status_t rv;

    if (!acme_cluster_chal_is_valid(chal) || chal->expires <= now) {
        *perr = "not a challenge answer, or expired";
        return APR_EINVAL;
    }
    val = json_pack("{s:s, s:s}", "by", chal->by, "keyauth", chal->keyauth);
    text = val ? json_dumps(val, JSON_COMPACT) : NULL;
    json_decref(val);
    if (!text) {
        *perr = "cannot encode the answer";
        return APR_ENOMEM;
    }
    ttl = ms_text(p, chal->expires - now);
    rv = cmd(NULL, p, conn, perr, "SET", chal_key(p, ns, "chal", chal), text, "PX", ttl, NULL);
    free(text);
    if (rv == APR_SUCCESS) {
        rv = cmd(NULL, p, conn, perr, "ZADD", apr_pstrcat(p, ns, ":chals", NULL),
                 ms_text(p, chal->expires),
                 apr_pstrcat(p, chal->domain, " ", chal->token, NULL), NULL);
    }
    if (rv == APR_SUCCESS) {
        rv = cmd(NULL, p, conn, perr, "ZREMRANGEBYSCORE", apr_pstrcat(p, ns, ":chals", NULL),
                 "-inf", apr_psprintf(p, "(%s", ms_text(p, now)), NULL);
    }
    return rv;
}

/* The answer stored for index entry "<domain> <token>", or NULL. */
static acme_cluster_chal_t *chal_read(apr_pool_t *p, acme_redis_t *conn, const char *ns,
                                      const char *entry, apr_time_t expires)
{
    acme_cluster_chal_t *chal = apr_pcalloc(p, sizeof(*chal));
    const char *sp = strchr(entry, ' '), *text, *err;
    apr_size_t len;
    json_t *val;

    if (!sp) {
        return NULL;
    }
    chal->domain = apr_pstrmemdup(p, entry, (apr_size_t)(sp - entry));
    chal->token = sp + 1;
    chal->expires = expires;
    if (acme_names_check_domain(chal->domain, 0) != APR_SUCCESS
        || !acme_keyauth_token_is_valid(chal->token)
        || acme_redis_get(&text, &len, p, conn, chal_key(p, ns, "chal", chal), &err)
           != APR_SUCCESS) {
        return NULL;
    }
    val = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    chal->by = apr_pstrdup(p, json_string_value(json_object_get(val, "by")));
    chal->keyauth = apr_pstrdup(p, json_string_value(json_object_get(val, "keyauth")));
    json_decref(val);
    return acme_cluster_chal_is_valid(chal) ? chal : NULL;
}

apr_status_t acme_cluster_chal_list(apr_array_header_t **pchals, apr_pool_t *p,
                                    acme_redis_t *conn, const char *ns, apr_time_t now,
                                    const char **perr)
{
    const char *index = apr_pstrcat(p, ns, ":chals", NULL);
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(acme_cluster_chal_t));
    acme_redis_reply_t *reply;
    apr_status_t rv;
    apr_size_t i;

    *pchals = NULL;
    rv = cmd(&reply, p, conn, perr, "ZRANGEBYSCORE", index, ms_text(p, now), "+inf",
             "WITHSCORES", "LIMIT", "0", apr_itoa(p, ACME_CLUSTER_CHALS_MAX), NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; reply->type == ACME_REDIS_REPLY_ARRAY && i + 1 < reply->elements; i += 2) {
        const acme_redis_reply_t *m = reply->element[i], *s = reply->element[i + 1];
        acme_cluster_chal_t *chal;
        char *end;
        apr_int64_t ms;

        if (m->type != ACME_REDIS_REPLY_STRING || s->type != ACME_REDIS_REPLY_STRING
            || strlen(m->str) != m->len) {
            continue;
        }
        ms = apr_strtoi64(s->str, &end, 10);
        if (*end != '\0' || ms <= 0) {
            continue;
        }
        if ((chal = chal_read(p, conn, ns, m->str, apr_time_from_msec(ms))) != NULL) {
            APR_ARRAY_PUSH(out, acme_cluster_chal_t) = *chal;
        }
    }
    *pchals = out;
    return APR_SUCCESS;
}

apr_status_t acme_cluster_chal_ack(acme_redis_t *conn, apr_pool_t *p, const char *ns,
                                   const acme_cluster_chal_t *chal, const char *id,
                                   const char **perr)
{
    const char *key = chal_key(p, ns, "chal-ack", chal);
    apr_status_t rv;

    if (!id_is_valid(id)) {
        *perr = "not a server id";
        return APR_EINVAL;
    }
    rv = cmd(NULL, p, conn, perr, "SADD", key, id, NULL);
    if (rv == APR_SUCCESS) {
        rv = cmd(NULL, p, conn, perr, "PEXPIRE", key, ms_text(p, ACK_TTL), NULL);
    }
    return rv;
}

apr_status_t acme_cluster_chal_acks(apr_array_header_t **pids, apr_pool_t *p,
                                    acme_redis_t *conn, const char *ns,
                                    const acme_cluster_chal_t *chal, const char **perr)
{
    acme_redis_reply_t *reply;
    apr_status_t rv;

    *pids = NULL;
    rv = cmd(&reply, p, conn, perr, "SMEMBERS", chal_key(p, ns, "chal-ack", chal), NULL);
    if (rv == APR_SUCCESS) {
        *pids = strings_of(p, reply, ACME_CLUSTER_SERVERS_MAX, id_is_valid);
    }
    return rv;
}
