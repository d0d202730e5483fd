/* The shared status segment: slots with seqlocks and atomic counters (see
 * mod_acme_status_shm.h). */
#include <sched.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_http.h"
#include "acme_problem.h"
#include "mod_acme_status_shm.h"

APLOG_USE_MODULE(acme);

/* How often a reader tries before it reports a busy slot. */
#define READ_TRIES 1000

typedef struct {
    apr_uint32_t gen;           /* odd while a writer is inside */
    acme_status_slot_t data;
} shm_slot_t;

typedef struct {
    apr_uint32_t slot_count;
    acme_status_counters_t counters;
    shm_slot_t slots[1];        /* slot_count of them */
} shm_head_t;

/* This generation's segment; set in the parent before children fork. */
static shm_head_t *head;
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
    apr_uint32_t i;

    apr_pool_clear(carry->carry_pool);
    carry->last_success = apr_hash_make(carry->carry_pool);
    acme_status_counters_read(&carry->counters);
    for (i = 0; i < head->slot_count; ++i) {
        acme_status_slot_t slot;
        apr_time_t *t;

        if (acme_status_slot_read(&slot, (int)i) != APR_SUCCESS || slot.last_success == 0) {
            continue;
        }
        t = apr_palloc(carry->carry_pool, sizeof(*t));
        *t = slot.last_success;
        apr_hash_set(carry->last_success, apr_pstrdup(carry->carry_pool, slot.md_name),
                     APR_HASH_KEY_STRING, t);
    }
}

static apr_status_t shm_forget(void *data)
{
    (void)data;
    if (head && carry) {
        carry_save();
    }
    head = NULL;
    carry = NULL;
    index_by_name = NULL;
    return APR_SUCCESS;
}

static void slot_seed(shm_slot_t *slot, const acme_config_md_t *md)
{
    apr_time_t *t = NULL;

    apr_cpystrn(slot->data.md_name, md->name, sizeof(slot->data.md_name));
    if (carry && carry->last_success) {
        t = apr_hash_get(carry->last_success, md->name, APR_HASH_KEY_STRING);
    }
    slot->data.last_success = t ? *t : 0;
}

apr_status_t acme_status_shm_create(apr_pool_t *pconf, const acme_config_global_t *g,
                                    server_rec *s)
{
    apr_size_t size = sizeof(shm_head_t) + sizeof(shm_slot_t) * (apr_size_t)g->mds->nelts;
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
    head = apr_shm_baseaddr_get(shm);
    memset(head, 0, size);
    head->slot_count = (apr_uint32_t)g->mds->nelts;
    carry = carry_get(s->process->pool);
    if (carry) {
        memcpy(&head->counters, &carry->counters, sizeof(head->counters));
    }
    index_by_name = apr_hash_make(pconf);
    for (i = 0; i < g->mds->nelts; ++i) {
        const acme_config_md_t *md = APR_ARRAY_IDX(g->mds, i, const acme_config_md_t *);

        slot_seed(&head->slots[i], md);
        apr_hash_set(index_by_name, md->name, APR_HASH_KEY_STRING, (void *)(apr_uintptr_t)(i + 1));
    }
    /* registered after apr_shm_create's own cleanup: runs before the unmap */
    apr_pool_cleanup_register(pconf, NULL, shm_forget, apr_pool_cleanup_null);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1601 renewal status in shared memory: "
                 "%d slots, %" APR_SIZE_T_FMT " bytes; carried over: %u domains, %"
                 APR_UINT64_T_FMT " renewals", g->mds->nelts, size,
                 (carry && carry->last_success) ? apr_hash_count(carry->last_success) : 0,
                 head->counters.renewals_ok);
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

apr_status_t acme_status_slot_read(acme_status_slot_t *out, int index)
{
    shm_slot_t *slot;
    apr_uint32_t g1, g2;
    int tries;

    if (head == NULL || index < 0 || (apr_uint32_t)index >= head->slot_count) {
        return APR_ENOENT;
    }
    slot = &head->slots[index];
    for (tries = 0; tries < READ_TRIES; ++tries) {
        g1 = __atomic_load_n(&slot->gen, __ATOMIC_ACQUIRE);
        if ((g1 & 1) == 0) {
            memcpy(out, &slot->data, sizeof(*out));
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            g2 = __atomic_load_n(&slot->gen, __ATOMIC_RELAXED);
            if (g1 == g2) {
                out->md_name[sizeof(out->md_name) - 1] = '\0';
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

/* Every text of a slot NUL-terminated, whatever the writer passed. */
static void slot_terminate(acme_status_slot_t *d)
{
    int i;

    d->md_name[sizeof(d->md_name) - 1] = '\0';
    d->step[sizeof(d->step) - 1] = '\0';
    d->problem[sizeof(d->problem) - 1] = '\0';
    d->detail[sizeof(d->detail) - 1] = '\0';
    d->activity[sizeof(d->activity) - 1] = '\0';
    for (i = 0; i < ACME_STATUS_SPECS_MAX; ++i) {
        d->staged[i].spec[sizeof(d->staged[i].spec) - 1] = '\0';
        d->staged[i].serial[sizeof(d->staged[i].serial) - 1] = '\0';
        d->staged[i].sha256[sizeof(d->staged[i].sha256) - 1] = '\0';
    }
}

void acme_status_slot_write(int index, const acme_status_slot_t *in)
{
    shm_slot_t *slot;
    apr_uint32_t g;

    if (head == NULL || index < 0 || (apr_uint32_t)index >= head->slot_count) {
        return;
    }
    slot = &head->slots[index];
    g = __atomic_load_n(&slot->gen, __ATOMIC_RELAXED);
    g |= 1;     /* odd; an odd value left by a killed writer stays odd */
    __atomic_store_n(&slot->gen, g, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(&slot->data, in, sizeof(slot->data));
    slot->data.updated = apr_time_now();
    slot_terminate(&slot->data);
    __atomic_store_n(&slot->gen, g + 1, __ATOMIC_RELEASE);
}

void acme_status_counters_read(acme_status_counters_t *out)
{
    apr_uint64_t *dst = (apr_uint64_t *)out, *src;
    apr_size_t i, n = sizeof(*out) / sizeof(apr_uint64_t);

    if (head == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    src = (apr_uint64_t *)&head->counters;
    for (i = 0; i < n; ++i) {
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    }
}

static void counter_add(apr_uint64_t *c, apr_uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

void acme_status_count_orders(int n)
{
    if (head && n > 0) {
        counter_add(&head->counters.orders, (apr_uint64_t)n);
    }
}

void acme_status_count_failure(const acme_result_t *r)
{
    if (head) {
        counter_add(&head->counters.failures[acme_status_problem_classify(r)], 1);
    }
}

void acme_status_count_renewal(apr_interval_time_t duration)
{
    static const int bounds[] = ACME_STATUS_DURATION_BUCKETS;
    apr_uint64_t ms;
    int i;

    if (head == NULL) {
        return;
    }
    ms = duration > 0 ? (apr_uint64_t)apr_time_as_msec(duration) : 0;
    counter_add(&head->counters.renewals_ok, 1);
    counter_add(&head->counters.duration_ms_sum, ms);
    counter_add(&head->counters.duration_count, 1);
    for (i = 0; i < ACME_STATUS_DURATION_BUCKET_COUNT; ++i) {
        if (ms <= (apr_uint64_t)bounds[i] * 1000) {
            counter_add(&head->counters.duration_buckets[i], 1);
            break;
        }
    }
}

acme_status_problem_e acme_status_problem_classify(const acme_result_t *r)
{
    static const struct { const char *name; acme_status_problem_e prob; } by_type[] = {
        { "rateLimited", ACME_STATUS_PROB_RATE_LIMITED },
        { "badNonce", ACME_STATUS_PROB_BAD_NONCE },
        { "connection", ACME_STATUS_PROB_CONNECTION },
        { "unauthorized", ACME_STATUS_PROB_UNAUTHORIZED },
        { "rejectedIdentifier", ACME_STATUS_PROB_REJECTED_IDENTIFIER },
        { "dns", ACME_STATUS_PROB_DNS },
        { "caa", ACME_STATUS_PROB_CAA },
        { "externalAccountRequired", ACME_STATUS_PROB_EAB },
    };
    const char *name;
    apr_size_t i;

    if (r == NULL) {
        return ACME_STATUS_PROB_OTHER;
    }
    name = acme_problem_short_name(r->problem_type);
    for (i = 0; name && i < sizeof(by_type) / sizeof(by_type[0]); ++i) {
        if (strcmp(name, by_type[i].name) == 0) {
            return by_type[i].prob;
        }
    }
    if (r->problem_type == NULL
        && (r->status == ACME_HTTP_ECONNECT || r->status == ACME_HTTP_ETIMEOUT
            || r->status == ACME_HTTP_ETLS || r->status == ACME_HTTP_EPROTOCOL)) {
        return ACME_STATUS_PROB_CONNECTION;
    }
    return ACME_STATUS_PROB_OTHER;
}

const char *acme_status_problem_name(acme_status_problem_e prob)
{
    static const char *const names[ACME_STATUS_PROB_COUNT] = {
        "rateLimited", "badNonce", "connection", "unauthorized", "rejectedIdentifier",
        "dns", "caa", "externalAccount", "other"
    };

    return ((unsigned)prob < ACME_STATUS_PROB_COUNT) ? names[prob] : "other";
}

const char *acme_status_state_name(acme_status_state_e state)
{
    static const char *const names[ACME_STATUS_STATE_COUNT] = {
        "no-cert", "ok", "renewing", "staged", "errored", "expiring"
    };

    return ((unsigned)state < ACME_STATUS_STATE_COUNT) ? names[state] : "unknown";
}

void acme_status_text_copy(char *dst, apr_size_t size, const char *src)
{
    apr_size_t i;

    if (size == 0) {
        return;
    }
    for (i = 0; src && src[i] && i + 1 < size; ++i) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (c >= 0x80) ? '?' : (char)c;
    }
    dst[i] = '\0';
}

apr_uint64_t acme_status_text_hash(const char *s)
{
    apr_uint64_t h = 14695981039346656037ULL;     /* FNV-1a 64 */

    if (s == NULL) {
        return 0;
    }
    while (*s) {
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    }
    return h;
}
