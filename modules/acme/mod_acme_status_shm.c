/* The shared status segment's life cycle: made by the parent per
 * generation, seeded, carried over restarts (see mod_acme_status_shm.h);
 * mod_acme_status_slot.c does the reading and writing. */
#include <string.h>

#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_core.h>
#include <http_log.h>

#include "mod_acme_status_shm.h"

APLOG_USE_MODULE(acme);

/* This generation's slot index; set in the parent before children fork. */
static apr_hash_t *index_by_name;   /* md name -> (int)index + 1 */

/* What a graceful restart carries over. It lives in the process pool: httpd
 * unloads and reloads the module at a restart, so statics start afresh. */
#define CARRY_KEY "mod_acme_status_carry"
typedef struct {
    acme_status_counters_t counters;
    apr_hash_t *last_success;       /* md name -> apr_time_t *, in carry_pool */
    apr_pool_t *carry_pool;
} carry_t;
static carry_t *carry;              /* this generation's pointer to it */

static carry_t *carry_get(apr_pool_t *process_pool)
{
    void *v = NULL;
    carry_t *c;

    apr_pool_userdata_get(&v, CARRY_KEY, process_pool);
    if (v) {
        return v;
    }
    c = apr_pcalloc(process_pool, sizeof(*c));
    if (apr_pool_create(&c->carry_pool, process_pool) != APR_SUCCESS) {
        return NULL;
    }
    apr_pool_userdata_set(c, CARRY_KEY, apr_pool_cleanup_null, process_pool);
    return c;
}

/* At the end of a generation (pconf cleanup in the parent, segment still
 * mapped): counters and last successes into the carry. */
static void carry_save(void)
{
    int i;

    apr_pool_clear(carry->carry_pool);
    carry->last_success = apr_hash_make(carry->carry_pool);
    acme_status_counters_read(&carry->counters);
    for (i = 0; ; ++i) {
        acme_status_slot_t slot;
        apr_time_t *t;
        apr_status_t rv = acme_status_slot_read(&slot, i);

        if (rv == APR_ENOENT) {
            break;
        }
        if (rv != APR_SUCCESS || slot.last_success == 0) {
            continue;
        }
        t = apr_palloc(carry->carry_pool, sizeof(*t));
        *t = slot.last_success;
        apr_hash_set(carry->last_success, apr_pstrdup(carry->carry_pool, slot.md_name),
                     APR_HASH_KEY_STRING, t);
    }
}

/* pconf's cleanup. At the final stop (AP_SQ_MS_EXITING) nothing is carried,
 * and must not be: httpd destroys the process pool's subpools newest first,
 * so the carry pool (made in the first post_config, after pconf) is already
 * gone. A cleanup of ours on the process pool could not mark that safely: it
 * would outlive the module's code, which a restart unloads. */
static apr_status_t shm_forget(void *data)
{
    (void)data;
    if (carry && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_EXITING) {
        carry_save();
    }
    acme_status_slots_attach(NULL, 0);
    carry = NULL;
    index_by_name = NULL;
    return APR_SUCCESS;
}

static void slot_seed(int index, const acme_config_md_t *md)
{
    acme_status_slot_t slot;
    apr_time_t *t = NULL;

    memset(&slot, 0, sizeof(slot));
    apr_cpystrn(slot.md_name, md->name, sizeof(slot.md_name));
    if (carry && carry->last_success) {
        t = apr_hash_get(carry->last_success, md->name, APR_HASH_KEY_STRING);
    }
    slot.last_success = t ? *t : 0;
    acme_status_slot_write(index, &slot);
}

apr_status_t acme_status_shm_create(apr_pool_t *pconf, const acme_config_global_t *g,
                                    server_rec *s)
{
    apr_size_t size = acme_status_slots_size(g->mds->nelts);
    acme_status_counters_t counters;
    apr_shm_t *shm;
    apr_status_t rv;
    int i;

    rv = apr_shm_create(&shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1600 cannot create the shared memory "
                     "for the renewal status (%" APR_SIZE_T_FMT " bytes); status pages will "
                     "lack it", size);
        return rv;
    }
    memset(apr_shm_baseaddr_get(shm), 0, size);
    acme_status_slots_attach(apr_shm_baseaddr_get(shm), g->mds->nelts);
    carry = carry_get(s->process->pool);
    if (carry) {
        acme_status_counters_restore(&carry->counters);
    }
    index_by_name = apr_hash_make(pconf);
    for (i = 0; i < g->mds->nelts; ++i) {
        const acme_config_md_t *md = APR_ARRAY_IDX(g->mds, i, const acme_config_md_t *);

        slot_seed(i, md);
        apr_hash_set(index_by_name, md->name, APR_HASH_KEY_STRING,
                     (void *)(apr_uintptr_t)(i + 1));
    }
    /* registered after apr_shm_create's own cleanup: runs before the unmap */
    apr_pool_cleanup_register(pconf, NULL, shm_forget, apr_pool_cleanup_null);
    acme_status_counters_read(&counters);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1601 renewal status in shared memory: "
                 "%d slots, %" APR_SIZE_T_FMT " bytes; carried over: %u domains, %"
                 APR_UINT64_T_FMT " renewals", g->mds->nelts, size,
                 (carry && carry->last_success) ? apr_hash_count(carry->last_success) : 0,
                 counters.renewals_ok);
    return APR_SUCCESS;
}

int acme_status_slot_index(const char *md_name)
{
    apr_uintptr_t v;

    if (index_by_name == NULL || md_name == NULL) {
        return -1;
    }
    v = (apr_uintptr_t)apr_hash_get(index_by_name, md_name, APR_HASH_KEY_STRING);
    return v > 0 ? (int)(v - 1) : -1;
}
