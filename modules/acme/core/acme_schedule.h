/* When a managed domain must be renewed (MDRenewWindow, MDWarnWindow, ARI).
 *
 * Pure functions: no I/O, no clock. "now" is a parameter and randomness comes
 * from the caller (a uint32_t it drew from a CSPRNG), so the same input always
 * gives the same answer and the tests are deterministic.
 *
 * Windows follow mod_md: a window is how much of the certificate's lifetime is
 * left when something shall happen, either a duration ("30d": renew when 30
 * days are left) or a percentage of the lifetime ("33%": renew when a third of
 * the lifetime is left).
 *
 * Short-lived certificates: a window that covers the whole lifetime (a 30d
 * window on a 6-day certificate, or 100%) would make a certificate due the
 * moment it is issued, and the renewal would loop as fast as the CA issues.
 * mod_md subtracts the window from notAfter unchecked and has exactly that
 * loop. Here such a window falls back to a percentage: ACME_SCHEDULE_RENEW_
 * FALLBACK_PERCENT (33%, mod_md's default MDRenewWindow) for renewals and
 * ACME_SCHEDULE_WARN_FALLBACK_PERCENT (10%, its default MDWarnWindow) for
 * warnings, so a 6-day certificate renews at about its 4th day. A renew
 * window that would renew within the first ACME_SCHEDULE_RENEW_MIN_USE_PERCENT
 * (10%) of the lifetime (a 30d window on a 31-day certificate, or 95%) falls
 * back the same way: every certificate is used for at least a tenth of its
 * lifetime before the window renews it, whatever the window says. (Only an
 * ARI window, the CA's own word, an expiry or a changed configuration can
 * make it due earlier; an ARI window that ended before notBefore is stale and
 * ignored.) The warn window has no such floor: warning early loops nothing.
 *
 * ARI (RFC 9773): when the CA suggests a window [start, end) the renewal time
 * is a point chosen uniformly inside it with the caller's random value
 * (acme_schedule_ari_pick). To keep that point stable, the caller draws the
 * random value ONCE per certificate (e.g. when the certificate is activated or
 * its first renewalInfo is fetched), stores it with the domain's state next to
 * the fetched window, and passes the same value on every check. A new value
 * is drawn only for a new certificate. Since the choice is a pure function of
 * (window, random), re-fetching an unchanged window never re-rolls the point,
 * and a window the CA moved keeps the point at the same relative position. */
#ifndef ACME_SCHEDULE_H
#define ACME_SCHEDULE_H

#include <stdint.h>

#include <apr_errno.h>
#include <apr_time.h>

#include "acme_config_value.h"

#define ACME_SCHEDULE_RENEW_FALLBACK_PERCENT 33
#define ACME_SCHEDULE_WARN_FALLBACK_PERCENT 10
#define ACME_SCHEDULE_RENEW_MIN_USE_PERCENT 10

/* Times (certificate validity, ARI windows, now) must lie within
 * +-ACME_SCHEDULE_TIME_MAX (the end of year 9999, the last time an X.509
 * GeneralizedTime can hold), which keeps every sum here from overflowing. */
#define ACME_SCHEDULE_TIME_MAX (apr_time_from_sec(253402300799LL))

/* The watchdog never sleeps shorter than this (see acme_schedule_wakeup) nor
 * longer than its check interval; ACME_SCHEDULE_CHECK_DEFAULT (12h, as mod_md)
 * stands in for a check interval <= 0, ACME_CONFIG_DURATION_MAX caps it. */
#define ACME_SCHEDULE_WAKE_MIN (apr_time_from_sec(1))
#define ACME_SCHEDULE_CHECK_DEFAULT (apr_time_from_sec(12 * 3600))

typedef enum {
    ACME_SCHEDULE_NOT_DUE = 0,  /* renew_at is in the future */
    ACME_SCHEDULE_DUE,          /* renew now (renew_at == now) */
    ACME_SCHEDULE_EXPIRED       /* the certificate has expired: renew now */
} acme_schedule_state_e;

/* What decided renew_at (for logs and the status page). */
typedef enum {
    ACME_SCHEDULE_BY_WINDOW = 0,    /* the configured renew window */
    ACME_SCHEDULE_BY_FALLBACK,      /* the window covered (almost) the whole
                                     * lifetime: 33% used */
    ACME_SCHEDULE_BY_ARI,           /* the CA's suggested window */
    ACME_SCHEDULE_BY_MISSING,       /* no certificate yet */
    ACME_SCHEDULE_BY_CHANGED,       /* names, key types... changed */
    ACME_SCHEDULE_BY_EXPIRED        /* past notAfter */
} acme_schedule_reason_e;

/* What is known about one managed domain. Not owned by anyone: a plain value
 * filled by the caller for one call. */
typedef struct {
    int has_cert;                   /* 0: no certificate yet (fields below unused) */
    apr_time_t not_before;          /* of the certificate in use */
    apr_time_t not_after;
    int changed;                    /* 1: the configuration wants another certificate
                                     * (names, key types, CA, profile) */
    acme_config_window_t renew_window;  /* MDRenewWindow */
    acme_config_window_t warn_window;   /* MDWarnWindow */
    int has_ari;                    /* 1: ari_start/ari_end hold the CA's window */
    apr_time_t ari_start;           /* RFC 9773 suggestedWindow, [start, end) */
    apr_time_t ari_end;
    uint32_t ari_random;            /* the caller's stored random value (see above) */
} acme_schedule_input_t;

typedef struct {
    acme_schedule_state_e state;
    acme_schedule_reason_e reason;
    apr_time_t renew_at;            /* when to renew; == now unless NOT_DUE */
    apr_time_t warn_at;             /* when "expiring" starts; 0 without a certificate */
    int warn;                       /* 1: now >= warn_at (an expiring notice is due) */
    int ari_ignored;                /* 1: has_ari was set but the window was unusable
                                     * (end <= start, out of range, after notAfter,
                                     * ended before notBefore) */
} acme_schedule_t;

/* Adds one key type's certificate to `in`: a set is judged by its latest
 * notBefore and its earliest notAfter; one that misses a configured name
 * marks it changed. */
void acme_schedule_input_add(acme_schedule_input_t *in, apr_time_t not_before,
                             apr_time_t not_after, int names_ok);

/* Decides when the domain described by `in` is to be renewed, as seen at
 * `now`. Precedence: no certificate (due), expired, changed (due), a usable
 * ARI window, the renew window. *psched is only written on success.
 * APR_EINVAL: a window out of range (percent not 0..100, duration not
 * 0..ACME_CONFIG_DURATION_MAX), a time out of range, or a certificate whose
 * notAfter is not after its notBefore. Such a certificate cannot be scheduled;
 * callers treat it like a failed renewal (with backoff), not as "due" in a
 * loop. An unusable ARI window is not an error: it is ignored (ari_ignored). */
apr_status_t acme_schedule_compute(acme_schedule_t *psched, const acme_schedule_input_t *in,
                                   apr_time_t now);

/* The time at which `window` (plus fallback_percent when the window covers
 * the whole lifetime) starts before not_after; *pfallback says whether the
 * fallback was used. Same errors as acme_schedule_compute. */
apr_status_t acme_schedule_window_start(apr_time_t *pat, int *pfallback,
                                        apr_time_t not_before, apr_time_t not_after,
                                        const acme_config_window_t *window,
                                        int fallback_percent);

/* The point of [start, end) that `random` selects: start + (end - start) *
 * random / 2^32, exactly, so random 0 gives start and UINT32_MAX a point just
 * before end. APR_EINVAL when end <= start or a time is out of range. */
apr_status_t acme_schedule_ari_pick(apr_time_t *pat, apr_time_t start, apr_time_t end,
                                    uint32_t random);

/* What one watchdog run learnt about a domain. */
typedef struct {
    apr_time_t renew_at;            /* from acme_schedule_compute; 0: nothing planned */
    apr_time_t retry_at;            /* after a failed attempt, from acme_backoff_retry_at;
                                     * 0: no error pending */
} acme_schedule_result_t;

/* When the domain wants the watchdog again: renew_at, but never before a
 * pending retry_at (a due domain that failed waits for its backoff instead of
 * being retried on every run). 0 when neither is set. */
apr_time_t acme_schedule_result_next(const acme_schedule_result_t *result);

/* The watchdog's next wake-up for a run that produced `n` results: the
 * earliest acme_schedule_result_next(), clamped by acme_schedule_wakeup_clamp.
 * `results` may be NULL when n is 0. */
apr_time_t acme_schedule_wakeup(const acme_schedule_result_t *results, apr_size_t n,
                                apr_time_t now, apr_interval_time_t check_interval);

/* Clamps a wanted wake-up time (0: none) into [now + ACME_SCHEDULE_WAKE_MIN,
 * now + check_interval]. The floor keeps a domain that stays due (because a
 * caller forgot to reschedule it) from spinning the watchdog; the ceiling
 * makes the watchdog look at configuration and store changes regularly. */
apr_time_t acme_schedule_wakeup_clamp(apr_time_t want, apr_time_t now,
                                      apr_interval_time_t check_interval);

#endif /* ACME_SCHEDULE_H */
