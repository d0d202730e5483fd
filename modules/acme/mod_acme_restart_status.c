/* The shared record of the self-initiated restarts (see mod_acme_restart.h):
 * made by the parent in every generation's post_config, written by the
 * parent's monitor hook, read by any child rendering a status page. A
 * seqlock as the status slots: a reader never waits for the writer. */
#include <sched.h>
#include <string.h>

#include <apr_shm.h>

#include <httpd.h>
#include <http_log.h>

#include "mod_acme_restart.h"

APLOG_USE_MODULE(acme);

#define READ_TRIES 1000

typedef struct {
    apr_uint32_t gen;           /* odd while the writer is inside */
    acme_restart_status_t data;
} shared_t;

static shared_t *shared;        /* this generation's; set before children fork */

static apr_status_t shared_forget(void *data)
{
    (void)data;
    shared = NULL;
    return APR_SUCCESS;
}

apr_status_t acme_restart_status_create(apr_pool_t *pconf, const acme_restart_status_t *init,
                                        server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;

    rv = apr_shm_create(&shm, sizeof(shared_t), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1415 cannot create the shared memory "
                     "for the activation status; status pages will lack it");
        return rv;
    }
    shared = apr_shm_baseaddr_get(shm);
    memset(shared, 0, sizeof(*shared));
    /* registered after apr_shm_create's own cleanup: runs before the unmap */
    apr_pool_cleanup_register(pconf, NULL, shared_forget, apr_pool_cleanup_null);
    acme_restart_status_write(init);
    return APR_SUCCESS;
}

void acme_restart_status_write(const acme_restart_status_t *in)
{
    apr_uint32_t g;

    if (shared == NULL) {
        return;
    }
    g = __atomic_load_n(&shared->gen, __ATOMIC_RELAXED) | 1;
    __atomic_store_n(&shared->gen, g, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(&shared->data, in, sizeof(shared->data));
    shared->data.waiting[sizeof(shared->data.waiting) - 1] = '\0';
    shared->data.check_error[sizeof(shared->data.check_error) - 1] = '\0';
    __atomic_store_n(&shared->gen, g + 1, __ATOMIC_RELEASE);
}

apr_status_t acme_restart_status_read(acme_restart_status_t *out)
{
    apr_uint32_t g1, g2;
    int tries;

    if (shared == NULL) {
        return APR_ENOENT;
    }
    for (tries = 0; tries < READ_TRIES; ++tries) {
        g1 = __atomic_load_n(&shared->gen, __ATOMIC_ACQUIRE);
        if ((g1 & 1) == 0) {
            memcpy(out, &shared->data, sizeof(*out));
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            g2 = __atomic_load_n(&shared->gen, __ATOMIC_RELAXED);
            if (g1 == g2) {
                out->waiting[sizeof(out->waiting) - 1] = '\0';
                out->check_error[sizeof(out->check_error) - 1] = '\0';
                return APR_SUCCESS;
            }
        }
        if (tries % 16 == 15) {
            sched_yield();
        }
    }
    memset(out, 0, sizeof(*out));
    return APR_EAGAIN;
}
