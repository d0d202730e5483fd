/* The filesystem store: opening (format check), item operations and the
 * vtable. Layout and guarantees are described in acme_store_fs.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_fnmatch.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <jansson.h>

#include "acme_log.h"
#include "acme_names.h"
#include "acme_store_fs_int.h"

#define FS_KIND "fs"

static const char *key_of(apr_pool_t *p, acme_store_group_e group, const char *name)
{
    if (group == ACME_STORE_ACCOUNTS || group == ACME_STORE_TMP) {
        return name;
    }
    return acme_names_domain_to_key(p, name);
}

/* The logical name of an on-disk entry, or NULL when it is not one of ours. */
static const char *name_of(apr_pool_t *p, acme_store_group_e group, const char *key)
{
    if (group == ACME_STORE_ACCOUNTS || group == ACME_STORE_TMP) {
        return acme_names_check_id(key) == APR_SUCCESS ? key : NULL;
    }
    return acme_names_domain_from_key(p, key, ACME_NAMES_WILDCARD);
}

static apr_status_t fs_load(const char **pdata, apr_size_t *plen, apr_pool_t *p, void *baton,
                            acme_store_group_e group, const char *name, const char *aspect)
{
    acme_store_fs_t *fs = baton;
    apr_status_t rv;
    int fd;

    rv = fs_group_open(&fd, fs, group, key_of(p, group, name), 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = fs_read_capped(pdata, plen, p, fd, aspect, ACME_STORE_ITEM_MAX);
    close(fd);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        acme_log(ACME_LOG_ERR, rv, "ACME0716 store(fs): cannot read %s/%s/%s in %s%s",
                 acme_store_group_name(group), name, aspect, fs->base,
                 rv == APR_FROM_OS_ERROR(EFBIG) ? ": larger than the item limit" : "");
    }
    return rv;
}

static apr_status_t fs_save(void *baton, apr_pool_t *p, acme_store_group_e group,
                            const char *name, const char *aspect, const void *data,
                            apr_size_t len, int flags)
{
    acme_store_fs_t *fs = baton;
    mode_t mode = (flags & ACME_STORE_SECRET) ? 0600 : 0644;
    apr_status_t rv;
    int fd;

    rv = fs_group_open(&fd, fs, group, key_of(p, group, name), 1);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* a private item stays the writer's: the group's owner (httpd's User)
     * must not read it */
    rv = fs_write_atomic(fd, aspect, data, len, mode,
                         (flags & ACME_STORE_PRIVATE) ? NULL : fs_owner_for(fs, group),
                         ((flags & ACME_STORE_EXCL) ? FS_WRITE_EXCL : 0)
                         | ((flags & ACME_STORE_NOSYNC) ? FS_WRITE_NOSYNC : 0));
    close(fd);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        acme_log(ACME_LOG_ERR, rv, "ACME0717 store(fs): cannot write %s/%s/%s in %s",
                 acme_store_group_name(group), name, aspect, fs->base);
    }
    return rv;
}

static apr_status_t fs_remove(void *baton, apr_pool_t *p, acme_store_group_e group,
                              const char *name, const char *aspect)
{
    apr_status_t rv;
    int fd;

    rv = fs_group_open(&fd, baton, group, key_of(p, group, name), 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = unlinkat(fd, aspect, 0) == 0 ? fs_sync(fd) : APR_FROM_OS_ERROR(errno);
    close(fd);
    return rv;
}

/* Renamed away first, so readers see the whole name or nothing; a crash
 * while deleting leaves a ".tmp." entry that recovery removes. */
static apr_status_t fs_purge(void *baton, apr_pool_t *p, acme_store_group_e group,
                             const char *name)
{
    char tmp[FS_TMP_NAME_SIZE];
    const char *key = key_of(p, group, name);
    apr_status_t rv;
    int gfd;

    rv = fs_group_open(&gfd, baton, group, NULL, 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = fs_dir_exists(gfd, key);
    if (rv == APR_SUCCESS) {
        fs_tmp_name(tmp);
        rv = renameat(gfd, key, gfd, tmp) == 0 ? fs_sync(gfd) : APR_FROM_OS_ERROR(errno);
    }
    if (rv == APR_SUCCESS) {
        rv = fs_remove_tree(gfd, tmp);
    }
    close(gfd);
    return rv;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static apr_status_t fs_list(apr_array_header_t **pnames, apr_pool_t *p, void *baton,
                            acme_store_group_e group, const char *pattern)
{
    apr_array_header_t *names = apr_array_make(p, 16, sizeof(const char *));
    struct dirent *de;
    apr_status_t rv;
    DIR *dir;
    int gfd;

    rv = fs_group_open(&gfd, baton, group, NULL, 0);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *pnames = names;
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    dir = fdopendir(gfd);
    if (dir == NULL) {
        rv = APR_FROM_OS_ERROR(errno);
        close(gfd);
        return rv;
    }
    while ((de = readdir(dir)) != NULL) {
        const char *name = de->d_name[0] == '.' ? NULL : name_of(p, group, de->d_name);
        if (name == NULL || fs_dir_exists(dirfd(dir), de->d_name) != APR_SUCCESS
            || (pattern && apr_fnmatch(pattern, name, 0) != APR_SUCCESS)) {
            continue;
        }
        APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, name);
    }
    closedir(dir);
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_str);
    *pnames = names;
    return APR_SUCCESS;
}

static apr_status_t fs_stat(apr_time_t *pmtime, apr_pool_t *p, void *baton,
                            acme_store_group_e group, const char *name, const char *aspect)
{
    const char *key = key_of(p, group, name);
    struct stat st;
    apr_status_t rv;
    int fd;

    rv = fs_group_open(&fd, baton, group, aspect ? key : NULL, 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (fstatat(fd, aspect ? aspect : key, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    else if (aspect ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) {
        rv = APR_EINVAL;
    }
    else {
        *pmtime = apr_time_make(st.st_mtim.tv_sec, st.st_mtim.tv_nsec / 1000);
    }
    close(fd);
    return rv;
}

/* A single rename: atomic. rename(2) never replaces a non-empty directory,
 * so an existing target is never lost (it fails with ENOTEMPTY/EEXIST). */
static apr_status_t fs_move(void *baton, apr_pool_t *p, acme_store_group_e from,
                            acme_store_group_e to, const char *name)
{
    acme_store_fs_t *fs = baton;
    const char *fkey = key_of(p, from, name), *tkey = key_of(p, to, name);
    const fs_owner_t *owner = fs_owner_for(fs, to);
    apr_status_t rv;
    int ffd = -1, tfd = -1;

    rv = fs_group_open(&ffd, fs, from, NULL, 0);
    if (rv == APR_SUCCESS) {
        rv = fs_dir_exists(ffd, fkey);
    }
    if (rv == APR_SUCCESS) {
        rv = fs_group_open(&tfd, fs, to, NULL, 1);
    }
    if (rv == APR_SUCCESS && !APR_STATUS_IS_ENOENT(fs_dir_exists(tfd, tkey))) {
        rv = APR_EEXIST;
    }
    if (rv == APR_SUCCESS && renameat(ffd, fkey, tfd, tkey) != 0) {
        rv = (errno == ENOTEMPTY || errno == EEXIST) ? APR_EEXIST : APR_FROM_OS_ERROR(errno);
    }
    if (rv == APR_SUCCESS && (rv = fs_sync(ffd)) == APR_SUCCESS) {
        rv = fs_sync(tfd);
    }
    if (rv == APR_SUCCESS) {
        rv = fs_chown_tree(tfd, tkey, owner, fs_dir_mode(to));
    }
    if (ffd >= 0) {
        close(ffd);
    }
    if (tfd >= 0) {
        close(tfd);
    }
    return rv;
}

static apr_status_t fs_lock(void **phandle, apr_pool_t *p, void *baton,
                            acme_store_group_e group, const char *name,
                            apr_interval_time_t timeout)
{
    acme_store_fs_t *fs = baton;

    return fs_lock_take(phandle, p, fs, fs_group_dir_name(group), fs_owner_for(fs, group),
                        key_of(p, group, name), timeout);
}

static apr_status_t fs_unlock(void *baton, void *handle)
{
    return fs_lock_release(handle);
}

static apr_status_t fs_secret_key(const unsigned char **pkey, apr_size_t *plen, void *baton)
{
    acme_store_fs_t *fs = baton;

    if (!fs->has_key) {
        return APR_ENOTIMPL;
    }
    *pkey = fs->key;
    *plen = sizeof(fs->key);
    return APR_SUCCESS;
}

static const acme_store_ops_t fs_ops = {
    FS_KIND, fs_load, fs_save, fs_remove, fs_purge, fs_list, fs_stat,
    fs_move, fs_activate, fs_recover, fs_lock, fs_unlock, fs_activate_many, fs_take,
    fs_load_trusted, fs_secret_key, fs_load_private,
};

/* The read-only store (acme_store_fs_open_readonly): reads as above, every
 * change refused with EROFS before it reaches the disk. */
#define FS_READONLY APR_FROM_OS_ERROR(EROFS)

static apr_status_t ro_save(void *baton, apr_pool_t *p, acme_store_group_e group,
                            const char *name, const char *aspect, const void *data,
                            apr_size_t len, int flags)
{
    (void)baton; (void)p; (void)group; (void)name; (void)aspect; (void)data; (void)len;
    (void)flags;
    return FS_READONLY;
}

static apr_status_t ro_remove(void *baton, apr_pool_t *p, acme_store_group_e group,
                              const char *name, const char *aspect)
{
    (void)baton; (void)p; (void)group; (void)name; (void)aspect;
    return FS_READONLY;
}

static apr_status_t ro_purge(void *baton, apr_pool_t *p, acme_store_group_e group,
                             const char *name)
{
    (void)baton; (void)p; (void)group; (void)name;
    return FS_READONLY;
}

static apr_status_t ro_move(void *baton, apr_pool_t *p, acme_store_group_e from,
                            acme_store_group_e to, const char *name)
{
    (void)baton; (void)p; (void)from; (void)to; (void)name;
    return FS_READONLY;
}

static apr_status_t ro_activate(const char **parchived, apr_pool_t *p, void *baton,
                                const char *name)
{
    (void)parchived; (void)p; (void)baton; (void)name;
    return FS_READONLY;
}

static apr_status_t ro_recover(void *baton, apr_pool_t *p, apr_interval_time_t tmp_min_age)
{
    (void)baton; (void)p; (void)tmp_min_age;
    return FS_READONLY;
}

/* A lock is a file in locks/: a reader takes none (it reads whole items,
 * which writers replace atomically). */
static apr_status_t ro_lock(void **phandle, apr_pool_t *p, void *baton,
                            acme_store_group_e group, const char *name,
                            apr_interval_time_t timeout)
{
    (void)phandle; (void)p; (void)baton; (void)group; (void)name; (void)timeout;
    return FS_READONLY;
}

static apr_status_t ro_take(const char **pwhy, apr_pool_t *p, void *baton, const char *name,
                            const acme_store_take_t *items, int n)
{
    (void)p; (void)baton; (void)name; (void)items; (void)n;
    *pwhy = "the store is open read-only";
    return FS_READONLY;
}

static const acme_store_ops_t fs_ops_readonly = {
    FS_KIND, fs_load, ro_save, ro_remove, ro_purge, fs_list, fs_stat,
    ro_move, ro_activate, ro_recover, ro_lock, fs_unlock, NULL, ro_take,
    fs_load_trusted, fs_secret_key, fs_load_private,
};

/* Closes the store; its key is cleared, not only freed: httpd clears its
 * configuration pool at every restart, and children inherit freed memory. */
static apr_status_t base_fd_close(void *data)
{
    acme_store_fs_t *fs = data;

    close(fs->base_fd);
    OPENSSL_cleanse(fs->key, sizeof(fs->key));
    return APR_SUCCESS;
}

/* A store record for base_dir, owned by this process's user. */
static acme_store_fs_t *fs_new(apr_pool_t *p, const char *base_dir)
{
    acme_store_fs_t *fs = apr_pcalloc(p, sizeof(*fs));

    fs->base = apr_pstrdup(p, base_dir);
    fs->self.uid = geteuid();
    fs->self.gid = getegid();
    fs->self.set = 1;
    return fs;
}

apr_status_t acme_store_fs_open(acme_store_t **pstore, apr_pool_t *p, const char *base_dir)
{
    acme_store_fs_t *fs = fs_new(p, base_dir);
    apr_status_t rv;

    if (mkdir(base_dir, 0755) != 0 && errno != EEXIST) {
        rv = APR_FROM_OS_ERROR(errno);
        acme_log(ACME_LOG_ERR, rv, "ACME0710 store(fs): cannot create %s", base_dir);
        return rv;
    }
    fs->base_fd = open(base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->base_fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        acme_log(ACME_LOG_ERR, rv, "ACME0710 store(fs): cannot open %s", base_dir);
        return rv;
    }
    apr_pool_cleanup_register(p, fs, base_fd_close, apr_pool_cleanup_null);
    rv = fs_format_open(fs, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return acme_store_create(pstore, p, &fs_ops, fs);
}

apr_status_t acme_store_fs_open_readonly(acme_store_t **pstore, apr_pool_t *p,
                                         const char *base_dir)
{
    acme_store_fs_t *fs = fs_new(p, base_dir);
    apr_status_t rv;

    fs->base_fd = open(base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->base_fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    apr_pool_cleanup_register(p, fs, base_fd_close, apr_pool_cleanup_null);
    rv = fs_format_check(fs, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return acme_store_create(pstore, p, &fs_ops_readonly, fs);
}

apr_status_t acme_store_fs_set_owner(acme_store_t *store, apr_pool_t *p,
                                     acme_store_group_e group, uid_t uid, gid_t gid)
{
    acme_store_fs_t *fs = acme_store_baton(store, FS_KIND);
    const char *gname = acme_store_group_name(group);
    fs_owner_t owner;
    apr_status_t rv;
    int fd;

    if (fs == NULL || gname == NULL) {
        return APR_EINVAL;
    }
    owner.uid = uid;
    owner.gid = gid;
    owner.set = 1;
    fs->owner[group] = owner;
    rv = fs_group_open(&fd, fs, group, NULL, 1);
    if (rv == APR_SUCCESS) {
        close(fd);
        /* a secret group's directories made wider before (mod_md keeps
         * accounts/ 0755) are narrowed again */
        rv = fs_chown_tree(fs->base_fd, gname, &owner,
                           fs_dir_mode(group) == 0700 ? 0700 : 0);
    }
    if (rv == APR_SUCCESS) {
        rv = fs_dir_open(&fd, fs->base_fd, FS_LOCKS_DIR, 1, 0755, NULL);
    }
    if (rv == APR_SUCCESS) {
        int lfd;
        rv = fs_dir_open(&lfd, fd, gname, 1, 0700, &owner);
        if (rv == APR_SUCCESS) {
            close(lfd);
            rv = fs_chown_tree(fd, gname, &owner, 0);
        }
        close(fd);
    }
    if (rv != APR_SUCCESS) {
        acme_log(ACME_LOG_ERR, rv, "ACME0714 store(fs): cannot give group %s in %s to %ld:%ld",
                 gname, fs->base, (long)uid, (long)gid);
    }
    return rv;
}

void acme_store_fs_forget_secret_key(acme_store_t *store)
{
    acme_store_fs_t *fs = acme_store_baton(store, FS_KIND);

    if (fs != NULL) {
        OPENSSL_cleanse(fs->key, sizeof(fs->key));
        fs->has_key = 0;
    }
}

int acme_store_fs_group_for_worker(acme_store_group_e group)
{
    switch (group) {
    case ACME_STORE_ACCOUNTS:
    case ACME_STORE_STAGING:
    case ACME_STORE_CHALLENGES:
    case ACME_STORE_JOBS:
    case ACME_STORE_TMP:
    case ACME_STORE_OCSP:       /* the OCSP watchdog runs in a child */
        return 1;
    default:
        return 0;
    }
}

apr_status_t acme_store_fs_live_path(const char **ppath, apr_pool_t *p, acme_store_t *store,
                                     const char *name, const char *aspect)
{
    acme_store_fs_t *fs = acme_store_baton(store, FS_KIND);
    const char *key;
    struct stat st;
    apr_status_t rv;
    int fd;

    if (fs == NULL || acme_names_check_domain(name, ACME_NAMES_WILDCARD) != APR_SUCCESS
        || strlen(name) > ACME_STORE_NAME_MAX || acme_names_check_aspect(aspect) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    key = key_of(p, ACME_STORE_LIVE, name);
    rv = fs_group_open(&fd, fs, ACME_STORE_LIVE, key, 0);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (fstatat(fd, aspect, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    else if (!S_ISREG(st.st_mode)) {
        rv = APR_ENOENT;
    }
    close(fd);
    if (rv == APR_SUCCESS) {
        *ppath = apr_pstrcat(p, fs->base, "/", fs_group_dir_name(ACME_STORE_LIVE), "/", key,
                             "/", aspect, NULL);
    }
    return rv;
}
