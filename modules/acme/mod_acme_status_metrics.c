/* Prometheus metrics (text exposition format 0.0.4): SetHandler acme-metrics.
 * Per domain (and key spec) gauges from the facts and slots, global
 * counters and the renewal duration histogram from the shared counters.
 * Every family gets its HELP and TYPE lines before its samples, even when
 * it has none, so scrapers see a stable set. */
#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>

#include "mod_acme_selftest.h"
#include "mod_acme_status.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A label value with \, " and newline escaped as the format wants. */
static const char *label_escape(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0, i;
    char *out, *o;

    for (i = 0; s[i]; ++i) {
        n += (s[i] == '\\' || s[i] == '"' || s[i] == '\n') ? 2 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    for (i = 0; s[i]; ++i) {
        if (s[i] == '\\' || s[i] == '"' || s[i] == '\n') {
            *o++ = '\\';
            *o++ = s[i] == '\n' ? 'n' : s[i];
        }
        else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static void family(request_rec *r, const char *name, const char *type, const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static double seconds(apr_time_t t)
{
    return (double)apr_time_sec(t) + (double)apr_time_usec(t) / 1e6;
}

/* Per domain and key spec: expiry of the served certificate. */
static void certs_expiry(request_rec *r)
{
    const acme_status_md_t *smd;
    int i, j;

    family(r, "acme_certificate_expiry_timestamp_seconds", "gauge",
           "notAfter of the served certificate (Unix time)");
    for (i = 0; (smd = acme_status_md_at(i)) != NULL; ++i) {
        const char *domain = label_escape(r->pool, smd->md->name);

        for (j = 0; j < smd->live->nelts; ++j) {
            const acme_status_cert_t *c = &APR_ARRAY_IDX(smd->live, j, acme_status_cert_t);
            ap_rprintf(r, "acme_certificate_expiry_timestamp_seconds{domain=\"%s\","
                       "key=\"%s\"} %.0f\n", domain, label_escape(r->pool, c->spec),
                       seconds(c->valid_until));
        }
    }
}

/* One gauge per domain; value_cb says whether the domain has a sample. */
typedef int md_value_cb(double *pv, const acme_status_md_t *smd,
                        const acme_status_slot_t *slot, apr_time_t now);

static void md_gauge(request_rec *r, const char *name, const char *help, md_value_cb *cb,
                     apr_time_t now)
{
    const acme_status_md_t *smd;
    acme_status_slot_t slot;
    double v;
    int i;

    family(r, name, "gauge", help);
    for (i = 0; (smd = acme_status_md_at(i)) != NULL; ++i) {
        if (acme_status_slot_read(&slot, smd->index) != APR_SUCCESS
            || !cb(&v, smd, &slot, now)) {
            continue;
        }
        ap_rprintf(r, "%s{domain=\"%s\"} %.17g\n", name, label_escape(r->pool, smd->md->name),
                   v);
    }
}

static int renew_in_cb(double *pv, const acme_status_md_t *smd,
                       const acme_status_slot_t *slot, apr_time_t now)
{
    apr_time_t at = slot->renew_at > 0 ? slot->renew_at : smd->renew_at;

    if (!smd->md->driven || at <= 0) {
        return 0;
    }
    *pv = at > now ? (double)apr_time_sec(at - now) : 0.0;
    return 1;
}

static int errors_cb(double *pv, const acme_status_md_t *smd, const acme_status_slot_t *slot,
                     apr_time_t now)
{
    (void)now;
    *pv = slot->errors;
    return smd->md->driven;
}

static int last_success_cb(double *pv, const acme_status_md_t *smd,
                           const acme_status_slot_t *slot, apr_time_t now)
{
    (void)smd;
    (void)now;
    *pv = seconds(slot->last_success);
    return slot->last_success > 0;
}

static int staged_cb(double *pv, const acme_status_md_t *smd, const acme_status_slot_t *slot,
                     apr_time_t now)
{
    (void)now;
    *pv = slot->staged_until > 0 ? 1 : 0;
    return smd->md->driven;
}

static void counters(request_rec *r)
{
    static const int bounds[] = ACME_STATUS_DURATION_BUCKETS;
    acme_status_counters_t c;
    apr_uint64_t cumulative = 0;
    int i;

    acme_status_counters_read(&c);
    family(r, "acme_orders_total", "counter", "ACME orders started");
    ap_rprintf(r, "acme_orders_total %" APR_UINT64_T_FMT "\n", c.orders);
    family(r, "acme_renewals_total", "counter", "certificate sets obtained and staged");
    ap_rprintf(r, "acme_renewals_total %" APR_UINT64_T_FMT "\n", c.renewals_ok);
    family(r, "acme_renewal_failures_total", "counter", "failed renewal attempts by problem");
    for (i = 0; i < ACME_STATUS_PROB_COUNT; ++i) {
        ap_rprintf(r, "acme_renewal_failures_total{problem=\"%s\"} %" APR_UINT64_T_FMT "\n",
                   acme_status_problem_name((acme_status_problem_e)i), c.failures[i]);
    }
    family(r, "acme_renewal_duration_seconds", "histogram",
           "time from the start of a renewal to its staged certificate");
    for (i = 0; i < ACME_STATUS_DURATION_BUCKET_COUNT; ++i) {
        cumulative += c.duration_buckets[i];
        ap_rprintf(r, "acme_renewal_duration_seconds_bucket{le=\"%d\"} %" APR_UINT64_T_FMT
                   "\n", bounds[i], cumulative);
    }
    ap_rprintf(r, "acme_renewal_duration_seconds_bucket{le=\"+Inf\"} %" APR_UINT64_T_FMT "\n",
               c.duration_count);
    ap_rprintf(r, "acme_renewal_duration_seconds_sum %.3f\n",
               (double)c.duration_ms_sum / 1000.0);
    ap_rprintf(r, "acme_renewal_duration_seconds_count %" APR_UINT64_T_FMT "\n",
               c.duration_count);
}

/* The self-test of each domain's last activation (mod_acme_selftest.h):
 * when it reached its result, labelled with the result. */
static void selftests(request_rec *r)
{
    const char *name = "acme_activation_selftest_timestamp_seconds";
    const acme_status_md_t *smd;
    acme_selftest_result_t st;
    int i;

    family(r, name, "gauge", "when the self-test of the last activation reached its result "
           "(Unix time), by result");
    for (i = 0; (smd = acme_status_md_at(i)) != NULL; ++i) {
        if (acme_selftest_status_read(&st, smd->index) != APR_SUCCESS) {
            continue;
        }
        ap_rprintf(r, "%s{domain=\"%s\",result=\"%s\"} %.0f\n", name,
                   label_escape(r->pool, smd->md->name), acme_selftest_state_name(st.state),
                   seconds(st.at));
    }
}

/* MDSharedStore: 1 while it answers; only when one is configured. */
static void shared_store(request_rec *r)
{
    acme_status_shared_t st;

    if (acme_status_shared_read(&st) != APR_SUCCESS || st.state == ACME_STATUS_SHARED_NONE) {
        return;
    }
    family(r, "acme_shared_store_up", "gauge", "1 while the shared store (MDSharedStore) "
           "answers; renewals wait while it is 0");
    ap_rprintf(r, "acme_shared_store_up{state=\"%s\"} %d\n",
               acme_status_shared_state_name(st.state), st.state == ACME_STATUS_SHARED_UP);
}

int acme_status_metrics_handler(request_rec *r)
{
    apr_time_t now = apr_time_now();

    if (r->handler == NULL || strcmp(r->handler, ACME_METRICS_HANDLER) != 0) {
        return DECLINED;
    }
    r->allowed = (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_set_content_type(r, METRICS_CONTENT_TYPE);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    certs_expiry(r);
    md_gauge(r, "acme_certificate_renew_in_seconds", "seconds until the renewal is due "
             "(0: due or under way)", renew_in_cb, now);
    md_gauge(r, "acme_renewal_errors", "consecutive failed renewal attempts", errors_cb, now);
    md_gauge(r, "acme_renewal_last_success_timestamp_seconds", "when a renewal last staged "
             "a certificate (Unix time)", last_success_cb, now);
    md_gauge(r, "acme_certificate_staged", "1 when a new certificate waits for a graceful "
             "restart", staged_cb, now);
    selftests(r);
    counters(r);
    shared_store(r);
    return OK;
}
