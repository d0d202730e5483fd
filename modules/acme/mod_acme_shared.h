/* The cluster's shared store in the httpd glue (MDSharedStore,
 * docs/cluster.md). mod_acme_shared_link.c: the renewal watchdog child's
 * connection to it. */
#ifndef MOD_ACME_SHARED_H
#define MOD_ACME_SHARED_H

#include <apr_pools.h>

#include <httpd.h>

#include "acme_renew.h"
#include "acme_store.h"
#include "mod_acme_config.h"
#include "mod_acme_drive.h"

/* The prefix of every key mod_acme writes in the shared store. */
#define ACME_SHARED_NS "mod_acme"

typedef struct acme_shared_link_t acme_shared_link_t;

/* This server's name in the cluster: "<host name>:<pid of httpd's parent>". */
const char *acme_shared_server_id(apr_pool_t *p);

/* Starts the link thread when the configuration has a usable MDSharedStore
 * (else *plink is NULL and nothing runs). Called in the renewal watchdog
 * child; `p` lives until acme_shared_link_stop(). The thread copies the
 * other members' challenge answers into `store`. */
apr_status_t acme_shared_link_start(acme_shared_link_t **plink, apr_pool_t *p,
                                    const acme_config_global_t *g, acme_store_t *store,
                                    server_rec *s);

/* 1 while the shared store answers. NULL (no link) is 0. Any thread. */
int acme_shared_link_is_up(const acme_shared_link_t *link);

/* Stops the thread and waits for it (at most a connect timeout). NULL is fine. */
void acme_shared_link_stop(acme_shared_link_t *link);

/* post_config (parent, after the status segment is made): the status record
 * says what the configuration asks for, before any child connects. */
void acme_shared_status_seed(const acme_config_global_t *g);

/* The registry of the leases held by this server's runs
 * (mod_acme_shared_keep.c), renewed by the link thread. */
typedef struct acme_shared_keep_t acme_shared_keep_t;
struct acme_lease_t;

/* How long a lease lasts without being renewed (a server that died blocks
 * its domain that long), and how often the link renews the held ones. */
#define ACME_SHARED_LEASE_TTL  apr_time_from_sec(30)
#define ACME_SHARED_LEASE_KEEP apr_time_from_sec(10)

/* The link's registry; NULL for NULL (then nothing is kept alive). */
acme_shared_keep_t *acme_shared_link_keep(acme_shared_link_t *link);

apr_status_t acme_shared_keep_create(acme_shared_keep_t **pkeep, apr_pool_t *p,
                                     server_rec *s);
/* A worker's lease, just acquired: renewed until removed. NULLs are fine. */
void acme_shared_keep_add(acme_shared_keep_t *keep, struct acme_lease_t *lease);
/* Before the worker releases it; after it the link no longer touches the
 * record. 1 when a renewal found it lost. NULLs are fine (0). */
int acme_shared_keep_remove(acme_shared_keep_t *keep, const struct acme_lease_t *lease);
/* The link thread, connected: renews the leases due (ACME_SHARED_LEASE_KEEP).
 * An error is the connection's (*perr): tried again at the next tick. */
apr_status_t acme_shared_keep_tick(acme_shared_keep_t *keep, acme_redis_t *conn,
                                   apr_pool_t *p, const char **perr);

/* ---- mod_acme_shared_sync.c: one order per domain for the cluster */

/* How long a server waits at most before it looks again at a domain another
 * server renews (or while the shared store fails it): how soon the others
 * take a new set after its renewal, for one GET and one lease attempt per
 * domain and waiting server. */
#define ACME_SHARED_BUSY_WAIT apr_time_from_sec(10)

typedef enum {
    ACME_SHARED_RUN,        /* run the job (the lease is held, or no cluster) */
    ACME_SHARED_STAGED,     /* the cluster's newer set was staged: no run */
    ACME_SHARED_WAIT,       /* another server renews, or Redis failed: *pnext */
    ACME_SHARED_SHARED      /* this server's set, not shared before, now is: no run */
} acme_shared_sync_e;

/* One job run's share of the cluster. */
typedef struct {
    struct acme_redis_t *conn;          /* the worker's */
    struct acme_lease_t *lease;         /* the domain's, while held */
    struct acme_lease_t *account_lease; /* while this server makes the account */
    acme_shared_keep_t *keep;           /* where both are kept alive */
    const char *ca_url;
    const char *ca;                     /* acme_cluster_ca_name() */
    const char *account_id;
} acme_shared_run_t;

/* Before a run with the domain's store locks held (see the file). */
int acme_shared_sync_before(acme_shared_run_t *run, acme_drive_t *d, acme_drive_md_t *dm,
                            acme_drive_clients_t *clients, const char *ca_url, apr_pool_t *p,
                            apr_time_t now, apr_time_t *pnext);

/* After the run (`out` NULL when it could not run): publishes and releases. */
void acme_shared_sync_after(acme_shared_run_t *run, acme_drive_t *d, acme_drive_md_t *dm,
                            apr_pool_t *p, const acme_renew_outcome_t *out);

/* ---- mod_acme_shared_chal.c: http-01 answers shared by the cluster */

/* How long the renewing server waits for the other members to copy an
 * answer before it asks the CA to validate anyway (warning ACME1810). */
#define ACME_SHARED_ACK_WAIT apr_time_from_sec(10)

/* The challenge-setup event of a job run in a cluster: publishes http-01
 * answers and waits for the copies, then calls `next` (MDMessageCmd's). */
typedef struct {
    acme_drive_t *d;
    acme_drive_clients_t *clients;
    const char *md_name;
    const acme_renew_events_t *next;
    acme_renew_events_t hook;
} acme_shared_events_t;

/* Fills *e and returns its hook with MDSharedStore; else returns `next`. */
const acme_renew_events_t *acme_shared_events_hook(acme_shared_events_t *e, acme_drive_t *d,
                                                   acme_drive_clients_t *clients,
                                                   const char *md_name,
                                                   const acme_renew_events_t *next);

/* The link thread's copies of the other members' answers. */
typedef struct {
    apr_pool_t *parent, *pool;
    acme_store_t *store;
    server_rec *s;
    apr_hash_t *copied;         /* "<domain> <token>" -> token, in pool */
} acme_shared_mirror_t;

void acme_shared_mirror_init(acme_shared_mirror_t *m, apr_pool_t *p, acme_store_t *store,
                             server_rec *s);

/* Copies new answers into the store and acknowledges them, removes copies
 * of answers gone from the index. An error is Redis' (*perr). */
apr_status_t acme_shared_mirror_tick(acme_shared_mirror_t *m, acme_redis_t *conn,
                                     apr_pool_t *p, const char **perr);

#endif /* MOD_ACME_SHARED_H */
