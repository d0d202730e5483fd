/* Store dispatch: validates every group, name and aspect, then calls the
 * backend. Keeping the checks here means no backend can forget one. */
#include <errno.h>
#include <string.h>

#include <apr_strings.h>

#include "acme_assert.h"
#include "acme_log.h"
#include "acme_names.h"
#include "acme_store.h"

struct acme_store_t {
    const acme_store_ops_t *ops;
    void *baton;
};

struct acme_store_lock_t {
    acme_store_t *store;
    void *handle; /* NULL once released */
};

static const char *const group_names[ACME_STORE_GROUP_COUNT] = {
    "accounts", "domains", "staging", "challenges", "archive", "jobs", "ocsp", "tmp",
    "pending",
};

apr_status_t acme_store_create(acme_store_t **pstore, apr_pool_t *p,
                               const acme_store_ops_t *ops, void *baton)
{
    acme_store_t *store;

    ACME_ASSERT(ops != NULL && ops->kind != NULL);
    store = apr_pcalloc(p, sizeof(*store));
    store->ops = ops;
    store->baton = baton;
    *pstore = store;
    return APR_SUCCESS;
}

void *acme_store_baton(acme_store_t *store, const char *kind)
{
    return strcmp(store->ops->kind, kind) == 0 ? store->baton : NULL;
}

const char *acme_store_group_name(acme_store_group_e group)
{
    if ((int)group < 0 || group >= ACME_STORE_GROUP_COUNT) {
        return NULL;
    }
    return group_names[group];
}

static apr_status_t check_group(acme_store_group_e group)
{
    if (acme_store_group_name(group) == NULL) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0701 store: invalid group %d", (int)group);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static apr_status_t check_name(apr_pool_t *p, acme_store_group_e group, const char *name)
{
    apr_status_t rv = check_group(group);
    int is_id = (group == ACME_STORE_ACCOUNTS || group == ACME_STORE_TMP);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = is_id ? acme_names_check_id(name) : acme_names_check_domain(name, ACME_NAMES_WILDCARD);
    if (rv == APR_SUCCESS && strlen(name) <= ACME_STORE_NAME_MAX) {
        return APR_SUCCESS;
    }
    acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0702 store: name '%s' rejected in group %s: must be "
             "%s", acme_names_printable(p, name), group_names[group],
             is_id ? apr_psprintf(p, "an id of [A-Za-z0-9._-], at most %d characters, not "
                                  "starting with '.' or '-'", ACME_NAMES_ID_MAX)
                   : apr_psprintf(p, "a lowercase domain name (\"*.\" allowed) of at most %d "
                                  "characters", ACME_STORE_NAME_MAX));
    return APR_EINVAL;
}

static apr_status_t check_item(apr_pool_t *p, acme_store_group_e group, const char *name,
                               const char *aspect, int aspect_optional)
{
    apr_status_t rv = check_name(p, group, name);

    if (rv != APR_SUCCESS || (aspect == NULL && aspect_optional)) {
        return rv;
    }
    if (acme_names_check_aspect(aspect) != APR_SUCCESS) {
        acme_log(ACME_LOG_ERR, APR_EINVAL,
                 "ACME0703 store: aspect '%s' of %s/%s rejected: must be [A-Za-z0-9._-], "
                 "not starting with '.', no '..', at most %d characters",
                 acme_names_printable(p, aspect), group_names[group], name,
                 ACME_NAMES_ASPECT_MAX);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* How load_via() reads. */
typedef enum { LOAD_PLAIN, LOAD_TRUSTED, LOAD_PRIVATE } load_kind_e;

static apr_status_t load_via(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                             acme_store_t *store, acme_store_group_e group, const char *name,
                             const char *aspect, load_kind_e kind)
{
    apr_status_t (*load)(const char **, apr_size_t *, apr_pool_t *, void *,
                         acme_store_group_e, const char *, const char *) = store->ops->load;
    const char *data;
    apr_size_t len;
    apr_status_t rv = check_item(p, group, name, aspect, 0);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (kind == LOAD_TRUSTED) {
        if (store->ops->load_trusted == NULL) {
            return APR_ENOTIMPL;    /* a backend that cannot tell: nothing is trusted */
        }
        load = store->ops->load_trusted;
    }
    else if (kind == LOAD_PRIVATE && store->ops->load_private != NULL) {
        load = store->ops->load_private;
    }
    rv = load(&data, &len, p, store->baton, group, name, aspect);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* A backend bug or a shared store written by someone else: either way the
     * cap is the contract of this interface. */
    if (len > ACME_STORE_ITEM_MAX) {
        acme_log(ACME_LOG_ERR, APR_FROM_OS_ERROR(EFBIG),
                 "ACME0706 store(%s): %s/%s/%s is larger than %d bytes", store->ops->kind,
                 group_names[group], name, aspect, ACME_STORE_ITEM_MAX);
        return APR_FROM_OS_ERROR(EFBIG);
    }
    *pdata = data;
    *plen = len;
    return APR_SUCCESS;
}

apr_status_t acme_store_load(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                             acme_store_t *store, acme_store_group_e group, const char *name,
                             const char *aspect)
{
    return load_via(pdata, plen, p, store, group, name, aspect, LOAD_PLAIN);
}

apr_status_t acme_store_copy(acme_store_t *store, apr_pool_t *p, acme_store_group_e from,
                             const char *from_name, acme_store_group_e to,
                             const char *to_name, const char *aspect, int flags)
{
    const char *data;
    apr_size_t len;
    apr_status_t rv;

    rv = acme_store_load(&data, &len, p, store, from, from_name, aspect);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        rv = acme_store_save(store, p, to, to_name, aspect, data, len, flags);
    }
    return rv;
}

apr_status_t acme_store_secret_key(const unsigned char **pkey, apr_size_t *plen,
                                   acme_store_t *store)
{
    if (store->ops->secret_key == NULL) {
        return APR_ENOTIMPL;
    }
    return store->ops->secret_key(pkey, plen, store->baton);
}

apr_status_t acme_store_load_trusted(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                                     acme_store_t *store, acme_store_group_e group,
                                     const char *name, const char *aspect)
{
    return load_via(pdata, plen, p, store, group, name, aspect, LOAD_TRUSTED);
}

apr_status_t acme_store_load_private(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                                     acme_store_t *store, acme_store_group_e group,
                                     const char *name, const char *aspect)
{
    return load_via(pdata, plen, p, store, group, name, aspect, LOAD_PRIVATE);
}

apr_status_t acme_store_save(acme_store_t *store, apr_pool_t *p, acme_store_group_e group,
                             const char *name, const char *aspect, const void *data,
                             apr_size_t len, int flags)
{
    apr_status_t rv = check_item(p, group, name, aspect, 0);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (flags & ~(ACME_STORE_SECRET | ACME_STORE_EXCL | ACME_STORE_NOSYNC
                  | ACME_STORE_PRIVATE)) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0705 store: unknown save flags 0x%x", flags);
        return APR_EINVAL;
    }
    if (data == NULL && len > 0) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0708 store: save of %s/%s/%s without data",
                 group_names[group], name, aspect);
        return APR_EINVAL;
    }
    if (len > ACME_STORE_ITEM_MAX) {
        acme_log(ACME_LOG_ERR, APR_FROM_OS_ERROR(EFBIG),
                 "ACME0704 store: refusing to save %s/%s/%s: %lu bytes, at most %d allowed",
                 group_names[group], name, aspect, (unsigned long)len, ACME_STORE_ITEM_MAX);
        return APR_FROM_OS_ERROR(EFBIG);
    }
    if (flags & ACME_STORE_PRIVATE) {
        flags |= ACME_STORE_SECRET;
    }
    return store->ops->save(store->baton, p, group, name, aspect, data ? data : "", len, flags);
}

apr_status_t acme_store_remove(acme_store_t *store, apr_pool_t *p, acme_store_group_e group,
                               const char *name, const char *aspect)
{
    apr_status_t rv = check_item(p, group, name, aspect, 0);

    return rv != APR_SUCCESS ? rv : store->ops->remove(store->baton, p, group, name, aspect);
}

apr_status_t acme_store_purge(acme_store_t *store, apr_pool_t *p, acme_store_group_e group,
                              const char *name)
{
    apr_status_t rv = check_name(p, group, name);

    return rv != APR_SUCCESS ? rv : store->ops->purge(store->baton, p, group, name);
}

apr_status_t acme_store_list(apr_array_header_t **pnames, apr_pool_t *p, acme_store_t *store,
                             acme_store_group_e group, const char *pattern)
{
    apr_status_t rv = check_group(group);

    return rv != APR_SUCCESS ? rv : store->ops->list(pnames, p, store->baton, group, pattern);
}

apr_status_t acme_store_exists(acme_store_t *store, apr_pool_t *p, acme_store_group_e group,
                               const char *name, const char *aspect)
{
    apr_time_t mtime;

    return acme_store_mtime(&mtime, p, store, group, name, aspect);
}

apr_status_t acme_store_mtime(apr_time_t *pmtime, apr_pool_t *p, acme_store_t *store,
                              acme_store_group_e group, const char *name, const char *aspect)
{
    apr_status_t rv = check_item(p, group, name, aspect, 1);

    return rv != APR_SUCCESS ? rv
                             : store->ops->stat(pmtime, p, store->baton, group, name, aspect);
}

apr_status_t acme_store_move(acme_store_t *store, apr_pool_t *p, acme_store_group_e from,
                             acme_store_group_e to, const char *name)
{
    apr_status_t rv = check_name(p, from, name);

    if (rv == APR_SUCCESS) {
        rv = check_name(p, to, name);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (from == to || from == ACME_STORE_ARCHIVE || to == ACME_STORE_ARCHIVE) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0707 store: cannot move %s from %s to %s",
                 name, group_names[from], group_names[to]);
        return APR_EINVAL;
    }
    return store->ops->move(store->baton, p, from, to, name);
}

apr_status_t acme_store_take(const char **pwhy, apr_pool_t *p, acme_store_t *store,
                             const char *name, const acme_store_take_t *items, int n)
{
    apr_status_t rv = check_name(p, ACME_STORE_STAGING, name);
    int i;

    for (i = 0; rv == APR_SUCCESS && i < n; ++i) {
        rv = check_item(p, ACME_STORE_STAGING, name, items[i].aspect, 0);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (store->ops->take == NULL) {
        return APR_ENOTIMPL;
    }
    *pwhy = NULL;
    return store->ops->take(pwhy, p, store->baton, name, items, n);
}

apr_status_t acme_store_activate(const char **parchived, apr_pool_t *p, acme_store_t *store,
                                 const char *name)
{
    const char *archived = NULL;
    apr_status_t rv = check_name(p, ACME_STORE_LIVE, name);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = store->ops->activate(&archived, p, store->baton, name);
    if (rv == APR_SUCCESS) {
        *parchived = archived;
    }
    return rv;
}

void acme_store_activate_many(apr_pool_t *p, acme_store_t *store,
                              acme_store_activation_t *sets, int n)
{
    acme_store_activation_t *batch = apr_palloc(p, sizeof(*batch) * (apr_size_t)(n ? n : 1));
    int i, m = 0;

    /* invalid names are answered here; the rest goes to the backend */
    for (i = 0; i < n; ++i) {
        sets[i].archived = NULL;
        sets[i].rv = check_name(p, ACME_STORE_LIVE, sets[i].name);
        if (sets[i].rv == APR_SUCCESS) {
            batch[m++] = sets[i];
        }
    }
    if (store->ops->activate_many && m > 0) {
        store->ops->activate_many(p, store->baton, batch, m);
    }
    else {
        for (i = 0; i < m; ++i) {
            batch[i].rv = store->ops->activate(&batch[i].archived, p, store->baton,
                                               batch[i].name);
        }
    }
    for (i = 0, m = 0; i < n; ++i) {
        if (sets[i].rv == APR_SUCCESS) {
            sets[i] = batch[m++];
        }
    }
}

apr_status_t acme_store_recover(acme_store_t *store, apr_pool_t *p,
                                apr_interval_time_t tmp_min_age)
{
    return store->ops->recover(store->baton, p, tmp_min_age < 0 ? 0 : tmp_min_age);
}

apr_status_t acme_store_lock(acme_store_lock_t **plock, apr_pool_t *p, acme_store_t *store,
                             acme_store_group_e group, const char *name,
                             apr_interval_time_t timeout)
{
    acme_store_lock_t *lock;
    void *handle = NULL;
    apr_status_t rv = check_name(p, group, name);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = store->ops->lock(&handle, p, store->baton, group, name, timeout < 0 ? 0 : timeout);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    lock = apr_pcalloc(p, sizeof(*lock));
    lock->store = store;
    lock->handle = handle;
    *plock = lock;
    return APR_SUCCESS;
}

apr_status_t acme_store_unlock(acme_store_lock_t *lock)
{
    void *handle = lock->handle;

    if (handle == NULL) {
        return APR_SUCCESS;
    }
    lock->handle = NULL;
    return lock->store->ops->unlock(lock->store->baton, handle);
}
