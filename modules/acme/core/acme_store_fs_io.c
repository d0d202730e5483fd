/* Low-level file operations of the fs store: directories opened without
 * following symlinks, atomic durable writes, capped reads, tree removal and
 * ownership changes. Everything works relative to directory handles. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acme_layout.h"
#include "acme_log.h"
#include "acme_store_fs_int.h"

/* Deeper trees are not ours: names hold aspects, nothing below. */
#define FS_TREE_DEPTH_MAX 4

static apr_status_t os_error(void)
{
    return APR_FROM_OS_ERROR(errno);
}

const fs_owner_t *fs_owner_for(const acme_store_fs_t *fs, acme_store_group_e group)
{
    if (geteuid() != 0) {
        return NULL;
    }
    return fs->owner[group].set ? &fs->owner[group] : &fs->self;
}

mode_t fs_dir_mode(acme_store_group_e group)
{
    return (group == ACME_STORE_ACCOUNTS || group == ACME_STORE_TMP
            || group == ACME_STORE_PENDING) ? 0700 : 0755;
}

const char *fs_group_dir_name(acme_store_group_e group)
{
    return acme_store_group_name(group);
}

apr_status_t fs_sync(int fd)
{
    return fsync(fd) == 0 ? APR_SUCCESS : os_error();
}

/* Creates a directory with the narrowest mode first, so it is never wider
 * than intended with the wrong owner; then owner, then the exact mode (not
 * subject to umask). */
static apr_status_t dir_make(int dfd, const char *name, mode_t mode, const fs_owner_t *owner)
{
    apr_status_t rv = APR_SUCCESS;
    int fd;

    if (mkdirat(dfd, name, 0700) != 0) {
        return errno == EEXIST ? APR_SUCCESS : os_error();
    }
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return os_error();
    }
    if ((owner && fchown(fd, owner->uid, owner->gid) != 0) || fchmod(fd, mode) != 0) {
        rv = os_error();
    }
    close(fd);
    return rv == APR_SUCCESS ? fs_sync(dfd) : rv;
}

apr_status_t fs_dir_open(int *pfd, int dfd, const char *name, int create, mode_t mode,
                         const fs_owner_t *owner)
{
    apr_status_t rv;
    int fd, attempt;

    for (attempt = 0; attempt < 3; ++attempt) {
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            *pfd = fd;
            return APR_SUCCESS;
        }
        if (errno == ELOOP || errno == ENOTDIR) {
            acme_log(ACME_LOG_ERR, APR_EINVAL,
                     "ACME0715 store(fs): '%s' is not a directory (symlinks are not "
                     "followed)", name);
            return APR_EINVAL;
        }
        if (errno != ENOENT || !create) {
            return os_error();
        }
        rv = dir_make(dfd, name, mode, owner);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_ENOENT; /* created and removed again by others, repeatedly */
}

apr_status_t fs_group_open(int *pfd, acme_store_fs_t *fs, acme_store_group_e group,
                           const char *key, int create)
{
    const fs_owner_t *owner = fs_owner_for(fs, group);
    mode_t mode = fs_dir_mode(group);
    apr_status_t rv;
    int gfd = -1;   /* what *pfd gets when the group cannot be opened */

    rv = fs_dir_open(&gfd, fs->base_fd, fs_group_dir_name(group), create, mode, owner);
    if (rv != APR_SUCCESS || key == NULL) {
        *pfd = gfd;
        return rv;
    }
    rv = fs_dir_open(pfd, gfd, key, create, mode, owner);
    close(gfd);
    return rv;
}

void fs_tmp_name(char *buf)
{
    static unsigned int counter;
    unsigned int n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);

    snprintf(buf, FS_TMP_NAME_SIZE, FS_TMP_PREFIX "%ld.%u", (long)getpid(), n);
}

int fs_is_tmp_name(const char *name)
{
    return strncmp(name, FS_TMP_PREFIX, sizeof(FS_TMP_PREFIX) - 1) == 0;
}

static apr_status_t write_all(int fd, const char *data, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return os_error();
        }
        data += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

/* The temp file is 0600 from its creation: secret data is never exposed,
 * and non-secret items get their wider mode only via fchmod. */
static apr_status_t tmp_create(int *pfd, char *tmp, int dfd)
{
    int attempt;

    for (attempt = 0; attempt < 8; ++attempt) {
        fs_tmp_name(tmp);
        *pfd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (*pfd >= 0) {
            return APR_SUCCESS;
        }
        if (errno != EEXIST) {
            return os_error();
        }
    }
    return APR_EEXIST; /* leftovers of dead processes with our pid: recover cleans */
}

apr_status_t fs_write_atomic(int dfd, const char *fname, const void *data, apr_size_t len,
                             mode_t mode, const fs_owner_t *owner, int flags)
{
    char tmp[FS_TMP_NAME_SIZE];
    int excl = (flags & FS_WRITE_EXCL) != 0, sync = !(flags & FS_WRITE_NOSYNC);
    int fd = -1;
    apr_status_t rv = tmp_create(&fd, tmp, dfd);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((owner && fchown(fd, owner->uid, owner->gid) != 0) || fchmod(fd, mode) != 0) {
        rv = os_error();
        goto cleanup;
    }
    rv = write_all(fd, data, len);
    if (rv == APR_SUCCESS && sync) {
        rv = fs_sync(fd);
    }
    if (close(fd) != 0 && rv == APR_SUCCESS) {
        rv = os_error();
    }
    fd = -1;
    if (rv != APR_SUCCESS) {
        goto cleanup;
    }
    /* link() fails atomically when the name exists: create-only semantics
     * without a check-then-act race. */
    if (excl ? linkat(dfd, tmp, dfd, fname, 0) != 0 : renameat(dfd, tmp, dfd, fname) != 0) {
        rv = os_error();
        goto cleanup;
    }
    if (excl) {
        unlinkat(dfd, tmp, 0);
    }
    return sync && !(flags & FS_WRITE_NODIRSYNC) ? fs_sync(dfd) : APR_SUCCESS;

cleanup:
    if (fd >= 0) {
        close(fd);
    }
    unlinkat(dfd, tmp, 0);
    return rv;
}

apr_status_t fs_read_fd(const char **pdata, apr_size_t *plen, apr_pool_t *p, int fd,
                        const struct stat *st, apr_size_t max)
{
    apr_size_t size, total = 0;
    char *buf;

    if (!S_ISREG(st->st_mode)) {
        return APR_EINVAL;
    }
    if ((apr_size_t)st->st_size > max) {
        return APR_FROM_OS_ERROR(EFBIG);
    }
    size = (apr_size_t)st->st_size;
    buf = apr_palloc(p, size + 1);
    while (total < size) {
        ssize_t n = read(fd, buf + total, size - total);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return os_error();
        }
        if (n == 0) {
            break;
        }
        total += (apr_size_t)n;
    }
    buf[total] = '\0';
    *pdata = buf;
    *plen = total;
    return APR_SUCCESS;
}

apr_status_t fs_read_capped(const char **pdata, apr_size_t *plen, apr_pool_t *p, int dfd,
                            const char *fname, apr_size_t max)
{
    struct stat st;
    apr_status_t rv;
    int fd;

    /* O_NONBLOCK: a FIFO planted in place of an item must not hang us. */
    fd = openat(dfd, fname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return errno == ELOOP ? APR_EINVAL : os_error();
    }
    rv = fstat(fd, &st) != 0 ? os_error() : fs_read_fd(pdata, plen, p, fd, &st, max);
    close(fd);
    return rv;
}

apr_status_t fs_dir_exists(int dfd, const char *name)
{
    struct stat st;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return os_error();
    }
    return S_ISDIR(st.st_mode) ? APR_SUCCESS : APR_EINVAL;
}

apr_status_t fs_dir_each(int fd, fs_dir_entry_cb *fn, void *baton)
{
    struct dirent *de;
    apr_status_t rv = APR_SUCCESS;
    DIR *dir = fdopendir(fd);

    if (dir == NULL) {
        rv = os_error();
        close(fd);
        return rv;
    }
    while (rv == APR_SUCCESS && (de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            rv = fn(dirfd(dir), de->d_name, baton);
        }
    }
    closedir(dir);
    return rv;
}

static apr_status_t remove_at(int dfd, const char *name, void *baton)
{
    int depth = *(int *)baton + 1;
    struct stat st;
    apr_status_t rv;
    int fd;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return os_error();
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlinkat(dfd, name, 0) == 0 ? APR_SUCCESS : os_error();
    }
    if (depth > FS_TREE_DEPTH_MAX) {
        return APR_EINVAL;
    }
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return os_error();
    }
    rv = fs_dir_each(fd, remove_at, &depth);
    if (rv == APR_SUCCESS && unlinkat(dfd, name, AT_REMOVEDIR) != 0) {
        rv = os_error();
    }
    return rv;
}

apr_status_t fs_remove_tree(int dfd, const char *name)
{
    int depth = 0;

    return remove_at(dfd, name, &depth);
}

typedef struct {
    const fs_owner_t *owner;
    mode_t dir_mode;
    int depth;
} chown_ctx_t;

/* Gives one regular file to ctx->owner through a descriptor: opened without
 * following a symlink, and only if it is the entry seen (same inode) and its
 * only link. A hard link's other names may be anywhere (with
 * fs.protected_hardlinks=0, httpd's User can link any root file into its
 * groups): chowning it would hand that file over. Such a file, or anything
 * not a regular file, is left as it is (a warning for the hard link).
 * A private key (acme_layout_is_private_key) is not given away: it becomes
 * (or stays) this process's, root's, without group and other permissions.
 * The key holder (root) is the only reader; mod_md, or mod_acme before the
 * key holder, left account keys to the User (mod_md even 0644). */
static apr_status_t chown_file(int dfd, const char *name, const struct stat *seen,
                               const fs_owner_t *owner)
{
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    int fd;

    if (!S_ISREG(seen->st_mode)) {
        return APR_SUCCESS;
    }
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        /* gone or replaced by a symlink meanwhile: nothing of ours to give */
        return (errno == ENOENT || errno == ELOOP) ? APR_SUCCESS : os_error();
    }
    if (fstat(fd, &st) != 0) {
        rv = os_error();
    }
    else if (!S_ISREG(st.st_mode) || st.st_ino != seen->st_ino || st.st_dev != seen->st_dev) {
        rv = APR_SUCCESS;   /* replaced between the look and the open */
    }
    else if (st.st_nlink > 1) {
        acme_log(ACME_LOG_WARNING, APR_EINVAL, "ACME0718 store(fs): '%s' has %lu hard links; "
                 "its owner is left unchanged (a hard link may be any file of the system)",
                 name, (unsigned long)st.st_nlink);
    }
    else {
        int private_key = acme_layout_is_private_key(name);
        uid_t uid = private_key ? geteuid() : owner->uid;
        gid_t gid = private_key ? getegid() : owner->gid;

        if (((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) != 0)
            || (private_key && (st.st_mode & 077) != 0 && fchmod(fd, st.st_mode & 0700) != 0)) {
            rv = os_error();
        }
    }
    close(fd);
    return rv;
}

static apr_status_t chown_at(int dfd, const char *name, void *baton)
{
    chown_ctx_t ctx = *(chown_ctx_t *)baton;
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    int fd;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return os_error();
    }
    if (!S_ISDIR(st.st_mode)) {
        return ctx.owner ? chown_file(dfd, name, &st, ctx.owner) : APR_SUCCESS;
    }
    if (++ctx.depth > FS_TREE_DEPTH_MAX) {
        return APR_EINVAL;
    }
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return os_error();
    }
    if ((ctx.owner && fchown(fd, ctx.owner->uid, ctx.owner->gid) != 0)
        || (ctx.dir_mode && fchmod(fd, ctx.dir_mode) != 0)) {
        rv = os_error();
        close(fd);
        return rv;
    }
    return fs_dir_each(fd, chown_at, &ctx);
}

apr_status_t fs_chown_tree(int dfd, const char *name, const fs_owner_t *owner,
                           mode_t dir_mode)
{
    chown_ctx_t ctx;

    ctx.owner = owner;
    ctx.dir_mode = dir_mode;
    ctx.depth = 0;
    return chown_at(dfd, name, &ctx);
}
