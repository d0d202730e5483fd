/* The key holder's socket address, see acme_keyholder_int.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_keyholder_int.h"

apr_status_t acme_keyholder_addr(struct sockaddr_un *addr, int *pdirfd, const char *path)
{
    const char *slash;
    char dir[4096];
    int n;

    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    *pdirfd = -1;
    if (path == NULL || *path == '\0') {
        return APR_EINVAL;
    }
    if (strlen(path) < sizeof(addr->sun_path)) {
        memcpy(addr->sun_path, path, strlen(path));
        return APR_SUCCESS;
    }
    /* too long for sun_path (a deep DefaultRuntimeDir): through the directory */
    if ((slash = strrchr(path, '/')) == NULL || slash == path
        || (apr_size_t)(slash - path) >= sizeof(dir)) {
        return APR_EINVAL;
    }
    memcpy(dir, path, (apr_size_t)(slash - path));
    dir[slash - path] = '\0';
    if ((*pdirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    n = snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", *pdirfd,
                 slash + 1);
    if (n < 0 || (apr_size_t)n >= sizeof(addr->sun_path)) {
        close(*pdirfd);
        *pdirfd = -1;
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}
