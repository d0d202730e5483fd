/* Renewal timing: renew windows, warn windows, ARI windows, wake-ups.
 * See acme_schedule.h for the rules; no I/O and no clock in here. */
#include "acme_schedule.h"

static int time_ok(apr_time_t t)
{
    return t >= -ACME_SCHEDULE_TIME_MAX && t <= ACME_SCHEDULE_TIME_MAX;
}

static int window_ok(const acme_config_window_t *w)
{
    if (w->is_percent) {
        return w->percent >= 0 && w->percent <= 100;
    }
    return w->duration >= 0 && w->duration <= ACME_CONFIG_DURATION_MAX;
}

/* percent of len, exactly and without overflow for any len >= 0. */
static apr_interval_time_t percent_of(apr_interval_time_t len, int percent)
{
    return (len / 100) * percent + (len % 100) * percent / 100;
}

apr_status_t acme_schedule_window_start(apr_time_t *pat, int *pfallback,
                                        apr_time_t not_before, apr_time_t not_after,
                                        const acme_config_window_t *window,
                                        int fallback_percent)
{
    apr_interval_time_t lifetime, len;
    int fallback = 0;

    if (!time_ok(not_before) || !time_ok(not_after) || not_after <= not_before
        || !window_ok(window) || fallback_percent < 0 || fallback_percent >= 100) {
        return APR_EINVAL;
    }
    lifetime = not_after - not_before;
    len = window->is_percent ? percent_of(lifetime, window->percent) : window->duration;
    if (len >= lifetime) {
        /* Due from issuance on: that would loop. */
        len = percent_of(lifetime, fallback_percent);
        fallback = 1;
    }
    *pat = not_after - len;
    *pfallback = fallback;
    return APR_SUCCESS;
}

apr_status_t acme_schedule_ari_pick(apr_time_t *pat, apr_time_t start, apr_time_t end,
                                    uint32_t random)
{
    apr_uint64_t span, hi, lo;

    if (!time_ok(start) || !time_ok(end) || end <= start) {
        return APR_EINVAL;
    }
    /* span * random / 2^32 with span = hi * 2^32 + lo: each product fits. */
    span = (apr_uint64_t)(end - start);
    hi = span >> 32;
    lo = span & 0xffffffffu;
    *pat = start + (apr_time_t)(hi * random + ((lo * random) >> 32));
    return APR_SUCCESS;
}

/* The ARI renewal point, or 0 when the window is unusable. A point at or
 * after notAfter would renew an expired certificate, so the window is cut at
 * notAfter, and ignored when nothing is left of it. A window that ended
 * before notBefore cannot be about this certificate (a stale one kept from
 * its predecessor): followed, it would renew every new certificate at once. */
static apr_time_t ari_renew_at(const acme_schedule_input_t *in)
{
    apr_time_t end = in->ari_end, at;

    if (!time_ok(in->ari_start) || !time_ok(end) || end <= in->not_before) {
        return 0;
    }
    if (end > in->not_after) {
        end = in->not_after;
    }
    if (acme_schedule_ari_pick(&at, in->ari_start, end, in->ari_random) != APR_SUCCESS) {
        return 0;
    }
    return at;
}

/* The certificate's renew time (window or ARI) and warn time. */
static apr_status_t cert_times(acme_schedule_t *s, const acme_schedule_input_t *in)
{
    apr_status_t rv;
    int fallback, warn_fallback;
    apr_time_t ari_at = 0;

    rv = acme_schedule_window_start(&s->renew_at, &fallback, in->not_before, in->not_after,
                                    &in->renew_window, ACME_SCHEDULE_RENEW_FALLBACK_PERCENT);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acme_schedule_window_start(&s->warn_at, &warn_fallback, in->not_before,
                                    in->not_after, &in->warn_window,
                                    ACME_SCHEDULE_WARN_FALLBACK_PERCENT);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!fallback && s->renew_at - in->not_before
        < percent_of(in->not_after - in->not_before, ACME_SCHEDULE_RENEW_MIN_USE_PERCENT)) {
        /* A renewal in the first tenth of the lifetime (a 30d window on a
         * 31-day certificate) would follow every issuance at once. */
        s->renew_at = in->not_after - percent_of(in->not_after - in->not_before,
                                                 ACME_SCHEDULE_RENEW_FALLBACK_PERCENT);
        fallback = 1;
    }
    s->reason = fallback ? ACME_SCHEDULE_BY_FALLBACK : ACME_SCHEDULE_BY_WINDOW;
    if (in->has_ari) {
        ari_at = ari_renew_at(in);
        s->ari_ignored = (ari_at == 0);
    }
    if (ari_at != 0) {
        s->renew_at = ari_at;
        s->reason = ACME_SCHEDULE_BY_ARI;
    }
    return APR_SUCCESS;
}

void acme_schedule_input_add(acme_schedule_input_t *in, apr_time_t not_before,
                             apr_time_t not_after, int names_ok)
{
    in->changed |= !names_ok;
    in->not_before = (!in->has_cert || not_before > in->not_before) ? not_before
                                                                     : in->not_before;
    in->not_after = (!in->has_cert || not_after < in->not_after) ? not_after : in->not_after;
    in->has_cert = 1;
}

apr_status_t acme_schedule_compute(acme_schedule_t *psched, const acme_schedule_input_t *in,
                                   apr_time_t now)
{
    acme_schedule_t s = { ACME_SCHEDULE_DUE, ACME_SCHEDULE_BY_MISSING, 0, 0, 0, 0 };
    apr_status_t rv;

    if (!time_ok(now) || !window_ok(&in->renew_window) || !window_ok(&in->warn_window)) {
        return APR_EINVAL;
    }
    if (!in->has_cert) {
        s.renew_at = now;
        *psched = s;
        return APR_SUCCESS;
    }
    rv = cert_times(&s, in);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s.warn = (now >= s.warn_at);
    if (now >= in->not_after) {
        s.state = ACME_SCHEDULE_EXPIRED;
        s.reason = ACME_SCHEDULE_BY_EXPIRED;
        s.renew_at = now;
    }
    else if (in->changed) {
        s.state = ACME_SCHEDULE_DUE;
        s.reason = ACME_SCHEDULE_BY_CHANGED;
        s.renew_at = now;
    }
    else if (now >= s.renew_at) {
        s.state = ACME_SCHEDULE_DUE;
        s.renew_at = now;
    }
    else {
        s.state = ACME_SCHEDULE_NOT_DUE;
    }
    *psched = s;
    return APR_SUCCESS;
}

apr_time_t acme_schedule_result_next(const acme_schedule_result_t *result)
{
    if (result->retry_at != 0 && result->retry_at > result->renew_at) {
        return result->retry_at;
    }
    return result->renew_at;
}

apr_time_t acme_schedule_wakeup_clamp(apr_time_t want, apr_time_t now,
                                      apr_interval_time_t check_interval)
{
    apr_time_t earliest = now + ACME_SCHEDULE_WAKE_MIN, latest;

    if (check_interval <= 0) {
        check_interval = ACME_SCHEDULE_CHECK_DEFAULT;
    }
    else if (check_interval > ACME_CONFIG_DURATION_MAX) {
        check_interval = ACME_CONFIG_DURATION_MAX;
    }
    latest = now + (check_interval < ACME_SCHEDULE_WAKE_MIN ? ACME_SCHEDULE_WAKE_MIN
                                                             : check_interval);
    if (want == 0 || want > latest) {
        return latest;
    }
    return want < earliest ? earliest : want;
}

apr_time_t acme_schedule_wakeup(const acme_schedule_result_t *results, apr_size_t n,
                                apr_time_t now, apr_interval_time_t check_interval)
{
    apr_time_t want = 0, next;
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        next = acme_schedule_result_next(&results[i]);
        if (next != 0 && (want == 0 || next < want)) {
            want = next;
        }
    }
    return acme_schedule_wakeup_clamp(want, now, check_interval);
}
