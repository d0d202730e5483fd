/* Test-only wrappers of system calls, linked with -Wl,--wrap=openat
 * -Wl,--wrap=fchmod -Wl,--wrap=renameat -Wl,--wrap=fsync: they let the
 * tests watch how temp files are created, count what is flushed, and cut an
 * operation short exactly where a crash could. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>

#include "test_store.h"

int test_store_fail_renameat_at;
int test_store_record;
int test_store_tmp_creates, test_store_tmp_bad_creates;
mode_t test_store_widest_fchmod;
int test_store_fsyncs;

int __real_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...);
int __real_fchmod(int fd, mode_t mode);
int __wrap_fchmod(int fd, mode_t mode);
int __real_renameat(int ofd, const char *from, int nfd, const char *to);
int __wrap_renameat(int ofd, const char *from, int nfd, const char *to);
int __real_fsync(int fd);
int __wrap_fsync(int fd);

int __wrap_fsync(int fd)
{
    ++test_store_fsyncs;
    return __real_fsync(fd);
}

int __wrap_openat(int dfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    va_list ap;

    if (flags & O_CREAT) {
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (test_store_record && (flags & O_CREAT) && strncmp(path, ".tmp.", 5) == 0) {
        ++test_store_tmp_creates;
        /* Must be a new file (no reuse of someone's file) that nobody but
         * the owner can read from the first moment on. */
        if (!(flags & O_EXCL) || (mode & 077) != 0) {
            ++test_store_tmp_bad_creates;
        }
    }
    return __real_openat(dfd, path, flags, mode);
}

int __wrap_fchmod(int fd, mode_t mode)
{
    if (test_store_record && (mode & 0777) > test_store_widest_fchmod) {
        test_store_widest_fchmod = mode & 0777;
    }
    return __real_fchmod(fd, mode);
}

int __wrap_renameat(int ofd, const char *from, int nfd, const char *to)
{
    if (test_store_fail_renameat_at > 0 && --test_store_fail_renameat_at == 0) {
        errno = EIO;
        return -1;
    }
    return __real_renameat(ofd, from, nfd, to);
}
