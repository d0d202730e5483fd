/* The in-memory store of the fuzz targets (fuzz_memstore.h). */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "fuzz_memstore.h"

typedef struct {
    apr_pool_t *pool;
    apr_pool_t *alloc;      /* where items go: pool, or after a baseline is
                             * kept, the pool of changes a reset frees */
    apr_hash_t *items;      /* "group/name/aspect" -> item_t */
    apr_hash_t *baseline;   /* NULL, or the items fuzz_memstore_reset() restores */
} memstore_t;

typedef struct {
    const char *data;       /* NUL-terminated, len bytes before the NUL */
    apr_size_t len;
    apr_time_t mtime;
} item_t;

static const char *item_key(apr_pool_t *p, acme_store_group_e group, const char *name,
                            const char *aspect)
{
    return apr_psprintf(p, "%d/%s/%s", (int)group, name, aspect);
}

static void put(memstore_t *m, acme_store_group_e group, const char *name,
                const char *aspect, const void *data, apr_size_t len)
{
    item_t *it = apr_palloc(m->alloc, sizeof(*it));
    char *copy = apr_palloc(m->alloc, len + 1);

    if (len) {
        memcpy(copy, data, len);
    }
    copy[len] = '\0';
    it->data = copy;
    it->len = len;
    it->mtime = apr_time_from_sec(1700000000);
    apr_hash_set(m->items, item_key(m->alloc, group, name, aspect), APR_HASH_KEY_STRING, it);
}

static apr_status_t mem_load(const char **pdata, apr_size_t *plen, apr_pool_t *p, void *baton,
                             acme_store_group_e group, const char *name, const char *aspect)
{
    memstore_t *m = baton;
    item_t *it = apr_hash_get(m->items, item_key(p, group, name, aspect), APR_HASH_KEY_STRING);

    if (it == NULL) {
        return APR_ENOENT;
    }
    /* a copy in the caller's pool, as the file store reads one */
    *pdata = apr_pmemdup(p, it->data, it->len + 1);
    *plen = it->len;
    return APR_SUCCESS;
}

static apr_status_t mem_load_trusted(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                                     void *baton, acme_store_group_e group, const char *name,
                                     const char *aspect)
{
    if (group == ACME_STORE_STAGING) {
        return APR_EACCES;
    }
    return mem_load(pdata, plen, p, baton, group, name, aspect);
}

static apr_status_t mem_save(void *baton, apr_pool_t *p, acme_store_group_e group,
                             const char *name, const char *aspect, const void *data,
                             apr_size_t len, int flags)
{
    memstore_t *m = baton;

    if ((flags & ACME_STORE_EXCL)
        && apr_hash_get(m->items, item_key(p, group, name, aspect), APR_HASH_KEY_STRING)) {
        return APR_EEXIST;
    }
    put(m, group, name, aspect, data, len);
    return APR_SUCCESS;
}

static apr_status_t mem_remove(void *baton, apr_pool_t *p, acme_store_group_e group,
                               const char *name, const char *aspect)
{
    memstore_t *m = baton;
    const char *key = item_key(p, group, name, aspect);

    if (apr_hash_get(m->items, key, APR_HASH_KEY_STRING) == NULL) {
        return APR_ENOENT;
    }
    apr_hash_set(m->items, key, APR_HASH_KEY_STRING, NULL);
    return APR_SUCCESS;
}

static apr_status_t mem_stat(apr_time_t *pmtime, apr_pool_t *p, void *baton,
                             acme_store_group_e group, const char *name, const char *aspect)
{
    memstore_t *m = baton;
    item_t *it = apr_hash_get(m->items, item_key(p, group, name, aspect), APR_HASH_KEY_STRING);

    if (it == NULL) {
        return APR_ENOENT;
    }
    *pmtime = it->mtime;
    return APR_SUCCESS;
}

static apr_status_t mem_list(apr_array_header_t **pnames, apr_pool_t *p, void *baton,
                             acme_store_group_e group, const char *pattern)
{
    *pnames = apr_array_make(p, 0, sizeof(const char *));
    return APR_SUCCESS;
}

static const acme_store_ops_t memstore_ops = {
    .kind = "fuzz-memory",
    .load = mem_load,
    .save = mem_save,
    .remove = mem_remove,
    .list = mem_list,
    .stat = mem_stat,
    .load_trusted = mem_load_trusted,
};

acme_store_t *fuzz_memstore_create(apr_pool_t *p)
{
    memstore_t *m = apr_pcalloc(p, sizeof(*m));
    acme_store_t *store = NULL;

    m->pool = p;
    m->alloc = p;
    m->items = apr_hash_make(p);
    if (acme_store_create(&store, p, &memstore_ops, m) != APR_SUCCESS) {
        fuzz_abort("acme_store_create failed");
    }
    return store;
}

static memstore_t *memstore_of(acme_store_t *store, const char *caller)
{
    memstore_t *m = acme_store_baton(store, "fuzz-memory");

    if (m == NULL) {
        fuzz_abort(caller);
    }
    return m;
}

void fuzz_memstore_keep_baseline(acme_store_t *store)
{
    memstore_t *m = memstore_of(store, "fuzz_memstore_keep_baseline: not a memory store");

    m->baseline = m->items;
    if (apr_pool_create(&m->alloc, m->pool) != APR_SUCCESS) {
        fuzz_abort("fuzz_memstore_keep_baseline: no pool");
    }
    m->items = apr_hash_copy(m->alloc, m->baseline);
}

void fuzz_memstore_reset(acme_store_t *store)
{
    memstore_t *m = memstore_of(store, "fuzz_memstore_reset: not a memory store");

    if (m->baseline == NULL) {
        fuzz_abort("fuzz_memstore_reset: no baseline kept");
    }
    apr_pool_clear(m->alloc);
    m->items = apr_hash_copy(m->alloc, m->baseline);
}

void fuzz_memstore_put(acme_store_t *store, acme_store_group_e group, const char *name,
                       const char *aspect, const void *data, apr_size_t len)
{
    put(memstore_of(store, "fuzz_memstore_put: not a memory store"), group, name, aspect, data,
        len);
}
