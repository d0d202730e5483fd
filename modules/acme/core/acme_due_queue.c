/* Binary min-heap of (due, key) with a key -> slot index; see acme_due_queue.h. */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "acme_assert.h"
#include "acme_due_queue.h"
#include "acme_schedule.h"

#define HEAP_INITIAL 16

/* One per distinct key ever added; lives as long as the queue's pool. */
typedef struct {
    const char *key;
    apr_time_t due;
    apr_size_t slot;                /* index in heap, valid while queued */
    int queued;
} due_entry_t;

struct acme_due_queue_t {
    apr_pool_t *pool;
    apr_hash_t *entries;            /* key -> due_entry_t */
    due_entry_t **heap;             /* heap[0] is the first due */
    apr_size_t count;
    apr_size_t capacity;
};

static apr_status_t heap_free(void *baton)
{
    acme_due_queue_t *q = baton;

    free(q->heap);
    q->heap = NULL;
    q->count = q->capacity = 0;
    return APR_SUCCESS;
}

apr_status_t acme_due_queue_create(acme_due_queue_t **pqueue, apr_pool_t *p)
{
    acme_due_queue_t *q = apr_pcalloc(p, sizeof(*q));

    q->pool = p;
    q->entries = apr_hash_make(p);
    apr_pool_cleanup_register(p, q, heap_free, apr_pool_cleanup_null);
    *pqueue = q;
    return APR_SUCCESS;
}

/* The heap order: earlier due first, then keys in strcmp order. */
static int entry_before(const due_entry_t *a, const due_entry_t *b)
{
    if (a->due != b->due) {
        return a->due < b->due;
    }
    return strcmp(a->key, b->key) < 0;
}

static void heap_place(acme_due_queue_t *q, apr_size_t slot, due_entry_t *e)
{
    q->heap[slot] = e;
    e->slot = slot;
}

static void sift_up(acme_due_queue_t *q, apr_size_t slot)
{
    due_entry_t *e = q->heap[slot];
    apr_size_t parent;

    while (slot > 0) {
        parent = (slot - 1) / 2;
        if (!entry_before(e, q->heap[parent])) {
            break;
        }
        heap_place(q, slot, q->heap[parent]);
        slot = parent;
    }
    heap_place(q, slot, e);
}

static void sift_down(acme_due_queue_t *q, apr_size_t slot)
{
    due_entry_t *e = q->heap[slot];
    apr_size_t child;

    while ((child = 2 * slot + 1) < q->count) {
        if (child + 1 < q->count && entry_before(q->heap[child + 1], q->heap[child])) {
            ++child;
        }
        if (!entry_before(q->heap[child], e)) {
            break;
        }
        heap_place(q, slot, q->heap[child]);
        slot = child;
    }
    heap_place(q, slot, e);
}

/* After the entry at `slot` changed or was replaced, restores the order. */
static void heap_fix(acme_due_queue_t *q, apr_size_t slot)
{
    if (slot > 0 && entry_before(q->heap[slot], q->heap[(slot - 1) / 2])) {
        sift_up(q, slot);
    }
    else {
        sift_down(q, slot);
    }
}

static apr_status_t heap_reserve_one(acme_due_queue_t *q)
{
    apr_size_t capacity;
    due_entry_t **heap;

    if (q->count < q->capacity) {
        return APR_SUCCESS;
    }
    capacity = q->capacity ? q->capacity * 2 : HEAP_INITIAL;
    if (capacity < q->capacity || capacity > ((apr_size_t)-1) / sizeof(*heap)) {
        return APR_ENOMEM;
    }
    heap = realloc(q->heap, capacity * sizeof(*heap));
    if (!heap) {
        return APR_ENOMEM;
    }
    q->heap = heap;
    q->capacity = capacity;
    return APR_SUCCESS;
}

static due_entry_t *entry_get(const acme_due_queue_t *q, const char *key)
{
    return apr_hash_get(q->entries, key, APR_HASH_KEY_STRING);
}

apr_status_t acme_due_queue_set(acme_due_queue_t *queue, const char *key, apr_time_t due)
{
    due_entry_t *e;
    apr_status_t rv;

    if (!key || !*key) {
        return APR_EINVAL;
    }
    e = entry_get(queue, key);
    if (e && e->queued) {
        e->due = due;
        heap_fix(queue, e->slot);
        return APR_SUCCESS;
    }
    rv = heap_reserve_one(queue);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!e) {
        e = apr_pcalloc(queue->pool, sizeof(*e));
        e->key = apr_pstrdup(queue->pool, key);
        apr_hash_set(queue->entries, e->key, APR_HASH_KEY_STRING, e);
    }
    e->due = due;
    e->queued = 1;
    heap_place(queue, queue->count++, e);
    sift_up(queue, e->slot);
    return APR_SUCCESS;
}

/* Takes the queued entry `e` out of the heap. */
static void heap_take(acme_due_queue_t *q, due_entry_t *e)
{
    apr_size_t slot = e->slot;
    due_entry_t *last;

    ACME_ASSERT(e->queued && slot < q->count && q->heap[slot] == e);
    e->queued = 0;
    last = q->heap[--q->count];
    if (last != e) {
        heap_place(q, slot, last);
        heap_fix(q, slot);
    }
}

apr_status_t acme_due_queue_remove(acme_due_queue_t *queue, const char *key)
{
    due_entry_t *e = key ? entry_get(queue, key) : NULL;

    if (!e || !e->queued) {
        return APR_NOTFOUND;
    }
    heap_take(queue, e);
    return APR_SUCCESS;
}

int acme_due_queue_contains(const acme_due_queue_t *queue, const char *key,
                            apr_time_t *pdue)
{
    const due_entry_t *e = key ? entry_get(queue, key) : NULL;

    if (!e || !e->queued) {
        return 0;
    }
    if (pdue) {
        *pdue = e->due;
    }
    return 1;
}

apr_size_t acme_due_queue_count(const acme_due_queue_t *queue)
{
    return queue->count;
}

apr_status_t acme_due_queue_peek(const acme_due_queue_t *queue, const char **pkey,
                                 apr_time_t *pdue)
{
    if (queue->count == 0) {
        return APR_NOTFOUND;
    }
    if (pkey) {
        *pkey = queue->heap[0]->key;
    }
    if (pdue) {
        *pdue = queue->heap[0]->due;
    }
    return APR_SUCCESS;
}

apr_status_t acme_due_queue_pop(acme_due_queue_t *queue, const char **pkey,
                                apr_time_t *pdue)
{
    due_entry_t *first;

    if (queue->count == 0) {
        return APR_NOTFOUND;
    }
    first = queue->heap[0];
    heap_take(queue, first);
    if (pkey) {
        *pkey = first->key;
    }
    if (pdue) {
        *pdue = first->due;
    }
    return APR_SUCCESS;
}

apr_status_t acme_due_queue_pop_due(acme_due_queue_t *queue, apr_time_t now,
                                    const char **pkey, apr_time_t *pdue)
{
    if (queue->count == 0 || queue->heap[0]->due > now) {
        return APR_NOTFOUND;
    }
    return acme_due_queue_pop(queue, pkey, pdue);
}

apr_time_t acme_due_queue_next_wakeup(const acme_due_queue_t *queue, apr_time_t now,
                                      apr_interval_time_t check_interval)
{
    apr_time_t want = 0;

    if (queue->count > 0) {
        want = queue->heap[0]->due;
        /* 0 means "none" to the clamp; a due time of 0 is long past. */
        if (want == 0) {
            want = now;
        }
    }
    return acme_schedule_wakeup_clamp(want, now, check_interval);
}
