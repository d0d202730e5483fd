/* The "Managed Certificates" section of mod_status' server-status: an HTML
 * table with a summary first, or with ?auto the machine lines of mod_md
 * (ManagedCertificatesTotal/OK/Renew/Errored/Ready, then
 * ManagedDomain[i]<Field> per domain, sorted by name as mod_md does).
 * MDServerStatus off leaves the section out. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>

#include "mod_status.h"

#include "mod_acme_ocsp.h"
#include "mod_acme_restart.h"
#include "mod_acme_selftest.h"
#include "mod_acme_status.h"

/* One row: a domain with its slot as read once for the whole page. */
typedef struct {
    const acme_status_md_t *smd;
    acme_status_slot_t slot;
    int have_slot;
    acme_status_state_e state;
} row_t;

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const row_t *)a)->smd->md->name, ((const row_t *)b)->smd->md->name);
}

static row_t *rows_collect(int *pcount, apr_pool_t *p, apr_time_t now)
{
    const acme_status_md_t *smd;
    row_t *rows;
    int i, n = 0;

    while (acme_status_md_at(n) != NULL) {
        ++n;
    }
    rows = apr_pcalloc(p, sizeof(*rows) * (apr_size_t)(n > 0 ? n : 1));
    for (i = 0; i < n && (smd = acme_status_md_at(i)) != NULL; ++i) {
        rows[i].smd = smd;
        rows[i].have_slot = acme_status_slot_read(&rows[i].slot, smd->index) == APR_SUCCESS;
        if (!rows[i].have_slot) {
            memset(&rows[i].slot, 0, sizeof(rows[i].slot));
        }
        rows[i].state = acme_status_state_of(&rows[i].slot, smd, now);
    }
    qsort(rows, (size_t)n, sizeof(*rows), row_cmp);
    *pcount = n;
    return rows;
}

/* mod_md's "Status": good, expired or "incomplete: <what is missing>". */
static const char *md_status_word(apr_pool_t *p, const acme_status_md_t *smd, apr_time_t now)
{
    const char *incomplete = acme_status_incomplete_text(p, smd);

    if (incomplete) {
        return apr_pstrcat(p, "incomplete: ", incomplete, NULL);
    }
    return smd->valid_until > now ? "good" : "expired";
}

static const char *ca_url_of(const row_t *row)
{
    const apr_array_header_t *urls = row->smd->md->props.ca_urls;
    int i = row->slot.ca_index;

    if (urls == NULL || urls->nelts == 0) {
        return NULL;
    }
    return APR_ARRAY_IDX(urls, (i >= 0 && i < urls->nelts) ? i : 0, const char *);
}

static const char *ca_name_of(apr_pool_t *p, const char *url)
{
    apr_uri_t uri;

    if (apr_uri_parse(p, url, &uri) == APR_SUCCESS && uri.hostname) {
        return uri.hostname;
    }
    return url;
}

static void auto_summary(request_rec *r, const row_t *rows, int n, apr_time_t now)
{
    int i, ok = 0, renew = 0, errored = 0, ready = 0;

    for (i = 0; i < n; ++i) {
        const acme_status_md_t *smd = rows[i].smd;
        const acme_status_slot_t *slot = &rows[i].slot;
        int complete = acme_status_incomplete_text(r->pool, smd) == NULL;

        ok += complete;         /* mod_md: state complete, every key spec served */
        if (!smd->md->driven
            || !(slot->staged_until > 0 || slot->errors > 0 || !complete
                 || rows[i].state == ACME_STATUS_RENEWING
                 || (smd->renew_at > 0 && smd->renew_at <= now))) {
            continue;
        }
        renew++;
        errored += slot->errors > 0;
        ready += slot->errors == 0 && slot->staged_until > 0;
    }
    ap_rprintf(r, "ManagedCertificatesTotal: %d\nManagedCertificatesOK: %d\n"
               "ManagedCertificatesRenew: %d\nManagedCertificatesErrored: %d\n"
               "ManagedCertificatesReady: %d\n", n, ok, renew, errored, ready);
}

/* mod_md's Activity lines for the renewal of a domain. */
static void auto_activity(request_rec *r, const char *pre, const row_t *row, apr_time_t now)
{
    const acme_status_slot_t *slot = &row->slot;
    int staged = slot->staged_until > 0, i, count = 0;

    if (!row->smd->md->driven) {
        ap_rprintf(r, "%sActivity: Manual renew\n", pre);
        return;
    }
    ap_rprintf(r, "%sActivityFinished: %s\n", pre, staged ? "yes" : "no");
    for (i = 0; staged && i < ACME_STATUS_SPECS_MAX && slot->staged[i].spec[0]; ++i) {
        count++;
    }
    if (staged) {
        ap_rprintf(r, "%sActivityNewStaged: %d\n", pre, count);
    }
    if (slot->errors > 0) {
        char buf[256];

        ap_rprintf(r, "%sActivityLastStatus: %s\n", pre,
                   apr_strerror(APR_EGENERAL, buf, sizeof(buf)));
        ap_rprintf(r, "%sActivityLastProblem: %s\n", pre, slot->problem);
        ap_rprintf(r, "%sActivityLastDetail: %s\n", pre, slot->detail);
        ap_rprintf(r, "%sActivityRetries: %d\n", pre, slot->errors);
    }
    if (!staged && slot->errors == 0 && row->smd->live->nelts > 0
        && row->smd->renew_at > now) {
        ap_rprintf(r, "%sActivityRenew: %" APR_TIME_T_FMT "\n", pre,
                   apr_time_sec(row->smd->renew_at - now));
    }
    if (!staged && slot->next_at > now) {
        ap_rprintf(r, "%sActivityNextRun: %" APR_TIME_T_FMT "\n", pre,
                   apr_time_sec(slot->next_at - now));
    }
}

/* MDProfile and ARI (mod_acme_ari.h) lines. */
static void auto_ari_profile(request_rec *r, const char *pre, const row_t *row)
{
    const acme_status_slot_t *slot = &row->slot;
    const char *profile = row->smd->md->props.profile;

    if (profile) {
        ap_rprintf(r, "%sProfile: %s%s\n", pre, profile, slot->profile_offered == 2
                   ? (row->smd->md->props.profile_mandatory > 0 ? " (not offered by the CA)"
                      : " (not offered by the CA: its default is used)") : "");
    }
    if (slot->ari_end > 0) {
        ap_rprintf(r, "%sARIWindowStart: %s\n%sARIWindowEnd: %s\n", pre,
                   acme_status_time_text(r->pool, slot->ari_start), pre,
                   acme_status_time_text(r->pool, slot->ari_end));
    }
    if (slot->ari_explanation[0]) {
        ap_rprintf(r, "%sARIExplanationURL: %s\n", pre, slot->ari_explanation);
    }
    if (slot->ari_error[0]) {
        ap_rprintf(r, "%sARILastError: %s\n", pre, slot->ari_error);
    }
}

/* The self-test of the domain's last activation (mod_acme_selftest.h):
 * "<pre>SelfTest: rolled-back" and "<pre>SelfTestMessage: activation rolled
 * back: ..." lines, or a line of the HTML activity cell. */
static const char *esc(apr_pool_t *p, const char *s);

static void selftest_lines(request_rec *r, const char *pre, int index, int is_short)
{
    acme_selftest_result_t st;

    if (acme_selftest_status_read(&st, index) != APR_SUCCESS) {
        return;
    }
    if (is_short) {
        ap_rprintf(r, "%sSelfTest: %s\n", pre, acme_selftest_state_name(st.state));
        if (st.message[0]) {
            ap_rprintf(r, "%sSelfTestMessage: %s\n", pre, st.message);
        }
        return;
    }
    ap_rprintf(r, "<br>self-test %s %s%s%s", acme_selftest_state_name(st.state),
               acme_status_time_text(r->pool, st.at), st.message[0] ? ": " : "",
               esc(r->pool, st.message));
}

static void auto_row(request_rec *r, int index, const row_t *row, apr_time_t now)
{
    const acme_status_md_t *smd = row->smd;
    const char *pre = apr_psprintf(r->pool, "ManagedDomain[%d]", index);
    const char *url = ca_url_of(row);
    const acme_config_md_t *md = smd->md;
    int i;

    ap_rprintf(r, "%sDomain: %s\n", pre, md->name);
    for (i = 0; i < md->names->nelts; ++i) {
        ap_rprintf(r, "%sNames[%d]: %s\n", pre, i, APR_ARRAY_IDX(md->names, i, const char *));
    }
    ap_rprintf(r, "%sStatus: %s\n", pre, md_status_word(r->pool, smd, now));
    ap_rprintf(r, "%sState: %s\n", pre, acme_status_state_name(row->state));
    if (smd->valid_until > 0) {
        ap_rprintf(r, "%sValidUntil: %s\n", pre, acme_status_day_text(r->pool, smd->valid_until));
    }
    if (url) {
        ap_rprintf(r, "%sCAName: %s\n%sCAURL: %s\n", pre, ca_name_of(r->pool, url), pre, url);
    }
    for (i = 0; i < smd->live->nelts && md->props.cert_check_url; ++i) {
        const acme_status_cert_t *c = &APR_ARRAY_IDX(smd->live, i, acme_status_cert_t);
        ap_rprintf(r, "%sCheckAtType: %s\n%sCheckAtName: %s\n%sCheckAtURL: %s%s\n"
                   "%sCheckAtFingerprint: %s\n", pre, acme_status_spec_md_name(c->spec), pre,
                   md->props.cert_check_name ? md->props.cert_check_name : "", pre,
                   md->props.cert_check_url, c->sha256, pre, c->sha256);
    }
    auto_activity(r, pre, row, now);
    auto_ari_profile(r, pre, row);
    acme_ocsp_status_page(r, pre, md->name);
    selftest_lines(r, pre, smd->index, 1);
}

/* Every string of the page that comes from the CA, the configuration or the
 * store goes through here, as text or as a (double-quoted) attribute value:
 * & < > " and ' escaped (ap_escape_html2 leaves ' alone, and a CA's
 * explanationURL with a ' ended the old single-quoted href: issue 16),
 * non-ASCII as a character reference. */
static const char *esc(apr_pool_t *p, const char *s)
{
    const char *html = ap_escape_html2(p, s ? s : "", 1), *q;
    apr_size_t quotes = 0;
    char *out, *o;

    for (q = strchr(html, '\''); q; q = strchr(q + 1, '\'')) {
        ++quotes;
    }
    if (quotes == 0) {
        return html;
    }
    out = o = apr_palloc(p, strlen(html) + quotes * 4 + 1);
    for (q = html; *q; ++q) {
        if (*q == '\'') {
            memcpy(o, "&#39;", 5);
            o += 5;
        }
        else {
            *o++ = *q;
        }
    }
    *o = '\0';
    return out;
}

/* A link only to an http(s) URL: a "javascript:" or "data:" one is shown as
 * text. The URLs come from the CA (explanationURL) or the configuration; the
 * core checks the CA's already (acme_json_check_url), this holds for
 * whatever reaches the page. */
static void html_link(request_rec *r, const char *url, const char *text)
{
    if (strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0) {
        ap_rprintf(r, "<a href=\"%s\" rel=\"noreferrer\">%s</a>", esc(r->pool, url),
                   esc(r->pool, text));
    }
    else {
        ap_rprintf(r, "%s (%s)", esc(r->pool, text), esc(r->pool, url));
    }
}

/* The "Activity" cell: the last error, a staged set, or what comes next. */
static void html_activity(request_rec *r, const row_t *row, apr_time_t now)
{
    const acme_status_slot_t *slot = &row->slot;
    apr_pool_t *p = r->pool;

    if (!row->smd->md->driven) {
        ap_rputs("Manual renew", r);
        return;
    }
    if (slot->errors > 0) {
        ap_rprintf(r, "Error (%d retr%s): %s %s<br>%s", slot->errors,
                   slot->errors > 1 ? "ies" : "y", esc(p, slot->problem), esc(p, slot->detail),
                   esc(p, slot->activity));
    }
    else if (slot->staged_until > 0) {
        ap_rprintf(r, "new certificate staged (valid until %s), waits for a graceful "
                   "restart", esc(p, acme_status_time_text(p, slot->staged_until)));
    }
    else if (slot->activity[0]) {
        ap_rputs(esc(p, slot->activity), r);
    }
    if (slot->last_success > 0) {
        ap_rprintf(r, "<br>last success %s", acme_status_time_text(p, slot->last_success));
    }
    if (row->smd->md->props.profile) {
        ap_rprintf(r, "<br>profile %s%s", esc(p, row->smd->md->props.profile),
                   slot->profile_offered == 2 ? " (not offered by the CA)" : "");
    }
    if (slot->ari_end > 0) {
        ap_rprintf(r, "<br>CA's renewal window %s .. %s",
                   acme_status_time_text(p, slot->ari_start),
                   acme_status_time_text(p, slot->ari_end));
    }
    if (slot->ari_explanation[0]) {
        ap_rputs(" (", r);
        html_link(r, slot->ari_explanation, "why");
        ap_rputs(")", r);
    }
    acme_ocsp_status_page(r, NULL, row->smd->md->name);
    (void)now;
}

static void html_row(request_rec *r, int index, const row_t *row, apr_time_t now)
{
    const acme_status_md_t *smd = row->smd;
    const char *url = ca_url_of(row);
    apr_pool_t *p = r->pool;
    apr_time_t next = row->slot.next_at;
    int i;

    ap_rprintf(r, "<tr class=\"%s\"><td>%s</td><td>", (index % 2) ? "odd" : "even",
               esc(p, smd->md->name));
    for (i = 0; i < smd->md->names->nelts; ++i) {
        ap_rprintf(r, "%s%s", i ? " " : "",
                   esc(p, APR_ARRAY_IDX(smd->md->names, i, const char *)));
    }
    ap_rprintf(r, "</td><td>%s</td><td>", acme_status_state_name(row->state));
    if (smd->valid_until > 0) {
        ap_rprintf(r, "<span title=\"%s\">%s</span>",
                   esc(p, acme_status_time_text(p, smd->valid_until)),
                   esc(p, acme_status_day_text(p, smd->valid_until)));
    }
    ap_rputs("</td><td>", r);
    if (url) {
        html_link(r, url, ca_name_of(p, url));
    }
    ap_rputs("</td><td>", r);
    if (smd->md->driven && next > 0) {
        ap_rputs(acme_status_time_text(p, next), r);
    }
    ap_rputs("</td><td>", r);
    html_activity(r, row, now);
    selftest_lines(r, NULL, row->smd->index, 0);
    ap_rputs("</td></tr>\n", r);
}

static void html_summary(request_rec *r, const row_t *rows, int n)
{
    int counts[ACME_STATUS_STATE_COUNT] = { 0 };
    int i;

    for (i = 0; i < n; ++i) {
        counts[rows[i].state]++;
    }
    ap_rprintf(r, "<p>%d managed domain%s:", n, n == 1 ? "" : "s");
    for (i = 0; i < ACME_STATUS_STATE_COUNT; ++i) {
        ap_rprintf(r, "%s %d %s", i ? "," : "", counts[i],
                   acme_status_state_name((acme_status_state_e)i));
    }
    ap_rputs("</p>\n", r);
}

/* The self-initiated restarts (MDActivation, mod_acme_restart.h). */
static void activation_lines(request_rec *r, int is_short)
{
    acme_restart_status_t st;
    apr_pool_t *p = r->pool;
    int graceful;

    if (acme_restart_status_read(&st) != APR_SUCCESS) {
        return;
    }
    graceful = st.mode == ACME_ACTIVATION_GRACEFUL;
    if (is_short) {
        ap_rprintf(r, "ActivationMode: %s\n", graceful ? "graceful" : "manual");
        if (graceful) {
            ap_rprintf(r, "ActivationPending: %d\n", st.pending);
        }
        if (graceful && st.next_at > 0) {
            ap_rprintf(r, "ActivationNext: %s\n", acme_status_time_text(p, st.next_at));
        }
        if (graceful && st.waiting[0]) {
            ap_rprintf(r, "ActivationWaiting: %s\n", st.waiting);
        }
        if (st.last_at > 0) {
            ap_rprintf(r, "ActivationLast: %s\n", acme_status_time_text(p, st.last_at));
        }
        ap_rprintf(r, "ActivationRestarts: %d\n", st.restarts);
        return;
    }
    ap_rprintf(r, "<p>Activation: %s", graceful ? "graceful (self-initiated restarts)"
                                                : "manual (at the admin's restart)");
    if (graceful) {
        ap_rprintf(r, "; %d staged set%s pending", st.pending, st.pending == 1 ? "" : "s");
        if (st.next_at > 0) {
            ap_rprintf(r, "; next restart %s", acme_status_time_text(p, st.next_at));
        }
        if (st.waiting[0]) {
            ap_rprintf(r, "; activation waiting: %s", esc(p, st.waiting));
        }
        if (st.check_error[0]) {
            ap_rprintf(r, " (%s)", esc(p, st.check_error));
        }
    }
    if (st.last_at > 0) {
        ap_rprintf(r, "; last self-initiated restart %s (%d so far)",
                   acme_status_time_text(p, st.last_at), st.restarts);
    }
    ap_rputs("</p>\n", r);
}

/* MDSharedStore, when there is one (not a mod_md field). */
static void shared_lines(request_rec *r, int is_short)
{
    acme_status_shared_t st;

    if (acme_status_shared_read(&st) != APR_SUCCESS || st.state == ACME_STATUS_SHARED_NONE) {
        return;
    }
    if (is_short) {
        ap_rprintf(r, "SharedStore: %s\nSharedStoreState: %s\n", st.url,
                   acme_status_shared_state_name(st.state));
        if (st.error[0]) {
            ap_rprintf(r, "SharedStoreError: %s\n", st.error);
        }
        return;
    }
    ap_rprintf(r, "<p>Shared store: %s, %s", esc(r->pool, st.url),
               acme_status_shared_state_name(st.state));
    if (st.error[0]) {
        ap_rprintf(r, " (%s)", esc(r->pool, st.error));
    }
    ap_rputs("</p>\n", r);
}

int acme_status_page_hook(request_rec *r, int flags)
{
    acme_config_global_t *g = acme_config_global_get(r->server);
    apr_time_t now = apr_time_now();
    row_t *rows;
    int i, n;

    if (g == NULL || g->props.server_status == 0 || acme_status_md_at(0) == NULL) {
        return OK;
    }
    rows = rows_collect(&n, r->pool, now);
    if (flags & AP_STATUS_SHORT) {
        auto_summary(r, rows, n, now);
        activation_lines(r, 1);
        shared_lines(r, 1);
        for (i = 0; i < n; ++i) {
            auto_row(r, i, &rows[i], now);
        }
        acme_ocsp_status_summary(r);
        return OK;
    }
    ap_rputs("<hr>\n<h3>Managed Certificates</h3>\n", r);
    html_summary(r, rows, n);
    activation_lines(r, 0);
    shared_lines(r, 0);
    ap_rputs("<table class=\"md_status\"><thead><tr><th>Domain</th><th>Names</th>"
             "<th>State</th><th>Valid until</th><th>CA</th><th>Next check/retry</th>"
             "<th>Activity</th></tr></thead>\n<tbody>\n", r);
    for (i = 0; i < n; ++i) {
        html_row(r, i, &rows[i], now);
    }
    ap_rputs("</tbody></table>\n", r);
    return OK;
}
