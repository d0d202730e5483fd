/* Seqlocked status slots and atomic counters on memory given by the caller
 * (see mod_acme_status_slot.h). */
#include <sched.h>
#include <string.h>

#include "acme_http.h"
#include "acme_problem.h"
#include "mod_acme_status_slot.h"

/* How often a reader tries before it reports a busy slot. */
#define READ_TRIES 1000

typedef struct {
    apr_uint32_t gen;           /* odd while a writer is inside */
    acme_status_slot_t data;
} shm_slot_t;

typedef struct {
    apr_uint32_t slot_count;
    acme_status_counters_t counters;
    apr_uint32_t shared_gen;    /* seqlock of `shared`, as a slot's */
    acme_status_shared_t shared;
    shm_slot_t slots[1];        /* slot_count of them */
} shm_head_t;

/* The attached memory; set in the parent before children fork. */
static shm_head_t *head;

apr_size_t acme_status_slots_size(int count)
{
    return sizeof(shm_head_t) + sizeof(shm_slot_t) * (apr_size_t)(count > 0 ? count : 0);
}

void acme_status_slots_attach(void *mem, int count)
{
    head = mem;
    if (head) {
        head->slot_count = (apr_uint32_t)(count > 0 ? count : 0);
    }
}

void acme_status_counters_restore(const acme_status_counters_t *in)
{
    if (head) {
        memcpy(&head->counters, in, sizeof(head->counters));
    }
}

/* A seqlocked copy out: APR_EAGAIN when a writer kept it busy. */
static apr_status_t seq_read(void *out, const void *src, apr_size_t size,
                             apr_uint32_t *gen)
{
    apr_uint32_t g1, g2;
    int tries;

    for (tries = 0; tries < READ_TRIES; ++tries) {
        g1 = __atomic_load_n(gen, __ATOMIC_ACQUIRE);
        if ((g1 & 1) == 0) {
            memcpy(out, src, size);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            g2 = __atomic_load_n(gen, __ATOMIC_RELAXED);
            if (g1 == g2) {
                return APR_SUCCESS;
            }
        }
        if (tries % 16 == 15) {
            sched_yield();
        }
    }
    memset(out, 0, size);
    return APR_EAGAIN;
}

/* A seqlocked write: `fix` (may be NULL) runs on the copy before the
 * generation turns even again. */
static void seq_write(void *dst, const void *in, apr_size_t size, apr_uint32_t *gen,
                      void (*fix)(void *dst))
{
    apr_uint32_t g = __atomic_load_n(gen, __ATOMIC_RELAXED);

    g |= 1;     /* odd; an odd value left by a killed writer stays odd */
    __atomic_store_n(gen, g, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(dst, in, size);
    if (fix) {
        fix(dst);
    }
    __atomic_store_n(gen, g + 1, __ATOMIC_RELEASE);
}

apr_status_t acme_status_slot_read(acme_status_slot_t *out, int index)
{
    shm_slot_t *slot;
    apr_status_t rv;

    if (head == NULL || index < 0 || (apr_uint32_t)index >= head->slot_count) {
        return APR_ENOENT;
    }
    slot = &head->slots[index];
    rv = seq_read(out, &slot->data, sizeof(*out), &slot->gen);
    out->md_name[sizeof(out->md_name) - 1] = '\0';
    return rv;
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
        d->staged[i].issuer_name[sizeof(d->staged[i].issuer_name) - 1] = '\0';
        d->staged[i].ari_cert_id[sizeof(d->staged[i].ari_cert_id) - 1] = '\0';
    }
}

static void slot_stamp(void *dst)
{
    acme_status_slot_t *d = dst;

    d->updated = apr_time_now();
    slot_terminate(d);
}

void acme_status_slot_write(int index, const acme_status_slot_t *in)
{
    shm_slot_t *slot;

    if (head == NULL || index < 0 || (apr_uint32_t)index >= head->slot_count) {
        return;
    }
    slot = &head->slots[index];
    seq_write(&slot->data, in, sizeof(slot->data), &slot->gen, slot_stamp);
}

static void shared_terminate(void *dst)
{
    acme_status_shared_t *d = dst;

    d->url[sizeof(d->url) - 1] = '\0';
    d->error[sizeof(d->error) - 1] = '\0';
}

apr_status_t acme_status_shared_read(acme_status_shared_t *out)
{
    if (head == NULL) {
        memset(out, 0, sizeof(*out));
        return APR_ENOENT;
    }
    return seq_read(out, &head->shared, sizeof(*out), &head->shared_gen);
}

void acme_status_shared_write(const acme_status_shared_t *in)
{
    if (head) {
        seq_write(&head->shared, in, sizeof(head->shared), &head->shared_gen,
                  shared_terminate);
    }
}

const char *acme_status_shared_state_name(int state)
{
    static const char *const names[ACME_STATUS_SHARED_STATE_COUNT] = {
        "none", "off", "connecting", "up", "down"
    };

    return state >= 0 && state < ACME_STATUS_SHARED_STATE_COUNT ? names[state] : "unknown";
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
