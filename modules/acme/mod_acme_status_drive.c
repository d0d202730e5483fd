/* The watchdog's part of the status: after each job run, the domain's slot
 * gets the job's persisted state (acme_renew_info_load), and the counters
 * learn about new orders and staged sets (see mod_acme_status.h). Runs in
 * the worker that has the domain in flight: the slot's only writer. */
#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_renew.h"
#include "mod_acme_ari.h"
#include "mod_acme_status.h"

APLOG_USE_MODULE(acme);

/* Counts the orders the job made since the last look: more orders than
 * then (acme_status_job_orders; a new job starts from none), or another
 * order URL for the same key spec (the last one went invalid). */
static void orders_count(acme_status_slot_t *slot, const acme_renew_info_t *info,
                         const acme_config_md_t *md, apr_pool_t *p)
{
    apr_time_t started = info ? info->started : 0;
    int now = acme_status_job_orders(info, md, p);
    int before = started == slot->job_started ? slot->job_orders : 0;
    apr_uint64_t hash = acme_status_text_hash(info ? info->order_url : NULL);

    if (now > before) {
        acme_status_count_orders(now - before);
    }
    else if (now == before && hash != 0 && slot->order_hash != 0 && hash != slot->order_hash) {
        acme_status_count_orders(1);
    }
    slot->order_hash = hash;
    slot->job_started = started;
    slot->job_orders = now;
}

/* The job's step, errors, order and last problem into the slot. */
static void job_publish(acme_status_slot_t *slot, const acme_drive_t *d,
                        const acme_drive_md_t *dm, apr_pool_t *p)
{
    acme_renew_info_t *info = NULL;

    if (acme_renew_info_load(&info, p, d->store, dm->md->name) != APR_SUCCESS) {
        info = NULL;
    }
    /* a run that could not start leaves no trace in the job */
    acme_status_slot_set_job(slot, info, info && info->errors > dm->errors_seen
                                             ? info->errors : dm->errors_seen, p);
    orders_count(slot, info, dm->md, p);
    if (slot->errors == 0 && dm->staged) {
        acme_status_text_copy(slot->activity, sizeof(slot->activity),
                              "new certificate staged, waits for a graceful restart");
    }
}

/* A set in STAGING that no job of this child made (staged by hand, e.g. the
 * rollback in docs/operations.md, or left by another tool) while no renewal
 * runs: post_config seeded its facts, and MDActivation graceful waits for
 * it; a report about the domain (an ARI check) must not clear them. */
static int staged_by_other(const acme_drive_t *d, const acme_drive_md_t *dm, apr_pool_t *p)
{
    return acme_store_exists(d->store, p, ACME_STORE_STAGING, dm->md->name, NULL)
           == APR_SUCCESS;
}

/* The job just staged a set: count it, remember its facts. */
static void staged_publish(acme_status_slot_t *slot, const acme_drive_t *d,
                           const acme_drive_md_t *dm, apr_pool_t *p, apr_time_t now)
{
    apr_array_header_t *certs = NULL;

    acme_status_count_renewal(slot->cycle_started > 0 ? now - slot->cycle_started : 0);
    slot->last_success = now;
    slot->cycle_started = 0;
    if (acme_status_certs_load(&certs, p, d->store, ACME_STORE_STAGING, dm->md)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s, "ACME1610 %s: cannot read the staged "
                     "certificates for the status", dm->md->name);
    }
    acme_status_slot_set_staged(slot, certs);
}

void acme_status_drive_report(const acme_drive_t *d, const acme_drive_md_t *dm, apr_pool_t *p,
                              apr_time_t started, apr_time_t next)
{
    const acme_status_md_t *smd = acme_status_md_get(dm->md->name);
    int index = acme_status_slot_index(dm->md->name);
    acme_status_slot_t slot;
    apr_time_t now = apr_time_now();

    if (index < 0 || acme_status_slot_read(&slot, index) != APR_SUCCESS) {
        return;
    }
    slot.ca_index = dm->ca_index;
    slot.renew_at = dm->renew_at;
    slot.next_at = next;
    job_publish(&slot, d, dm, p);
    if (dm->staged && slot.staged_until == 0) {
        staged_publish(&slot, d, dm, p, now);
    }
    else if (!dm->staged && (dm->cycle || !staged_by_other(d, dm, p))) {
        acme_status_slot_set_staged(&slot, NULL);
        if (dm->cycle && slot.cycle_started == 0) {
            slot.cycle_started = now;
        }
        else if (!dm->cycle) {
            slot.cycle_started = 0;
        }
    }
    if (dm->cycle || (dm->staged && slot.last_run == 0)) {
        slot.last_run = started;        /* a renewal ran (mod_md's last-run) */
    }
    /* the set staged is notified once MDNotifyCmd ran for it (or none is set) */
    slot.notified = dm->staged && dm->notified[0] != '\0';
    acme_ari_status_fill(&slot, dm);
    slot.state = acme_status_state_of(&slot, smd, now);
    acme_status_slot_write(index, &slot);
}
