/* The plan of self-initiated restarts (see acme_restart_plan.h). */
#include <stdlib.h>

#include "acme_restart_plan.h"

static int due_cmp(const void *a, const void *b)
{
    apr_time_t x = ((const acme_restart_set_t *)a)->due;
    apr_time_t y = ((const acme_restart_set_t *)b)->due;

    return x < y ? -1 : x > y ? 1 : 0;
}

/* interval * 2^tries, at most ACME_RESTART_BACKOFF_MAX. */
static apr_interval_time_t backoff_of(apr_interval_time_t interval, int tries)
{
    apr_interval_time_t d = interval > 0 ? interval : apr_time_from_sec(1);
    int i;

    for (i = 0; i < tries && d < ACME_RESTART_BACKOFF_MAX; ++i) {
        d *= 2;
    }
    return d < ACME_RESTART_BACKOFF_MAX ? d : ACME_RESTART_BACKOFF_MAX;
}

static void dues_compute(acme_restart_set_t *sets, int n, const acme_restart_policy_t *pol)
{
    int i;

    for (i = 0; i < n; ++i) {
        acme_restart_set_t *set = &sets[i];

        set->due = set->ready_at > set->staged_at ? set->ready_at : set->staged_at;
        set->backoff = 0;
        if (set->tries > 0 && pol->last > 0) {
            apr_time_t after = pol->last + backoff_of(pol->interval, set->tries);

            if (after > set->due) {
                set->due = after;
                set->backoff = 1;
            }
        }
    }
}

apr_time_t acme_restart_plan(acme_restart_set_t *sets, int n,
                             const acme_restart_policy_t *policy, apr_time_t now,
                             acme_restart_why_e *pwhy, int *pbatch)
{
    acme_restart_why_e why;
    apr_time_t start, close, cap, planned;
    int i, batch;

    if (n <= 0) {
        if (pwhy) {
            *pwhy = ACME_RESTART_WHY_NONE;
        }
        if (pbatch) {
            *pbatch = 0;
        }
        return 0;
    }
    dues_compute(sets, n, policy);
    qsort(sets, (size_t)n, sizeof(*sets), due_cmp);
    start = sets[0].due;
    cap = start + (policy->settle_max > policy->settle ? policy->settle_max : policy->settle);
    close = start + policy->settle;
    /* each set due before the batch closes keeps it open a settle longer */
    for (i = 1; i < n && sets[i].due < close; ++i) {
        apr_time_t later = sets[i].due + policy->settle;

        close = later < cap ? (later > close ? later : close) : cap;
    }
    planned = close;
    why = start > now ? (sets[0].backoff ? ACME_RESTART_WHY_BACKOFF : ACME_RESTART_WHY_DUE)
                      : ACME_RESTART_WHY_SETTLE;
    if (policy->last > 0 && policy->last + policy->interval > planned) {
        planned = policy->last + policy->interval;
        why = ACME_RESTART_WHY_INTERVAL;
    }
    if (policy->not_before > planned) {
        planned = policy->not_before;
        why = ACME_RESTART_WHY_NOT_BEFORE;
    }
    for (batch = 0; batch < n && sets[batch].due <= planned; ++batch) {
    }
    if (pwhy) {
        *pwhy = why;
    }
    if (pbatch) {
        *pbatch = batch;
    }
    return planned;
}

const char *acme_restart_why_text(acme_restart_why_e why)
{
    switch (why) {
    case ACME_RESTART_WHY_DUE: return "MDActivationDelay";
    case ACME_RESTART_WHY_SETTLE: return "settle time";
    case ACME_RESTART_WHY_INTERVAL: return "MDActivationInterval";
    case ACME_RESTART_WHY_BACKOFF: return "backoff after restarts that left it staged";
    case ACME_RESTART_WHY_NOT_BEFORE: return "retry after a failed configuration check";
    default: return "nothing to activate";
    }
}
