/* Leases on the shared Redis store (acme_lease.h): names, acquire, peek,
 * renew, release. Fenced writes: acme_lease_fenced.c. */
#include <string.h>

#include <apr_strings.h>

#include "acme_lease_int.h"
#include "acme_names.h"

/* The scripts. Each runs atomically in Redis: no other client's command
 * comes between its check and its change. */

/* KEYS: lease, fence. ARGV: holder, ttl (ms).
 * Free: the next token from the counter, the lease set to "<token> <holder>"
 * with the ttl: {1, value}. Held: {0, value, PTTL}, nothing changed.
 * ('%d' prints a token exactly up to 2^53: Lua's numbers are doubles.) */
static const char lease_acquire_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v then return {0, v, redis.call('PTTL', KEYS[1])} end\n"
    "v = string.format('%d', redis.call('INCR', KEYS[2])) .. ' ' .. ARGV[1]\n"
    "redis.call('SET', KEYS[1], v, 'PX', ARGV[2])\n"
    "return {1, v}\n";

/* KEYS: lease. {value, PTTL}; nil when free. */
static const char lease_peek_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return false end\n"
    "return {v, redis.call('PTTL', KEYS[1])}\n";

/* KEYS: lease. ARGV: our value, ttl (ms).
 * 1 when renewed; else the lease's value now (nil when gone). */
static const char lease_renew_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then return v end\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "return 1\n";

/* KEYS: lease. ARGV: our value. As renew, deleting. */
static const char lease_release_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then return v end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return 1\n";

/* Tokens have at most this many digits (no overflow while parsing; INCR
 * would need centuries to get there). */
#define LEASE_TOKEN_DIGITS 18

int acme_lease_visible_ok(const char *s, apr_size_t max)
{
    apr_size_t len = s ? strlen(s) : 0, i;

    if (len == 0 || len > max) {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* No ':' in a namespace: the first ':' of a key ends it, so that no
 * namespace plus name can spell a key of another namespace. */
static int lease_ns_ok(const char *ns)
{
    apr_size_t len = ns ? strlen(ns) : 0, i;
    char c;

    if (len == 0 || len > ACME_LEASE_NS_MAX) {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        c = ns[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

static apr_status_t lease_bad_name(const char **perr, apr_pool_t *p, const char *what,
                                   const char *value, const char *rule)
{
    if (perr) {
        *perr = apr_psprintf(p, "lease %s \"%s\" not allowed: %s", what,
                             acme_names_printable(p, value), rule);
    }
    return ACME_LEASE_EBADNAME;
}

static apr_status_t lease_names_check(apr_pool_t *p, const char *ns, const char *name,
                                      const char **perr)
{
    if (!lease_ns_ok(ns)) {
        return lease_bad_name(perr, p, "namespace", ns, "1-64 of A-Z a-z 0-9 . _ -");
    }
    if (!acme_lease_visible_ok(name, ACME_LEASE_NAME_MAX)) {
        return lease_bad_name(perr, p, "name", name, "1-200 visible ASCII characters");
    }
    return APR_SUCCESS;
}

static apr_status_t lease_ttl_ms(const char **pms, apr_interval_time_t *pttl, apr_pool_t *p,
                                 apr_interval_time_t ttl, const char **perr)
{
    apr_int64_t ms = apr_time_as_msec(ttl);

    if (ms < 1) {
        if (perr) {
            *perr = apr_pstrdup(p, "lease ttl below 1 ms");
        }
        return APR_EINVAL;
    }
    *pms = apr_psprintf(p, "%" APR_INT64_T_FMT, ms);
    *pttl = apr_time_from_msec(ms);   /* what Redis counts: whole ms */
    return APR_SUCCESS;
}

static apr_status_t lease_unexpected(const char **perr, apr_pool_t *p, acme_redis_t *conn,
                                     const char *what)
{
    if (perr) {
        *perr = apr_psprintf(p, "%s: unexpected reply to lease %s", acme_redis_name(conn), what);
    }
    return ACME_REDIS_EPROTOCOL;
}

/* "<token> <holder>" as the acquire script writes it: 1 with *ptoken and
 * *pholder (in p); 0 for anything else (a key written by hand). */
static int lease_value_parse(apr_int64_t *ptoken, const char **pholder, apr_pool_t *p,
                             const acme_redis_reply_t *r)
{
    apr_int64_t token = 0;
    apr_size_t i = 0;
    const char *holder;

    while (i < r->len && i < LEASE_TOKEN_DIGITS && r->str[i] >= '0' && r->str[i] <= '9') {
        token = token * 10 + (r->str[i++] - '0');
    }
    if (i == 0 || token == 0 || i >= r->len || r->str[i] != ' ') {
        return 0;
    }
    holder = apr_pstrmemdup(p, r->str + i + 1, r->len - i - 1);
    if (strlen(holder) != r->len - i - 1 || !acme_lease_visible_ok(holder, ACME_LEASE_HOLDER_MAX)) {
        return 0;
    }
    *ptoken = token;
    *pholder = holder;
    return 1;
}

static void lease_busy_fill(acme_lease_busy_t *busy, apr_pool_t *p, const acme_redis_reply_t *val,
                            apr_int64_t pttl_ms)
{
    if (!lease_value_parse(&busy->token, &busy->holder, p, val)) {
        busy->token = 0;
        busy->holder = "?";
    }
    busy->remaining = pttl_ms >= 0 ? apr_time_from_msec(pttl_ms) : -1;
}

static const char *lease_busy_text(apr_pool_t *p, const acme_lease_busy_t *busy)
{
    if (busy->remaining < 0) {
        return apr_psprintf(p, "held by %s (token %" APR_INT64_T_FMT ") with no expiry",
                            busy->holder, busy->token);
    }
    return apr_psprintf(p, "held by %s (token %" APR_INT64_T_FMT ") for %" APR_INT64_T_FMT
                        " ms more", busy->holder, busy->token,
                        (apr_int64_t)apr_time_as_msec(busy->remaining));
}

apr_status_t acme_lease_eval(acme_redis_reply_t **preply, apr_pool_t *p, acme_redis_t *conn,
                             const char *body, int nkeys, const char *const *keys,
                             const apr_size_t *keylens, int nargs, const char *const *args,
                             const apr_size_t *arglens, const char **perr)
{
    acme_redis_args_t k = { nkeys, keys, keylens }, a = { nargs, args, arglens };
    acme_redis_script_t script;

    /* made per call: a SHA-1 of a few hundred bytes costs less than sharing
     * one between threads safely */
    if (acme_redis_script_init(&script, body) != APR_SUCCESS) {
        if (perr) {
            *perr = apr_psprintf(p, "%s: SHA-1 of a lease script failed", acme_redis_name(conn));
        }
        return APR_EGENERAL;
    }
    return acme_redis_eval(preply, p, conn, &script, &k, &a, perr);
}

apr_status_t acme_lease_owned_reply(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                    const acme_redis_reply_t *r, const char *what,
                                    const char **perr)
{
    acme_lease_busy_t now;
    const char *why;

    if (r->type == ACME_REDIS_REPLY_INTEGER && r->integer == 1) {
        return APR_SUCCESS;
    }
    if (r->type == ACME_REDIS_REPLY_NIL) {
        why = "expired or deleted";
    }
    else if (r->type == ACME_REDIS_REPLY_STRING) {
        lease_busy_fill(&now, p, r, 0);
        why = apr_psprintf(p, "now held by %s (token %" APR_INT64_T_FMT ")", now.holder,
                           now.token);
    }
    else {
        return lease_unexpected(perr, p, conn, what);
    }
    if (perr) {
        *perr = apr_psprintf(p, "%s: %s refused: lease %s (token %" APR_INT64_T_FMT ") lost: %s",
                             acme_redis_name(conn), what, lse->key, lse->token, why);
    }
    return ACME_LEASE_ELOST;
}

/* {1, value} or {0, value, PTTL}. */
static int lease_acquire_reply_ok(const acme_redis_reply_t *r)
{
    if (r->type != ACME_REDIS_REPLY_ARRAY || r->elements < 2
        || r->element[0]->type != ACME_REDIS_REPLY_INTEGER
        || r->element[1]->type != ACME_REDIS_REPLY_STRING) {
        return 0;
    }
    if (r->element[0]->integer == 1) {
        return r->elements == 2;
    }
    return r->element[0]->integer == 0 && r->elements == 3
           && r->element[2]->type == ACME_REDIS_REPLY_INTEGER;
}

apr_status_t acme_lease_acquire(acme_lease_t **plse, apr_pool_t *p, acme_redis_t *conn,
                                const char *ns, const char *name, const char *holder,
                                apr_interval_time_t ttl, acme_lease_busy_t *busy,
                                const char **perr)
{
    const char *keys[2], *args[2], *got_holder = NULL;
    apr_size_t keylens[2], arglens[2];
    acme_redis_reply_t *r = NULL;
    acme_lease_busy_t other;
    acme_lease_t *lse;
    apr_time_t sent;
    apr_status_t rv;

    if ((rv = lease_names_check(p, ns, name, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!acme_lease_visible_ok(holder, ACME_LEASE_HOLDER_MAX)) {
        return lease_bad_name(perr, p, "holder", holder, "1-128 visible ASCII characters");
    }
    lse = apr_pcalloc(p, sizeof(*lse));
    if ((rv = lease_ttl_ms(&args[1], &ttl, p, ttl, perr)) != APR_SUCCESS) {
        return rv;
    }
    lse->ns = apr_pstrdup(p, ns);
    lse->name = apr_pstrdup(p, name);
    lse->holder = apr_pstrdup(p, holder);
    lse->key = apr_pstrcat(p, ns, ":lease:", name, NULL);
    keys[0] = lse->key;
    keys[1] = apr_pstrcat(p, ns, ":fence:", name, NULL);
    keylens[0] = strlen(keys[0]);
    keylens[1] = strlen(keys[1]);
    args[0] = lse->holder;
    arglens[0] = strlen(args[0]);
    arglens[1] = strlen(args[1]);

    sent = apr_time_now();
    rv = acme_lease_eval(&r, p, conn, lease_acquire_lua, 2, keys, keylens, 2, args, arglens,
                         perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!lease_acquire_reply_ok(r)) {
        return lease_unexpected(perr, p, conn, "acquire");
    }
    if (r->element[0]->integer == 0) {
        lease_busy_fill(&other, p, r->element[1], r->element[2]->integer);
        if (busy) {
            *busy = other;
        }
        if (perr) {
            *perr = apr_psprintf(p, "%s: lease %s %s", acme_redis_name(conn), lse->key,
                                 lease_busy_text(p, &other));
        }
        return ACME_LEASE_EBUSY;
    }
    if (!lease_value_parse(&lse->token, &got_holder, p, r->element[1])
        || strcmp(got_holder, holder) != 0) {
        return lease_unexpected(perr, p, conn, "acquire");
    }
    lse->value = apr_pstrmemdup(p, r->element[1]->str, r->element[1]->len);
    lse->expires = sent + ttl;
    *plse = lse;
    return APR_SUCCESS;
}

apr_status_t acme_lease_peek(acme_lease_busy_t *busy, apr_pool_t *p, acme_redis_t *conn,
                             const char *ns, const char *name, const char **perr)
{
    const char *keys[1];
    apr_size_t keylens[1];
    acme_redis_reply_t *r = NULL;
    apr_status_t rv;

    if ((rv = lease_names_check(p, ns, name, perr)) != APR_SUCCESS) {
        return rv;
    }
    keys[0] = apr_pstrcat(p, ns, ":lease:", name, NULL);
    keylens[0] = strlen(keys[0]);
    rv = acme_lease_eval(&r, p, conn, lease_peek_lua, 1, keys, keylens, 0, NULL, NULL, perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (r->type == ACME_REDIS_REPLY_NIL) {
        return APR_ENOENT;
    }
    if (r->type != ACME_REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != ACME_REDIS_REPLY_STRING
        || r->element[1]->type != ACME_REDIS_REPLY_INTEGER) {
        return lease_unexpected(perr, p, conn, "peek");
    }
    lease_busy_fill(busy, p, r->element[0], r->element[1]->integer);
    return APR_SUCCESS;
}

apr_status_t acme_lease_renew(acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                              apr_interval_time_t ttl, const char **perr)
{
    const char *keys[1] = { lse->key }, *args[2] = { lse->value };
    apr_size_t keylens[1] = { strlen(lse->key) }, arglens[2] = { strlen(lse->value) };
    acme_redis_reply_t *r = NULL;
    apr_time_t sent;
    apr_status_t rv;

    if ((rv = lease_ttl_ms(&args[1], &ttl, p, ttl, perr)) != APR_SUCCESS) {
        return rv;
    }
    arglens[1] = strlen(args[1]);
    sent = apr_time_now();
    rv = acme_lease_eval(&r, p, conn, lease_renew_lua, 1, keys, keylens, 2, args, arglens, perr);
    if (rv == APR_SUCCESS) {
        rv = acme_lease_owned_reply(lse, p, conn, r, "renew", perr);
    }
    if (rv == APR_SUCCESS) {
        lse->expires = sent + ttl;
    }
    return rv;
}

apr_status_t acme_lease_release(acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                int *plost, const char **perr)
{
    const char *keys[1] = { lse->key }, *args[1] = { lse->value };
    apr_size_t keylens[1] = { strlen(lse->key) }, arglens[1] = { strlen(lse->value) };
    acme_redis_reply_t *r = NULL;
    apr_status_t rv;
    int lost = 0;

    rv = acme_lease_eval(&r, p, conn, lease_release_lua, 1, keys, keylens, 1, args, arglens,
                         perr);
    if (rv == APR_SUCCESS) {
        rv = acme_lease_owned_reply(lse, p, conn, r, "release", perr);
    }
    if (rv == ACME_LEASE_ELOST) {
        lost = 1;
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        lse->expires = 0;
        if (plost) {
            *plost = lost;
        }
    }
    return rv;
}

apr_int64_t acme_lease_token(const acme_lease_t *lse)
{
    return lse->token;
}

const char *acme_lease_holder(const acme_lease_t *lse)
{
    return lse->holder;
}

const char *acme_lease_name(const acme_lease_t *lse)
{
    return lse->name;
}

const char *acme_lease_key(const acme_lease_t *lse)
{
    return lse->key;
}

apr_time_t acme_lease_expires(const acme_lease_t *lse)
{
    return lse->expires;
}
