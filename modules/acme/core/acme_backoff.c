/* Exponential backoff with jitter; see acme_backoff.h. */
#include "acme_backoff.h"

/* min(base * 2^(errors-1), ACME_BACKOFF_MAX) without overflow: doubling
 * stops as soon as the cap is reached, so at most ~40 steps for any count. */
static apr_interval_time_t nominal_delay(apr_interval_time_t base, unsigned int errors)
{
    apr_interval_time_t d = base;
    unsigned int n;

    for (n = 1; n < errors && d < ACME_BACKOFF_MAX; ++n) {
        d *= 2;
    }
    return d > ACME_BACKOFF_MAX ? ACME_BACKOFF_MAX : d;
}

apr_interval_time_t acme_backoff_delay(apr_interval_time_t base, unsigned int errors,
                                       uint32_t random)
{
    apr_interval_time_t d, spread, offset;

    if (base <= 0) {
        base = ACME_BACKOFF_BASE_DEFAULT;
    }
    if (errors == 0) {
        errors = 1;
    }
    d = nominal_delay(base, errors);
    /* d * (0.9 + 0.2 * random / 2^32): spread < 2^35 us, so spread * 2^24
     * fits; the low 8 bits of random do not matter at this scale. */
    spread = d * 2 * ACME_BACKOFF_JITTER_PERCENT / 100;
    offset = (apr_interval_time_t)(((apr_uint64_t)spread * (random >> 8)) >> 24);
    d = d - d * ACME_BACKOFF_JITTER_PERCENT / 100 + offset;
    return d < ACME_BACKOFF_MIN ? ACME_BACKOFF_MIN : d;
}

apr_time_t acme_backoff_retry_at(apr_time_t now, apr_interval_time_t base,
                                 unsigned int errors, apr_time_t ca_retry_at,
                                 uint32_t random)
{
    apr_time_t at = now + acme_backoff_delay(base, errors, random);

    return ca_retry_at > at ? ca_retry_at : at;
}
