/* The fs store's side of the root/User boundary: taking a staged set over
 * (a copy into fresh files of the taking process, from which it is checked
 * and activated) and loading only what no one else can have written.
 *
 * STAGING belongs to httpd's User; the parent that activates runs as root.
 * Root never renames, chowns or trusts the User's inodes: it reads plain
 * files with a single link (O_NOFOLLOW, checked with fstat on the open
 * descriptor) and writes its own copies (O_EXCL) into PENDING, a group only
 * it can enter. A descriptor the User kept open on a staged file still
 * reaches only the User's file, never the copy that goes live. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_log.h"
#include "acme_names.h"
#include "acme_store_fs_int.h"

/* Why the entry `name` (lstat'ed or fstat'ed as *st) may not be in a staged
 * set, or NULL when it is a plain file with a single link. */
static const char *entry_refusal(apr_pool_t *p, const char *name, const struct stat *st)
{
    if (S_ISLNK(st->st_mode)) {
        return apr_psprintf(p, "staged set holds a symbolic link (%s)", name);
    }
    if (S_ISDIR(st->st_mode)) {
        return apr_psprintf(p, "staged set holds a subdirectory (%s)", name);
    }
    if (!S_ISREG(st->st_mode)) {
        return apr_psprintf(p, "staged set holds %s, which is not a regular file", name);
    }
    if (st->st_nlink > 1) {
        return apr_psprintf(p, "staged set holds a hard-linked file (%s has %lu links)", name,
                            (unsigned long)st->st_nlink);
    }
    if (st->st_size > ACME_STORE_ITEM_MAX) {
        return apr_psprintf(p, "staged set holds %s, larger than %d bytes", name,
                            ACME_STORE_ITEM_MAX);
    }
    return NULL;
}

/* Every entry of the staged directory must pass entry_refusal(); *pwhy the
 * first that does not. Takes ownership of fd. */
static apr_status_t staged_scan(const char **pwhy, apr_pool_t *p, int fd)
{
    struct dirent *de;
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    DIR *dir = fdopendir(fd);

    if (dir == NULL) {
        rv = APR_FROM_OS_ERROR(errno);
        close(fd);
        return rv;
    }
    while (*pwhy == NULL && (de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) {
                rv = APR_FROM_OS_ERROR(errno);
                break;
            }
            continue;
        }
        *pwhy = entry_refusal(p, apr_pstrdup(p, de->d_name), &st);
    }
    closedir(dir);
    return rv;
}

/* Copies one staged file into a new file of pfd. APR_ENOENT when absent;
 * APR_EINVAL with *pwhy when the file is not what a staged set may hold
 * (checked again on the open descriptor: the User may swap it after the
 * scan). The copy's data is flushed; its directory is the caller's. */
static apr_status_t item_copy(const char **pwhy, apr_pool_t *p, int sfd, int pfd,
                              const acme_store_take_t *item, const fs_owner_t *owner)
{
    const char *data;
    apr_size_t len, done = 0;
    struct stat st;
    apr_status_t rv;
    int in, out;

    in = openat(sfd, item->aspect, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (in < 0) {
        if (errno == ELOOP) {
            *pwhy = apr_psprintf(p, "staged set holds a symbolic link (%s)", item->aspect);
            return APR_EINVAL;
        }
        return APR_FROM_OS_ERROR(errno);
    }
    if (fstat(in, &st) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        close(in);
        return rv;
    }
    if ((*pwhy = entry_refusal(p, item->aspect, &st)) != NULL) {
        close(in);
        return APR_EINVAL;
    }
    rv = fs_read_fd(&data, &len, p, in, &st, ACME_STORE_ITEM_MAX);
    close(in);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* 0600 from creation: a secret is never exposed, not even for a moment */
    out = openat(pfd, item->aspect, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if ((owner && fchown(out, owner->uid, owner->gid) != 0)
        || fchmod(out, (item->flags & ACME_STORE_SECRET) ? 0600 : 0644) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    while (rv == APR_SUCCESS && done < len) {
        ssize_t w = write(out, data + done, len - done);
        if (w < 0 && errno != EINTR) {
            rv = APR_FROM_OS_ERROR(errno);
        }
        done += w > 0 ? (apr_size_t)w : 0;
    }
    if (rv == APR_SUCCESS) {
        rv = fs_sync(out);
    }
    if (close(out) != 0 && rv == APR_SUCCESS) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    return rv;
}

/* Makes PENDING/key afresh (an old one removed) and copies the items into
 * it; the new directory and PENDING are flushed. */
static apr_status_t pending_fill(const char **pwhy, apr_pool_t *p, acme_store_fs_t *fs,
                                 const char *key, int sfd, const acme_store_take_t *items,
                                 int n)
{
    const fs_owner_t *owner = fs_owner_for(fs, ACME_STORE_LIVE);
    apr_status_t rv;
    int gfd = -1, kfd = -1, i;

    rv = fs_group_open(&gfd, fs, ACME_STORE_PENDING, NULL, 1);
    if (rv == APR_SUCCESS) {
        rv = fs_remove_tree(gfd, key);
        rv = APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
    }
    /* the mode LIVE's sets have: this directory is renamed into LIVE as it is */
    if (rv == APR_SUCCESS) {
        rv = fs_dir_open(&kfd, gfd, key, 1, fs_dir_mode(ACME_STORE_LIVE), owner);
    }
    for (i = 0; rv == APR_SUCCESS && i < n; ++i) {
        rv = item_copy(pwhy, p, sfd, kfd, &items[i], owner);
        rv = APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
    }
    if (rv == APR_SUCCESS && (rv = fs_sync(kfd)) == APR_SUCCESS) {
        rv = fs_sync(gfd);
    }
    if (kfd >= 0) {
        close(kfd);
    }
    if (rv != APR_SUCCESS && gfd >= 0) {
        fs_remove_tree(gfd, key);   /* a partial copy is of no use */
    }
    if (gfd >= 0) {
        close(gfd);
    }
    return rv;
}

/* Notes the identity of the staged set taken over next to its copy
 * (PENDING/<key>.staged), for the activation's intent; not flushed: the
 * intent, written durably, carries it from then on. */
static apr_status_t staged_note(apr_pool_t *p, acme_store_fs_t *fs, const char *key,
                                const char *identity)
{
    const char *fname = apr_pstrcat(p, key, FS_STAGED_SUFFIX, NULL);
    apr_size_t len = identity ? strlen(identity) : 0;
    apr_status_t rv;
    int gfd, fd;

    if ((rv = fs_group_open(&gfd, fs, ACME_STORE_PENDING, NULL, 0)) != APR_SUCCESS) {
        return rv;
    }
    fd = openat(gfd, fname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || (len > 0 && write(fd, identity, len) != (ssize_t)len)) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    if (fd >= 0) {
        close(fd);
    }
    close(gfd);
    return rv;
}

const char *fs_staged_noted(apr_pool_t *p, int pfd, const char *key)
{
    const char *data;
    apr_size_t len;

    if (fs_read_capped(&data, &len, p, pfd, apr_pstrcat(p, key, FS_STAGED_SUFFIX, NULL), 256)
        != APR_SUCCESS || len == 0) {
        return NULL;
    }
    return data;
}

apr_status_t fs_take(const char **pwhy, apr_pool_t *p, void *baton, const char *name,
                     const acme_store_take_t *items, int n)
{
    acme_store_fs_t *fs = baton;
    const char *key = acme_names_domain_to_key(p, name);
    apr_status_t rv;
    int gfd = -1, sfd = -1, scan_fd;

    /* PENDING/key may be the source of an interrupted activation */
    if ((rv = fs_activation_recover_key(fs, p, key)) != APR_SUCCESS
        || (rv = fs_group_open(&gfd, fs, ACME_STORE_STAGING, NULL, 0)) != APR_SUCCESS) {
        return rv;
    }
    sfd = openat(gfd, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0) {
        rv = errno == ENOENT ? APR_ENOENT : APR_FROM_OS_ERROR(errno);
        if (errno == ELOOP || errno == ENOTDIR) {
            *pwhy = "the staged set is not a directory (a symbolic link or a file)";
            rv = APR_EINVAL;
        }
        goto cleanup;
    }
    scan_fd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (scan_fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        goto cleanup;
    }
    if ((rv = staged_scan(pwhy, p, scan_fd)) == APR_SUCCESS) {
        rv = *pwhy ? APR_EINVAL : pending_fill(pwhy, p, fs, key, sfd, items, n);
    }
    if (rv == APR_SUCCESS) {
        rv = staged_note(p, fs, key, fs_staged_identity(p, gfd, key));
    }

cleanup:
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        acme_log(ACME_LOG_ERR, rv, "ACME0719 store(fs): cannot take the staged set %s over%s%s",
                 name, *pwhy ? ": " : "", *pwhy ? *pwhy : "");
    }
    if (sfd >= 0) {
        close(sfd);
    }
    close(gfd);
    return rv;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static apr_uint64_t fnv1a(apr_uint64_t h, const void *data, apr_size_t len)
{
    const unsigned char *b = data;

    while (len-- > 0) {
        h = (h ^ *b++) * APR_UINT64_C(1099511628211);
    }
    return h;
}

/* A digest of the names and bytes of everything in the staged directory
 * (FNV-1a: it only tells a set staged anew from the one taken over; the
 * User, who could forge a collision, only keeps its own files that way).
 * Neither inode numbers nor times would do: both are reused or coarse. */
const char *fs_staged_identity(apr_pool_t *p, int sfd, const char *key)
{
    apr_array_header_t *names = apr_array_make(p, 8, sizeof(const char *));
    apr_uint64_t h = APR_UINT64_C(14695981039346656037);
    struct dirent *de;
    DIR *dir;
    int i, kfd = openat(sfd, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (kfd < 0 || (dir = fdopendir(kfd)) == NULL) {
        if (kfd >= 0) {
            close(kfd);
        }
        return NULL;
    }
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0
            && !fs_is_tmp_name(de->d_name)) {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, de->d_name);
        }
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_name);
    for (i = 0; i < names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(names, i, const char *), *data = "";
        apr_size_t len = 0;
        struct stat st;
        int fd = openat(dirfd(dir), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
                                          | O_CLOEXEC);

        if (fd >= 0) {
            if (fstat(fd, &st) != 0
                || fs_read_fd(&data, &len, p, fd, &st, ACME_STORE_ITEM_MAX) != APR_SUCCESS) {
                data = "?";
                len = 1;
            }
            close(fd);
        }
        h = fnv1a(h, name, strlen(name) + 1);
        h = fnv1a(h, &len, sizeof(len));
        h = fnv1a(h, data, len);
    }
    closedir(dir);
    return apr_psprintf(p, "fnv1a:%016" APR_UINT64_T_HEX_FMT ":%d", h, names->nelts);
}

apr_status_t fs_staged_remove(int sfd, const char *key, const char *identity, apr_pool_t *p)
{
    char tmp[FS_TMP_NAME_SIZE];
    const char *now = fs_staged_identity(p, sfd, key);

    if (identity == NULL || now == NULL || strcmp(identity, now) != 0) {
        return APR_SUCCESS;     /* gone, or staged anew since: not the set taken over */
    }
    /* renamed away first (as a purge): a crash leaves a ".tmp." entry */
    fs_tmp_name(tmp);
    if (renameat(sfd, key, sfd, tmp) != 0) {
        return errno == ENOENT ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);
    }
    return fs_remove_tree(sfd, tmp);
}

/* True when fd is owned by this process's user (or root) and writable by
 * no one else. */
static int fd_is_trusted(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && (st.st_uid == geteuid() || st.st_uid == 0)
           && (st.st_mode & 022) == 0;
}

apr_status_t fs_load_trusted(const char **pdata, apr_size_t *plen, apr_pool_t *p, void *baton,
                             acme_store_group_e group, const char *name, const char *aspect)
{
    acme_store_fs_t *fs = baton;
    const char *key = (group == ACME_STORE_ACCOUNTS || group == ACME_STORE_TMP)
                      ? name : acme_names_domain_to_key(p, name);
    struct stat st;
    apr_status_t rv;
    int gfd = -1, kfd = -1, fd = -1;

    if ((rv = fs_group_open(&gfd, fs, group, NULL, 0)) != APR_SUCCESS
        || (rv = fs_dir_open(&kfd, gfd, key, 0, 0, NULL)) != APR_SUCCESS) {
        goto cleanup;
    }
    fd = openat(kfd, aspect, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        rv = errno == ELOOP ? APR_EACCES : APR_FROM_OS_ERROR(errno);
        goto cleanup;
    }
    if (!fd_is_trusted(fs->base_fd) || !fd_is_trusted(gfd) || !fd_is_trusted(kfd)
        || !fd_is_trusted(fd)) {
        rv = APR_EACCES;
        goto cleanup;
    }
    rv = fstat(fd, &st) != 0 ? APR_FROM_OS_ERROR(errno)
                             : fs_read_fd(pdata, plen, p, fd, &st, ACME_STORE_ITEM_MAX);

cleanup:
    if (fd >= 0) {
        close(fd);
    }
    if (kfd >= 0) {
        close(kfd);
    }
    if (gfd >= 0) {
        close(gfd);
    }
    return rv;
}
