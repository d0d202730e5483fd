/* What the watchdog knows about a domain when it starts: the schedule from
 * the LIVE certificate (read once, see mod_acme_drive.h) and the little
 * state that must outlive the watchdog child, in JOBS/<md>/drive.json next
 * to the job (it goes away with the job when the job is reset):
 *   {"ca-url": the CA in use after failovers,
 *    "notified": "issued" of the staged set already announced as renewed,
 *    "warned": notAfter of the certificate already announced as expiring}
 * so that a new watchdog child neither falls back to the first CA nor sends
 * the same message twice. */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>

#include "acme_cert.h"
#include "acme_certset.h"
#include "acme_chain.h"
#include "acme_json.h"
#include "acme_layout.h"
#include "acme_pkey.h"
#include "acme_schedule.h"
#include "mod_acme_drive.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

#define DRIVE_ASPECT "drive.json"
#define PROTO_ACME_TLS "acme-tls/1"
#define CHALLENGE_ALPN "tls-alpn-01"

static const char *reason_text(acme_schedule_reason_e reason)
{
    switch (reason) {
    case ACME_SCHEDULE_BY_WINDOW:   return "renew window";
    case ACME_SCHEDULE_BY_FALLBACK: return "renew window (fallback 33%: the window would "
                                           "renew in the first tenth of the lifetime)";
    case ACME_SCHEDULE_BY_ARI:      return "CA's renewal window";
    case ACME_SCHEDULE_BY_MISSING:  return "no certificate yet";
    case ACME_SCHEDULE_BY_CHANGED:  return "the certificate does not match the "
                                           "configuration (names or key types)";
    case ACME_SCHEDULE_BY_EXPIRED:  return "the certificate has expired";
    }
    return "?";
}

static const char *date_text(apr_pool_t *p, apr_time_t t)
{
    char buf[APR_RFC822_DATE_LEN];

    apr_rfc822_date(buf, t);
    return apr_pstrdup(p, buf);
}

static void copy_marker(char *dst, apr_size_t size, const char *src)
{
    dst[0] = '\0';
    if (src && strlen(src) < size) {
        memcpy(dst, src, strlen(src) + 1);
    }
}

static void state_load(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p)
{
    const apr_array_header_t *urls = dm->md->props.ca_urls;
    const char *data, *err = NULL, *ca = NULL, *notified = NULL, *warned = NULL;
    apr_size_t len;
    json_t *json;
    apr_status_t rv;
    int i;

    rv = acme_store_load(&data, &len, p, d->store, ACME_STORE_JOBS, dm->md->name, DRIVE_ASPECT);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return;
    }
    if (rv == APR_SUCCESS) {
        rv = acme_json_parse(&json, p, data, len, ACME_JSON_OBJECT, &err);
    }
    if (rv == APR_SUCCESS) {
        if ((rv = acme_json_get_string_opt(&ca, p, json, "ca-url", &err)) == APR_SUCCESS
            && (rv = acme_json_get_string_opt(&notified, p, json, "notified", &err))
               == APR_SUCCESS) {
            rv = acme_json_get_string_opt(&warned, p, json, "warned", &err);
        }
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, d->s, "ACME1440 %s: ignoring unreadable "
                     "drive state (%s): starting with the first CA", dm->md->name,
                     err ? err : "store error");
        return;
    }
    for (i = 0; ca && urls && i < urls->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(urls, i, const char *), ca) == 0) {
            dm->ca_index = i;
        }
    }
    copy_marker(dm->notified, sizeof(dm->notified), notified);
    copy_marker(dm->warned, sizeof(dm->warned), warned);
    dm->unshared = json_is_true(json_object_get(json, "unshared"));
}

void acme_drive_md_save(acme_drive_t *d, const acme_drive_md_t *dm, apr_pool_t *p)
{
    const apr_array_header_t *urls = dm->md->props.ca_urls;
    json_t *json = json_object();
    const char *text;
    apr_size_t len;
    apr_status_t rv = APR_ENOMEM;

    if (json == NULL) {
        goto cleanup;
    }
    acme_json_pool_adopt(p, json);
    if (urls && dm->ca_index < urls->nelts) {
        json_object_set_new(json, "ca-url",
                            json_string(APR_ARRAY_IDX(urls, dm->ca_index, const char *)));
    }
    if (dm->notified[0]) {
        json_object_set_new(json, "notified", json_string(dm->notified));
    }
    if (dm->warned[0]) {
        json_object_set_new(json, "warned", json_string(dm->warned));
    }
    if (dm->unshared) {
        json_object_set_new(json, "unshared", json_true());
    }
    rv = acme_json_dump(&text, &len, p, json);
    if (rv == APR_SUCCESS) {
        rv = acme_store_save(d->store, p, ACME_STORE_JOBS, dm->md->name, DRIVE_ASPECT, text,
                             len, 0);
    }

cleanup:
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, d->s, "ACME1441 %s: cannot save the drive "
                     "state; a new watchdog may repeat a message or start with the first CA",
                     dm->md->name);
    }
}

/* One key type's certificate of the LIVE set: its leaf's validity, and
 * whether it covers every name. Only the certificates are read: the keys
 * stay root's, and the watchdog runs as httpd's User. APR_ENOENT when
 * absent, APR_EINVAL when unusable, other values are store errors. */
static apr_status_t live_leaf(apr_time_t *pnb, apr_time_t *pna, int *pnames_ok,
                              acme_drive_t *d, const acme_config_md_t *md,
                              const acme_pkey_spec_t *spec, apr_pool_t *p)
{
    acme_cert_chain_t *chain;
    const char *pem;
    apr_size_t len;
    X509 *leaf;
    apr_status_t rv;

    rv = acme_store_load(&pem, &len, p, d->store, ACME_STORE_LIVE, md->name,
                         acme_layout_pubcert(p, acme_pkey_spec_name(p, spec)));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (acme_chain_from_pem(&chain, p, pem, len) != APR_SUCCESS
        || (leaf = acme_chain_get(chain, 0)) == NULL
        || acme_cert_get_not_before(pnb, leaf) != APR_SUCCESS
        || acme_cert_get_not_after(pna, leaf) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *pnames_ok = acme_cert_check_names(NULL, p, leaf, md->names) == APR_SUCCESS;
    return APR_SUCCESS;
}

/* The LIVE set's leaves as this generation's configuration pass checked
 * them (acme_served_live_pairs, inherited from the parent): at 10,000
 * domains, decoding every chain again cost the watchdog child seconds of
 * CPU at each start and restart, while the new children begin to serve. A
 * key type without a usable pair counts as changed: a pair that is not
 * served is renewed. 0 when the pass served no live set of md. */
static int live_from_served(acme_schedule_input_t *in, const acme_config_md_t *md,
                            apr_pool_t *p)
{
    const apr_array_header_t *pairs = acme_served_live_pairs(md);
    const apr_array_header_t *specs = md->props.pkey_specs;
    int i, j;

    if (pairs == NULL) {
        return 0;
    }
    for (i = 0; i < specs->nelts; ++i) {
        const char *name = acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t));
        const acme_certset_pair_t *pair = NULL;

        for (j = 0; j < pairs->nelts && pair == NULL; ++j) {
            pair = &APR_ARRAY_IDX(pairs, j, acme_certset_pair_t);
            pair = strcmp(pair->spec_name, name) == 0 ? pair : NULL;
        }
        if (pair == NULL) {
            in->changed = 1;
            continue;
        }
        acme_schedule_input_add(in, pair->not_before, pair->not_after, pair->names_ok);
    }
    return 1;
}

/* The LIVE set as the scheduler sees it: the latest notBefore and earliest
 * notAfter of its usable certificates; "changed" when a key type has none
 * or one misses a name. */
static apr_status_t live_input(acme_schedule_input_t *in, acme_drive_t *d,
                               const acme_config_md_t *md, apr_pool_t *p)
{
    const apr_array_header_t *specs = md->props.pkey_specs;
    apr_time_t nb, na;
    apr_status_t rv;
    int i, names_ok;

    memset(in, 0, sizeof(*in));
    if (live_from_served(in, md, p)) {
        in->renew_window = *md->props.renew_window;
        in->warn_window = *md->props.warn_window;
        return APR_SUCCESS;
    }
    /* no live set served: what the files hold (absent, or not servable) */
    for (i = 0; i < specs->nelts; ++i) {
        rv = live_leaf(&nb, &na, &names_ok, d, md, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t),
                       p);
        if (APR_STATUS_IS_ENOENT(rv) || rv == APR_EINVAL) {
            in->changed = 1;
            continue;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        acme_schedule_input_add(in, nb, na, names_ok);
    }
    if (in->has_cert && !acme_served_has_cert(md)) {
        /* the certificates parse, but no pair of them is served (a key that
         * is damaged or of another certificate, ACME1220): renew now */
        in->changed = 1;
    }
    in->renew_window = *md->props.renew_window;
    in->warn_window = *md->props.warn_window;
    return APR_SUCCESS;
}

/* httpd switches a connection to "acme-tls/1" only where Protocols allows
 * it: on one of the domain's https vhosts, or, for a domain without any,
 * on the main server (which then answers its SNI). */
static int md_can_alpn(const acme_drive_t *d, const acme_config_md_t *md)
{
    int i, ssl_vhosts = 0;

    for (i = 0; md->vhosts && i < md->vhosts->nelts; ++i) {
        server_rec *vs = APR_ARRAY_IDX(md->vhosts, i, server_rec *);
        if (!acme_config_srv_get(vs)->is_ssl) {
            continue;
        }
        ssl_vhosts++;
        if (ap_is_allowed_protocol(NULL, NULL, vs, PROTO_ACME_TLS)) {
            return 1;
        }
    }
    return ssl_vhosts == 0 && ap_is_allowed_protocol(NULL, NULL, d->s, PROTO_ACME_TLS);
}

/* In a cluster (MDSharedStore) the CA's tls-alpn-01 handshake may reach a
 * server that cannot answer it: its certificate's key would have to be
 * shared, and only http-01 answers are (dns-01 is the hook's business). */
static void challenges_choose(acme_drive_t *d, acme_drive_md_t *dm)
{
    const apr_array_header_t *conf = dm->md->props.challenges;
    int cluster = d->g->shared_url != NULL;
    apr_array_header_t *use;
    int i, dropped = 0;

    dm->challenges = (apr_array_header_t *)conf;
    if (conf == NULL && cluster) {
        /* the default, http-01 then tls-alpn-01, without the latter */
        use = apr_array_make(d->pool, 1, sizeof(const char *));
        APR_ARRAY_PUSH(use, const char *) = "http-01";
        dm->challenges = use;
        return;
    }
    if (conf == NULL || (!cluster && md_can_alpn(d, dm->md))) {
        return;
    }
    use = apr_array_make(d->pool, conf->nelts, sizeof(const char *));
    for (i = 0; i < conf->nelts; ++i) {
        const char *type = APR_ARRAY_IDX(conf, i, const char *);
        if (strcmp(type, CHALLENGE_ALPN) == 0) {
            dropped = 1;
            continue;
        }
        APR_ARRAY_PUSH(use, const char *) = type;
    }
    if (!dropped) {
        return;
    }
    if (use->nelts == 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, d->s, "ACME1445 %s: tls-alpn-01 is its only "
                     "challenge type, but %s", dm->md->name, cluster
                     ? "a cluster (MDSharedStore) shares only http-01 answers: use http-01 "
                       "or dns-01"
                     : "no https vhost of it allows the protocol: add 'Protocols h2 "
                       "http/1.1 acme-tls/1' there");
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, d->s, "ACME1446 %s: not using tls-alpn-01, %s",
                 dm->md->name, cluster ? "a cluster (MDSharedStore) shares only http-01 answers"
                                       : "no https vhost of it has acme-tls/1 in Protocols");
    dm->challenges = use;
}

apr_time_t acme_drive_md_init(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                              apr_time_t now)
{
    const acme_config_md_t *md = dm->md;
    acme_schedule_input_t in;
    acme_schedule_t sched;
    char stamp[32];
    apr_status_t rv;
    apr_time_t due;

    state_load(d, dm, p);
    challenges_choose(d, dm);
    rv = live_input(&in, d, md, p);
    if (rv == APR_SUCCESS) {
        rv = acme_schedule_compute(&sched, &in, now);
    }
    if (rv != APR_SUCCESS) {
        /* an unreadable set or impossible dates: a new certificate is the fix */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, d->s, "ACME1442 %s: cannot schedule from "
                     "the live certificate; renewing", md->name);
        dm->renew_at = now;
        return now;
    }
    dm->has_cert = in.has_cert;
    dm->not_after = in.has_cert ? in.not_after : 0;
    dm->warn_at = sched.warn_at;
    dm->renew_at = sched.renew_at;
    due = sched.renew_at;
    if (dm->has_cert) {
        apr_snprintf(stamp, sizeof(stamp), "%" APR_TIME_T_FMT, dm->not_after);
        if (strcmp(stamp, dm->warned) != 0 && sched.warn_at < due) {
            due = sched.warn_at;
        }
    }
    if (sched.state == ACME_SCHEDULE_NOT_DUE) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, d->s, "ACME1443 %s: certificate valid until "
                     "%s, renewal at %s (%s)", md->name, date_text(p, in.not_after),
                     date_text(p, sched.renew_at), reason_text(sched.reason));
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, d->s, "ACME1444 %s: renewal due now (%s)",
                     md->name, reason_text(sched.reason));
    }
    return dm->unshared ? now : due;    /* shared first (mod_acme_shared_sync.c) */
}
