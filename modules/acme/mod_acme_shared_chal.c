/* http-01 answers shared by a cluster (MDSharedStore, docs/cluster.md): the
 * CA's validation request reaches whichever server the load balancer picks.
 *
 * The renewing server: the job's challenge-setup event publishes the answer
 * (acme_cluster_chal.h) and waits until every live member has copied it (or
 * ACME_SHARED_ACK_WAIT passed), then the job asks the CA to validate.
 * Every server: its link thread copies the others' answers into its own store
 * each second, where its children answer from, acknowledges them, and
 * removes its copies once they leave the index. */
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_cluster_chal.h"
#include "acme_layout.h"
#include "mod_acme_child.h"
#include "mod_acme_serve.h"
#include "mod_acme_shared.h"

APLOG_USE_MODULE(acme);

/* How long an answer stays published: an authorization's validation is
 * over long before. */
#define ANSWER_TTL apr_time_from_sec(600)
#define ACK_POLL apr_time_from_msec(250)

static int is_in(const apr_array_header_t *ids, const char *id)
{
    int i;

    for (i = 0; ids && i < ids->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(ids, i, const char *), id)) {
            return 1;
        }
    }
    return 0;
}

/* The live members that have not acknowledged yet, ", "-joined; "" when
 * none; NULL when Redis did not answer (*perr). */
static const char *missing_acks(apr_pool_t *p, acme_redis_t *conn,
                                const acme_cluster_chal_t *chal, const char **perr)
{
    apr_array_header_t *live, *acks;
    const char *missing = "";
    int i;

    if (acme_cluster_servers_live(&live, p, conn, ACME_SHARED_NS, perr) != APR_SUCCESS
        || acme_cluster_chal_acks(&acks, p, conn, ACME_SHARED_NS, chal, perr) != APR_SUCCESS) {
        return NULL;
    }
    for (i = 0; i < live->nelts; ++i) {
        const char *id = APR_ARRAY_IDX(live, i, const char *);
        if (strcmp(id, chal->by) != 0 && !is_in(acks, id)) {
            missing = apr_pstrcat(p, missing, *missing ? ", " : "", id, NULL);
        }
    }
    return missing;
}

static apr_status_t publish_and_wait(acme_shared_events_t *e, apr_pool_t *p,
                                     const char *domain, const char *token, const char **pwhy)
{
    acme_cluster_chal_t chal;
    acme_redis_t *conn;
    const char *keyauth, *missing = NULL, *err = NULL;
    apr_time_t until = apr_time_now() + ACME_SHARED_ACK_WAIT;
    apr_size_t len;
    apr_status_t rv;

    rv = acme_store_load(&keyauth, &len, p, e->d->store, ACME_STORE_CHALLENGES, domain,
                         acme_layout_http01(p, token));
    if (rv != APR_SUCCESS) {
        *pwhy = "the answer is not in the store";
        return rv;
    }
    chal.domain = domain;
    chal.token = token;
    chal.by = acme_shared_server_id(p);
    chal.keyauth = keyauth;
    chal.expires = apr_time_now() + ANSWER_TTL;
    if ((rv = acme_drive_redis_get(&conn, e->clients, e->d->g, &err)) != APR_SUCCESS
        || (rv = acme_cluster_chal_publish(conn, p, ACME_SHARED_NS, &chal, &err))
           != APR_SUCCESS) {
        *pwhy = apr_pstrcat(p, "MDSharedStore: ", err ? err : "?", NULL);
        /* a wrong password or TLS setup needs a fix; else retried soon */
        return rv == ACME_REDIS_EAUTH || rv == ACME_REDIS_ETLS ? rv : ACME_REDIS_ECONNECT;
    }
    while ((missing = missing_acks(p, conn, &chal, &err)) != NULL && *missing
           && apr_time_now() < until && !acme_child_is_stopping()) {
        apr_sleep(ACK_POLL);
    }
    if (missing == NULL) {
        /* Redis went away: the others may never get the answer, and a CA
         * that reaches one of them would fail the authorization for good
         * (test_83); the run is retried instead, the CA not asked */
        *pwhy = apr_pstrcat(p, "MDSharedStore stopped answering before the cluster confirmed "
                            "the answer: ", err ? err : "?", NULL);
        return ACME_REDIS_ECONNECT;
    }
    if (*missing) {
        /* validation may still reach a server that has it */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, e->d->s, "ACME1810 %s: the answer for %s "
                     "is not confirmed by %s within %" APR_TIME_T_FMT " s; asking the CA to "
                     "validate anyway", e->md_name, domain, missing,
                     apr_time_sec(ACME_SHARED_ACK_WAIT));
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, e->d->s, "ACME1811 %s: answer for %s "
                     "shared with the cluster", e->md_name, domain);
    }
    return APR_SUCCESS;
}

static apr_status_t challenge_setup_cb(void *baton, apr_pool_t *p, const char *type,
                                       const char *domain, const char *token,
                                       const char **pwhy)
{
    acme_shared_events_t *e = baton;
    apr_status_t rv;

    if (type && !strcmp(type, "http-01") && domain && token
        && (rv = publish_and_wait(e, p, domain, token, pwhy)) != APR_SUCCESS) {
        return rv;
    }
    if (e->next && e->next->challenge_setup_cb) {
        return e->next->challenge_setup_cb(e->next->baton, p, type, domain, token, pwhy);
    }
    return APR_SUCCESS;
}

const acme_renew_events_t *acme_shared_events_hook(acme_shared_events_t *e, acme_drive_t *d,
                                                   acme_drive_clients_t *clients,
                                                   const char *md_name,
                                                   const acme_renew_events_t *next)
{
    if (d->g->shared_url == NULL) {
        return next;
    }
    e->d = d;
    e->clients = clients;
    e->md_name = md_name;
    e->next = next;
    e->hook.challenge_setup_cb = challenge_setup_cb;
    e->hook.baton = e;
    return &e->hook;
}

/* ---------------------------------------------------------------- copies */

void acme_shared_mirror_init(acme_shared_mirror_t *m, apr_pool_t *p, acme_store_t *store,
                             server_rec *s)
{
    m->parent = p;
    m->store = store;
    m->s = s;
    apr_pool_create(&m->pool, p);
    m->copied = apr_hash_make(m->pool);
}

static void copy_in(acme_shared_mirror_t *m, apr_pool_t *p, acme_redis_t *conn,
                    const acme_cluster_chal_t *chal, const char *self)
{
    const char *err = NULL;
    apr_status_t rv;

    rv = acme_store_save(m->store, p, ACME_STORE_CHALLENGES, chal->domain,
                         acme_layout_http01(p, chal->token), chal->keyauth,
                         strlen(chal->keyauth), 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, acme_glue_log_rv(rv), m->s,
                     "ACME1812 cannot keep %s's answer for %s in the store", chal->by,
                     chal->domain);
        return;
    }
    if (acme_cluster_chal_ack(conn, p, ACME_SHARED_NS, chal, self, &err) != APR_SUCCESS) {
        return;     /* acknowledged at the next tick, the copy being there */
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, m->s, "ACME1813 answer for %s from %s copied",
                 chal->domain, chal->by);
}

apr_status_t acme_shared_mirror_tick(acme_shared_mirror_t *m, acme_redis_t *conn,
                                     apr_pool_t *p, const char **perr)
{
    const char *self = acme_shared_server_id(p);
    apr_array_header_t *chals;
    apr_hash_index_t *hi;
    apr_hash_t *copied;
    apr_pool_t *pool;
    apr_status_t rv;
    int i;

    rv = acme_cluster_chal_list(&chals, p, conn, ACME_SHARED_NS, apr_time_now(), perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_create(&pool, m->parent);
    copied = apr_hash_make(pool);
    for (i = 0; i < chals->nelts; ++i) {
        const acme_cluster_chal_t *chal = &APR_ARRAY_IDX(chals, i, acme_cluster_chal_t);
        const char *key = apr_pstrcat(pool, chal->domain, " ", chal->token, NULL);

        if (!strcmp(chal->by, self)) {
            continue;       /* its own: the job keeps and removes it */
        }
        if (!apr_hash_get(m->copied, key, APR_HASH_KEY_STRING)) {
            copy_in(m, p, conn, chal, self);
        }
        apr_hash_set(copied, key, APR_HASH_KEY_STRING, apr_pstrdup(pool, chal->token));
    }
    /* copies whose answer left the index (expired) */
    for (hi = apr_hash_first(p, m->copied); hi; hi = apr_hash_next(hi)) {
        const char *key = apr_hash_this_key(hi), *token = apr_hash_this_val(hi);

        if (!apr_hash_get(copied, key, APR_HASH_KEY_STRING)) {
            acme_store_remove(m->store, p, ACME_STORE_CHALLENGES,
                              apr_pstrmemdup(p, key, strcspn(key, " ")),
                              acme_layout_http01(p, token));
        }
    }
    apr_pool_destroy(m->pool);
    m->pool = pool;
    m->copied = copied;
    return APR_SUCCESS;
}
