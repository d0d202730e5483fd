/* A priority queue of (due time, key), earliest first: the watchdog's list of
 * what to do when, so that with 10,000 domains an event costs O(log N) and a
 * run where nothing is due costs O(1).
 *
 * A binary min-heap ordered by (due, key): equal due times come out in the
 * byte order of their keys (strcmp), so the order never depends on insertion
 * history. A hash from key to entry keeps each entry's heap slot, which makes
 * update and remove by key O(log N).
 *
 * Keys are strings (domain names). The queue copies each distinct key once,
 * into its pool, and keeps that copy (and its small entry) until the pool is
 * destroyed, also after the key was removed or popped: keys returned by
 * peek/pop stay valid for the queue's lifetime, and removing and re-adding the
 * same names over and over does not grow memory. Memory is thus proportional
 * to the number of distinct keys ever added, which for a watchdog is the set
 * of managed domains. The heap array itself is malloc'ed and grows by
 * doubling; a pool cleanup frees it.
 *
 * Not thread-safe: one watchdog thread owns its queue. */
#ifndef ACME_DUE_QUEUE_H
#define ACME_DUE_QUEUE_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_time.h>

typedef struct acme_due_queue_t acme_due_queue_t;

/* An empty queue allocated from (and living as long as) p. */
apr_status_t acme_due_queue_create(acme_due_queue_t **pqueue, apr_pool_t *p);

/* Adds `key` due at `due`, or moves it there when it is already queued.
 * APR_EINVAL for a NULL or empty key; APR_ENOMEM when the heap cannot grow
 * (the queue is unchanged then). */
apr_status_t acme_due_queue_set(acme_due_queue_t *queue, const char *key, apr_time_t due);

/* Removes `key`: APR_SUCCESS, or APR_NOTFOUND when it is not queued. */
apr_status_t acme_due_queue_remove(acme_due_queue_t *queue, const char *key);

/* Whether `key` is queued; when it is and pdue is not NULL, *pdue is its due
 * time. */
int acme_due_queue_contains(const acme_due_queue_t *queue, const char *key,
                            apr_time_t *pdue);

apr_size_t acme_due_queue_count(const acme_due_queue_t *queue);

/* The first entry without removing it: APR_SUCCESS, or APR_NOTFOUND when the
 * queue is empty (outputs untouched). Either output may be NULL. */
apr_status_t acme_due_queue_peek(const acme_due_queue_t *queue, const char **pkey,
                                 apr_time_t *pdue);

/* Removes and returns the first entry, as peek. */
apr_status_t acme_due_queue_pop(acme_due_queue_t *queue, const char **pkey,
                                apr_time_t *pdue);

/* Pops the first entry only when it is due (due <= now): APR_SUCCESS, or
 * APR_NOTFOUND when the queue is empty or nothing is due yet. A watchdog run
 * loops on this, handles each key and sets its next due time. */
apr_status_t acme_due_queue_pop_due(acme_due_queue_t *queue, apr_time_t now,
                                    const char **pkey, apr_time_t *pdue);

/* When to wake up next: the first due time, clamped as
 * acme_schedule_wakeup_clamp() does (not before now + 1 s, not after
 * now + check_interval; an empty queue gives now + check_interval). */
apr_time_t acme_due_queue_next_wakeup(const acme_due_queue_t *queue, apr_time_t now,
                                      apr_interval_time_t check_interval);

#endif /* ACME_DUE_QUEUE_H */
