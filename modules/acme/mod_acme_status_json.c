/* JSON status: SetHandler md-status (all domains, or one as <loc>/<name>)
 * and /.httpd/certificate-status (the public facts of one host's domain).
 * Field names follow mod_md; docs/status.md has the schema. The list is
 * written domain by domain, so its size never sits in memory at once. */
#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>

#include "acme_job.h"
#include "acme_json.h"
#include "mod_acme_ocsp.h"
#include "mod_acme_restart.h"
#include "mod_acme_selftest.h"
#include "mod_acme_serve.h"
#include "mod_acme_status.h"

APLOG_USE_MODULE(acme);

/* mod_md's numbers for "state" and "renew-mode" */
#define MD_STATE_INCOMPLETE 1
#define MD_STATE_COMPLETE 2

static int md_renew_mode(int mode)
{
    switch (mode) {
    case ACME_RENEW_MANUAL: return 0;
    case ACME_RENEW_ALWAYS: return 2;
    default: return 1;
    }
}

static json_t *time_json(apr_pool_t *p, apr_time_t t)
{
    return json_string(acme_status_time_text(p, t));
}

static json_t *valid_json(apr_pool_t *p, apr_time_t from, apr_time_t until)
{
    return json_pack("{s:o, s:o}", "from", time_json(p, from), "until", time_json(p, until));
}

static json_t *window_json(apr_pool_t *p, const acme_config_window_t *w)
{
    if (w == NULL) {
        return json_null();
    }
    if (w->is_percent) {
        return json_string(apr_psprintf(p, "%d%%", w->percent));
    }
    return json_string(apr_psprintf(p, "%" APR_TIME_T_FMT "s", apr_time_sec(w->duration)));
}

static json_t *strings_json(const apr_array_header_t *a, const char *prefix)
{
    json_t *arr = json_array();
    int i;

    for (i = 0; a && i < a->nelts; ++i) {
        const char *s = APR_ARRAY_IDX(a, i, const char *);
        char buf[512];

        apr_snprintf(buf, sizeof(buf), "%s%s", prefix, s);
        json_array_append_new(arr, json_string(buf));
    }
    return arr;
}

/* One certificate as mod_md shows it: issuer-name, valid, serial,
 * sha256-fingerprint, ari-cert-id (the names are left out when NULL or ""). */
static json_t *one_cert_json(apr_pool_t *p, const char *issuer_name, apr_time_t from,
                             apr_time_t until, const char *serial, const char *sha256,
                             const char *ari_cert_id)
{
    json_t *cj = json_object();

    if (issuer_name && issuer_name[0]) {
        json_object_set_new(cj, "issuer-name", json_string(issuer_name));
    }
    json_object_set_new(cj, "valid", valid_json(p, from, until));
    json_object_set_new(cj, "serial", json_string(serial));
    json_object_set_new(cj, "sha256-fingerprint", json_string(sha256));
    if (ari_cert_id && ari_cert_id[0]) {
        json_object_set_new(cj, "ari-cert-id", json_string(ari_cert_id));
    }
    return cj;
}

/* The live certificates: "valid" over all, then one object per key spec.
 * full: md-status (issuer names, ARI ids, mod_acme's issuer); without, what
 * mod_md's certificate-status shows of live certificates. */
static json_t *cert_json(apr_pool_t *p, const acme_status_md_t *smd, int full)
{
    json_t *obj = json_object();
    apr_time_t from = 0, until = 0;
    int i;

    for (i = 0; i < smd->live->nelts; ++i) {
        const acme_status_cert_t *c = &APR_ARRAY_IDX(smd->live, i, acme_status_cert_t);
        json_t *cj = one_cert_json(p, full ? c->issuer_name : NULL, c->valid_from,
                                   c->valid_until, c->serial, c->sha256,
                                   full ? c->ari_cert_id : NULL);

        if (full && c->issuer) {
            json_object_set_new(cj, "issuer", json_string(c->issuer));
        }
        json_object_set_new(obj, acme_status_spec_key(obj, c->spec), cj);
        from = (from == 0 || c->valid_from > from) ? c->valid_from : from;
        until = (until == 0 || c->valid_until < until) ? c->valid_until : until;
    }
    if (smd->live->nelts > 0) {
        json_object_set_new(obj, "valid", valid_json(p, from, until));
    }
    return obj;
}

/* The external account binding: the key id identifies the account; the
 * HMAC is a secret. */
static json_t *eab_json(const acme_config_props_t *props)
{
    return json_pack("{s:s, s:s}", "kid", props->eab_kid, "hmac", "***");
}

/* The staged set of a slot, same shape as cert_json. */
static json_t *staged_json(apr_pool_t *p, const acme_status_slot_t *slot)
{
    json_t *obj = json_object();
    apr_time_t from = 0;
    int i;

    for (i = 0; i < ACME_STATUS_SPECS_MAX && slot->staged[i].spec[0]; ++i) {
        const acme_status_cert_facts_t *f = &slot->staged[i];

        json_object_set_new(obj, acme_status_spec_key(obj, f->spec),
                            one_cert_json(p, f->issuer_name, f->from, f->until, f->serial,
                                          f->sha256, f->ari_cert_id));
        from = (from == 0 || f->from > from) ? f->from : from;
    }
    if (i > 0) {
        json_object_set_new(obj, "valid", valid_json(p, from, slot->staged_until));
    }
    return obj;
}

static json_t *ca_json(const acme_status_md_t *smd, const acme_status_slot_t *slot)
{
    const acme_config_md_t *md = smd->md;
    const acme_config_props_t *props = &md->props;
    json_t *ca = json_object();

    if (smd->account) {
        json_object_set_new(ca, "account", json_string(smd->account));
    }

    json_object_set_new(ca, "proto", json_string(props->ca_proto ? props->ca_proto : "ACME"));
    json_object_set_new(ca, "urls", strings_json(props->ca_urls, ""));
    if (props->ca_urls && slot && slot->ca_index >= 0 && slot->ca_index < props->ca_urls->nelts) {
        json_object_set_new(ca, "url", json_string(APR_ARRAY_IDX(props->ca_urls,
                                                                 slot->ca_index, const char *)));
    }
    if (props->ca_agreement) {
        json_object_set_new(ca, "agreement", json_string(props->ca_agreement));
    }
    if (props->challenges && props->challenges->nelts > 0) {
        json_object_set_new(ca, "challenges", strings_json(props->challenges, ""));
    }
    if (props->eab_kid) {
        json_object_set_new(ca, "eab", eab_json(props));
    }
    return ca;
}

/* The staged set's latest notBefore: when it can be used; 0 without one. */
static apr_time_t staged_from(const acme_status_slot_t *slot)
{
    apr_time_t from = 0;
    int i;

    for (i = 0; slot->staged_until > 0 && i < ACME_STATUS_SPECS_MAX && slot->staged[i].spec[0];
         ++i) {
        from = slot->staged[i].from > from ? slot->staged[i].from : from;
    }
    return from;
}

/* mod_md's "last": the APR status of the last run (0: it succeeded) and its
 * description, the CA's problem, detail and what was being done. mod_acme
 * keeps no APR code of a failed run: a failure is APR_EGENERAL. */
static json_t *last_json(apr_pool_t *p, const acme_status_slot_t *slot)
{
    apr_status_t status = slot->errors > 0 ? APR_EGENERAL : APR_SUCCESS;
    json_t *last = json_pack("{s:i}", "status", (int)status);
    char buf[256];

    if (status != APR_SUCCESS) {
        json_object_set_new(last, "status-description",
                            json_string(apr_strerror(status, buf, sizeof(buf))));
        if (slot->problem[0]) {
            json_object_set_new(last, "problem", json_string(slot->problem));
        }
        if (slot->detail[0]) {
            json_object_set_new(last, "detail", json_string(slot->detail));
        }
        if (slot->activity[0]) {
            json_object_set_new(last, "activity", json_string(slot->activity));
        }
    }
    else if (slot->staged_until > 0) {
        json_object_set_new(last, "valid-from", time_json(p, staged_from(slot)));
    }
    return last;
}

static json_t *renewal_json(apr_pool_t *p, const char *name, const acme_status_slot_t *slot)
{
    json_t *ren = json_object();

    json_object_set_new(ren, "name", json_string(name));
    json_object_set_new(ren, "errors", json_integer(slot->errors));
    json_object_set_new(ren, "finished", json_boolean(slot->staged_until > 0));
    /* mod_md: the "renewed" notification was given for the staged set */
    json_object_set_new(ren, "notified", json_boolean(slot->notified));
    json_object_set_new(ren, "notified-renewed", json_boolean(slot->notified));
    if (slot->last_run > 0) {
        json_object_set_new(ren, "last-run", time_json(p, slot->last_run));
    }
    if (slot->staged_until > 0) {
        json_object_set_new(ren, "valid-from", time_json(p, staged_from(slot)));
    }
    if (slot->step[0]) {
        json_object_set_new(ren, "step", json_string(slot->step));
    }
    if (slot->next_at > 0) {
        json_object_set_new(ren, "next-run", time_json(p, slot->next_at));
    }
    if (slot->last_success > 0) {
        json_object_set_new(ren, "last-success", time_json(p, slot->last_success));
    }
    if (slot->activity[0]) {
        json_object_set_new(ren, "activity", json_string(slot->activity));
    }
    if (slot->errors > 0 || slot->staged_until > 0 || slot->step[0]) {
        json_object_set_new(ren, "last", last_json(p, slot));
    }
    /* as mod_md: the staged certificates, {} while none is staged yet */
    json_object_set_new(ren, "cert", staged_json(p, slot));
    return ren;
}

/* Settings of the domain that tools of mod_md read. */
static void props_add(json_t *obj, apr_pool_t *p, const acme_config_md_t *md)
{
    static const char *const https[] = { "off", "temporary", "permanent" };
    const acme_config_props_t *props = &md->props;
    int rh = props->require_https;

    json_object_set_new(obj, "domains", strings_json(md->names, ""));
    json_object_set_new(obj, "contacts", props->contact
                        ? json_pack("[s]", apr_pstrcat(p, "mailto:", props->contact, NULL))
                        : json_array());
    json_object_set_new(obj, "transitive", json_integer(props->transitive != 0));
    json_object_set_new(obj, "renew-mode", json_integer(md_renew_mode(props->renew_mode)));
    json_object_set_new(obj, "renew-window", window_json(p, props->renew_window));
    json_object_set_new(obj, "warn-window", window_json(p, props->warn_window));
    json_object_set_new(obj, "must-staple", json_boolean(props->must_staple > 0));
    json_object_set_new(obj, "require-https",
                        json_string(rh >= 0 && rh <= 2 ? https[rh] : "off"));
    json_object_set_new(obj, "privkey", acme_status_privkey_json(props->pkey_specs));
    json_object_set_new(obj, "profile-mandatory", json_boolean(props->profile_mandatory > 0));
    json_object_set_new(obj, "ari-renewals", json_boolean(props->renew_via_ari > 0));
    json_object_set_new(obj, "watched", json_boolean(md->driven));
}

/* MDProfile and what the CA said of it; ARI's window, next check,
 * explanation and last error (docs/status.md). */
static void ari_profile_add(json_t *obj, apr_pool_t *p, const acme_config_md_t *md,
                            const acme_status_slot_t *slot)
{
    json_t *prof, *ari;

    if (md->props.profile) {
        prof = json_pack("{s:s, s:b}", "name", md->props.profile, "mandatory",
                         md->props.profile_mandatory > 0);
        if (slot->profile_offered == 1 || slot->profile_offered == 2) {
            json_object_set_new(prof, "offered", json_boolean(slot->profile_offered == 1));
        }
        json_object_set_new(obj, "profile", prof);
    }
    json_object_set_new(obj, "renew-via-ari", json_boolean(md->props.renew_via_ari > 0));
    if (slot->ari_end == 0 && slot->ari_next == 0 && slot->ari_error[0] == '\0') {
        return;
    }
    ari = json_object();
    if (slot->ari_end > 0) {
        json_object_set_new(ari, "window", json_pack("{s:o, s:o}", "start",
                                                     time_json(p, slot->ari_start), "end",
                                                     time_json(p, slot->ari_end)));
    }
    if (slot->ari_explanation[0]) {
        json_object_set_new(ari, "explanation-url", json_string(slot->ari_explanation));
    }
    if (slot->ari_next > 0) {
        json_object_set_new(ari, "next-check", time_json(p, slot->ari_next));
    }
    if (slot->ari_error[0]) {
        json_object_set_new(ari, "error", json_string(slot->ari_error));
    }
    json_object_set_new(obj, "ari", ari);
}

/* The self-test of the domain's last activation (mod_acme_selftest.h),
 * when there was one since httpd started. */
static void selftest_add(json_t *obj, apr_pool_t *p, int index)
{
    acme_selftest_result_t st;
    json_t *test;

    if (acme_selftest_status_read(&st, index) != APR_SUCCESS) {
        return;
    }
    test = json_pack("{s:s}", "result", acme_selftest_state_name(st.state));
    json_object_set_new(test, "at", time_json(p, st.at));
    if (st.message[0]) {
        json_object_set_new(test, "message", json_string(st.message));
    }
    json_object_set_new(obj, "self-test", test);
}

/* renewal.log of the one-domain form, as mod_md: the job's log, read from
 * job.json (the renewing child keeps it there). */
static void renewal_log_add(json_t *renewal, apr_pool_t *p, const char *name)
{
    acme_store_t *store = acme_glue_store_get();
    acme_job_t *job;
    const char *why = NULL;

    if (store != NULL && acme_job_load(&job, p, store, name, &why) == APR_SUCCESS
        && job->log != NULL) {
        json_object_set(renewal, "log", job->log);
    }
}

/* One domain's status object; freed by the caller (json_decref). with_log:
 * the one-domain form, which also has the renewal's log. */
static json_t *md_json(apr_pool_t *p, const acme_status_md_t *smd, apr_time_t now,
                       int with_log)
{
    const acme_config_md_t *md = smd->md;
    acme_status_slot_t slot;
    acme_status_state_e state;
    json_t *obj = json_object(), *ocsp;
    const char *incomplete;
    int have_slot = acme_status_slot_read(&slot, smd->index) == APR_SUCCESS;

    if (!have_slot) {
        memset(&slot, 0, sizeof(slot));
    }
    state = acme_status_state_of(&slot, smd, now);
    json_object_set_new(obj, "name", json_string(md->name));
    props_add(obj, p, md);
    incomplete = acme_status_incomplete_text(p, smd);
    json_object_set_new(obj, "state", json_integer(incomplete ? MD_STATE_INCOMPLETE
                                                              : MD_STATE_COMPLETE));
    if (incomplete) {
        /* as mod_md: what keeps it incomplete; absent once complete */
        json_object_set_new(obj, "state-descr", json_string(incomplete));
    }
    json_object_set_new(obj, "acme-state", json_string(have_slot
                                                       ? acme_status_state_name(state)
                                                       : "unknown"));
    json_object_set_new(obj, "ca", ca_json(smd, have_slot ? &slot : NULL));
    if (md->props.eab_kid) {
        /* where mod_md shows it (its md.json's "eab"); ca.eab is ours */
        json_object_set_new(obj, "eab", eab_json(&md->props));
    }
    json_object_set_new(obj, "proto", acme_status_proto_json(md));
    json_object_set_new(obj, "cert", cert_json(p, smd, 1));
    json_object_set_new(obj, "renew", json_boolean(md->driven));
    if (smd->renew_at > 0 || slot.renew_at > 0) {
        json_object_set_new(obj, "renew-at",
                            time_json(p, slot.renew_at > 0 ? slot.renew_at : smd->renew_at));
    }
    /* a domain in error shows it where mod_md does: renewal.errors, .last */
    if ((md->driven || md->config_error) && have_slot) {
        json_t *renewal = renewal_json(p, md->name, &slot);

        if (with_log) {
            renewal_log_add(renewal, p, md->name);
        }
        json_object_set_new(obj, "renewal", renewal);
    }
    ari_profile_add(obj, p, md, &slot);
    json_object_set_new(obj, "stapling", json_boolean(md->props.stapling > 0));
    if ((ocsp = acme_ocsp_status_json(p, md->name)) != NULL) {
        json_object_set_new(obj, "ocsp", ocsp);
    }
    selftest_add(obj, p, smd->index);
    return obj;
}

/* The self-initiated restarts (MDActivation, mod_acme_restart.h); NULL
 * without the shared record. */
/* MDSharedStore as this server sees it; NULL without one. */
static json_t *shared_json(apr_pool_t *p)
{
    acme_status_shared_t st;
    json_t *obj;

    if (acme_status_shared_read(&st) != APR_SUCCESS || st.state == ACME_STATUS_SHARED_NONE) {
        return NULL;
    }
    obj = json_pack("{s:s, s:s}", "url", st.url,
                    "state", acme_status_shared_state_name(st.state));
    if (st.since > 0) {
        json_object_set_new(obj, "since", time_json(p, st.since));
    }
    if (st.error[0]) {
        json_object_set_new(obj, "error", json_string(st.error));
    }
    if (st.last_ok > 0) {
        json_object_set_new(obj, "last-answer", time_json(p, st.last_ok));
    }
    if (st.next_try > 0) {
        json_object_set_new(obj, "next-try", time_json(p, st.next_try));
    }
    return obj;
}

static json_t *activation_json(apr_pool_t *p)
{
    acme_restart_status_t st;
    json_t *obj;

    if (acme_restart_status_read(&st) != APR_SUCCESS) {
        return NULL;
    }
    obj = json_pack("{s:s}", "mode", st.mode == ACME_ACTIVATION_GRACEFUL ? "graceful"
                                                                          : "manual");
    if (st.mode == ACME_ACTIVATION_GRACEFUL) {
        json_object_set_new(obj, "interval", json_string(apr_psprintf(
            p, "%" APR_TIME_T_FMT "s", apr_time_sec(st.interval))));
        json_object_set_new(obj, "settle", json_string(apr_psprintf(
            p, "%" APR_TIME_T_FMT "s", apr_time_sec(ACME_RESTART_SETTLE))));
        json_object_set_new(obj, "pending", json_integer(st.pending));
        if (st.next_at > 0) {
            json_object_set_new(obj, "next", time_json(p, st.next_at));
            json_object_set_new(obj, "batch", json_integer(st.batch));
        }
        if (st.waiting[0]) {
            json_object_set_new(obj, "waiting", json_string(st.waiting));
        }
        if (st.check_error[0]) {
            json_object_set_new(obj, "check-error", json_string(st.check_error));
        }
        if (st.checked_at > 0) {
            json_object_set_new(obj, "last-check", time_json(p, st.checked_at));
        }
    }
    if (st.last_at > 0) {
        json_object_set_new(obj, "last", time_json(p, st.last_at));
    }
    json_object_set_new(obj, "restarts", json_integer(st.restarts));
    return obj;
}

/* Writes json compactly to the client; consumes the reference. */
static void json_send(request_rec *r, json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

    if (text) {
        ap_rputs(text, r);
        free(text);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "ACME1620 cannot serialize the status");
    }
    json_decref(json);
}

static int json_start(request_rec *r)
{
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return OK;
}

int acme_status_json_handler(request_rec *r)
{
    const acme_status_md_t *smd;
    json_t *activation, *shared;
    const char *name;
    apr_time_t now = apr_time_now();
    int i, rc;

    if (r->handler == NULL || strcmp(r->handler, ACME_STATUS_HANDLER) != 0) {
        return DECLINED;
    }
    r->allowed = (AP_METHOD_BIT << M_GET);
    name = (r->path_info && r->path_info[0] == '/') ? r->path_info + 1 : "";
    if (name[0]) {
        if ((smd = acme_status_md_get(name)) == NULL) {
            return HTTP_NOT_FOUND;
        }
        if ((rc = json_start(r)) != OK) {
            return rc;
        }
        if (!r->header_only) {
            json_send(r, md_json(r->pool, smd, now, 1));
        }
        return OK;
    }
    if ((rc = json_start(r)) != OK || r->header_only) {
        return rc;
    }
    ap_rputs("{\"version\":", r);
    json_send(r, json_string(acme_status_version()));
    if ((activation = activation_json(r->pool)) != NULL) {
        ap_rputs(",\"activation\":", r);
        json_send(r, activation);
    }
    if ((shared = shared_json(r->pool)) != NULL) {
        ap_rputs(",\"shared-store\":", r);
        json_send(r, shared);
    }
    ap_rputs(",\"managed-domains\":[", r);
    for (i = 0; (smd = acme_status_md_at(i)) != NULL; ++i) {
        if (i > 0) {
            ap_rputs(",", r);
        }
        json_send(r, md_json(r->pool, smd, now, 0));
    }
    ap_rputs("]}\n", r);
    return OK;
}

/* mod_md's /.httpd/certificate-status: the live certificates, and under
 * "renewal" a staged one (or an empty object while a renewal runs). */
int acme_status_cert_handler(request_rec *r)
{
    const acme_config_md_t *md;
    const acme_status_md_t *smd;
    acme_status_slot_t slot;
    json_t *resp, *cert, *valid;
    int rc;

    if (r->parsed_uri.path == NULL || strcmp(r->parsed_uri.path, ACME_CERT_STATUS_PATH) != 0) {
        return DECLINED;
    }
    md = acme_config_md_for_name(acme_config_global_get(r->server), r->pool, r->hostname, NULL);
    if (md == NULL || md->props.certificate_status == 0
        || (smd = acme_status_md_get(md->name)) == NULL) {
        return DECLINED;
    }
    if ((rc = json_start(r)) != OK) {
        return rc;
    }
    cert = cert_json(r->pool, smd, 0);
    resp = json_object();
    valid = json_object_get(cert, "valid");
    if (valid) {
        json_object_set(resp, "valid", valid);
        json_object_del(cert, "valid");
    }
    /* as mod_md: every configured key spec, {} until it has a certificate */
    if (md->cert_files == NULL || md->cert_files->nelts == 0) {
        json_t *specs = acme_status_spec_names_json(r->pool, md->props.pkey_specs);

        json_object_update(resp, specs);
        json_decref(specs);
    }
    json_object_update(resp, cert);
    json_decref(cert);
    if (md->driven && acme_status_slot_read(&slot, smd->index) == APR_SUCCESS
        && (slot.staged_until > 0 || slot.errors > 0
            || acme_status_state_of(&slot, smd, apr_time_now()) == ACME_STATUS_RENEWING)) {
        json_object_set_new(resp, "renewal", json_pack("{s:o}", "cert",
                                                       staged_json(r->pool, &slot)));
    }
    if (!r->header_only) {
        json_send(r, resp);
        ap_rputs("\n", r);
    }
    else {
        json_decref(resp);
    }
    return OK;
}
