/* The OCSP watchdog: a watchdog instance of its own (one thread in one
 * child), so that OCSP refreshes neither wait for nor delay renewals. It
 * fetches each entry's response when its slot says it is due, stores it and
 * publishes it; a failure keeps the old response (served while current) and
 * retries after MDRetryDelay, doubling per failure up to an hour. MDMessageCmd
 * hears "ocsp-renewed" and "ocsp-errored" for managed domains, as in mod_md. */
#include <apr_optional.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_watchdog.h>

#include "acme_http_curl.h"
#include "acme_ocsp.h"
#include "mod_acme_child.h"
#include "mod_acme_cmd.h"
#include "mod_acme_ocsp.h"
#include "mod_acme_serve.h"
#include "mod_acme_status.h"

APLOG_USE_MODULE(acme);

#define OCSP_WATCHDOG_NAME "_acme_ocsp_"
#define OCSP_WAKE_MAX (apr_time_from_sec(3600))
#define OCSP_WAKE_MIN (apr_time_from_sec(1))
/* A response due again at once (tiny validity) is not fetched in a loop. */
#define OCSP_REFETCH_MIN (apr_time_from_sec(60))

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register_callback;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_set_callback_interval) *wd_set_interval;

typedef struct {
    server_rec *s;
    ap_watchdog_t *wd;
    apr_array_header_t *entries;    /* acme_ocsp_entry_t * */
    int *errors;                    /* failures in a row, per entry */
    apr_interval_time_t retry_delay;
} ocsp_watch_t;

static apr_status_t transport_make(acme_http_transport_t **pt, apr_pool_t *p,
                                   const acme_ocsp_entry_t *e)
{
    acme_http_options_t opts;

    acme_http_options_init(&opts);
    opts.connect_timeout = apr_time_from_sec(5);
    opts.timeout = apr_time_from_sec(15);
    opts.max_body = ACME_OCSP_MAX_DER;
    opts.ca_file = e->props->ca_file;
    opts.proxy_url = e->props->http_proxy;
    opts.proxy_ca_file = e->props->http_proxy_ca_file;
    opts.cancel = acme_child_stop_flag();   /* the child does not wait for a slow responder */
    return acme_http_curl_create(pt, p, &opts);
}

/* MDMessageCmd ocsp-renewed|ocsp-errored <md>, as mod_md: for managed
 * domains only (the command runner is prepared only when there are some). */
static void message_send(ocsp_watch_t *w, const acme_ocsp_entry_t *e, const char *reason,
                         apr_pool_t *p)
{
    const acme_config_global_t *g = acme_config_global_get(w->s);
    const char *extra[3];

    if (!e->managed || !g->message_argv) {
        return;
    }
    extra[0] = reason;
    extra[1] = e->name;
    extra[2] = NULL;
    acme_cmd_run(NULL, p, w->s, apr_psprintf(p, "MDMessageCmd %s %s", reason, e->name),
                 g->message_argv, extra, 0);
}

static apr_time_t refresh_failed(ocsp_watch_t *w, int i, apr_status_t rv, const char *why,
                                 apr_pool_t *p)
{
    const acme_ocsp_entry_t *e = APR_ARRAY_IDX(w->entries, i, acme_ocsp_entry_t *);
    apr_interval_time_t delay = w->retry_delay;
    apr_time_t next;
    int n;

    for (n = ++w->errors[i]; n > 1 && delay < OCSP_WAKE_MAX; --n) {
        delay *= 2;
    }
    next = apr_time_now() + (delay < OCSP_WAKE_MAX ? delay : OCSP_WAKE_MAX);
    ap_log_error(APLOG_MARK, APLOG_WARNING, rv, w->s, "ACME1760 ocsp[%s]: refresh from %s "
                 "failed (%d in a row): %s; retrying in %" APR_TIME_T_FMT "s", e->name, e->url,
                 w->errors[i], why ? why : "unknown error", apr_time_sec(next - apr_time_now()));
    acme_ocsp_slot_publish(e, NULL, 0, 0, 0, 0, next, why ? why : "unknown error");
    message_send(w, e, "ocsp-errored", p);
    return next;
}

/* Refreshes entry i when due; returns when it wants to run next. */
static apr_time_t entry_refresh(ocsp_watch_t *w, int i, apr_pool_t *ptemp)
{
    const acme_ocsp_entry_t *e = APR_ARRAY_IDX(w->entries, i, acme_ocsp_entry_t *);
    acme_http_transport_t *t = NULL;
    acme_ocsp_answer_t *a = NULL;
    acme_ocsp_state_t st;
    const char *why = NULL;
    apr_time_t now = apr_time_now(), next;
    apr_status_t rv;

    acme_ocsp_slot_read(&st, e);
    if (st.refresh_at > now) {
        return st.refresh_at;
    }
    if ((rv = transport_make(&t, ptemp, e)) != APR_SUCCESS) {
        return refresh_failed(w, i, rv, "cannot create an HTTP transport", ptemp);
    }
    rv = acme_ocsp_fetch(&a, ptemp, t, e->url, e->cert, e->issuer, now, &why);
    acme_http_transport_destroy(t);
    if (acme_child_is_stopping()) {
        return st.refresh_at;   /* cancelled or not: the child ends, the next one fetches */
    }
    if (rv != APR_SUCCESS) {
        return refresh_failed(w, i, rv, why, ptemp);
    }
    w->errors[i] = 0;
    if ((rv = acme_ocsp_store_save(acme_glue_store_get(), ptemp, e->name, e->cert, a))
        != APR_SUCCESS) {
        /* served from memory all the same; a restart fetches anew */
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, w->s, "ACME1761 ocsp[%s]: cannot store the "
                     "response", e->name);
    }
    next = acme_ocsp_refresh_at(a, e->renew_window);
    if (next < now + OCSP_REFETCH_MIN) {
        next = now + OCSP_REFETCH_MIN;
    }
    acme_ocsp_slot_publish(e, a->der, a->der_len, (int)a->status, a->this_update,
                           a->next_update, next, NULL);
    ap_log_error(APLOG_MARK, a->status == ACME_OCSP_GOOD ? APLOG_INFO : APLOG_WARNING, 0, w->s,
                 "ACME1762 ocsp[%s]: response refreshed: %s, valid until %s, next refresh %s",
                 e->name, acme_ocsp_status_name(a->status),
                 a->next_update ? acme_status_time_text(ptemp, a->next_update) : "-",
                 acme_status_time_text(ptemp, next));
    message_send(w, e, "ocsp-renewed", ptemp);
    return next;
}

static apr_status_t watch_cb(int state, void *data, apr_pool_t *ptemp)
{
    ocsp_watch_t *w = data;
    apr_time_t now, next, due;
    int i;

    if (state != AP_WATCHDOG_STATE_RUNNING) {
        return APR_SUCCESS;
    }
    acme_child_thread_enrol();
    next = apr_time_now() + OCSP_WAKE_MAX;
    for (i = 0; i < w->entries->nelts && !acme_child_is_stopping(); ++i) {
        due = entry_refresh(w, i, ptemp);
        next = due < next ? due : next;
        apr_pool_clear(ptemp);
    }
    now = apr_time_now();
    next = next - now < OCSP_WAKE_MIN ? now + OCSP_WAKE_MIN : next;
    wd_set_interval(w->wd, next - now, w, watch_cb);
    return APR_SUCCESS;
}

int acme_ocsp_watch_register(apr_pool_t *pconf, server_rec *s)
{
    static int curl_ready;
    ocsp_watch_t *w;
    apr_status_t rv;

    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    wd_set_interval = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_set_callback_interval);
    if (!wd_get_instance || !wd_register_callback || !wd_set_interval) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ACME1763 mod_watchdog is needed for OCSP "
                     "stapling (LoadModule watchdog_module)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!curl_ready && (rv = acme_http_curl_global_init()) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ACME1764 libcurl cannot initialize");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    curl_ready = 1;
    w = apr_pcalloc(pconf, sizeof(*w));
    w->s = s;
    w->entries = acme_ocsp_entries();
    w->errors = apr_pcalloc(pconf, sizeof(int) * (apr_size_t)w->entries->nelts);
    w->retry_delay = acme_config_global_get(s)->retry_delay;
    if (w->retry_delay <= 0) {
        w->retry_delay = apr_time_from_sec(30);
    }
    rv = wd_get_instance(&w->wd, OCSP_WATCHDOG_NAME, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = wd_register_callback(w->wd, OCSP_WAKE_MIN, w, watch_cb);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ACME1765 cannot register the OCSP "
                     "watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1766 OCSP watchdog registered for %d "
                 "certificates", w->entries->nelts);
    return OK;
}
