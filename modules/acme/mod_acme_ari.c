/* ARI and profiles in the renewal watchdog: see mod_acme_ari.h. */
#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>

#include "acme_ari.h"
#include "acme_cert.h"
#include "acme_chain.h"
#include "acme_layout.h"
#include "mod_acme_ari.h"
#include "mod_acme_status_shm.h"

APLOG_USE_MODULE(acme);

#define ARI_ASPECT "ari.json"

/* 0 unknown, 1 the CA offers MDProfile, 2 it does not */
enum { PROFILE_UNKNOWN = 0, PROFILE_OFFERED, PROFILE_MISSING };

/* Texts of an ARI state. Workers never allocate from the drive's pool (it
 * is not theirs, and it would grow with every check): fixed buffers. */
struct ari_text_t {
    char cert_id[ACME_ARI_MAX_CERT_ID + 1];
    char explanation[ACME_ARI_MAX_EXPLANATION + 1];
    char error[256];
};

struct acme_drive_ari_t {
    int active;                     /* ARI is followed for the live certificate */
    apr_time_t base_renew_at;       /* dm->renew_at by MDRenewWindow */
    acme_ari_state_t st;            /* its strings point into text; cert_id NULL
                                     * until the first check read the certificate */
    struct ari_text_t *text;        /* only for active domains */
    int profile;                    /* PROFILE_* */
};

/* Points *pdst at buf holding a copy of src (cut to fit), or NULL. */
static void text_keep(const char **pdst, char *buf, apr_size_t size, const char *src)
{
    if (src == NULL) {
        *pdst = NULL;
        return;
    }
    apr_cpystrn(buf, src, size);
    *pdst = buf;
}

static const char *date_text(apr_pool_t *p, apr_time_t t)
{
    char buf[APR_RFC822_DATE_LEN];

    apr_rfc822_date(buf, t);
    return apr_pstrdup(p, buf);
}

static uint32_t random_u32(void)
{
    uint32_t v = 0;

    apr_generate_random_bytes((unsigned char *)&v, sizeof(v));
    return v;
}

/* The ARI ids of the LIVE certificates (in p), one per key spec, NULL where
 * unreadable or without AKI; *plead is the index of the one with the
 * earliest notAfter (-1: none), *pnb / *pna its validity. */
static apr_array_header_t *live_ids(int *plead, apr_time_t *pnb, apr_time_t *pna,
                                    const acme_drive_t *d, const acme_drive_md_t *dm,
                                    apr_pool_t *p)
{
    const apr_array_header_t *specs = dm->md->props.pkey_specs;
    apr_array_header_t *ids = apr_array_make(p, specs->nelts, sizeof(const char *));
    int i;

    *plead = -1;
    for (i = 0; i < specs->nelts; ++i) {
        const acme_pkey_spec_t *spec = &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t);
        const char *pem, *id = NULL;
        acme_cert_chain_t *chain;
        apr_time_t nb, na;
        apr_size_t len;
        X509 *leaf;

        APR_ARRAY_PUSH(ids, const char *) = NULL;
        if (acme_store_load(&pem, &len, p, d->store, ACME_STORE_LIVE, dm->md->name,
                            acme_layout_pubcert(p, acme_pkey_spec_name(p, spec)))
            || acme_chain_from_pem(&chain, p, pem, len)
            || (leaf = acme_chain_get(chain, 0)) == NULL
            || acme_cert_get_not_before(&nb, leaf) || acme_cert_get_not_after(&na, leaf)
            || acme_ari_cert_id(&id, p, leaf)) {
            continue;
        }
        APR_ARRAY_IDX(ids, i, const char *) = id;
        if (*plead < 0 || na < *pna) {
            *plead = i;
            *pnb = nb;
            *pna = na;
        }
    }
    return ids;
}

/* A state for the certificate `cert_id` (NULL: not read yet) with the
 * validity nb..na: no window, a new random point; next_check kept. */
static void state_reset(struct acme_drive_ari_t *a, const char *cert_id, apr_time_t nb,
                        apr_time_t na)
{
    apr_time_t next_check = a->st.next_check;

    memset(&a->st, 0, sizeof(a->st));
    text_keep(&a->st.cert_id, a->text->cert_id, sizeof(a->text->cert_id), cert_id);
    a->st.not_before = nb;
    a->st.not_after = na;
    a->st.random = random_u32();
    a->st.next_check = next_check;
}

/* The stored state, when it is about the certificate in use: matched by
 * its notAfter here (no certificate is parsed at start), by its id at the
 * first check. */
static void state_load(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p)
{
    struct acme_drive_ari_t *a = dm->ari;
    acme_ari_state_t *st = NULL;
    const char *data, *why = NULL;
    apr_size_t len;
    apr_status_t rv;

    state_reset(a, NULL, 0, 0);
    rv = acme_store_load(&data, &len, p, d->store, ACME_STORE_JOBS, dm->md->name, ARI_ASPECT);
    if (rv != APR_SUCCESS) {
        return;
    }
    if (acme_ari_state_parse(&st, p, data, len, &why) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, d->s, "ACME1461 %s: ignoring unreadable "
                     "ARI state (%s)", dm->md->name, why);
        return;
    }
    if (st->not_after != dm->not_after) {
        return;     /* about an earlier certificate */
    }
    a->st = *st;
    text_keep(&a->st.cert_id, a->text->cert_id, sizeof(a->text->cert_id), st->cert_id);
    text_keep(&a->st.explanation, a->text->explanation, sizeof(a->text->explanation),
              st->explanation);
    text_keep(&a->st.error, a->text->error, sizeof(a->text->error), st->error);
}

static void state_save(acme_drive_t *d, const acme_drive_md_t *dm, apr_pool_t *p)
{
    const char *text;
    apr_size_t len;
    apr_status_t rv;

    if (dm->ari->st.cert_id == NULL) {
        return;     /* failed before the certificate was read: nothing to keep */
    }
    rv = acme_ari_state_dump(&text, &len, p, &dm->ari->st);
    if (rv == APR_SUCCESS) {
        rv = acme_store_save(d->store, p, ACME_STORE_JOBS, dm->md->name, ARI_ASPECT, text,
                             len, 0);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, d->s, "ACME1462 %s: cannot save the ARI "
                     "state; a restart will ask the CA again", dm->md->name);
    }
}

/* dm->renew_at from the window in a->st (MDRenewWindow when unusable). */
static int window_apply(acme_drive_t *d, acme_drive_md_t *dm, apr_time_t now)
{
    struct acme_drive_ari_t *a = dm->ari;

    if (acme_ari_renew_at(&dm->renew_at, &a->st, dm->md->props.renew_window,
                          dm->md->props.warn_window, a->base_renew_at, now)) {
        return 1;
    }
    if (a->st.has_window) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, d->s, "ACME1463 %s: the CA's renewal "
                     "window is unusable for this certificate; MDRenewWindow applies",
                     dm->md->name);
    }
    return 0;
}

/* At start, before any job run reports: the slot shows the stored window
 * and the renewal time it gives (the parent seeded it by MDRenewWindow).
 * The watchdog thread is the slot's only writer until the workers start. */
static void status_seed(const acme_drive_md_t *dm)
{
    int index = acme_status_slot_index(dm->md->name);
    acme_status_slot_t slot;

    if (index >= 0 && acme_status_slot_read(&slot, index) == APR_SUCCESS) {
        slot.renew_at = dm->renew_at;
        acme_ari_status_fill(&slot, dm);
        acme_status_slot_write(index, &slot);
    }
}

apr_time_t acme_ari_md_init(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                            apr_time_t due, apr_time_t now)
{
    struct acme_drive_ari_t *a = apr_pcalloc(d->pool, sizeof(*a));

    dm->ari = a;
    if (!dm->md->props.renew_via_ari || !dm->has_cert || dm->cycle || dm->staged
        || dm->renew_at <= now) {
        return due;     /* no certificate to ask about, or renewing anyway */
    }
    a->active = 1;
    a->text = apr_pcalloc(d->pool, sizeof(*a->text));
    a->base_renew_at = dm->renew_at;
    state_load(d, dm, p);
    if (a->st.has_window && window_apply(d, dm, now)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, d->s, "ACME1464 %s: renewal at %s by the "
                     "CA's stored renewal window", dm->md->name, date_text(p, dm->renew_at));
    }
    if (a->st.next_check <= now) {
        a->st.next_check = acme_ari_first_check_at(now, d->g->mds->nelts,
                                                   d->g->check_interval, random_u32());
    }
    status_seed(dm);
    due = dm->renew_at < due ? dm->renew_at : due;
    return a->st.next_check < due ? a->st.next_check : due;
}

/* `quiet`: the CA was not asked (see ca_client): debug level, not one
 * warning per domain. */
static void check_failed(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                         const acme_result_t *r, apr_time_t now, int quiet)
{
    struct acme_drive_ari_t *a = dm->ari;

    a->st.next_check = acme_ari_retry_at(now, r->retry_at, d->g->check_interval);
    text_keep(&a->st.error, a->text->error, sizeof(a->text->error), acme_result_render(r, p));
    ap_log_error(APLOG_MARK, quiet ? APLOG_DEBUG : APLOG_WARNING, 0, d->s, "ACME1465 %s: ARI "
                 "check failed: %s; renewal stays at %s (%s), next check %s", dm->md->name,
                 a->st.error,
                 date_text(p, dm->renew_at), a->st.has_window ? "last renewal window"
                                                              : "MDRenewWindow",
                 date_text(p, a->st.next_check));
}

static void check_done(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p,
                       const acme_ari_info_t *info, apr_time_t now)
{
    struct acme_drive_ari_t *a = dm->ari;
    int changed = !a->st.has_window || a->st.start != info->start || a->st.end != info->end;

    a->st.has_window = 1;
    a->st.start = info->start;
    a->st.end = info->end;
    text_keep(&a->st.explanation, a->text->explanation, sizeof(a->text->explanation),
              info->explanation);
    a->st.fetched = now;
    a->st.next_check = info->next_check;
    a->st.error = NULL;
    window_apply(d, dm, now);
    ap_log_error(APLOG_MARK, changed ? APLOG_INFO : APLOG_DEBUG, 0, d->s, "ACME1466 %s: CA's "
                 "renewal window %s .. %s, renewal at %s, next check %s%s%s", dm->md->name,
                 date_text(p, info->start), date_text(p, info->end),
                 date_text(p, dm->renew_at), date_text(p, info->next_check),
                 info->explanation ? "; explanation: " : "",
                 info->explanation ? info->explanation : "");
}

/* The lead certificate's id (read now, in the worker, not at start): a
 * state about another certificate starts afresh. 0 when ARI cannot name the
 * certificate (no AKI): then it is not followed. */
static int cert_match(acme_drive_t *d, acme_drive_md_t *dm, apr_pool_t *p)
{
    struct acme_drive_ari_t *a = dm->ari;
    apr_array_header_t *ids;
    apr_time_t nb = 0, na = 0;
    const char *id;
    int lead;

    ids = live_ids(&lead, &nb, &na, d, dm, p);
    if (lead < 0 || strlen(id = APR_ARRAY_IDX(ids, lead, const char *))
                    >= sizeof(a->text->cert_id)) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s, "ACME1468 %s: no live certificate "
                     "ARI can name (Authority Key Identifier); MDRenewWindow applies",
                     dm->md->name);
        a->active = 0;
        return 0;
    }
    if (a->st.cert_id == NULL || strcmp(a->st.cert_id, id) != 0) {
        state_reset(a, id, nb, na);
        dm->renew_at = a->base_renew_at;
    }
    return 1;
}

/* The worker's client for the domain's CA, its directory loaded. A CA
 * whose directory failed lately is not asked again (APR_EAGAIN, *pquiet):
 * its first failure was logged, the others wait for the same time. */
static apr_status_t ca_client(acme_client_t **pclient, int *pquiet, acme_drive_t *d,
                              acme_drive_md_t *dm, acme_drive_clients_t *clients,
                              apr_pool_t *p, acme_result_t *r, apr_time_t now)
{
    const acme_config_props_t *props = &dm->md->props;
    const char *ca_url = APR_ARRAY_IDX(props->ca_urls, dm->ca_index, const char *);
    apr_interval_time_t quiet = acme_ari_min_wait(d->g->check_interval);
    acme_client_t *client = NULL;
    const char *why;
    apr_status_t rv;

    acme_result_set_activity(r, "asking %s for the renewal window of %s", ca_url,
                             dm->md->name);
    *pquiet = acme_drive_client_down(&why, d, props, ca_url, now, p);
    if (*pquiet) {
        r->retry_at = now + quiet;
        return acme_result_fail(r, APR_EAGAIN, "not asked: the CA failed another domain's "
                                "check moments ago (%s)", why);
    }
    rv = acme_drive_client_get(&client, clients, props, ca_url, r);
    if (rv == APR_SUCCESS && !acme_client_get_directory(client)) {
        rv = acme_client_load_directory(client, p, r);
        if (rv != APR_SUCCESS) {
            acme_drive_client_set_down(d, props, ca_url, now + quiet, acme_result_render(r, p),
                                       p);
        }
    }
    if (rv == APR_SUCCESS) {
        acme_ari_profile_seen(dm, client);
        *pclient = client;
    }
    return rv;
}

void acme_ari_check(acme_drive_t *d, acme_drive_md_t *dm, acme_drive_clients_t *clients,
                    apr_pool_t *p, apr_time_t now)
{
    struct acme_drive_ari_t *a = dm->ari;
    acme_client_t *client = NULL;
    acme_ari_info_t *info = NULL;
    acme_result_t *r;
    apr_status_t rv;
    int quiet = 0;

    if (a == NULL || !a->active || dm->cycle || dm->staged || now < a->st.next_check) {
        return;
    }
    r = acme_result_create(p);
    rv = ca_client(&client, &quiet, d, dm, clients, p, r, now);
    if (rv == APR_SUCCESS && acme_client_get_directory(client)->renewal_info == NULL) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s, "ACME1467 %s: the CA offers no ARI; "
                     "MDRenewWindow applies", dm->md->name);
        a->active = 0;
        return;
    }
    if (rv == APR_SUCCESS && !cert_match(d, dm, p)) {
        return;
    }
    if (rv == APR_SUCCESS) {
        rv = acme_ari_fetch(&info, p, client, a->st.cert_id, now,
                            acme_ari_min_wait(d->g->check_interval), r);
    }
    if (rv == APR_SUCCESS) {
        check_done(d, dm, p, info, now);
    }
    else {
        check_failed(d, dm, p, r, now, quiet);
    }
    state_save(d, dm, p);
}

apr_time_t acme_ari_next(const acme_drive_md_t *dm, apr_time_t next)
{
    const struct acme_drive_ari_t *a = dm->ari;

    if (a == NULL || !a->active || dm->cycle || dm->staged) {
        return next;
    }
    return a->st.next_check < next ? a->st.next_check : next;
}

apr_array_header_t *acme_ari_replaces(const acme_drive_t *d, const acme_drive_md_t *dm,
                                       apr_pool_t *p)
{
    apr_time_t nb, na;
    int lead;

    if (!dm->md->props.renew_via_ari || !dm->has_cert) {
        return NULL;
    }
    return live_ids(&lead, &nb, &na, d, dm, p);
}

void acme_ari_profile_seen(acme_drive_md_t *dm, const acme_client_t *client)
{
    const acme_directory_t *dir = acme_client_get_directory(client);

    if (dm->ari == NULL || dir == NULL || dm->md->props.profile == NULL) {
        return;
    }
    dm->ari->profile = acme_directory_get_profile(dir, dm->md->props.profile)
                       ? PROFILE_OFFERED : PROFILE_MISSING;
}

void acme_ari_status_fill(acme_status_slot_t *slot, const acme_drive_md_t *dm)
{
    const struct acme_drive_ari_t *a = dm->ari;

    slot->ari_start = slot->ari_end = slot->ari_next = 0;
    slot->ari_explanation[0] = slot->ari_error[0] = '\0';
    if (a == NULL) {
        return;
    }
    slot->profile_offered = a->profile;
    if (!a->active) {
        return;
    }
    if (a->st.has_window) {
        slot->ari_start = a->st.start;
        slot->ari_end = a->st.end;
    }
    slot->ari_next = dm->cycle || dm->staged ? 0 : a->st.next_check;
    acme_status_text_copy(slot->ari_explanation, sizeof(slot->ari_explanation),
                          a->st.explanation);
    acme_status_text_copy(slot->ari_error, sizeof(slot->ari_error), a->st.error);
}
