/* Logging of the core library through a callback.
 *
 * The core never writes to stderr or a file itself: whoever links it (the httpd
 * module, the unit tests, the admin tool) installs a callback. Messages carry a
 * stable number ("ACME0123") so admins can grep and documentation can refer to
 * them. CA response bodies go out at ACME_LOG_TRACE only; secrets never. */
#ifndef ACME_LOG_H
#define ACME_LOG_H

#include <apr_errno.h>
#include <apr_pools.h>

typedef enum {
    ACME_LOG_ERR = 3,
    ACME_LOG_WARNING = 4,
    ACME_LOG_NOTICE = 5,
    ACME_LOG_INFO = 6,
    ACME_LOG_DEBUG = 7,
    ACME_LOG_TRACE = 8
} acme_log_level_e;

/* Receives every message at or below the configured level. `msg` lives only
 * for the duration of the call. */
typedef void acme_log_cb(void *baton, acme_log_level_e level, apr_status_t rv,
                         const char *msg);

/* Installs the callback (NULL: messages are dropped) and the most verbose level
 * that is formatted at all. Not thread-safe: call once at start-up. */
void acme_log_set(acme_log_cb *cb, void *baton, acme_log_level_e max_level);

/* True when a message at `level` would be delivered; lets callers skip
 * building expensive messages (e.g. dumping a CA response at trace level). */
int acme_log_is_level(acme_log_level_e level);

/* Formats with apr_pvsprintf semantics into a scratch buffer and delivers.
 * Convention: the message starts with its number, "ACME0123 ...". */
void acme_log(acme_log_level_e level, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* ACME_LOG_H */
