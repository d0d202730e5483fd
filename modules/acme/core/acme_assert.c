/* Failure path of ACME_ASSERT: log, then abort so the crash is visible. */
#include <stdlib.h>

#include "acme_assert.h"
#include "acme_log.h"

void acme_assert_fail(const char *expr, const char *file, int line)
{
    acme_log(ACME_LOG_ERR, 0, "ACME0001 assertion failed: %s (%s:%d)", expr, file, line);
    abort();
}
