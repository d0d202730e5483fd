/* One run of a domain's renewal job in a worker thread (see mod_acme_drive.h):
 * the "renewing" veto, the store locks, the spec from the configuration, a
 * client of this worker for the domain's CA, acme_renew_run(), and what its
 * outcome means: rescheduling, the "staged" line and the renewed commands,
 * errors with the CA's problem, failover to the next CA. */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_backoff.h"
#include "acme_client.h"
#include "acme_http_curl.h"
#include "acme_json.h"
#include "acme_layout.h"
#include "acme_redis.h"
#include "acme_renew.h"
#include "mod_acme_ari.h"
#include "mod_acme_cmd.h"
#include "mod_acme_drive.h"
#include "mod_acme_shared.h"
#include "mod_acme_status.h"

APLOG_USE_MODULE(acme);

struct acme_drive_clients_t {
    apr_pool_t *pool;
    apr_hash_t *by_key;         /* CA url + trust + proxy -> acme_client_t * */
    acme_redis_t *redis;        /* MDSharedStore: this worker's connection, or NULL */
};

static const char *client_key(apr_pool_t *p, const acme_config_props_t *props,
                              const char *ca_url)
{
    return apr_pstrcat(p, ca_url, "\n", props->ca_file ? props->ca_file : "", "\n",
                       props->http_proxy ? props->http_proxy : "", "\n",
                       props->http_proxy_ca_file ? props->http_proxy_ca_file : "", NULL);
}

int acme_drive_client_down(const char **pwhy, acme_drive_t *d,
                           const acme_config_props_t *props, const char *ca_url,
                           apr_time_t now, apr_pool_t *p)
{
    apr_uint64_t key = acme_status_text_hash(client_key(p, props, ca_url));
    int i, down = 0;

    apr_thread_mutex_lock(d->ca_down_mutex);
    for (i = 0; i < ACME_DRIVE_CA_DOWN_MAX && !down; ++i) {
        if (d->ca_down[i].key == key && now < d->ca_down[i].until) {
            *pwhy = apr_pstrdup(p, d->ca_down[i].why);
            down = 1;
        }
    }
    apr_thread_mutex_unlock(d->ca_down_mutex);
    return down;
}

void acme_drive_client_set_down(acme_drive_t *d, const acme_config_props_t *props,
                                const char *ca_url, apr_time_t until, const char *why,
                                apr_pool_t *p)
{
    apr_uint64_t key = acme_status_text_hash(client_key(p, props, ca_url));
    acme_drive_ca_down_t *slot = &d->ca_down[0];
    int i;

    apr_thread_mutex_lock(d->ca_down_mutex);
    for (i = 0; i < ACME_DRIVE_CA_DOWN_MAX; ++i) {
        if (d->ca_down[i].key == key) {
            slot = &d->ca_down[i];
            break;
        }
        if (d->ca_down[i].until < slot->until) {
            slot = &d->ca_down[i];      /* else the one that ends first (or a free one) */
        }
    }
    slot->key = key;
    slot->until = until;
    apr_cpystrn(slot->why, why, sizeof(slot->why));
    apr_thread_mutex_unlock(d->ca_down_mutex);
}

acme_drive_clients_t *acme_drive_clients_create(apr_pool_t *p)
{
    acme_drive_clients_t *clients = apr_pcalloc(p, sizeof(*clients));

    clients->pool = p;
    clients->by_key = apr_hash_make(p);
    return clients;
}

apr_status_t acme_drive_redis_get(acme_redis_t **pconn, acme_drive_clients_t *clients,
                                  const acme_config_global_t *g, const char **perr)
{
    acme_redis_options_t opts;
    apr_pool_t *ping_pool;
    apr_status_t rv;

    /* a kept connection is checked: one that Redis closed while idle (a
     * restart) would fail the run's first step and delay it by a retry */
    if (clients->redis && acme_redis_is_open(clients->redis)
        && apr_pool_create(&ping_pool, clients->pool) == APR_SUCCESS) {
        rv = acme_redis_ping(clients->redis, ping_pool, NULL);
        apr_pool_destroy(ping_pool);
        if (rv == APR_SUCCESS) {
            *pconn = clients->redis;
            return APR_SUCCESS;
        }
    }
    acme_redis_close(clients->redis);   /* frees a failed one's memory */
    clients->redis = NULL;
    memset(&opts, 0, sizeof(opts));
    opts.ca_file = g->shared_ca_file;
    rv = acme_redis_connect(&clients->redis, clients->pool, g->shared_url, &opts, perr);
    *pconn = clients->redis;
    return rv;
}

/* The worker's client for `ca_url` with the domain's trust and proxy
 * settings: made on first use, then reused, so the connection, directory and
 * nonces carry over from job to job. Bounded by the configured combinations. */
apr_status_t acme_drive_client_get(acme_client_t **pclient, acme_drive_clients_t *clients,
                                   const acme_config_props_t *props, const char *ca_url,
                                   acme_result_t *r)
{
    acme_http_options_t opts;
    acme_http_transport_t *transport;
    acme_client_t *client = NULL;
    const char *key;
    apr_status_t rv;

    key = client_key(r->pool, props, ca_url);
    client = apr_hash_get(clients->by_key, key, APR_HASH_KEY_STRING);
    if (client == NULL) {
        acme_http_options_init(&opts);
        opts.ca_file = props->ca_file;
        opts.proxy_url = props->http_proxy;
        opts.proxy_ca_file = props->http_proxy_ca_file;
        rv = acme_http_curl_create(&transport, clients->pool, &opts);
        if (rv != APR_SUCCESS) {
            return acme_result_fail(r, rv, "cannot create an HTTP transport");
        }
        rv = acme_client_create(&client, clients->pool, transport, ca_url, r);
        if (rv != APR_SUCCESS) {
            acme_http_transport_destroy(transport);
            return rv;
        }
        apr_hash_set(clients->by_key, apr_pstrdup(clients->pool, key), APR_HASH_KEY_STRING,
                     client);
    }
    *pclient = client;
    return APR_SUCCESS;
}

static void spec_build(acme_renew_spec_t *spec, acme_cmd_dns01_t *dns01,
                       acme_cmd_events_t *events, acme_shared_events_t *shared,
                       acme_drive_t *d, const acme_drive_md_t *dm,
                       acme_drive_clients_t *clients)
{
    const acme_config_props_t *props = &dm->md->props;

    memset(spec, 0, sizeof(*spec));
    spec->md_name = dm->md->name;
    spec->names = dm->md->names;
    spec->pkey_specs = props->pkey_specs;
    spec->challenges = dm->challenges;
    spec->ca_url = APR_ARRAY_IDX(props->ca_urls, dm->ca_index, const char *);
    spec->contact = props->contact;
    spec->tos_agreed = props->ca_agreement != NULL;
    spec->eab_kid = props->eab_kid;
    spec->eab_hmac = props->eab_hmac;
    spec->must_staple = props->must_staple > 0;
    spec->profile = props->profile;
    spec->profile_mandatory = props->profile_mandatory > 0;
    spec->retry_delay = d->g->retry_delay;
    spec->dns01 = acme_cmd_dns01_hook(dns01, d->s, d->g, dm->md);
    /* in a cluster, answers are shared first, then MDMessageCmd runs */
    spec->events = acme_shared_events_hook(shared, d, clients, dm->md->name,
                                           acme_cmd_events_hook(events, d->s, d->g, dm->md));
}

static const char *date_text(apr_pool_t *p, apr_time_t t)
{
    char buf[APR_RFC822_DATE_LEN];

    apr_rfc822_date(buf, t);
    return apr_pstrdup(p, buf);
}

/* MDWarnWindow: once per certificate, unless a new one is already staged. */
static void expiring_check(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                           apr_time_t now)
{
    char stamp[32];

    if (!dm->has_cert || dm->staged || dm->warn_at == 0 || now < dm->warn_at) {
        return;
    }
    apr_snprintf(stamp, sizeof(stamp), "%" APR_TIME_T_FMT, dm->not_after);
    if (strcmp(stamp, dm->warned) == 0) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, d->s, "ACME1480 %s: the certificate expires "
                 "%s (inside MDWarnWindow) and no renewal succeeded yet", dm->md->name,
                 date_text(p, dm->not_after));
    acme_cmd_message(p, d->s, d->g, ACME_CMD_EXPIRING, dm->md->name);
    memcpy(dm->warned, stamp, strlen(stamp) + 1);
    acme_drive_md_save(d, dm, p);
}

/* The staged set's "issued" stamp, "" when unknown. */
static const char *staged_stamp(acme_drive_t *d, const acme_drive_md_t *dm, apr_pool_t *p)
{
    const char *data, *issued = NULL;
    apr_size_t len;
    json_t *json;

    if (acme_store_load(&data, &len, p, d->store, ACME_STORE_STAGING, dm->md->name,
                        ACME_ASPECT_MD) != APR_SUCCESS
        || acme_json_parse(&json, p, data, len, ACME_JSON_OBJECT, NULL) != APR_SUCCESS
        || acme_json_get_string_opt(&issued, p, json, "issued", NULL) != APR_SUCCESS) {
        return "";
    }
    return issued ? issued : "";
}

static apr_time_t outcome_done(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                               apr_time_t now)
{
    const char *stamp = staged_stamp(d, dm, p);
    apr_status_t rv;

    dm->staged = 1;
    dm->cycle = 0;
    dm->errors_seen = 0;
    if (stamp[0] && strcmp(stamp, dm->notified) == 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s, "ACME1482 %s: new certificate still "
                     "staged, waiting for a graceful restart", dm->md->name);
        return now + d->g->check_interval;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, d->s, "ACME1481 %s: new certificate staged, "
                 "activated at the next graceful restart", dm->md->name);
    rv = acme_cmd_notify(p, d->s, d->g, dm->md->name);
    if (rv == APR_SUCCESS && stamp[0] && strlen(stamp) < sizeof(dm->notified)) {
        /* recorded before the message runs: a child that dies while it runs
         * (or right after) does not notify again for the same set */
        memcpy(dm->notified, stamp, strlen(stamp) + 1);
        acme_drive_md_save(d, dm, p);
    }
    acme_cmd_message(p, d->s, d->g, ACME_CMD_RENEWED, dm->md->name);
    if (rv != APR_SUCCESS) {
        /* as mod_md: a failed MDNotifyCmd is run again later */
        return now + d->g->retry_delay;
    }
    return now + d->g->check_interval;
}

/* After MDRetryFailover consecutive errors, the next CA of the list. The
 * job notices the other CA and starts afresh there. */
static int failover_check(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p)
{
    const apr_array_header_t *urls = dm->md->props.ca_urls;
    int from = dm->ca_index;

    if (urls->nelts < 2 || dm->errors_seen < d->g->retry_failover) {
        return 0;
    }
    dm->ca_index = (dm->ca_index + 1) % urls->nelts;
    dm->errors_seen = 0;
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, d->s, "ACME1485 %s: %d consecutive errors with "
                 "CA %s (MDRetryFailover), switching to %s", dm->md->name,
                 d->g->retry_failover, APR_ARRAY_IDX(urls, from, const char *),
                 APR_ARRAY_IDX(urls, dm->ca_index, const char *));
    acme_drive_md_save(d, dm, p);
    return 1;
}

static apr_time_t outcome_error(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                                const acme_renew_outcome_t *out, apr_time_t now)
{
    int failed = out->status == ACME_RENEW_FAILED;

    dm->errors_seen++;
    acme_status_count_failure(out->result);
    ap_log_error(APLOG_MARK, failed ? APLOG_ERR : APLOG_WARNING, 0, d->s,
                 "ACME1483 %s: %s%s; %s %d, next attempt %s", dm->md->name,
                 acme_result_render(out->result, p),
                 failed ? " (the configuration or the CA account needs a fix)" : "",
                 "consecutive errors:", dm->errors_seen, date_text(p, out->next_at));
    acme_cmd_message(p, d->s, d->g, ACME_CMD_ERRORED, dm->md->name);
    if (failover_check(d, dm, p)) {
        return now;
    }
    return out->next_at;
}

static apr_time_t outcome_handle(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                                 const acme_renew_outcome_t *out, apr_time_t now)
{
    if (out->status == ACME_RENEW_DONE) {
        return outcome_done(d, dm, p, now);
    }
    dm->staged = 0;
    if (out->result && out->result->status != APR_SUCCESS) {
        return outcome_error(d, dm, p, out, now);
    }
    dm->errors_seen = 0;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s, "ACME1484 %s: job at step %s, continues "
                 "%s", dm->md->name, out->step ? out->step : "?", date_text(p, out->next_at));
    return out->next_at;
}

/* A run that could not even start (invalid spec, store I/O, no client):
 * retried with backoff, counted like any error. */
static apr_time_t run_broken(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                             apr_status_t rv, const char *why, apr_time_t now)
{
    uint32_t random = 0;

    apr_generate_random_bytes((unsigned char *)&random, sizeof(random));
    dm->errors_seen++;
    acme_status_count_failure(NULL);
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, d->s, "ACME1486 %s: renewal could not run: %s",
                 dm->md->name, why);
    acme_cmd_message(p, d->s, d->g, ACME_CMD_ERRORED, dm->md->name);
    return acme_backoff_retry_at(now, d->g->retry_delay, (unsigned)dm->errors_seen, 0, random);
}

/* Runs the job with both locks held (and in a cluster, the domain's lease:
 * what the run did goes to the cluster after it). */
static apr_time_t run_locked(acme_drive_t *d, acme_drive_md_t *dm,
                             acme_drive_clients_t *clients, acme_shared_run_t *shared_run,
                             apr_pool_t *p, apr_time_t now)
{
    acme_renew_outcome_t out;
    acme_renew_spec_t spec;
    acme_cmd_dns01_t dns01;
    acme_cmd_events_t events;
    acme_shared_events_t shared;
    acme_client_t *client = NULL;
    acme_result_t *r = acme_result_create(p);
    apr_status_t rv;

    spec_build(&spec, &dns01, &events, &shared, d, dm, clients);
    spec.replaces = acme_ari_replaces(d, dm, p);
    spec.keys = d->keys;
    acme_result_set_activity(r, "preparing the client for %s", spec.ca_url);
    rv = acme_drive_client_get(&client, clients, &dm->md->props, spec.ca_url, r);
    if (rv != APR_SUCCESS) {
        acme_shared_sync_after(shared_run, d, dm, p, NULL);
        return run_broken(d, dm, p, rv, acme_result_render(r, p), now);
    }
    memset(&out, 0, sizeof(out));
    rv = acme_renew_run(&out, p, d->store, client, &spec, now);
    /* The client outlives the run; the account key it was given lives in
     * `p`, which the worker clears after the run. */
    acme_client_set_account(client, NULL, NULL);
    acme_shared_sync_after(shared_run, d, dm, p, rv == APR_SUCCESS ? &out : NULL);
    /* The core counts waits from the run's start; after a run that took a
     * while (a slow CA, a loaded machine) they count from its end, so that an
     * error is retried no sooner than the delay after it and a poll never
     * comes before the CA's Retry-After. */
    if (out.next_at > 0) {
        out.next_at += apr_time_now() - now;
    }
    acme_ari_profile_seen(dm, client);
    if (rv != APR_SUCCESS) {
        return run_broken(d, dm, p, rv, out.result ? acme_result_render(out.result, p)
                                                   : "store or configuration error", now);
    }
    return outcome_handle(d, dm, p, &out, now);
}

/* (JOBS, md) serializes runs across processes (an old generation may still
 * be finishing one); (STAGING, md) keeps the activation from seeing a set
 * that is being written. Neither is waited for: another try comes soon. */
static apr_time_t run_with_locks(acme_drive_t *d, acme_drive_md_t *dm,
                                 acme_drive_clients_t *clients, apr_pool_t *p, apr_time_t now)
{
    acme_store_lock_t *job_lock = NULL, *staging_lock = NULL;
    apr_time_t next;
    apr_status_t rv;

    rv = acme_store_lock(&job_lock, p, d->store, ACME_STORE_JOBS, dm->md->name, 0);
    if (rv == APR_SUCCESS) {
        rv = acme_store_lock(&staging_lock, p, d->store, ACME_STORE_STAGING, dm->md->name, 0);
    }
    if (rv == APR_SUCCESS) {
        const char *ca_url = APR_ARRAY_IDX(dm->md->props.ca_urls, dm->ca_index, const char *);
        acme_shared_run_t shared_run;

        switch (acme_shared_sync_before(&shared_run, d, dm, clients, ca_url, p, now, &next)) {
        case ACME_SHARED_STAGED:
            next = outcome_done(d, dm, p, now);
            break;
        case ACME_SHARED_WAIT:
            break;
        case ACME_SHARED_SHARED:
            next = now;     /* the schedule decides what follows */
            break;
        default:
            next = run_locked(d, dm, clients, &shared_run, p, now);
        }
        if (dm->unshared && next > now + ACME_SHARED_BUSY_WAIT) {
            next = now + ACME_SHARED_BUSY_WAIT;     /* shared once Redis answers */
        }
    }
    else if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s, "ACME1487 %s: job busy in another "
                     "process, trying again shortly", dm->md->name);
        next = now + ACME_DRIVE_LOCKED_RETRY;
    }
    else {
        next = run_broken(d, dm, p, rv, "cannot lock the job in the store", now);
    }
    if (staging_lock) {
        acme_store_unlock(staging_lock);
    }
    if (job_lock) {
        acme_store_unlock(job_lock);
    }
    return next;
}

static apr_time_t job_run(acme_drive_t *d, acme_drive_md_t *dm,
                          acme_drive_clients_t *clients, apr_pool_t *p)
{
    const apr_array_header_t *urls = dm->md->props.ca_urls;
    apr_time_t now = apr_time_now();

    expiring_check(d, dm, p, now);
    acme_ari_check(d, dm, clients, p, now);
    if (dm->unshared && now < dm->renew_at) {
        return run_with_locks(d, dm, clients, p, now);  /* only shares it */
    }
    if (now < dm->renew_at) {
        return acme_ari_next(dm, dm->renew_at);    /* only a warning or ARI check was due */
    }
    if (urls == NULL || urls->nelts == 0 || dm->ca_index >= urls->nelts) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, d->s, "ACME1488 %s: no CA configured "
                     "(MDCertificateAuthority)", dm->md->name);
        return now + d->g->check_interval;
    }
    if (!dm->cycle && !dm->staged) {
        /* a non-zero exit vetoes (e.g. another node of a cluster renews) */
        if (acme_cmd_message(p, d->s, d->g, ACME_CMD_RENEWING, dm->md->name) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, d->s, "ACME1489 %s: MDMessageCmd "
                         "renewing vetoed the renewal; asking again in %" APR_TIME_T_FMT "s",
                         dm->md->name, apr_time_sec(d->g->check_interval));
            return now + d->g->check_interval;
        }
        dm->cycle = 1;
    }
    return run_with_locks(d, dm, clients, p, now);
}

apr_time_t acme_drive_job_run(acme_drive_t *d, acme_drive_md_t *dm,
                              acme_drive_clients_t *clients, apr_pool_t *p)
{
    apr_time_t started = apr_time_now();
    apr_time_t next = job_run(d, dm, clients, p);

    acme_status_drive_report(d, dm, p, started, next);   /* the status pages' view of it */
    return next;
}
