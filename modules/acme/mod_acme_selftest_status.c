/* The self-test verdicts, per domain, in a shared segment (see
 * mod_acme_selftest.h): made by the parent in every generation's
 * post_config, written by the parent, read by children rendering status
 * pages. One seqlock per record, as the status slots: a reader never waits
 * for the writer. */
#include <sched.h>
#include <string.h>

#include <apr_shm.h>

#include <httpd.h>
#include <http_log.h>

#include "mod_acme_selftest.h"

APLOG_USE_MODULE(acme);

#define READ_TRIES 1000

typedef struct {
    apr_uint32_t gen;           /* odd while the writer is inside */
    acme_selftest_result_t data;
} record_t;

static record_t *records;       /* this generation's; set before children fork */
static int records_n;

static apr_status_t records_forget(void *data)
{
    (void)data;
    records = NULL;
    records_n = 0;
    return APR_SUCCESS;
}

const char *acme_selftest_state_name(int state)
{
    switch (state) {
    case ACME_SELFTEST_WAITING: return "waiting";
    case ACME_SELFTEST_RUNNING: return "running";
    case ACME_SELFTEST_PASSED: return "passed";
    case ACME_SELFTEST_FAILED: return "failed";
    case ACME_SELFTEST_UNREACHABLE: return "unreachable";
    case ACME_SELFTEST_ROLLBACK: return "rollback-pending";
    case ACME_SELFTEST_ROLLED_BACK: return "rolled-back";
    default: return "none";
    }
}

apr_status_t acme_selftest_status_create(apr_pool_t *pconf, int n, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;

    if (n <= 0) {
        return APR_SUCCESS;
    }
    rv = apr_shm_create(&shm, sizeof(record_t) * (apr_size_t)n, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1429 cannot create the shared memory "
                     "for the self-test results; status pages will lack them");
        return rv;
    }
    records = apr_shm_baseaddr_get(shm);
    records_n = n;
    memset(records, 0, sizeof(record_t) * (apr_size_t)n);
    /* registered after apr_shm_create's own cleanup: runs before the unmap */
    apr_pool_cleanup_register(pconf, NULL, records_forget, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

void acme_selftest_status_write(int index, const acme_selftest_result_t *in)
{
    record_t *r;
    apr_uint32_t g;

    if (records == NULL || index < 0 || index >= records_n) {
        return;
    }
    r = &records[index];
    g = __atomic_load_n(&r->gen, __ATOMIC_RELAXED) | 1;
    __atomic_store_n(&r->gen, g, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(&r->data, in, sizeof(r->data));
    r->data.message[sizeof(r->data.message) - 1] = '\0';
    __atomic_store_n(&r->gen, g + 1, __ATOMIC_RELEASE);
}

apr_status_t acme_selftest_status_read(acme_selftest_result_t *out, int index)
{
    const record_t *r;
    apr_uint32_t g1, g2;
    int tries;

    if (records == NULL || index < 0 || index >= records_n) {
        return APR_ENOENT;
    }
    r = &records[index];
    for (tries = 0; tries < READ_TRIES; ++tries) {
        g1 = __atomic_load_n(&r->gen, __ATOMIC_ACQUIRE);
        if ((g1 & 1) == 0) {
            memcpy(out, &r->data, sizeof(*out));
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            g2 = __atomic_load_n(&r->gen, __ATOMIC_RELAXED);
            if (g1 == g2) {
                out->message[sizeof(out->message) - 1] = '\0';
                return out->state == ACME_SELFTEST_NONE ? APR_ENOENT : APR_SUCCESS;
            }
        }
        if (tries % 16 == 15) {
            sched_yield();
        }
    }
    memset(out, 0, sizeof(*out));
    return APR_EAGAIN;
}
