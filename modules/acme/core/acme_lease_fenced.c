/* Fenced writes (acme_lease.h): keys written or deleted only while the lease
 * is still ours, checked inside Redis in the same script as the writes. */
#include <string.h>

#include <apr_strings.h>

#include "acme_lease_int.h"
#include "acme_names.h"

/* KEYS: lease, then the keys. ARGV: our value, then the keys' values.
 * 1 when written; else the lease's value now (nil when gone), nothing
 * written. All or none: the check comes before the first write, and once a
 * script has written Redis lets its later writes through (even over
 * maxmemory) rather than stop it halfway; SET replaces a value of any type. */
static const char fenced_set_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then return v end\n"
    "for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i]) end\n"
    "return 1\n";

/* As fenced_set_lua, deleting (DEL never fails on a key of any type). */
static const char fenced_del_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then return v end\n"
    "for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end\n"
    "return 1\n";

static int fenced_has_prefix(const char *key, const char *prefix)
{
    return strncmp(key, prefix, strlen(prefix)) == 0;
}

/* Keys in the lease's namespace, outside the leases and counters (a fenced
 * write must not be able to lower a counter or forge a lease); values
 * within what a GET reads back. `lens` NULL: a delete. */
static apr_status_t fenced_check(const acme_lease_t *lse, apr_pool_t *p, int n,
                                 const char *const *keys, const apr_size_t *lens,
                                 const char **perr)
{
    const char *ns = apr_pstrcat(p, lse->ns, ":", NULL);
    const char *leases = apr_pstrcat(p, lse->ns, ":lease:", NULL);
    const char *fences = apr_pstrcat(p, lse->ns, ":fence:", NULL);
    int i;

    if (n < 1 || n > ACME_LEASE_KEYS_MAX) {
        if (perr) {
            *perr = apr_psprintf(p, "lease %s: fenced write of %d keys (1-%d)", lse->key, n,
                                 ACME_LEASE_KEYS_MAX);
        }
        return n < 1 ? APR_EINVAL : ACME_LEASE_ETOOLARGE;
    }
    for (i = 0; i < n; ++i) {
        if (!acme_lease_visible_ok(keys[i], ACME_LEASE_KEY_MAX)
            || !fenced_has_prefix(keys[i], ns) || strlen(keys[i]) == strlen(ns)
            || fenced_has_prefix(keys[i], leases) || fenced_has_prefix(keys[i], fences)) {
            if (perr) {
                *perr = apr_psprintf(p, "lease %s: key \"%s\" not allowed in a fenced write "
                                     "(\"%s...\", not a lease or counter, 1-%d visible ASCII)",
                                     lse->key, acme_names_printable(p, keys[i]), ns,
                                     ACME_LEASE_KEY_MAX);
            }
            return ACME_LEASE_EBADNAME;
        }
        if (lens && lens[i] > ACME_LEASE_VALUE_MAX) {
            if (perr) {
                *perr = apr_psprintf(p, "lease %s: value of %s has %" APR_SIZE_T_FMT
                                     " bytes (at most %d)", lse->key, keys[i], lens[i],
                                     ACME_LEASE_VALUE_MAX);
            }
            return ACME_LEASE_ETOOLARGE;
        }
    }
    return APR_SUCCESS;
}

/* The lease and the n keys as KEYS, our value and the n values (if any) as
 * ARGV. */
static apr_status_t fenced_run(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                               const char *body, const char *what, int n,
                               const char *const *keys, const char *const *vals,
                               const apr_size_t *lens, const char **perr)
{
    const char **kv = apr_palloc(p, (apr_size_t)(n + 1) * sizeof(*kv));
    const char **av = apr_palloc(p, (apr_size_t)(n + 1) * sizeof(*av));
    apr_size_t *klen = apr_palloc(p, (apr_size_t)(n + 1) * sizeof(*klen));
    apr_size_t *alen = apr_palloc(p, (apr_size_t)(n + 1) * sizeof(*alen));
    acme_redis_reply_t *r = NULL;
    apr_status_t rv;
    int i;

    kv[0] = lse->key;
    klen[0] = strlen(lse->key);
    av[0] = lse->value;
    alen[0] = strlen(lse->value);
    for (i = 0; i < n; ++i) {
        kv[i + 1] = keys[i];
        klen[i + 1] = strlen(keys[i]);
        if (vals) {
            av[i + 1] = vals[i];
            alen[i + 1] = lens[i];
        }
    }
    rv = acme_lease_eval(&r, p, conn, body, n + 1, kv, klen, vals ? n + 1 : 1, av, alen, perr);
    if (rv == APR_SUCCESS) {
        rv = acme_lease_owned_reply(lse, p, conn, r, what, perr);
    }
    return rv;
}

apr_status_t acme_lease_fenced_set(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                   int n, const char *const *keys, const char *const *vals,
                                   const apr_size_t *lens, const char **perr)
{
    apr_status_t rv;

    if ((rv = fenced_check(lse, p, n, keys, lens, perr)) != APR_SUCCESS) {
        return rv;
    }
    return fenced_run(lse, p, conn, fenced_set_lua, "fenced set", n, keys, vals, lens, perr);
}

apr_status_t acme_lease_fenced_del(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                   int n, const char *const *keys, const char **perr)
{
    apr_status_t rv;

    if ((rv = fenced_check(lse, p, n, keys, NULL, perr)) != APR_SUCCESS) {
        return rv;
    }
    return fenced_run(lse, p, conn, fenced_del_lua, "fenced delete", n, keys, NULL, NULL,
                      perr);
}
