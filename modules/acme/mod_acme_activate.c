/* Activation at (re)start: a staged set (STAGING/<md>, written by the
 * renewal job) becomes the live one when it passes every check; the previous
 * live set goes to the archive. See docs/operations.md.
 *
 * STAGING belongs to httpd's User; this runs as root. Root never acts on
 * the User's files: it takes the staged set over first (acme_store_take():
 * its own copy in PENDING, refusing links, subdirectories and other
 * non-plain files), checks that copy fully (a stamp the job left in STAGING
 * is never believed) and activates the copy. Its own stamp goes live with
 * it, so later passes only hash the set (acme_certset.h).
 *
 * States of a staged set and what happens:
 *  - holding a symbolic link, a hard-linked file, a subdirectory or any
 *    other non-plain file: refused, i.e. rejected (below) without copying
 *    anything of it;
 *  - a pubcert of some key spec missing: the job is not done (it saves the
 *    key first and the certificate when the CA delivers): left alone;
 *  - issued but failing a check (key does not match, chain not in order,
 *    names not covered, expired, ...): rejected, i.e. moved to
 *    ARCHIVE/<md>.rejected-N with a rejected.json that says why, and removed
 *    from STAGING so that it is not retried at every restart and the job
 *    sees that it has to start over;
 *  - valid, but its notBefore + MDActivationDelay still ahead: left alone;
 *  - valid and due: activated. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "acme_certset.h"
#include "acme_layout.h"
#include "acme_pkey.h"
#include "mod_acme_cmd.h"
#include "mod_acme_selftest.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

#define REJECTED_INFIX ".rejected-"
#define REJECTED_JSON "rejected.json"
#define REJECTED_N_MAX 9999

static const char *date_str(apr_pool_t *p, apr_time_t t)
{
    char buf[APR_RFC822_DATE_LEN];

    apr_rfc822_date(buf, t);
    return apr_pstrdup(p, buf);
}

/* "<md>.rejected-N" with N one above the highest in the archive. */
static apr_status_t rejected_name(const char **pname, apr_pool_t *p, acme_store_t *store,
                                  const char *md_name)
{
    const char *prefix = apr_pstrcat(p, md_name, REJECTED_INFIX, NULL);
    apr_size_t plen = strlen(prefix);
    apr_array_header_t *names;
    apr_status_t rv;
    int i, n, max = 0;

    rv = acme_store_list(&names, p, store, ACME_STORE_ARCHIVE, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        if (strncmp(name, prefix, plen) == 0 && strlen(name + plen) <= 4
            && name[plen] && strspn(name + plen, "0123456789") == strlen(name + plen)) {
            n = atoi(name + plen);
            max = n > max ? n : max;
        }
    }
    if (max >= REJECTED_N_MAX) {
        return APR_ENOSPC;
    }
    *pname = apr_psprintf(p, "%s%d", prefix, max + 1);
    return APR_SUCCESS;
}

/* Copies one aspect of root's copy of the staged set, if it exists. */
static apr_status_t aspect_copy(apr_pool_t *p, acme_store_t *store, const char *from_name,
                                const char *to_name, const char *aspect, int flags)
{
    return acme_store_copy(store, p, ACME_STORE_PENDING, from_name, ACME_STORE_ARCHIVE,
                           to_name, aspect, flags);
}

apr_status_t acme_archive_note(apr_pool_t *p, acme_store_t *store, const char *archived,
                               const char *file, const char *md_name, const char *why,
                               const char *event)
{
    char stamp[32];
    apr_time_exp_t tm;
    apr_size_t n;
    json_t *json;
    char *text;
    apr_status_t rv = APR_ENOMEM;

    apr_time_exp_gmt(&tm, apr_time_now());
    apr_strftime(stamp, &n, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json = json_pack("{s:s, s:s, s:s}", "name", md_name, "reason", why, event, stamp);
    text = json ? json_dumps(json, JSON_INDENT(2)) : NULL;
    if (text) {
        rv = acme_store_save(store, p, ACME_STORE_ARCHIVE, archived, file, text, strlen(text),
                             0);
        free(text);
    }
    json_decref(json);
    return rv;
}

/* Moves the staged set of md to ARCHIVE/<md>.rejected-N (caller holds the
 * staging lock): what root copied of it (PENDING; nothing for a set it
 * refused to copy) and rejected.json saying why; then removes it from
 * STAGING and PENDING. Only aspects of the layout are kept: the set is
 * evidence for the admin, not something to serve. */
static apr_status_t staged_reject(const char **pto, apr_pool_t *p, acme_store_t *store,
                                  const acme_config_md_t *md, const char *why)
{
    const apr_array_header_t *specs = md->props.pkey_specs;
    const char *to;
    apr_status_t rv;
    int i;

    if ((rv = rejected_name(&to, p, store, md->name)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < specs->nelts && rv == APR_SUCCESS; ++i) {
        const char *spec = acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t));
        rv = aspect_copy(p, store, md->name, to, acme_layout_privkey(p, spec),
                         ACME_STORE_SECRET);
        if (rv == APR_SUCCESS) {
            rv = aspect_copy(p, store, md->name, to, acme_layout_pubcert(p, spec), 0);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = aspect_copy(p, store, md->name, to, ACME_ASPECT_MD, 0);
    }
    if (rv == APR_SUCCESS) {
        rv = acme_archive_note(p, store, to, REJECTED_JSON, md->name,
                               why ? why : "incomplete set", "rejected");
    }
    if (rv == APR_SUCCESS) {
        rv = acme_store_purge(store, p, ACME_STORE_STAGING, md->name);
        rv = APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
    }
    acme_store_purge(store, p, ACME_STORE_PENDING, md->name);
    *pto = to;
    return rv;
}

/* Logs and records a staged set that is not activated. */
static void staged_rejected(apr_pool_t *p, acme_store_t *store, const acme_config_md_t *md,
                            const char *why, server_rec *s)
{
    const char *to = NULL;
    apr_status_t rv = staged_reject(&to, p, store, md, why);

    ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1215 %s: staged certificate NOT "
                 "activated: %s. The live certificate stays in service; the staged set "
                 "%s%s", md->name, why,
                 rv == APR_SUCCESS ? "was moved to archive/" : "could not be moved to "
                 "archive/", to ? to : "(no free name)");
}

/* Takes the staged set of md over (acme_store_take()): the aspects of the
 * layout for md's key specs. APR_EINVAL with *pwhy: refused. */
static apr_status_t staged_take(const char **pwhy, apr_pool_t *p, acme_store_t *store,
                                const acme_config_md_t *md)
{
    const apr_array_header_t *specs = md->props.pkey_specs;
    acme_store_take_t *items = apr_pcalloc(p, sizeof(*items) * (apr_size_t)(2 * specs->nelts + 1));
    int i, n = 0;

    for (i = 0; i < specs->nelts; ++i) {
        const char *spec = acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t));
        items[n].aspect = acme_layout_privkey(p, spec);
        items[n++].flags = ACME_STORE_SECRET;
        items[n++].aspect = acme_layout_pubcert(p, spec);
    }
    items[n++].aspect = ACME_ASPECT_MD;
    return acme_store_take(pwhy, p, store, md->name, items, n);
}

/* mod_md keeps staged keys encrypted with its store key and decrypts them
 * when it activates a set; a set mod_md staged before the switch to
 * mod_acme is taken over the same way: root's copy in PENDING gets the
 * plain key that mod_ssl reads. A key that does not decrypt is left as it
 * is, for the check to refuse with its reason. */
static apr_status_t pending_keys_decrypt(apr_pool_t *p, acme_store_t *store,
                                         const acme_config_md_t *md)
{
    const apr_array_header_t *specs = md->props.pkey_specs;
    const unsigned char *pass;
    apr_size_t pass_len;
    int i;

    if (acme_store_secret_key(&pass, &pass_len, store) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    for (i = 0; i < specs->nelts; ++i) {
        const char *spec = acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t));
        const char *aspect = acme_layout_privkey(p, spec), *pem, *plain, *why = NULL;
        apr_size_t len, plain_len;
        acme_pkey_t *key;
        apr_status_t rv;

        if (acme_store_load(&pem, &len, p, store, ACME_STORE_PENDING, md->name, aspect)
            != APR_SUCCESS || strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") == NULL) {
            continue;
        }
        if (acme_pkey_from_pem_pass(&key, p, pem, len, pass, pass_len, &why) != APR_SUCCESS
            || acme_pkey_to_pem(&plain, &plain_len, p, key, &why) != APR_SUCCESS) {
            continue;
        }
        rv = acme_store_save(store, p, ACME_STORE_PENDING, md->name, aspect, plain, plain_len,
                             ACME_STORE_SECRET);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* A staged set that passed and is due, waiting for its batch. */
typedef struct {
    const acme_config_md_t *md;
    acme_store_lock_t *lock;    /* the staging lock, held until the batch is done */
    apr_time_t not_after;
    int had_fallback;
} activation_due_t;

/* Staged sets activated together: their moves are made durable together
 * (acme_store_activate_many()). Bounded, since each holds its locks (two
 * descriptors) until the batch is done. */
#define ACTIVATION_BATCH_MAX 64

typedef struct {
    acme_config_global_t *g;
    acme_store_t *store;
    server_rec *s;
    apr_pool_t *pool;           /* of the batch: cleared once it is done */
    activation_due_t due[ACTIVATION_BATCH_MAX];
    int n;
} activation_batch_t;

/* Decides about the staged set of md; caller holds the staging lock.
 * Returns 1 when the staged set is to go live (*due filled): root's copy
 * of it, checked and stamped, waits in PENDING. */
static int staged_decide(activation_due_t *pdue, acme_config_global_t *g, acme_store_t *store,
                         apr_pool_t *p, const acme_config_md_t *md, server_rec *s)
{
    acme_certset_check_t *check;
    const char *why = NULL;
    apr_time_t now = apr_time_now(), due;
    apr_status_t rv;

    rv = staged_take(&why, p, store, md);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return 0;
    }
    if (rv == APR_EINVAL && why) {
        staged_rejected(p, store, md, why, s);
        return 0;
    }
    /* always the full check: whatever the User left in STAGING (a stamp
     * too) vouches for nothing; a usable set is stamped by root here and
     * the stamp goes live with it */
    if (rv == APR_SUCCESS) {
        rv = pending_keys_decrypt(p, store, md);
    }
    if (rv == APR_SUCCESS) {
        rv = acme_certset_check(&check, p, store, ACME_STORE_PENDING, md->name,
                                md->props.pkey_specs, md->names, now);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1211 %s: cannot read the staged "
                     "certificate set; it stays staged, the live one in service", md->name);
        acme_store_purge(store, p, ACME_STORE_PENDING, md->name);
        return 0;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1218 %s: staged set copied and checked "
                 "fully", md->name);
    if (!acme_certset_is_issued(check)) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1212 %s: staged set not finished "
                     "(%s); nothing to activate yet", md->name, check->problem);
        acme_store_purge(store, p, ACME_STORE_PENDING, md->name);
        return 0;
    }
    if (!acme_certset_is_complete(check)) {
        staged_rejected(p, store, md, check->problem, s);
        return 0;
    }
    due = check->not_before + g->activation_delay;
    if (due > now) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ACME1213 %s: staged certificate becomes "
                     "active at the first restart after %s (notBefore + MDActivationDelay)",
                     md->name, date_str(p, due));
        acme_store_purge(store, p, ACME_STORE_PENDING, md->name);
        return 0;
    }
    /* the store logs a failing write: the live set is then checked fully
     * at the next pass, nothing worse */
    acme_certset_stamp_save(check, p, store, ACME_STORE_PENDING, md->names);
    pdue->md = md;
    pdue->not_after = check->not_after;
    /* a fallback in LIVE means that is what was served (it is made only
     * while no live pair is usable) */
    pdue->had_fallback = acme_store_exists(store, p, ACME_STORE_LIVE, md->name,
                                           ACME_FALLBACK_CERT) == APR_SUCCESS;
    return 1;
}

/* Activates the sets of the batch, logs each outcome, releases their
 * locks, then runs MDMessageCmd installed for those that went live. */
static void batch_flush(activation_batch_t *b)
{
    acme_store_activation_t *sets;
    apr_pool_t *p = b->pool;
    int i;

    if (b->n == 0) {
        return;
    }
    sets = apr_pcalloc(p, sizeof(*sets) * (apr_size_t)b->n);
    for (i = 0; i < b->n; ++i) {
        sets[i].name = b->due[i].md->name;
    }
    acme_store_activate_many(p, b->store, sets, b->n);
    for (i = 0; i < b->n; ++i) {
        const activation_due_t *d = &b->due[i];
        const char *archived = sets[i].archived;

        if (sets[i].rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, sets[i].rv, b->s, "ACME1216 %s: activation "
                         "of the staged certificate failed; see the store's lines before",
                         d->md->name);
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, b->s, "ACME1214 activated new certificate "
                     "for %s (valid until %s)%s%s%s", d->md->name, date_str(p, d->not_after),
                     d->had_fallback ? ", replaces the fallback certificate" : "",
                     archived ? (d->had_fallback ? " (archived as "
                                                 : ", previous one archived as ") : "",
                     archived ? apr_pstrcat(p, archived, d->had_fallback ? ")" : "", NULL)
                              : "");
        /* checked from the outside once the new generation serves */
        acme_selftest_note_activated(b->s, d->md->name, archived, d->had_fallback);
    }
    for (i = 0; i < b->n; ++i) {
        acme_store_unlock(b->due[i].lock);  /* before httpd forks: children would share it */
    }
    for (i = 0; i < b->n; ++i) {
        if (sets[i].rv == APR_SUCCESS) {
            /* MDMessageCmd installed, as root in the parent like mod_md; after
             * the unlock, so a slow command holds up no renewal */
            acme_cmd_installed(p, b->s, b->g, b->due[i].md->name);
        }
    }
    b->n = 0;
    apr_pool_clear(p);
}

/* Looks at the staged set of md (p: scratch); a set due to go live joins
 * the batch with its lock held. */
static void activate_one(activation_batch_t *b, apr_pool_t *p, const acme_config_md_t *md)
{
    activation_due_t *due = &b->due[b->n];
    apr_status_t rv;

    rv = acme_store_exists(b->store, p, ACME_STORE_STAGING, md->name, NULL);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return;
    }
    if (rv == APR_SUCCESS) {
        rv = acme_store_lock(&due->lock, b->pool, b->store, ACME_ACTIVATION_LOCK_GROUP,
                             md->name, b->g->store_lock_wait);
    }
    if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, b->s, "ACME1210 %s: the staged set is being "
                     "written right now; it is activated at a later restart", md->name);
        return;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, b->s, "ACME1217 %s: cannot look at the "
                     "staged set; the live one stays in service", md->name);
        return;
    }
    if (!staged_decide(due, b->g, b->store, p, md, b->s)) {
        acme_store_unlock(due->lock);
        return;
    }
    if (++b->n == ACTIVATION_BATCH_MAX) {
        batch_flush(b);
    }
}

void acme_activation_run(acme_config_global_t *g, acme_store_t *store, apr_pool_t *ptemp,
                         server_rec *s)
{
    activation_batch_t *b = apr_pcalloc(ptemp, sizeof(*b));
    apr_pool_t *p;
    int i;

    b->g = g;
    b->store = store;
    b->s = s;
    apr_pool_create(&b->pool, ptemp);
    apr_pool_tag(b->pool, "acme_activation_batch");
    apr_pool_create(&p, ptemp);
    apr_pool_tag(p, "acme_activation");
    for (i = 0; i < g->mds->nelts; ++i) {
        const acme_config_md_t *md = APR_ARRAY_IDX(g->mds, i, const acme_config_md_t *);

        if (md->cert_files && md->cert_files->nelts > 0) {
            continue;   /* static files: whatever is staged is not ours to serve */
        }
        if (md->config_error) {
            continue;   /* its name may not be a store key; it serves the fallback */
        }
        if (acme_selftest_hold(s, md->name)) {
            if (acme_store_exists(store, p, ACME_STORE_STAGING, md->name, NULL)
                == APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ACME1428 %s: rolled back at "
                             "this restart; its staged set waits for a later one", md->name);
            }
            continue;
        }
        activate_one(b, p, md);
        apr_pool_clear(p);
    }
    batch_flush(b);
    apr_pool_destroy(p);
    apr_pool_destroy(b->pool);
}
