/* An in-memory store backend for the fuzz targets that read stored
 * documents (fuzz_store_json.c): items live in the pool the store was made
 * in. Like the file store in httpd's parent, acme_store_load_trusted()
 * trusts every group but STAGING, which httpd's User writes. */
#ifndef ACME_FUZZ_MEMSTORE_H
#define ACME_FUZZ_MEMSTORE_H

#include "acme_store.h"

acme_store_t *fuzz_memstore_create(apr_pool_t *p);

/* Puts an item in directly (copied), without the store's checks. */
void fuzz_memstore_put(acme_store_t *store, acme_store_group_e group, const char *name,
                       const char *aspect, const void *data, apr_size_t len);

/* Keeps the items the store holds now as its baseline: from here on, what
 * is saved or removed is a change that fuzz_memstore_reset() undoes, freeing
 * its memory. A target whose set-up is costly (decoding keys) makes it once,
 * keeps it, and resets before each input: every input meets the same store. */
void fuzz_memstore_keep_baseline(acme_store_t *store);
void fuzz_memstore_reset(acme_store_t *store);

#endif /* ACME_FUZZ_MEMSTORE_H */
