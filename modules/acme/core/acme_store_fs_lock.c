/* Named locks of the fs store: flock(2) on locks/<sub>/<key>.
 *
 * flock rather than fcntl locks: flock belongs to the open file description,
 * so two threads of one process (each with its own open) exclude each other,
 * and closing an unrelated descriptor of the same file does not drop the
 * lock. A forked child shares the parent's description and thus its locks;
 * O_CLOEXEC keeps exec'd hook commands from holding them. Lock files are
 * never deleted: deleting races with a process that just opened the file. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <apr_time.h>

#include "acme_log.h"
#include "acme_store_fs_int.h"

#define LOCK_POLL_MIN apr_time_from_msec(1)
#define LOCK_POLL_MAX apr_time_from_msec(50)

typedef struct {
    apr_pool_t *pool;
    int fd;
} fs_lock_t;

static apr_status_t lock_cleanup(void *data)
{
    fs_lock_t *lock = data;

    if (lock->fd >= 0) {
        close(lock->fd); /* releases the flock */
        lock->fd = -1;
    }
    return APR_SUCCESS;
}

/* Opens (creating) the lock file. Read-only suffices for flock, so a file
 * created by root is usable by the group's owner too. */
static apr_status_t lock_open(int *pfd, acme_store_fs_t *fs, const char *sub,
                              const fs_owner_t *owner, const char *key)
{
    apr_status_t rv;
    int ldir, sdir, fd;

    rv = fs_dir_open(&ldir, fs->base_fd, FS_LOCKS_DIR, 1, 0755, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = fs_dir_open(&sdir, ldir, sub, 1, 0700, owner);
    close(ldir);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    fd = openat(sdir, key, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    else if (owner && fchown(fd, owner->uid, owner->gid) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        close(fd);
    }
    close(sdir);
    if (rv == APR_SUCCESS) {
        *pfd = fd;
    }
    return rv;
}

apr_status_t fs_lock_take(void **phandle, apr_pool_t *p, acme_store_fs_t *fs, const char *sub,
                          const fs_owner_t *owner, const char *key,
                          apr_interval_time_t timeout)
{
    apr_time_t deadline = apr_time_now() + timeout;
    apr_interval_time_t pause = LOCK_POLL_MIN;
    apr_status_t rv;
    fs_lock_t *lock;
    int fd;

    rv = lock_open(&fd, fs, sub, owner, key);
    if (rv != APR_SUCCESS) {
        acme_log(ACME_LOG_ERR, rv, "ACME0770 store(fs): cannot open lock %s/%s in %s", sub, key,
                 fs->base);
        return rv;
    }
    /* Polling, not a blocking flock: a blocking wait cannot time out without
     * signals, and lock holders are short (a job step, an activation). */
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        apr_time_t now = apr_time_now();
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK) {
            rv = APR_FROM_OS_ERROR(errno);
            close(fd);
            return rv;
        }
        if (now >= deadline) {
            close(fd);
            acme_log(ACME_LOG_DEBUG, APR_TIMEUP, "ACME0771 store(fs): lock %s/%s is busy", sub,
                     key);
            return APR_TIMEUP;
        }
        apr_sleep(pause < deadline - now ? pause : deadline - now);
        pause = pause * 2 > LOCK_POLL_MAX ? LOCK_POLL_MAX : pause * 2;
    }
    lock = apr_palloc(p, sizeof(*lock));
    lock->pool = p;
    lock->fd = fd;
    apr_pool_cleanup_register(p, lock, lock_cleanup, apr_pool_cleanup_null);
    *phandle = lock;
    return APR_SUCCESS;
}

apr_status_t fs_lock_release(void *handle)
{
    fs_lock_t *lock = handle;

    return apr_pool_cleanup_run(lock->pool, lock, lock_cleanup);
}
