/* Reading items saved ACME_STORE_PRIVATE (private keys): only files that
 * this process alone can read and replace, see acme_store_load_private(). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acme_log.h"
#include "acme_names.h"
#include "acme_store_fs_int.h"

/* Why the file open as fd (st: its fstat) is not private, or NULL. */
static const char *private_refusal(const struct stat *st)
{
    if (!S_ISREG(st->st_mode)) {
        return "not a regular file";
    }
    if (st->st_uid != geteuid()) {
        return "owned by another user";
    }
    if (st->st_nlink != 1) {
        return "it has other names (hard links)";
    }
    if ((st->st_mode & 077) != 0) {
        return "group or others have permissions on it";
    }
    return NULL;
}

apr_status_t fs_load_private(const char **pdata, apr_size_t *plen, apr_pool_t *p, void *baton,
                             acme_store_group_e group, const char *name, const char *aspect)
{
    acme_store_fs_t *fs = baton;
    const char *key = (group == ACME_STORE_ACCOUNTS || group == ACME_STORE_TMP)
                      ? name : acme_names_domain_to_key(p, name);
    const char *why = NULL;
    struct stat st;
    apr_status_t rv;
    int kfd = -1, fd = -1;

    if ((rv = fs_group_open(&kfd, fs, group, key, 0)) != APR_SUCCESS) {
        return rv;
    }
    fd = openat(kfd, aspect, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        why = errno == ELOOP ? "a symbolic link" : NULL;
        rv = errno == ELOOP ? APR_EACCES : rv;
        goto cleanup;
    }
    if (fstat(fd, &st) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        goto cleanup;
    }
    if ((why = private_refusal(&st)) != NULL) {
        rv = APR_EACCES;
        goto cleanup;
    }
    rv = fs_read_fd(pdata, plen, p, fd, &st, ACME_STORE_ITEM_MAX);

cleanup:
    if (why != NULL) {
        acme_log(ACME_LOG_ERR, rv, "ACME0724 store(fs): %s/%s/%s in %s is not used as a"
                 " private key: %s", acme_store_group_name(group), name, aspect, fs->base, why);
    }
    if (fd >= 0) {
        close(fd);
    }
    close(kfd);
    return rv;
}
