/* Private parts of the filesystem store, shared by its acme_store_fs_*.c
 * files. Nothing outside the fs backend includes this. */
#ifndef ACME_STORE_FS_INT_H
#define ACME_STORE_FS_INT_H

#include <sys/types.h>

#include "acme_store_fs.h"

#define FS_TMP_PREFIX ".tmp."
#define FS_INTENTS_DIR "intents"
#define FS_LOCKS_DIR "locks"
#define FS_ACTIVATION_LOCKS "activation"
#define FS_MD_STORE_JSON "md_store.json"
/* the store key's length, as mod_md makes it */
#define FS_STORE_KEY_LEN 48

typedef struct {
    uid_t uid;
    gid_t gid;
    int set;
} fs_owner_t;

typedef struct {
    const char *base;  /* as given, for log lines */
    int base_fd;       /* O_DIRECTORY handle, closed with the pool */
    fs_owner_t owner[ACME_STORE_GROUP_COUNT]; /* from acme_store_fs_set_owner() */
    fs_owner_t self;   /* euid/egid at open: owner of groups with none set */
    unsigned char key[FS_STORE_KEY_LEN]; /* md_store.json's key (secret) */
    int has_key;
} acme_store_fs_t;

/* ------------------------------------------------ acme_store_fs_format.c */

/* Reads md_store.json (creating it in a new store, converting mod_acme's
 * first layout): fills fs->key. Errors are logged. */
apr_status_t fs_format_open(acme_store_fs_t *fs, apr_pool_t *p);

/* Reads md_store.json (fills fs->key) as fs_format_open(), but writes
 * nothing: no marker is created, no layout converted, no mode changed:
 * APR_ENOENT when there is none, APR_EGENERAL for a store in mod_acme's
 * first layout (store.json, converted by the module at its start), the
 * read's error (APR_EACCES ...) or the version check's (as
 * fs_format_open()) otherwise. */
apr_status_t fs_format_check(acme_store_fs_t *fs, apr_pool_t *p);

/* ------------------------------------------------ acme_store_fs_io.c */

/* The owner entries created in or moved into `group` get when running as
 * root: the recorded one, else root's own. NULL when not running as root
 * (entries then simply belong to whoever creates them). */
const fs_owner_t *fs_owner_for(const acme_store_fs_t *fs, acme_store_group_e group);

/* 0700 for groups holding secrets readable only by their owner, else 0755. */
mode_t fs_dir_mode(acme_store_group_e group);

/* The directory name of a group ("domains" for LIVE, as mod_md names it). */
const char *fs_group_dir_name(acme_store_group_e group);

/* Opens directory `name` under dfd with O_NOFOLLOW; with `create` makes it
 * first (mode and owner exact, parent fsync'ed). APR_ENOENT when absent. */
apr_status_t fs_dir_open(int *pfd, int dfd, const char *name, int create, mode_t mode,
                         const fs_owner_t *owner);

/* Opens base/<group> and, when key is not NULL, base/<group>/<key>. */
apr_status_t fs_group_open(int *pfd, acme_store_fs_t *fs, acme_store_group_e group,
                           const char *key, int create);

/* Flags of fs_write_atomic(). */
#define FS_WRITE_EXCL   0x01 /* fail with APR_EEXIST if `fname` exists */
#define FS_WRITE_NOSYNC 0x02 /* atomic but not durable: no fsync (ACME_STORE_NOSYNC) */
#define FS_WRITE_NODIRSYNC 0x04 /* the file's data is flushed, the caller flushes dfd */

/* Writes `fname` in dfd atomically and durably (see acme_store_fs.h). */
apr_status_t fs_write_atomic(int dfd, const char *fname, const void *data, apr_size_t len,
                             mode_t mode, const fs_owner_t *owner, int flags);

/* Reads regular file `fname` in dfd (not following a symlink), at most max
 * bytes, NUL-terminated; EFBIG when larger. A file that shrinks or grows
 * while read (never one of ours: we replace, never rewrite) gives what its
 * size was at open, or less. */
apr_status_t fs_read_capped(const char **pdata, apr_size_t *plen, apr_pool_t *p, int dfd,
                            const char *fname, apr_size_t max);

/* Reads the regular file open as fd (st: its fstat), at most max bytes,
 * NUL-terminated; APR_EINVAL when not a regular file, EFBIG when larger. */
struct stat;
apr_status_t fs_read_fd(const char **pdata, apr_size_t *plen, apr_pool_t *p, int fd,
                        const struct stat *st, apr_size_t max);

/* Calls fn for each entry of directory fd except "." and "..", stopping at
 * the first error. Takes ownership of fd. */
typedef apr_status_t fs_dir_entry_cb(int dfd, const char *name, void *baton);
apr_status_t fs_dir_each(int fd, fs_dir_entry_cb *fn, void *baton);

/* fsync of a directory (or file) handle, as apr_status_t. */
apr_status_t fs_sync(int fd);

/* Writes a fresh name for a temporary entry, ".tmp.<pid>.<n>", into buf
 * (FS_TMP_NAME_SIZE bytes): unique among the processes of this host. */
#define FS_TMP_NAME_SIZE 48
void fs_tmp_name(char *buf);

/* True for names of temporary entries (FS_TMP_PREFIX). */
int fs_is_tmp_name(const char *name);

/* Removes `name` under dfd, recursively for directories, never following
 * symlinks. APR_ENOENT when absent. */
apr_status_t fs_remove_tree(int dfd, const char *name);

/* Changes owner of `name` under dfd and everything below it (owner NULL:
 * keep owners); with `dir_mode` nonzero also sets that mode on directories.
 * Only through descriptors opened with O_NOFOLLOW and checked with fstat:
 * symlinks, devices and FIFOs are left alone, and so is a file with more
 * than one link (ACME0718), whose other names may be anywhere. */
apr_status_t fs_chown_tree(int dfd, const char *name, const fs_owner_t *owner,
                           mode_t dir_mode);

/* APR_SUCCESS if `name` under dfd exists as a directory (symlinks are not
 * followed), APR_ENOENT when absent, APR_EINVAL when something else. */
apr_status_t fs_dir_exists(int dfd, const char *name);

/* ------------------------------------------------ acme_store_fs_activate.c */
apr_status_t fs_activate(const char **parchived, apr_pool_t *p, void *baton, const char *name);
void fs_activate_many(apr_pool_t *p, void *baton, acme_store_activation_t *sets, int n);
/* Finishes the activation of key if it has an intent (takes its lock). */
apr_status_t fs_activation_recover_key(acme_store_fs_t *fs, apr_pool_t *p, const char *key);
/* Finishes every activation that has an intent (crash leftovers) and
 * removes the pending sets none refers to. */
apr_status_t fs_activation_recover_all(acme_store_fs_t *fs, apr_pool_t *p);

/* ------------------------------------------------ acme_store_fs_take.c */
apr_status_t fs_take(const char **pwhy, apr_pool_t *p, void *baton, const char *name,
                     const acme_store_take_t *items, int n);
apr_status_t fs_load_trusted(const char **pdata, apr_size_t *plen, apr_pool_t *p, void *baton,
                             acme_store_group_e group, const char *name, const char *aspect);
/* What identifies the staged directory `key` (a digest of its files' names
 * and bytes) in p; NULL when absent. An activation removes STAGING/key
 * only while it is still the one taken over. */
const char *fs_staged_identity(apr_pool_t *p, int sfd, const char *key);
/* The identity of the staged set PENDING/key was taken from, as fs_take()
 * noted it in PENDING/<key>.staged; NULL when there is none. */
#define FS_STAGED_SUFFIX ".staged"
const char *fs_staged_noted(apr_pool_t *p, int pfd, const char *key);
/* Removes STAGING/key when its identity is still `identity`. */
apr_status_t fs_staged_remove(int sfd, const char *key, const char *identity, apr_pool_t *p);

/* ------------------------------------------------ acme_store_fs_private.c */
apr_status_t fs_load_private(const char **pdata, apr_size_t *plen, apr_pool_t *p, void *baton,
                             acme_store_group_e group, const char *name, const char *aspect);

/* ------------------------------------------------ acme_store_fs_recover.c */
apr_status_t fs_recover(void *baton, apr_pool_t *p, apr_interval_time_t tmp_min_age);

/* ------------------------------------------------ acme_store_fs_lock.c */
/* The lock file locks/<sub>/<key>; sub is a group's dir name or
 * FS_ACTIVATION_LOCKS. */
apr_status_t fs_lock_take(void **phandle, apr_pool_t *p, acme_store_fs_t *fs, const char *sub,
                          const fs_owner_t *owner, const char *key,
                          apr_interval_time_t timeout);
apr_status_t fs_lock_release(void *handle);

#endif /* ACME_STORE_FS_INT_H */
