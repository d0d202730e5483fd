/* Driving renewals: the watchdog (mod_acme_watchdog.c) decides WHEN, worker
 * threads (mod_acme_renewals.c) run the jobs (mod_acme_renew_job.c).
 *
 * Where it runs: mod_watchdog's singleton instance, i.e. one thread in ONE
 * child process of the server (httpd's User, never root). The parent only
 * registers the callback in post_config; the first callback (STARTING, in
 * that child) builds everything below, STOPPING (the child ends, or another
 * generation takes over at a graceful restart) tears it down again. Nothing
 * here exists in the parent.
 *
 * The schedule lives in memory: at start each driven domain's LIVE
 * certificate is read once (acme_schedule_compute) and the domain goes into
 * a due queue at its renew time (or MDInitialDelay after start, whichever is
 * later). Each watchdog run hands the due domains to idle workers and sleeps
 * until the next due time (at most MDCheckInterval). A worker runs one step
 * batch of the domain's persisted job (acme_renew_run) and puts the domain
 * back at the time the job asks for. So one slow domain holds one worker,
 * never the others, and a run where nothing is due costs O(1).
 *
 * Locking: drive->mutex guards the queue, the ready list and the mutable
 * fields of every acme_drive_md_t marked "(mutex)". Config records are
 * read-only. A domain is never in the queue and in flight at once. Across
 * processes (an old generation's watchdog still finishing at a graceful
 * restart) jobs are serialized by the store lock (JOBS, <md>), and writers of
 * STAGING hold (STAGING, <md>) as the activation expects. */
#ifndef MOD_ACME_DRIVE_H
#define MOD_ACME_DRIVE_H

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include <httpd.h>

#include "acme_client.h"
#include "acme_due_queue.h"
#include "acme_keys.h"
#include "acme_redis.h"
#include "acme_store.h"
#include "mod_acme_config.h"

/* At most this many renewals run at the same time. A job holds its worker
 * only while it talks to the CA or makes a key (never while it waits for a
 * poll), so this bounds the requests in flight to the CA and the threads of
 * the watchdog child, not the renewals under way. */
#define ACME_DRIVE_WORKERS_MAX 16
/* While a renewal runs, the watchdog looks at the queue this often (and a
 * domain due sooner than a second is looked at this close to its time), so
 * a job polling the CA is not kept waiting: mod_watchdog's own tick. */
#define ACME_DRIVE_BUSY_WAKE (apr_time_from_msec(100))
/* How often due domains are looked at while MDSharedStore does not answer. */
#define ACME_DRIVE_SHARED_WAKE (apr_time_from_sec(1))
/* A domain whose job is locked by another process is tried again after this. */
#define ACME_DRIVE_LOCKED_RETRY (apr_time_from_sec(5))

/* What the watchdog child keeps per driven domain. */
typedef struct acme_drive_md_t {
    const acme_config_md_t *md;     /* read-only */
    /* (mutex) */
    int in_flight;                  /* a worker has it */
    /* owned by whoever has it in flight (or the watchdog before workers run) */
    int ca_index;                   /* index into md->props.ca_urls (persisted) */
    int cycle;                      /* 1: a renewal is under way ("renewing" was sent) */
    int staged;                     /* the job is DONE: waits for a graceful restart */
    int has_cert;                   /* LIVE has a usable certificate */
    apr_time_t not_after;           /* of the LIVE certificate, 0 if none */
    apr_time_t warn_at;             /* MDWarnWindow start, 0 if none */
    apr_time_t renew_at;            /* from the schedule at start */
    int errors_seen;                /* consecutive errors under the current CA */
    char notified[64];              /* the staged set's "issued" last notified as
                                     * renewed (persisted), "" if none */
    char warned[32];                /* notAfter of the certificate last reported as
                                     * expiring (persisted), "" if none */
    int unshared;                   /* MDSharedStore: this server's newest set did
                                     * not reach the cluster (persisted); shared
                                     * as soon as Redis takes it */
    apr_array_header_t *challenges; /* const char *: the configured challenge types
                                     * this server can answer (see
                                     * acme_drive_md_init); read-only */
    struct acme_drive_ari_t *ari;   /* ARI and profile state (mod_acme_ari.h) */
} acme_drive_md_t;

typedef struct acme_drive_worker_t acme_drive_worker_t;

/* A CA (URL, trust and proxy settings) whose directory failed lately:
 * acme_drive_client_down(). */
#define ACME_DRIVE_CA_DOWN_MAX 8
typedef struct {
    apr_uint64_t key;               /* acme_status_text_hash() of the client's key; 0 free */
    apr_time_t until;
    char why[256];
} acme_drive_ca_down_t;

typedef struct acme_drive_t {
    apr_pool_t *pool;               /* own allocator; lives from STARTING to STOPPING */
    server_rec *s;
    acme_config_global_t *g;
    acme_store_t *store;
    acme_keys_t *keys;              /* the key custody of every run: the key
                                     * holder (mod_acme_keyholder.c), or local (the
                                     * store's keys in this process) when there is
                                     * none; thread-safe */
    apr_time_t started;
    apr_time_t first_run;           /* started + MDInitialDelay */
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;        /* signals workers: ready list or stopping */
    acme_due_queue_t *queue;        /* (mutex) domain name -> next due time */
    apr_hash_t *by_name;            /* md name -> acme_drive_md_t *; read-only */
    acme_drive_md_t **ready;        /* (mutex) handed out, not yet taken */
    int ready_count;                /* (mutex) */
    int idle;                       /* (mutex) workers waiting for work */
    int in_flight;                  /* (mutex) domains being worked on */
    int stopping;                   /* (mutex) */
    int worker_count;
    acme_drive_worker_t **workers;
    apr_thread_mutex_t *ca_down_mutex;
    acme_drive_ca_down_t ca_down[ACME_DRIVE_CA_DOWN_MAX]; /* (ca_down_mutex) */
    struct acme_shared_link_t *shared; /* MDSharedStore's link, NULL without one
                                     * (mod_acme_shared.h) */
} acme_drive_t;

/* ------------------------------------------------ mod_acme_watchdog.c */

/* post_config hook: libcurl's global init (once per process, before any
 * child or thread), the command runner, and acme_watchdog_register(); does
 * nothing on httpd's dry-run pass. */
int acme_drive_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);

/* child_stopping hook: stops this child's renewal threads (if it runs the
 * watchdog) before the process exits. */
void acme_drive_child_stopping(apr_pool_t *pchild, int graceful);

/* post_config (parent, not the dry run): registers the watchdog callback
 * when some domain is driven. Returns OK, or an error when mod_watchdog is
 * missing or refuses. */
int acme_watchdog_register(acme_config_global_t *g, apr_pool_t *pconf, server_rec *s);

/* ------------------------------------------------ mod_acme_renewals.c */

/* Starts min(ACME_DRIVE_WORKERS_MAX, domains) worker threads. */
apr_status_t acme_renewals_start(acme_drive_t *d);

/* Moves due domains (as many as workers are idle) to the workers. Returns
 * when the watchdog should look again. */
apr_time_t acme_renewals_dispatch(acme_drive_t *d, apr_time_t now);

/* Tells the workers to stop after their current job and joins them. */
void acme_renewals_stop(acme_drive_t *d);

/* ------------------------------------------------ mod_acme_renew_job.c */

/* One worker's own CA clients (transport + directory + nonces reused across
 * jobs); created in the worker's pool. */
typedef struct acme_drive_clients_t acme_drive_clients_t;

acme_drive_clients_t *acme_drive_clients_create(apr_pool_t *p);

/* The client of `clients` for ca_url with props' trust and proxy settings:
 * made on first use, then reused. Errors in r. */
apr_status_t acme_drive_client_get(acme_client_t **pclient, acme_drive_clients_t *clients,
                                   const acme_config_props_t *props, const char *ca_url,
                                   acme_result_t *r);

/* The worker's connection to MDSharedStore (g->shared_url): kept, made
 * again after a failure. */
apr_status_t acme_drive_redis_get(acme_redis_t **pconn, acme_drive_clients_t *clients,
                                  const acme_config_global_t *g, const char **perr);

/* A CA whose directory a check could not load keeps the other domains'
 * checks (in every worker) from asking again until `until`: at 10,000
 * domains an unreachable CA otherwise costs one connection attempt and one
 * warning per domain. 1 with the failure's text in *pwhy while that holds.
 * Thread-safe. */
int acme_drive_client_down(const char **pwhy, acme_drive_t *d,
                           const acme_config_props_t *props, const char *ca_url,
                           apr_time_t now, apr_pool_t *p);
void acme_drive_client_set_down(acme_drive_t *d, const acme_config_props_t *props,
                                const char *ca_url, apr_time_t until, const char *why,
                                apr_pool_t *p);

/* Runs the domain's job once (see the top of this file) with a client of
 * `clients`, scratch allocations from p. Returns when to run it again; 0
 * means "not before the next restart" (never happens for a driven domain:
 * a staged one is looked at again after MDCheckInterval). */
apr_time_t acme_drive_job_run(acme_drive_t *d, acme_drive_md_t *dm,
                              acme_drive_clients_t *clients, apr_pool_t *p);

/* ------------------------------------------------ mod_acme_drive_state.c */

/* Fills dm's schedule from the LIVE set (certificate times, warn/renew
 * times), its persisted drive state (CA index, notification markers) and
 * its challenge types: tls-alpn-01 is dropped, with a warning when it was
 * asked for explicitly, unless an https vhost of the domain allows the
 * protocol "acme-tls/1" (Protocols), since httpd answers it nowhere else.
 * Returns the domain's first due time (not yet clamped by MDInitialDelay). */
apr_time_t acme_drive_md_init(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                              apr_time_t now);

/* Saves dm's persisted fields (JOBS/<md>/drive.json). Logged on failure. */
void acme_drive_md_save(acme_drive_t *d, const acme_drive_md_t *dm, apr_pool_t *p);

#endif /* MOD_ACME_DRIVE_H */
