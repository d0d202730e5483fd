/* Activation (pending -> live, previous live -> archive, then the staged set
 * it was taken from removed) and start-up recovery of the fs store. The
 * sequence and its crash points are described in acme_store_fs.h; the rule
 * that makes it safe is that one routine, activation_finish(), brings ANY
 * intermediate state to the final one, and both a fresh activation and
 * recovery run exactly that routine. PENDING holds root's own copy of a
 * staged set (acme_store_fs_take.c): nothing the worker owns is renamed
 * into LIVE or chowned. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>

#include "acme_log.h"
#include "acme_names.h"
#include "acme_store_fs_int.h"

#define FS_ACTIVATION_LOCK_TIMEOUT apr_time_from_sec(10)
#define FS_ARCHIVE_N_MAX 999999

typedef struct {
    int sfd, lfd, afd, ifd, pfd; /* staging, live, archive, intents, pending */
} fs_dirs_t;

static void dirs_close(fs_dirs_t *d)
{
    int *fds[5] = {&d->sfd, &d->lfd, &d->afd, &d->ifd, &d->pfd};
    int i;

    for (i = 0; i < 5; ++i) {
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    }
}

static apr_status_t dirs_open(fs_dirs_t *d, acme_store_fs_t *fs)
{
    apr_status_t rv;

    d->sfd = d->lfd = d->afd = d->ifd = d->pfd = -1;
    rv = fs_group_open(&d->sfd, fs, ACME_STORE_STAGING, NULL, 1);
    if (rv == APR_SUCCESS) {
        rv = fs_group_open(&d->pfd, fs, ACME_STORE_PENDING, NULL, 1);
    }
    if (rv == APR_SUCCESS) {
        rv = fs_group_open(&d->lfd, fs, ACME_STORE_LIVE, NULL, 1);
    }
    if (rv == APR_SUCCESS) {
        rv = fs_group_open(&d->afd, fs, ACME_STORE_ARCHIVE, NULL, 1);
    }
    if (rv == APR_SUCCESS) {
        rv = fs_dir_open(&d->ifd, fs->base_fd, FS_INTENTS_DIR, 1, 0700, NULL);
    }
    if (rv != APR_SUCCESS) {
        dirs_close(d);
    }
    return rv;
}

static const char *archive_key(apr_pool_t *p, const char *key, int n)
{
    return apr_psprintf(p, "%s.%d", key, n);
}

/* One above the highest N of "<key>.N" in the archive. */
static apr_status_t archive_next(int *pn, int afd, const char *key)
{
    apr_size_t klen = strlen(key);
    struct dirent *de;
    int fd, max = 0;
    DIR *dir;

    /* A fresh open: a dup would share (and move) afd's directory offset. */
    fd = openat(afd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);
        if (fd >= 0) {
            close(fd);
        }
        return rv;
    }
    while ((de = readdir(dir)) != NULL) {
        const char *rest = de->d_name + klen + 1;
        if (strncmp(de->d_name, key, klen) == 0 && de->d_name[klen] == '.' && *rest
            && strspn(rest, "0123456789") == strlen(rest) && strlen(rest) <= 6) {
            int n = atoi(rest);
            max = n > max ? n : max;
        }
    }
    closedir(dir);
    if (max >= FS_ARCHIVE_N_MAX) {
        return APR_ENOSPC;
    }
    *pn = max + 1;
    return APR_SUCCESS;
}

/* rename + fsync of both directories, so the renames of one activation
 * reach the disk in their order. */
static apr_status_t rename_synced(int ffd, const char *from, int tfd, const char *to)
{
    apr_status_t rv;

    if (renameat(ffd, from, tfd, to) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    rv = fs_sync(ffd);
    return rv == APR_SUCCESS ? fs_sync(tfd) : rv;
}

static apr_status_t exists_or_error(int *pexists, int dfd, const char *name)
{
    apr_status_t rv = fs_dir_exists(dfd, name);

    *pexists = (rv == APR_SUCCESS);
    return (rv == APR_SUCCESS || APR_STATUS_IS_ENOENT(rv)) ? APR_SUCCESS : rv;
}

/* Brings any state of the activation of `key` (planned archive number *pn,
 * 0: none; `staged`: the identity of the STAGING set it was taken from, or
 * NULL) to its end. On return *pn is the archive number holding the
 * previous live set, or 0 when there was none (or it was restored). The
 * caller flushes STAGING after the staged set's removal. */
static apr_status_t activation_finish(int *pn, apr_pool_t *p, const fs_dirs_t *d,
                                      const char *key, const char *staged_id)
{
    int pending, live, archived = 0, n = *pn;
    apr_status_t rv;

    if ((rv = exists_or_error(&pending, d->pfd, key)) != APR_SUCCESS
        || (rv = exists_or_error(&live, d->lfd, key)) != APR_SUCCESS
        || (n && (rv = exists_or_error(&archived, d->afd, archive_key(p, key, n)))
                     != APR_SUCCESS)) {
        return rv;
    }
    if (pending) {
        if (live) {
            /* Step 2. A planned number that is taken by now is re-planned:
             * the live set has not moved yet, so nothing refers to it. */
            if ((n == 0 || archived) && (rv = archive_next(&n, d->afd, key)) != APR_SUCCESS) {
                return rv;
            }
            rv = rename_synced(d->lfd, key, d->afd, archive_key(p, key, n));
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
        rv = rename_synced(d->pfd, key, d->lfd, key); /* step 3 */
    }
    else if (!live && archived) {
        /* The pending set vanished after the live one was archived: restore
         * the old set rather than leave the name without certificates. */
        rv = rename_synced(d->afd, archive_key(p, key, n), d->lfd, key);
        acme_log(ACME_LOG_WARNING, rv, "ACME0752 store(fs): activation of %s rolled back: "
                 "staged set missing, previous set restored", key);
        staged_id = NULL;   /* not activated: what is staged stays for a retry */
    }
    /* Step 4: the set it was copied from is done with (unless staged anew) */
    if (rv == APR_SUCCESS) {
        rv = fs_staged_remove(d->sfd, key, staged_id, p);
    }
    if (rv == APR_SUCCESS && n
        && (rv = exists_or_error(&archived, d->afd, archive_key(p, key, n))) == APR_SUCCESS
        && !archived) {
        n = 0;
    }
    *pn = n;
    return rv;
}

/* The intent file of key; with `dirsync` 0 the caller flushes the intents
 * directory before the first rename. `staged`: the identity of the staged
 * set taken over (NULL: none), removed once the activation is done. */
static apr_status_t intent_write(apr_pool_t *p, int ifd, const char *key, int n,
                                 const char *staged, int dirsync)
{
    json_t *json = json_pack("{s:i, s:s?}", "archive", n, "staged", staged);
    char *text = json ? json_dumps(json, 0) : NULL;
    apr_status_t rv = APR_ENOMEM;

    if (text) {
        rv = fs_write_atomic(ifd, key, text, strlen(text), 0600, NULL,
                             dirsync ? 0 : FS_WRITE_NODIRSYNC);
        free(text);
    }
    json_decref(json);
    (void)p;
    return rv;
}

/* The archive number of an intent; 0 (with a log line) when unreadable: the
 * rule in activation_finish() then still never loses a set. *pstaged: the
 * staged set's identity, NULL when none or unreadable (it then stays, and
 * is only taken over and activated once more). */
static int intent_read(const char **pstaged, apr_pool_t *p, int ifd, const char *key)
{
    const char *data;
    apr_size_t len;
    json_t *json = NULL, *jn;
    json_int_t n = -1;

    *pstaged = NULL;
    if (fs_read_capped(&data, &len, p, ifd, key, 4096) == APR_SUCCESS) {
        json = json_loadb(data, len, 0, NULL);
        jn = json_is_object(json) ? json_object_get(json, "archive") : NULL;
        n = json_is_integer(jn) ? json_integer_value(jn) : -1;
        jn = json_is_object(json) ? json_object_get(json, "staged") : NULL;
        if (json_is_string(jn)) {
            *pstaged = apr_pstrdup(p, json_string_value(jn));
        }
        json_decref(json);
    }
    if (n < 0 || n > FS_ARCHIVE_N_MAX) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0755 store(fs): activation intent of %s is "
                 "unreadable; completing without its archive number", key);
        *pstaged = NULL;
        return 0;
    }
    return (int)n;
}

static apr_status_t intent_remove(int ifd, const char *key)
{
    if (unlinkat(ifd, key, 0) != 0 && errno != ENOENT) {
        return APR_FROM_OS_ERROR(errno);
    }
    return fs_sync(ifd);
}

/* Finishes a crashed activation of key, if its intent exists. Caller holds
 * the activation lock of key. */
static apr_status_t recover_one(apr_pool_t *p, acme_store_fs_t *fs, const fs_dirs_t *d,
                                const char *key)
{
    const char *staged;
    apr_status_t rv;
    int n;

    (void)fs;
    if (faccessat(d->ifd, key, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno == ENOENT ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);
    }
    n = intent_read(&staged, p, d->ifd, key);
    rv = activation_finish(&n, p, d, key, staged);
    if (rv == APR_SUCCESS && (rv = fs_sync(d->sfd)) == APR_SUCCESS) {
        rv = intent_remove(d->ifd, key);
    }
    if (rv == APR_SUCCESS) {
        unlinkat(d->pfd, apr_pstrcat(p, key, FS_STAGED_SUFFIX, NULL), 0);
    }
    acme_log(rv == APR_SUCCESS ? ACME_LOG_NOTICE : ACME_LOG_ERR, rv,
             "ACME0753 store(fs): interrupted activation of %s %s", key,
             rv == APR_SUCCESS ? "completed" : "could not be completed");
    return rv;
}

apr_status_t fs_activate(const char **parchived, apr_pool_t *p, void *baton, const char *name)
{
    acme_store_fs_t *fs = baton;
    const char *key = acme_names_domain_to_key(p, name);
    void *lock = NULL;
    const char *staged;
    fs_dirs_t d;
    apr_status_t rv;
    int live = 0, n = 0;

    rv = fs_lock_take(&lock, p, fs, FS_ACTIVATION_LOCKS, NULL, key, FS_ACTIVATION_LOCK_TIMEOUT);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = dirs_open(&d, fs); /* all handles -1 on failure */
    if (rv != APR_SUCCESS) {
        goto cleanup;
    }
    if ((rv = recover_one(p, fs, &d, key)) != APR_SUCCESS
        || (rv = fs_dir_exists(d.pfd, key)) != APR_SUCCESS
        || (rv = exists_or_error(&live, d.lfd, key)) != APR_SUCCESS
        || (live && (rv = archive_next(&n, d.afd, key)) != APR_SUCCESS)) {
        goto cleanup;
    }
    staged = fs_staged_noted(p, d.pfd, key);
    if ((rv = intent_write(p, d.ifd, key, n, staged, 1)) != APR_SUCCESS) {
        goto cleanup;
    }
    rv = activation_finish(&n, p, &d, key, staged);
    if (rv == APR_SUCCESS && (rv = fs_sync(d.sfd)) == APR_SUCCESS) {
        rv = intent_remove(d.ifd, key);
    }
    if (rv == APR_SUCCESS) {
        unlinkat(d.pfd, apr_pstrcat(p, key, FS_STAGED_SUFFIX, NULL), 0);
    }
    if (rv == APR_SUCCESS) {
        *parchived = n ? apr_psprintf(p, "%s.%d", name, n) : NULL;
        acme_log(ACME_LOG_INFO, rv, "ACME0750 store(fs): activated %s%s%s", name,
                 n ? ", previous set archived as " : "", n ? *parchived : "");
    }

cleanup:
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        acme_log(ACME_LOG_ERR, rv, "ACME0751 store(fs): activation of %s in %s failed; "
                 "if it had begun, recovery completes it at the next start", name, fs->base);
    }
    dirs_close(&d);
    fs_lock_release(lock);
    return rv;
}

apr_status_t fs_activation_recover_key(acme_store_fs_t *fs, apr_pool_t *p, const char *key)
{
    void *lock = NULL;
    fs_dirs_t d;
    apr_status_t rv;

    rv = fs_lock_take(&lock, p, fs, FS_ACTIVATION_LOCKS, NULL, key, FS_ACTIVATION_LOCK_TIMEOUT);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = dirs_open(&d, fs);
    if (rv == APR_SUCCESS) {
        rv = recover_one(p, fs, &d, key);
        dirs_close(&d);
    }
    fs_lock_release(lock);
    return rv;
}

/* Removes the PENDING sets that no intent refers to (copies whose
 * activation never began: they are taken over afresh when due). Run at
 * start, after the intents were completed. */
static void pending_sweep(apr_pool_t *p, const fs_dirs_t *d)
{
    apr_array_header_t *keys = apr_array_make(p, 4, sizeof(const char *));
    struct dirent *de;
    DIR *dir;
    int i, fd = openat(d->pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] != '.'
            && faccessat(d->ifd, de->d_name, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
            APR_ARRAY_PUSH(keys, const char *) = apr_pstrdup(p, de->d_name);
        }
    }
    closedir(dir);
    for (i = 0; i < keys->nelts; ++i) {
        fs_remove_tree(d->pfd, APR_ARRAY_IDX(keys, i, const char *));
    }
}

apr_status_t fs_activation_recover_all(acme_store_fs_t *fs, apr_pool_t *p)
{
    apr_array_header_t *keys = apr_array_make(p, 4, sizeof(const char *));
    apr_status_t rv, rv_all = APR_SUCCESS;
    struct dirent *de;
    fs_dirs_t d;
    DIR *dir;
    int i, fd;

    rv = dirs_open(&d, fs);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    fd = openat(d.ifd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        rv = APR_FROM_OS_ERROR(errno);
        if (fd >= 0) {
            close(fd);
        }
        dirs_close(&d);
        return rv;
    }
    while ((de = readdir(dir)) != NULL) {
        if (acme_names_domain_from_key(p, de->d_name, ACME_NAMES_WILDCARD) != NULL) {
            APR_ARRAY_PUSH(keys, const char *) = apr_pstrdup(p, de->d_name);
        }
    }
    closedir(dir);
    for (i = 0; i < keys->nelts; ++i) {
        const char *key = APR_ARRAY_IDX(keys, i, const char *);
        void *lock;
        rv = fs_lock_take(&lock, p, fs, FS_ACTIVATION_LOCKS, NULL, key,
                          FS_ACTIVATION_LOCK_TIMEOUT);
        if (rv == APR_SUCCESS) {
            rv = recover_one(p, fs, &d, key);
            fs_lock_release(lock);
        }
        rv_all = rv_all == APR_SUCCESS ? rv : rv_all;
    }
    pending_sweep(p, &d);
    dirs_close(&d);
    return rv_all;
}

/* ------------------------------------------------ batches */

/* One set of fs_activate_many(). */
typedef struct {
    acme_store_activation_t *set;
    const char *key;
    const char *staged; /* identity of the STAGING set it was taken from */
    void *lock;
    int live, n;
    int going;      /* still on its way: no step failed */
} fs_batch_item_t;

/* Stops an item; its intent (if written) stays for recovery. */
static void batch_fail(fs_batch_item_t *it, apr_status_t rv)
{
    it->set->rv = rv;
    it->going = 0;
}

/* Flushes the directories of a step for every item still going; a failure
 * stops them all (their intents stay: recovery completes them). */
static void batch_sync(fs_batch_item_t *items, int n, int fd1, int fd2)
{
    apr_status_t rv = fs_sync(fd1);
    int i;

    if (rv == APR_SUCCESS && fd2 >= 0) {
        rv = fs_sync(fd2);
    }
    for (i = 0; rv != APR_SUCCESS && i < n; ++i) {
        if (items[i].going) {
            batch_fail(&items[i], rv);
        }
    }
}

/* Lock, recovery of an earlier crash, the archive number and the intent
 * (its data flushed, the directory not yet) of one item. */
static void batch_prepare(fs_batch_item_t *it, apr_pool_t *p, acme_store_fs_t *fs,
                          const fs_dirs_t *d)
{
    apr_status_t rv;

    rv = fs_lock_take(&it->lock, p, fs, FS_ACTIVATION_LOCKS, NULL, it->key,
                      FS_ACTIVATION_LOCK_TIMEOUT);
    if (rv == APR_SUCCESS && (rv = recover_one(p, fs, d, it->key)) == APR_SUCCESS
        && (rv = fs_dir_exists(d->pfd, it->key)) == APR_SUCCESS
        && (rv = exists_or_error(&it->live, d->lfd, it->key)) == APR_SUCCESS
        && (!it->live || (rv = archive_next(&it->n, d->afd, it->key)) == APR_SUCCESS)) {
        it->staged = fs_staged_noted(p, d->pfd, it->key);
        rv = intent_write(p, d->ifd, it->key, it->n, it->staged, 0);
    }
    it->going = rv == APR_SUCCESS;
    it->set->rv = rv;
}

/* The renames of fs_activate(), step by step over all items: each step is
 * flushed before the next begins, so per item the order on disk is that of
 * fs_activate() and a crash leaves each in a state activation_finish()
 * completes. */
static void batch_move(fs_batch_item_t *items, int n, apr_pool_t *p, acme_store_fs_t *fs,
                       const fs_dirs_t *d)
{
    int i, moved = 0;

    for (i = 0; i < n; ++i) {   /* step 2: live -> archive */
        if (items[i].going && items[i].live) {
            if (renameat(d->lfd, items[i].key, d->afd, archive_key(p, items[i].key,
                                                                    items[i].n)) != 0) {
                batch_fail(&items[i], APR_FROM_OS_ERROR(errno));
            }
            moved = 1;
        }
    }
    if (moved) {
        batch_sync(items, n, d->lfd, d->afd);
    }
    for (i = 0, moved = 0; i < n; ++i) {  /* step 3: pending -> live */
        if (items[i].going) {
            if (renameat(d->pfd, items[i].key, d->lfd, items[i].key) != 0) {
                batch_fail(&items[i], APR_FROM_OS_ERROR(errno));
            }
            moved = 1;
        }
    }
    if (moved) {
        batch_sync(items, n, d->pfd, d->lfd);
    }
    for (i = 0, moved = 0; i < n; ++i) {  /* step 4: the staged sets taken over */
        apr_status_t rv;
        if (items[i].going && items[i].staged) {
            if ((rv = fs_staged_remove(d->sfd, items[i].key, items[i].staged, p))
                != APR_SUCCESS) {
                batch_fail(&items[i], rv);
            }
            moved = 1;
        }
    }
    if (moved) {
        batch_sync(items, n, d->sfd, -1);
    }
    (void)fs;
}

/* Removes the intents of the items that made it; one flush for all. */
static void batch_finish(fs_batch_item_t *items, int n, int ifd)
{
    int i, removed = 0;

    for (i = 0; i < n; ++i) {
        if (items[i].going) {
            if (unlinkat(ifd, items[i].key, 0) != 0 && errno != ENOENT) {
                batch_fail(&items[i], APR_FROM_OS_ERROR(errno));
            }
            removed = 1;
        }
    }
    if (removed) {
        batch_sync(items, n, ifd, -1);
    }
}

void fs_activate_many(apr_pool_t *p, void *baton, acme_store_activation_t *sets, int n)
{
    acme_store_fs_t *fs = baton;
    fs_batch_item_t *items = apr_pcalloc(p, sizeof(*items) * (apr_size_t)n);
    apr_status_t rv;
    fs_dirs_t d;
    int i, intents = 0;

    rv = dirs_open(&d, fs);
    for (i = 0; i < n; ++i) {
        items[i].set = &sets[i];
        items[i].key = acme_names_domain_to_key(p, sets[i].name);
        sets[i].archived = NULL;
        sets[i].rv = rv;
        if (rv == APR_SUCCESS) {
            batch_prepare(&items[i], p, fs, &d);
            intents += items[i].going;
        }
    }
    if (intents > 0) {
        batch_sync(items, n, d.ifd, -1);    /* every intent durable before any rename */
        batch_move(items, n, p, fs, &d);
        batch_finish(items, n, d.ifd);
    }
    for (i = 0; i < n; ++i) {
        if (items[i].going) {
            unlinkat(d.pfd, apr_pstrcat(p, items[i].key, FS_STAGED_SUFFIX, NULL), 0);
            sets[i].archived = items[i].live ? apr_psprintf(p, "%s.%d", sets[i].name,
                                                            items[i].n) : NULL;
            acme_log(ACME_LOG_INFO, 0, "ACME0750 store(fs): activated %s%s%s", sets[i].name,
                     sets[i].archived ? ", previous set archived as " : "",
                     sets[i].archived ? sets[i].archived : "");
        }
        else if (!APR_STATUS_IS_ENOENT(sets[i].rv)) {
            acme_log(ACME_LOG_ERR, sets[i].rv, "ACME0751 store(fs): activation of %s in %s "
                     "failed; if it had begun, recovery completes it at the next start",
                     sets[i].name, fs->base);
        }
        if (items[i].lock) {
            fs_lock_release(items[i].lock);
        }
    }
    dirs_close(&d);
}
