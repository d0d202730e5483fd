/* Retry delays after errors (MDRetryDelay).
 *
 * Pure: "now" is a parameter and the jitter comes from a random value the
 * caller supplies, so the result is reproducible. Nothing sleeps here; the
 * answer is a time ("retry at") for the scheduler.
 *
 * After the n-th consecutive error the nominal delay is base * 2^(n-1),
 * capped at ACME_BACKOFF_MAX (1 day). Jitter spreads retries of many domains
 * that failed together (a CA outage) so they do not hit the CA in lockstep:
 * the delay is multiplied by a factor in [0.9, 1.1), chosen by the random
 * value (0 gives 0.9, UINT32_MAX just under 1.1). At the cap, retries are thus
 * 21.6 to 26.4 hours apart. The result is never shorter than ACME_BACKOFF_MIN
 * (1 s), so even a misconfigured base of 0 cannot loop tightly, and never
 * before the CA's Retry-After. */
#ifndef ACME_BACKOFF_H
#define ACME_BACKOFF_H

#include <stdint.h>

#include <apr_time.h>

#define ACME_BACKOFF_BASE_DEFAULT (apr_time_from_sec(30))
#define ACME_BACKOFF_MAX (apr_time_from_sec(86400))
#define ACME_BACKOFF_MIN (apr_time_from_sec(1))
#define ACME_BACKOFF_JITTER_PERCENT 10

/* The delay after the `errors`-th consecutive error (0 counts as 1: the
 * caller asks because an attempt just failed). `base` <= 0 means
 * ACME_BACKOFF_BASE_DEFAULT. The exponent is bounded, so any `errors` (even
 * UINT_MAX) gives a delay in [ACME_BACKOFF_MIN, ACME_BACKOFF_MAX * 1.1). */
apr_interval_time_t acme_backoff_delay(apr_interval_time_t base, unsigned int errors,
                                       uint32_t random);

/* When to try again: now + acme_backoff_delay(), but not before `ca_retry_at`
 * (the CA's Retry-After as an absolute time; 0: none). The caller parses and
 * bounds Retry-After itself (acme_headers); it is honoured as given here. */
apr_time_t acme_backoff_retry_at(apr_time_t now, apr_interval_time_t base,
                                 unsigned int errors, apr_time_t ca_retry_at,
                                 uint32_t random);

#endif /* ACME_BACKOFF_H */
