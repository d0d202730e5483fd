/* Start-up recovery of the fs store: completes interrupted activations and
 * sweeps leftovers of interrupted writes and purges (".tmp.*" entries). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_time.h>

#include "acme_log.h"
#include "acme_store_fs_int.h"

typedef struct {
    apr_time_t cutoff; /* entries modified before this are stale */
    int removed;
    apr_status_t rv;   /* first error, the sweep goes on */
} sweep_t;

static void sweep_note(sweep_t *sw, apr_status_t rv)
{
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv) && sw->rv == APR_SUCCESS) {
        sw->rv = rv;
    }
}

static void sweep_tmp(sweep_t *sw, int dfd, const char *name)
{
    struct stat st;
    apr_status_t rv;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        sweep_note(sw, APR_FROM_OS_ERROR(errno));
        return;
    }
    if (apr_time_make(st.st_mtim.tv_sec, st.st_mtim.tv_nsec / 1000) > sw->cutoff) {
        return; /* maybe a write in progress in another process */
    }
    rv = fs_remove_tree(dfd, name);
    sweep_note(sw, rv);
    sw->removed += (rv == APR_SUCCESS);
}

/* Sweeps the temp entries of directory `name` under dfd; with `descend`
 * also those of its subdirectories (the name directories of a group). */
static void sweep_dir(sweep_t *sw, int dfd, const char *name, int descend)
{
    struct dirent *de;
    DIR *dir;
    int fd;

    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        sweep_note(sw, APR_FROM_OS_ERROR(errno));
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    while ((de = readdir(dir)) != NULL) {
        if (fs_is_tmp_name(de->d_name)) {
            sweep_tmp(sw, dirfd(dir), de->d_name);
        }
        else if (descend && de->d_name[0] != '.'
                 && fs_dir_exists(dirfd(dir), de->d_name) == APR_SUCCESS) {
            sweep_dir(sw, dirfd(dir), de->d_name, 0);
        }
    }
    closedir(dir);
}

apr_status_t fs_recover(void *baton, apr_pool_t *p, apr_interval_time_t tmp_min_age)
{
    acme_store_fs_t *fs = baton;
    apr_status_t rv;
    sweep_t sw;
    int g;

    /* Activations first: their directories must not be swept half-way. */
    rv = fs_activation_recover_all(fs, p);
    sw.cutoff = apr_time_now() - tmp_min_age;
    sw.removed = 0;
    sw.rv = APR_SUCCESS;
    sweep_dir(&sw, fs->base_fd, ".", 0);
    sweep_dir(&sw, fs->base_fd, FS_INTENTS_DIR, 0);
    for (g = 0; g < ACME_STORE_GROUP_COUNT; ++g) {
        if (fs_dir_exists(fs->base_fd, fs_group_dir_name((acme_store_group_e)g))
            == APR_SUCCESS) {
            sweep_dir(&sw, fs->base_fd, fs_group_dir_name((acme_store_group_e)g), 1);
        }
    }
    if (sw.removed > 0) {
        acme_log(ACME_LOG_NOTICE, APR_SUCCESS,
                 "ACME0760 store(fs): removed %d leftover(s) of interrupted writes in %s",
                 sw.removed, fs->base);
    }
    if (sw.rv != APR_SUCCESS) {
        acme_log(ACME_LOG_WARNING, sw.rv,
                 "ACME0761 store(fs): could not remove every leftover in %s", fs->base);
    }
    return rv != APR_SUCCESS ? rv : sw.rv;
}
