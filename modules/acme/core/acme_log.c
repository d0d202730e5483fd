/* Core logging: one process-wide callback, see acme_log.h. */
#include <stdarg.h>
#include <stdio.h>

#include "acme_log.h"

static acme_log_cb *log_cb;
static void *log_baton;
static acme_log_level_e log_max_level = ACME_LOG_NOTICE;

void acme_log_set(acme_log_cb *cb, void *baton, acme_log_level_e max_level)
{
    log_cb = cb;
    log_baton = baton;
    log_max_level = max_level;
}

int acme_log_is_level(acme_log_level_e level)
{
    return log_cb != NULL && level <= log_max_level;
}

void acme_log(acme_log_level_e level, apr_status_t rv, const char *fmt, ...)
{
    /* A fixed buffer keeps logging usable without a pool and from any thread;
     * longer messages are truncated, which is fine for a log line. */
    char buf[4096];
    va_list ap;

    if (!acme_log_is_level(level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_cb(log_baton, level, rv, buf);
}
