/* The store: where accounts, certificates, keys, job states and challenge
 * answers live, behind an interface.
 *
 * Items are addressed by (group, name, aspect), e.g.
 *   (ACME_STORE_LIVE, "a.example", "privkey.pem")
 *   (ACME_STORE_ACCOUNTS, "ACME-pebble-0001", "account.json")
 *   (ACME_STORE_CHALLENGES, "a.example", "http-01.<token>")
 * Each aspect is one value of bytes, read and written whole and atomically: a
 * reader sees the old or the new value, never a mix. Nothing outside a backend
 * knows where or how items are kept (files today, Redis for a fleet later),
 * so callers never build paths.
 *
 * Names are checked before a backend sees them (acme_names.h):
 *   ACCOUNTS, TMP                               : id rule ("ACME-pebble-0001")
 *   LIVE, STAGING, CHALLENGES, JOBS, OCSP,
 *   PENDING                                     : domain rule, "*." allowed
 *   ARCHIVE                                     : domain rule; names are "<md>.N"
 * and are at most ACME_STORE_NAME_MAX characters; aspects follow the aspect
 * rule. Invalid input gives APR_EINVAL and a log line, and reaches no backend.
 *
 * Errors common to all calls: APR_EINVAL (invalid group/name/aspect/flags),
 * APR_ENOENT (item or name does not exist: distinct so callers can treat
 * "absent" as normal), other values are I/O errors of the backend.
 *
 * Thread safety: a store may be used from several threads; each call's
 * allocations come from the pool the caller passes. Cross-process exclusion
 * is the caller's job, with acme_store_lock(). */
#ifndef ACME_STORE_H
#define ACME_STORE_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

typedef enum {
    ACME_STORE_ACCOUNTS,   /* ACME accounts: account.json, key (secret) */
    ACME_STORE_LIVE,       /* the certificates and keys in use, per MD */
    ACME_STORE_STAGING,    /* what a renewal job builds, before activation */
    ACME_STORE_CHALLENGES, /* answers to pending challenges, per domain */
    ACME_STORE_ARCHIVE,    /* previous LIVE sets, named "<md>.N" */
    ACME_STORE_JOBS,       /* renewal job states, per MD */
    ACME_STORE_OCSP,       /* OCSP responses, per MD */
    ACME_STORE_TMP,        /* scratch space for multi-item work */
    ACME_STORE_PENDING,    /* a STAGING set taken over by the activating process
                            * (acme_store_take()): its own copy, checked and
                            * activated from there; never the workers' */
    ACME_STORE_GROUP_COUNT
} acme_store_group_e;

/* Flags of acme_store_save(). */
#define ACME_STORE_SECRET 0x01 /* readable only by the owner (0600), from creation on */
#define ACME_STORE_EXCL   0x02 /* create only: APR_EEXIST if the aspect exists */
#define ACME_STORE_NOSYNC 0x04 /* not flushed to disk: after a crash the item may be
                                * missing, empty or torn (the old one, the new one or
                                * neither). Only for data that its reader checks and
                                * the caller simply makes again, e.g. the fallback set */
#define ACME_STORE_PRIVATE 0x08 /* a private key (implies SECRET, 0600): the file stays
                                 * the writing process's, never given to the group's
                                 * owner (httpd's User); read back with
                                 * acme_store_load_private() */

/* Largest value that can be saved or loaded; a bigger item is an error
 * (APR_FROM_OS_ERROR(EFBIG)), so a corrupt or hostile file cannot make us
 * allocate without bound. */
#define ACME_STORE_ITEM_MAX (1024 * 1024)

/* Longest name: on disk, a key plus an archive suffix must fit NAME_MAX. */
#define ACME_STORE_NAME_MAX 200

typedef struct acme_store_t acme_store_t;
typedef struct acme_store_lock_t acme_store_lock_t;

/* One set of acme_store_activate_many(). */
typedef struct acme_store_activation_t {
    const char *name;       /* in: the set to activate */
    apr_status_t rv;        /* out: as acme_store_activate() returns for it */
    const char *archived;   /* out: as its *parchived (allocated from p) */
} acme_store_activation_t;

/* One aspect to copy with acme_store_take(). */
typedef struct acme_store_take_t {
    const char *aspect;
    int flags;              /* ACME_STORE_SECRET or 0: the copy's mode */
} acme_store_take_t;

/* Backend interface. Arguments are validated by the dispatch functions below
 * before an op is called: a backend may rely on valid groups, names, aspects,
 * flags and sizes. Semantics of each op are those of the function of the same
 * name below. */
typedef struct acme_store_ops_t {
    const char *kind; /* "fs", "redis", ...: for log lines */
    apr_status_t (*load)(const char **pdata, apr_size_t *plen, apr_pool_t *p, void *baton,
                         acme_store_group_e group, const char *name, const char *aspect);
    apr_status_t (*save)(void *baton, apr_pool_t *p, acme_store_group_e group, const char *name,
                         const char *aspect, const void *data, apr_size_t len, int flags);
    apr_status_t (*remove)(void *baton, apr_pool_t *p, acme_store_group_e group,
                           const char *name, const char *aspect);
    apr_status_t (*purge)(void *baton, apr_pool_t *p, acme_store_group_e group,
                          const char *name);
    apr_status_t (*list)(apr_array_header_t **pnames, apr_pool_t *p, void *baton,
                         acme_store_group_e group, const char *pattern);
    apr_status_t (*stat)(apr_time_t *pmtime, apr_pool_t *p, void *baton,
                         acme_store_group_e group, const char *name, const char *aspect);
    apr_status_t (*move)(void *baton, apr_pool_t *p, acme_store_group_e from,
                         acme_store_group_e to, const char *name);
    apr_status_t (*activate)(const char **parchived, apr_pool_t *p, void *baton,
                             const char *name);
    apr_status_t (*recover)(void *baton, apr_pool_t *p, apr_interval_time_t tmp_min_age);
    /* *phandle is the backend's lock, handed back to unlock once. The backend
     * also releases it when p is destroyed. */
    apr_status_t (*lock)(void **phandle, apr_pool_t *p, void *baton, acme_store_group_e group,
                         const char *name, apr_interval_time_t timeout);
    apr_status_t (*unlock)(void *baton, void *handle);
    /* optional (NULL: acme_store_activate_many() activates one by one) */
    void (*activate_many)(apr_pool_t *p, void *baton, acme_store_activation_t *sets, int n);
    apr_status_t (*take)(const char **pwhy, apr_pool_t *p, void *baton, const char *name,
                         const acme_store_take_t *items, int n);
    apr_status_t (*load_trusted)(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                                 void *baton, acme_store_group_e group, const char *name,
                                 const char *aspect);
    /* optional (NULL: the store has no key) */
    apr_status_t (*secret_key)(const unsigned char **pkey, apr_size_t *plen, void *baton);
    /* optional (NULL: the backend has no owners to check, a plain load) */
    apr_status_t (*load_private)(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                                 void *baton, acme_store_group_e group, const char *name,
                                 const char *aspect);
} acme_store_ops_t;

/* For backends: wraps `ops` and `baton` (both must outlive p) in a store. */
apr_status_t acme_store_create(acme_store_t **pstore, apr_pool_t *p,
                               const acme_store_ops_t *ops, void *baton);

/* The backend's baton, for backend-specific functions (acme_store_fs.h).
 * NULL if the store is not of kind `kind`. */
void *acme_store_baton(acme_store_t *store, const char *kind);

/* Short lowercase name of a group ("domains" for LIVE, mod_md's word), or NULL
 * for an invalid value. */
const char *acme_store_group_name(acme_store_group_e group);

/* The store's key for secrets at rest (borrowed from the store; SECRET):
 * account keys are kept encrypted with it, as mod_md keeps them (its store
 * key, md_store.json). APR_ENOTIMPL when the store has none. */
apr_status_t acme_store_secret_key(const unsigned char **pkey, apr_size_t *plen,
                                   acme_store_t *store);

/* Reads a whole aspect. *pdata is allocated from p and followed by a NUL that
 * *plen does not count, so text can be used as a C string. APR_ENOENT when
 * absent, EFBIG when larger than ACME_STORE_ITEM_MAX. */
apr_status_t acme_store_load(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                             acme_store_t *store, acme_store_group_e group, const char *name,
                             const char *aspect);

/* Like acme_store_load(), but only an item that no one but this process's
 * own user can have written or replaced: the item and the places holding it
 * are owned by that user (root in httpd's parent) and writable by no one
 * else. APR_EACCES for any other item (e.g. one in a group given to httpd's
 * User): for data this process trusts without checking it again, such as
 * the stamp of a certificate set (acme_certset.h). */
apr_status_t acme_store_load_trusted(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                                     acme_store_t *store, acme_store_group_e group,
                                     const char *name, const char *aspect);

/* Like acme_store_load(), for an item saved ACME_STORE_PRIVATE: only one that
 * this process alone can read and replace. The fs backend reads a regular
 * file (not through a symlink) owned by this process's euid, with one link
 * and no permission bits for group or others; any other gives APR_EACCES and
 * a log line naming the file (never its content). A backend without owners
 * (no load_private op) loads it plainly. */
apr_status_t acme_store_load_private(const char **pdata, apr_size_t *plen, apr_pool_t *p,
                                     acme_store_t *store, acme_store_group_e group,
                                     const char *name, const char *aspect);

/* Replaces (or with ACME_STORE_EXCL creates) an aspect atomically and durably:
 * when this returns APR_SUCCESS the value survives a crash. The name is
 * created as needed. */
apr_status_t acme_store_save(acme_store_t *store, apr_pool_t *p, acme_store_group_e group,
                             const char *name, const char *aspect, const void *data,
                             apr_size_t len, int flags);

/* Removes one aspect (APR_ENOENT if absent). The name stays, even if empty. */
apr_status_t acme_store_remove(acme_store_t *store, apr_pool_t *p, acme_store_group_e group,
                               const char *name, const char *aspect);

/* Removes a name with all its aspects, atomically for readers: they see the
 * whole name or nothing. APR_ENOENT if absent. */
apr_status_t acme_store_purge(acme_store_t *store, apr_pool_t *p, acme_store_group_e group,
                              const char *name);

/* The names in a group, sorted, as an array of const char *. `pattern`
 * (apr_fnmatch syntax, e.g. "*.example.org") filters them; NULL lists all.
 * An empty or absent group gives an empty array. */
apr_status_t acme_store_list(apr_array_header_t **pnames, apr_pool_t *p, acme_store_t *store,
                             acme_store_group_e group, const char *pattern);

/* APR_SUCCESS when the aspect (or with aspect NULL, the name) exists,
 * APR_ENOENT when not. */
apr_status_t acme_store_exists(acme_store_t *store, apr_pool_t *p, acme_store_group_e group,
                               const char *name, const char *aspect);

/* Copies one aspect from (from, from_name) to (to, to_name), saved with
 * `flags` (acme_store_save()); an absent source is no error and copies
 * nothing. */
apr_status_t acme_store_copy(acme_store_t *store, apr_pool_t *p, acme_store_group_e from,
                             const char *from_name, acme_store_group_e to,
                             const char *to_name, const char *aspect, int flags);

/* Last modification time of an aspect (aspect NULL: of the name). */
apr_status_t acme_store_mtime(apr_time_t *pmtime, apr_pool_t *p, acme_store_t *store,
                              acme_store_group_e group, const char *name, const char *aspect);

/* Moves a whole name from one group to another, atomically where the backend
 * can. APR_ENOENT if the source is absent, APR_EEXIST if the target exists.
 * Not for ARCHIVE targets (names differ there): use acme_store_activate(). */
apr_status_t acme_store_move(acme_store_t *store, apr_pool_t *p, acme_store_group_e from,
                             acme_store_group_e to, const char *name);

/* Takes the set STAGING/name over for activation: PENDING/name becomes a
 * fresh copy, made by this process and owned by it, of the `n` aspects
 * `items` (absent ones are skipped; other aspects are not copied), so that
 * what is checked and activated afterwards is out of reach of whoever can
 * write STAGING (httpd's User). Any earlier PENDING/name is replaced (an
 * interrupted activation of it is completed first). A staged set holding
 * anything but plain files with a single link (a symbolic link, a hard
 * link, a directory, a device, a FIFO) or a file over ACME_STORE_ITEM_MAX
 * is refused: APR_EINVAL with *pwhy saying why, nothing copied. APR_ENOENT
 * when nothing is staged; other errors are I/O. The caller holds the
 * staging lock of name. */
apr_status_t acme_store_take(const char **pwhy, apr_pool_t *p, acme_store_t *store,
                             const char *name, const acme_store_take_t *items, int n);

/* Makes PENDING/name (from acme_store_take()) the new LIVE/name and removes
 * the STAGING/name it was taken from (unless that changed since). A previous
 * LIVE/name becomes ARCHIVE/name.N (N one above the highest in use) and
 * *parchived is set to that archive name, or NULL when there was no previous
 * set. Crash-safe: after a crash at any point, acme_store_recover() completes
 * the activation (or, if the pending set vanished, restores the old one); a
 * set is never lost or half-moved. The caller has verified the pending set;
 * the backend serializes activations of the same name. APR_ENOENT if
 * PENDING/name is absent. */
apr_status_t acme_store_activate(const char **parchived, apr_pool_t *p, acme_store_t *store,
                                 const char *name);

/* Activates sets[0..n-1] as acme_store_activate() each, with the same crash
 * safety, but a backend may make the moves of all of them durable together
 * (fs: one fsync per directory and step of the activation, not per set).
 * Every element's rv is set; one failing set does not stop the others. */
void acme_store_activate_many(apr_pool_t *p, acme_store_t *store,
                              acme_store_activation_t *sets, int n);

/* Start-up repair, run by the parent before anything else uses the store:
 * finishes interrupted activations and removes leftovers of interrupted
 * writes that are older than tmp_min_age (pass the time a write can take at
 * most, so writes of still running processes are not disturbed). */
apr_status_t acme_store_recover(acme_store_t *store, apr_pool_t *p,
                                apr_interval_time_t tmp_min_age);

/* Takes the exclusive lock named (group, name), visible to every process (and
 * for shared backends every node) using the store. Waits up to `timeout`
 * (0: try once); APR_TIMEUP when still held by someone else. The lock is
 * released by acme_store_unlock() or at the latest when p is destroyed. Locks
 * do not nest: taking a lock twice, even in one process, waits for itself. */
apr_status_t acme_store_lock(acme_store_lock_t **plock, apr_pool_t *p, acme_store_t *store,
                             acme_store_group_e group, const char *name,
                             apr_interval_time_t timeout);

/* Releases a lock from acme_store_lock(); a second call is a no-op. */
apr_status_t acme_store_unlock(acme_store_lock_t *lock);

#endif /* ACME_STORE_H */
