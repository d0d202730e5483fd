/* A renewal in a cluster (MDSharedStore, docs/cluster.md): one order per
 * domain for the whole cluster, one account per CA.
 *
 * Before a job run (acme_shared_sync_before), in the worker, with the
 * domain's store locks held:
 *   1. the domain's lease (ACME_LEASE_EBUSY: another server renews; this one
 *      looks again when that lease ends, at most ACME_SHARED_BUSY_WAIT);
 *      what follows reads what the last holder left, whole;
 *   2. a newer set in the cluster than this server's live and staged ones is
 *      copied into STAGING (chains and md.json as they are, each key opened
 *      by the key custody and matched with its chain): the run ends there,
 *      "staged" (the parent checks the set fully before it goes live);
 *   3. the CA's account: one in the cluster that this server lacks is
 *      imported under its name; none yet, and none here: this server takes
 *      the account's lease and makes it in the run (the others wait);
 *   4. the cluster's job.json replaces this server's: the run continues the
 *      cluster's order instead of making another.
 * After the run (acme_shared_sync_after): a staged set (keys sealed by the
 * custody) and then job.json go to the cluster under the lease, an account
 * made here too, and the leases are released.
 *
 * A server that stalled past its lease writes nothing (fencing). A server
 * that died holding one: the lease expires and the next holder continues
 * the job from its last published job.json. */
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_account_store.h"
#include "acme_cert.h"
#include "acme_certset.h"
#include "acme_chain.h"
#include "acme_cluster.h"
#include "acme_keys.h"
#include "acme_layout.h"
#include "acme_lease.h"
#include "mod_acme_serve.h"
#include "mod_acme_shared.h"

APLOG_USE_MODULE(acme);

/* Leases are short and kept alive by the link while the run lasts
 * (mod_acme_shared_keep.c): a server that dies holding one blocks the
 * domain ACME_SHARED_LEASE_TTL at most. */
/* A cluster's set that cannot be taken is tried again after this. */
#define ACME_SHARED_IMPORT_RETRY apr_time_from_sec(300)

static const acme_pkey_spec_t *spec_at(const acme_drive_md_t *dm, int i)
{
    return &APR_ARRAY_IDX(dm->md->props.pkey_specs, i, acme_pkey_spec_t);
}

/* The chains of (group, md) for every key spec, as a set's files; NULL when
 * one is missing. */
static apr_hash_t *chains_of(apr_pool_t *p, acme_store_t *store, acme_store_group_e group,
                             const acme_drive_md_t *dm)
{
    apr_hash_t *files = apr_hash_make(p);
    int i;

    for (i = 0; i < dm->md->props.pkey_specs->nelts; ++i) {
        const char *aspect = acme_layout_pubcert(p, acme_pkey_spec_name(p, spec_at(dm, i)));
        acme_cluster_text_t *t = apr_pcalloc(p, sizeof(*t));

        if (acme_store_load(&t->data, &t->len, p, store, group, dm->md->name, aspect)
            != APR_SUCCESS) {
            return NULL;
        }
        apr_hash_set(files, aspect, APR_HASH_KEY_STRING, t);
    }
    return files;
}

static int is_ours(apr_pool_t *p, acme_store_t *store, acme_store_group_e group,
                   const acme_drive_md_t *dm, const char *id)
{
    apr_hash_t *chains = chains_of(p, store, group, dm);
    const char *ours = chains ? acme_cluster_set_id(p, chains) : NULL;

    return ours && !strcmp(ours, id);
}

/* The earliest notAfter of the set's leaves; 0 when one does not parse. */
static apr_time_t set_not_after(apr_pool_t *p, const acme_cluster_set_t *set)
{
    apr_hash_index_t *hi;
    apr_time_t earliest = 0, t;

    for (hi = apr_hash_first(p, set->files); hi; hi = apr_hash_next(hi)) {
        const acme_cluster_text_t *text = apr_hash_this_val(hi);
        acme_cert_chain_t *chain;

        if (strncmp(apr_hash_this_key(hi), "pubcert", 7) != 0) {
            continue;
        }
        if (acme_chain_from_pem(&chain, p, text->data, text->len) != APR_SUCCESS
            || acme_cert_get_not_after(&t, acme_chain_get(chain, 0)) != APR_SUCCESS) {
            return 0;
        }
        earliest = earliest == 0 || t < earliest ? t : earliest;
    }
    return earliest;
}

/* What the renewal checks of a chain it downloads (the parent checks the
 * whole set again before it goes live): in order, unexpired, covering every
 * name of the domain. The key is matched once opened (leaf_of_key). */
static apr_status_t chain_check(apr_pool_t *p, const acme_cluster_text_t *t,
                                const acme_drive_md_t *dm, apr_time_t now, const char **pwhy)
{
    acme_cert_chain_t *chain;
    const char *missing = NULL;
    apr_time_t not_after = 0;
    int bad = 0;

    if (acme_chain_from_pem(&chain, p, t->data, t->len) != APR_SUCCESS
        || acme_chain_check_order(&bad, chain) != APR_SUCCESS) {
        *pwhy = "not a chain in order";
        return APR_EINVAL;
    }
    if (acme_cert_get_not_after(&not_after, acme_chain_get(chain, 0)) != APR_SUCCESS
        || not_after <= now) {
        *pwhy = "expired";
        return APR_EINVAL;
    }
    if (acme_cert_check_names(&missing, p, acme_chain_get(chain, 0), dm->md->names)
        != APR_SUCCESS) {
        *pwhy = apr_psprintf(p, "does not cover %s", missing ? missing : "every name");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static apr_status_t leaf_of_key(apr_pool_t *p, const acme_cluster_text_t *t,
                                const acme_pkey_t *key)
{
    acme_cert_chain_t *chain;

    if (acme_chain_from_pem(&chain, p, t->data, t->len) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    return acme_cert_check_key(acme_chain_get(chain, 0), acme_pkey_get_evp(key));
}

/* Step 1: the cluster's set into STAGING, when it is newer than ours: 1
 * when staged, 0 when there is none to take (or it is not for this
 * domain's names any more: then this server renews), -1 when it could not
 * be taken (a key that does not open: the key file differs; the store):
 * then the renewal waits rather than order again. */
static int set_import(acme_drive_t *d, acme_drive_md_t *dm, acme_redis_t *conn, apr_pool_t *p,
                      apr_time_t now)
{
    const char *md = dm->md->name, *err = NULL, *step = "";
    const acme_cluster_text_t *t;
    int unusable = 0;
    acme_cluster_set_t *set;
    acme_pkey_t *key;
    apr_status_t rv;
    int i;

    rv = acme_cluster_set_get(&set, p, conn, ACME_SHARED_NS, md, &err);
    if (rv != APR_SUCCESS) {
        if (!APR_STATUS_IS_ENOENT(rv)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, acme_glue_log_rv(rv), d->s,
                         "ACME1820 %s: the cluster's set is not used: %s", md, err);
        }
        return 0;
    }
    if (is_ours(p, d->store, ACME_STORE_LIVE, dm, set->id)
        || is_ours(p, d->store, ACME_STORE_STAGING, dm, set->id)
        || set_not_after(p, set) <= dm->not_after) {
        return 0;       /* ours, or older than what this server serves */
    }
    rv = acme_store_purge(d->store, p, ACME_STORE_STAGING, md);
    if (APR_STATUS_IS_ENOENT(rv)) {
        rv = APR_SUCCESS;   /* nothing staged */
    }
    step = "clearing the staging area";
    for (i = 0; rv == APR_SUCCESS && i < dm->md->props.pkey_specs->nelts; ++i) {
        const acme_pkey_spec_t *spec = spec_at(dm, i);
        const char *name = acme_pkey_spec_name(p, spec);
        const char *chain = acme_layout_pubcert(p, name), *keyfile = acme_layout_privkey(p, name);

        step = apr_pstrcat(p, "saving ", chain, NULL);
        t = apr_hash_get(set->files, chain, APR_HASH_KEY_STRING);
        rv = t ? acme_store_save(d->store, p, ACME_STORE_STAGING, md, chain, t->data, t->len, 0)
               : APR_ENOENT;
        if (rv == APR_SUCCESS) {
            step = apr_pstrcat(p, "checking ", chain, NULL);
            if ((rv = chain_check(p, t, dm, now, &err)) != APR_SUCCESS) {
                unusable = 1;
            }
        }
        t = apr_hash_get(set->files, keyfile, APR_HASH_KEY_STRING);
        if (rv == APR_SUCCESS) {
            step = apr_pstrcat(p, "opening ", keyfile, NULL);
            rv = t ? acme_keys_unseal_domain_key(&key, p, d->keys, md, spec, t->data,
                                                 acme_keys_seal_aad_domain(p, md, spec), &err)
                   : APR_ENOENT;
        }
        if (rv == APR_SUCCESS) {
            step = apr_pstrcat(p, "matching ", chain, " with its key", NULL);
            rv = leaf_of_key(p, apr_hash_get(set->files, chain, APR_HASH_KEY_STRING), key);
        }
    }
    t = apr_hash_get(set->files, ACME_ASPECT_MD, APR_HASH_KEY_STRING);
    if (rv == APR_SUCCESS) {
        step = "saving md.json";
        rv = acme_store_save(d->store, p, ACME_STORE_STAGING, md, ACME_ASPECT_MD, t->data,
                             t->len, 0);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, acme_glue_log_rv(rv), d->s,
                     "ACME1821 %s: the cluster's set (token %" APR_INT64_T_FMT ") is not "
                     "taken: %s%s%s", md, set->token, step, err ? ": " : "", err ? err : "");
        acme_store_purge(d->store, p, ACME_STORE_STAGING, md);
        return unusable ? 0 : -1;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, d->s, "ACME1822 %s: staged the cluster's new set "
                 "(token %" APR_INT64_T_FMT ")", md, set->token);
    return 1;
}

/* The cluster's account under its name, with the accounts lock held. */
static apr_status_t account_import(acme_drive_t *d, const acme_drive_md_t *dm,
                                   const acme_shared_run_t *run,
                                   const acme_cluster_account_t *acct, apr_pool_t *p)
{
    acme_account_record_t *local;
    const char *err = NULL;
    acme_pkey_t *key;
    apr_status_t rv;

    if (acme_account_store_load(&local, p, d->store, acct->id, &err) == APR_SUCCESS) {
        if (local->url == NULL || strstr(acct->json, local->url) == NULL) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, d->s, "ACME1823 %s: the cluster's "
                         "account %s is not imported: this server has another of that name",
                         dm->md->name, acct->id);
        }
        return APR_SUCCESS;     /* imported by another worker, or its own */
    }
    rv = acme_keys_unseal_account_key(&key, p, d->keys, acct->id, acct->sealed_key,
                                      acme_keys_seal_aad_account(p, run->ca), &err);
    if (rv == APR_SUCCESS) {
        rv = acme_store_save(d->store, p, ACME_STORE_ACCOUNTS, acct->id,
                             ACME_ACCOUNT_STORE_JSON, acct->json, strlen(acct->json), 0);
    }
    ap_log_error(APLOG_MARK, rv == APR_SUCCESS ? APLOG_INFO : APLOG_WARNING, rv, d->s,
                 "ACME1824 %s: %s the cluster's account %s%s%s", dm->md->name,
                 rv == APR_SUCCESS ? "imported" : "cannot import", acct->id,
                 err ? ": " : "", err ? err : "");
    return APR_SUCCESS;
}

/* Step 2. APR_EBUSY: another server is making the account, or another
 * worker importing it: wait. */
static apr_status_t account_sync(acme_shared_run_t *run, acme_drive_t *d,
                                 const acme_drive_md_t *dm, acme_redis_t *conn, apr_pool_t *p)
{
    const acme_config_props_t *props = &dm->md->props;
    acme_account_want_t want = { 0 };
    acme_account_record_t *local = NULL;
    acme_cluster_account_t *acct;
    acme_store_lock_t *lock;
    acme_lease_busy_t busy;
    const char *err = NULL;
    apr_status_t rv;

    want.ca_url = run->ca_url;
    want.contact = props->contact;
    want.eab_kid = props->eab_kid;
    run->ca = acme_cluster_ca_name(p, run->ca_url, props->eab_kid);
    if (acme_account_store_find(&local, p, d->store, &want) == APR_SUCCESS && local->url) {
        run->account_id = local->id;
        return APR_SUCCESS;     /* published after the run if the cluster lacks it */
    }
    rv = acme_cluster_account_get(&acct, p, conn, ACME_SHARED_NS, run->ca, &err);
    if (rv == APR_SUCCESS) {
        /* one import per server: the workers of its other domains wait */
        if (acme_store_lock(&lock, p, d->store, ACME_STORE_ACCOUNTS, ACME_ACCOUNT_STORE_LOCK, 0)
            != APR_SUCCESS) {
            return APR_EBUSY;
        }
        rv = account_import(d, dm, run, acct, p);
        acme_store_unlock(lock);
        return rv;
    }
    if (!APR_STATUS_IS_ENOENT(rv)) {
        return rv;
    }
    /* nobody has one: this server makes it, the others wait for it */
    rv = acme_lease_acquire(&run->account_lease, p, conn, ACME_SHARED_NS,
                            apr_pstrcat(p, "account.", run->ca, NULL), acme_shared_server_id(p),
                            ACME_SHARED_LEASE_TTL, &busy, &err);
    if (rv == APR_SUCCESS) {
        acme_shared_keep_add(run->keep, run->account_lease);
    }
    return rv == ACME_LEASE_EBUSY ? APR_EBUSY : rv;
}

static void job_import(acme_drive_t *d, const acme_drive_md_t *dm, acme_redis_t *conn,
                       apr_pool_t *p)
{
    const char *job, *err = NULL;
    apr_int64_t token;

    if (acme_cluster_job_get(&job, &token, p, conn, ACME_SHARED_NS, dm->md->name, &err)
        == APR_SUCCESS) {
        acme_store_save(d->store, p, ACME_STORE_JOBS, dm->md->name, ACME_ASPECT_JOB, job,
                        strlen(job), 0);
    }
}

/* dm->unshared, persisted when it changes. */
static void unshared_set(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p, int unshared)
{
    if (dm->unshared != unshared) {
        dm->unshared = unshared;
        acme_drive_md_save(d, dm, p);
    }
}

static int share_later(acme_shared_run_t *run, acme_drive_t *d, acme_drive_md_t *dm,
                       apr_pool_t *p, apr_time_t now, apr_time_t *pnext);

int acme_shared_sync_before(acme_shared_run_t *run, acme_drive_t *d, acme_drive_md_t *dm,
                            acme_drive_clients_t *clients, const char *ca_url, apr_pool_t *p,
                            apr_time_t now, apr_time_t *pnext)
{
    acme_lease_busy_t busy;
    const char *err = NULL;
    apr_status_t rv;
    int imported;

    memset(run, 0, sizeof(*run));
    if (d->g->shared_url == NULL) {
        return ACME_SHARED_RUN;
    }
    run->ca_url = ca_url;
    run->keep = acme_shared_link_keep(d->shared);
    rv = acme_drive_redis_get(&run->conn, clients, d->g, &err);
    /* the lease first: the set, the account and the job are then what the
     * last holder left (read before it, a set published in between was
     * missed while its job, read after, said "done": a second order) */
    if (rv == APR_SUCCESS) {
        rv = acme_lease_acquire(&run->lease, p, run->conn, ACME_SHARED_NS, dm->md->name,
                                acme_shared_server_id(p), ACME_SHARED_LEASE_TTL, &busy,
                                &err);
    }
    if (rv == APR_SUCCESS) {
        acme_shared_keep_add(run->keep, run->lease);
    }
    if (rv == ACME_LEASE_EBUSY) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s, "ACME1825 %s: renewal %s",
                     dm->md->name, err);
        *pnext = now + (busy.remaining > 0 && busy.remaining < ACME_SHARED_BUSY_WAIT
                        ? busy.remaining : ACME_SHARED_BUSY_WAIT);
        return ACME_SHARED_WAIT;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, acme_glue_log_rv(rv), d->s,
                     "ACME1826 %s: renewal waits for MDSharedStore: %s", dm->md->name,
                     err ? err : "?");
        *pnext = now + ACME_SHARED_BUSY_WAIT;
        acme_shared_sync_after(run, d, dm, p, NULL);
        return ACME_SHARED_WAIT;
    }
    if ((imported = set_import(d, dm, run->conn, p, now)) != 0) {
        if (imported > 0) {
            unshared_set(d, dm, p, 0);  /* the cluster's newer set replaces ours */
        }
        *pnext = now + ACME_SHARED_IMPORT_RETRY;
        acme_shared_sync_after(run, d, dm, p, NULL);
        return imported > 0 ? ACME_SHARED_STAGED : ACME_SHARED_WAIT;
    }
    if (dm->unshared) {
        return share_later(run, d, dm, p, now, pnext);
    }
    if ((rv = account_sync(run, d, dm, run->conn, p)) != APR_SUCCESS) {
        if (rv != APR_EBUSY) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, acme_glue_log_rv(rv), d->s,
                         "ACME1826 %s: renewal waits for the cluster's account", dm->md->name);
        }
        *pnext = now + apr_time_from_sec(5);
        acme_shared_sync_after(run, d, dm, p, NULL);
        return ACME_SHARED_WAIT;
    }
    job_import(d, dm, run->conn, p);
    return ACME_SHARED_RUN;
}

/* No md.json and no key in STAGING (the key holder's rule for sealing the
 * live key instead, acme_keys_local.c). */
static int nothing_staged(apr_pool_t *p, acme_store_t *store, const acme_drive_md_t *dm)
{
    int i;

    if (!APR_STATUS_IS_ENOENT(acme_store_exists(store, p, ACME_STORE_STAGING, dm->md->name,
                                                ACME_ASPECT_MD))) {
        return 0;
    }
    for (i = 0; i < dm->md->props.pkey_specs->nelts; ++i) {
        const char *key = acme_layout_privkey(p, acme_pkey_spec_name(p, spec_at(dm, i)));

        if (!APR_STATUS_IS_ENOENT(acme_store_exists(store, p, ACME_STORE_STAGING, dm->md->name,
                                                    key))) {
            return 0;
        }
    }
    return 1;
}

/* The staged set, its keys sealed, to the cluster; with none staged, the
 * live one (activated before the cluster could take it: the key holder
 * seals the live keys then). */
static apr_status_t set_publish(acme_shared_run_t *run, acme_drive_t *d,
                                const acme_drive_md_t *dm, apr_pool_t *p, const char **perr)
{
    acme_store_group_e group = ACME_STORE_STAGING;
    apr_hash_t *files = chains_of(p, d->store, group, dm);
    acme_cluster_text_t *t;
    acme_cluster_set_t *set;
    apr_status_t rv;
    int i;

    /* live only with nothing staged: the key holder seals the staged key
     * when there is one (a renewal under way: shared after it) */
    if (files == NULL && nothing_staged(p, d->store, dm)) {
        group = ACME_STORE_LIVE;
        files = chains_of(p, d->store, group, dm);
    }
    rv = files ? APR_SUCCESS : APR_ENOENT;

    for (i = 0; rv == APR_SUCCESS && i < dm->md->props.pkey_specs->nelts; ++i) {
        const acme_pkey_spec_t *spec = spec_at(dm, i);

        t = apr_pcalloc(p, sizeof(*t));
        rv = acme_keys_seal_domain_key(&t->data, p, d->keys, dm->md->name, spec,
                                       acme_keys_seal_aad_domain(p, dm->md->name, spec), perr);
        t->len = t->data ? strlen(t->data) : 0;
        apr_hash_set(files, acme_layout_privkey(p, acme_pkey_spec_name(p, spec)),
                     APR_HASH_KEY_STRING, t);
    }
    if (rv == APR_SUCCESS) {
        t = apr_pcalloc(p, sizeof(*t));
        rv = acme_store_load(&t->data, &t->len, p, d->store, group, dm->md->name,
                             ACME_ASPECT_MD);
        apr_hash_set(files, ACME_ASPECT_MD, APR_HASH_KEY_STRING, t);
    }
    if (rv == APR_SUCCESS && (rv = acme_cluster_set_make(&set, p, files, perr)) == APR_SUCCESS) {
        rv = acme_cluster_set_put(run->lease, p, run->conn, ACME_SHARED_NS, dm->md->name, set,
                                  perr);
    }
    return rv;
}

static apr_status_t account_publish(acme_shared_run_t *run, acme_drive_t *d,
                                    const acme_drive_md_t *dm, apr_pool_t *p,
                                    const acme_lease_t *lease, const char **perr)
{
    const acme_config_props_t *props = &dm->md->props;
    acme_account_want_t want = { 0 };
    acme_account_record_t *local;
    acme_cluster_account_t acct = { 0 };
    apr_size_t len;
    apr_status_t rv;

    want.ca_url = run->ca_url;
    want.contact = props->contact;
    want.eab_kid = props->eab_kid;
    if (acme_account_store_find(&local, p, d->store, &want) != APR_SUCCESS || !local->url) {
        return APR_ENOENT;
    }
    acct.id = local->id;
    rv = acme_store_load(&acct.json, &len, p, d->store, ACME_STORE_ACCOUNTS, local->id,
                         ACME_ACCOUNT_STORE_JSON);
    if (rv == APR_SUCCESS) {
        rv = acme_keys_seal_account_key(&acct.sealed_key, p, d->keys, local->id,
                                        acme_keys_seal_aad_account(p, run->ca), perr);
    }
    if (rv == APR_SUCCESS) {
        rv = acme_cluster_account_put(lease, p, run->conn, ACME_SHARED_NS, run->ca, &acct,
                                      perr);
    }
    return rv;
}

static apr_status_t job_publish(acme_shared_run_t *run, acme_drive_t *d,
                                const acme_drive_md_t *dm, apr_pool_t *p, const char **perr)
{
    const char *job;
    apr_size_t len;

    if (acme_store_load(&job, &len, p, d->store, ACME_STORE_JOBS, dm->md->name,
                        ACME_ASPECT_JOB) != APR_SUCCESS) {
        return APR_SUCCESS;     /* none (removed once done) */
    }
    return acme_cluster_job_put(run->lease, p, run->conn, ACME_SHARED_NS, dm->md->name, job,
                                perr);
}

/* A set this server made while the cluster could not take it (Redis away
 * at the end of its run): under the lease, with the cluster's set not
 * newer, it goes to the cluster now, staged or already live; else the
 * others would order the domain again and serve another certificate. */
static int share_later(acme_shared_run_t *run, acme_drive_t *d, acme_drive_md_t *dm,
                       apr_pool_t *p, apr_time_t now, apr_time_t *pnext)
{
    const char *err = NULL;
    apr_status_t rv;

    rv = set_publish(run, d, dm, p, &err);
    if (rv == APR_SUCCESS) {
        rv = job_publish(run, d, dm, p, &err);
    }
    if (rv == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, d->s, "ACME1831 %s: shared the set this "
                     "server made while the cluster could not take it", dm->md->name);
        unshared_set(d, dm, p, 0);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, acme_glue_log_rv(rv), d->s,
                     "ACME1832 %s: the set this server made is not shared yet, trying again: "
                     "%s", dm->md->name, err ? err : "?");
    }
    *pnext = now + (rv == APR_SUCCESS ? 0 : APR_STATUS_IS_ENOENT(rv) ? ACME_SHARED_IMPORT_RETRY
                                                                   : ACME_SHARED_BUSY_WAIT);
    acme_shared_sync_after(run, d, dm, p, NULL);
    return rv == APR_SUCCESS ? ACME_SHARED_SHARED : ACME_SHARED_WAIT;
}

void acme_shared_sync_after(acme_shared_run_t *run, acme_drive_t *d, acme_drive_md_t *dm,
                            apr_pool_t *p, const acme_renew_outcome_t *out)
{
    acme_cluster_account_t *acct;
    const char *err = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (run->lease && out) {
        if (out->status == ACME_RENEW_DONE) {
            rv = set_publish(run, d, dm, p, &err);
            /* not ELOST: the next holder continues the job; else this
             * server's set goes to the cluster as soon as it answers */
            if (rv != ACME_LEASE_ELOST) {
                unshared_set(d, dm, p, rv != APR_SUCCESS);
            }
        }
        if (rv == APR_SUCCESS) {
            rv = job_publish(run, d, dm, p, &err);
        }
        if (rv == APR_SUCCESS && run->ca
            && acme_cluster_account_get(&acct, p, run->conn, ACME_SHARED_NS, run->ca, &err)
               == APR_ENOENT) {
            rv = account_publish(run, d, dm, p, run->account_lease ? run->account_lease
                                                                   : run->lease, &err);
            rv = APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;   /* none made yet */
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, acme_glue_log_rv(rv), d->s,
                         "ACME1827 %s: %s", dm->md->name,
                         rv == ACME_LEASE_ELOST
                         ? apr_pstrcat(p, "lost the renewal's lease; another server continues"
                                       " (", err, ")", NULL)
                         : apr_pstrcat(p, "cannot share the renewal with the cluster: ",
                                       err ? err : "?", NULL));
        }
    }
    if (run->account_lease) {
        acme_shared_keep_remove(run->keep, run->account_lease);
        acme_lease_release(run->account_lease, p, run->conn, NULL, &err);
        run->account_lease = NULL;
    }
    if (run->lease) {
        acme_shared_keep_remove(run->keep, run->lease);
        acme_lease_release(run->lease, p, run->conn, NULL, &err);
        run->lease = NULL;
    }
}
