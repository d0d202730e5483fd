/* The rollback after a failed self-test (see mod_acme_selftest.h): at the
 * restart that follows (post_config, parent, as root, before the
 * activation), the domain's previous live set, ARCHIVE/<archived>, becomes
 * LIVE again. It goes the activation's way, so it is as crash-safe: root
 * copies the archived set into PENDING (archive is root's, nothing of the
 * User's is read) and acme_store_activate() swaps it in; the set that
 * failed goes to the archive as the newest <md>.N, with rolled-back.json
 * saying why. That set is gone from STAGING since its activation, so it is
 * never activated again; the next renewal makes a new one. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "acme_layout.h"
#include "acme_pkey.h"
#include "acme_store.h"
#include "mod_acme_selftest.h"
#include "mod_acme_selftest_int.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

#define ROLLED_BACK_JSON "rolled-back.json"

/* Copies one aspect ARCHIVE/from -> PENDING/to, if it exists. */
static apr_status_t aspect_restore(apr_pool_t *p, acme_store_t *store, const char *from,
                                   const char *to, const char *aspect, int flags)
{
    return acme_store_copy(store, p, ACME_STORE_ARCHIVE, from, ACME_STORE_PENDING, to, aspect,
                           flags);
}

/* PENDING/<md> becomes a copy of the archived set: its pairs of md's key
 * specs, md.json and the fallback pair (its verified.json is not copied:
 * the next pass checks the restored set fully and stamps it again). */
static apr_status_t pending_fill(apr_pool_t *p, acme_store_t *store,
                                 const acme_config_md_t *md, const char *archived)
{
    const apr_array_header_t *specs = md->props.pkey_specs;
    apr_status_t rv = APR_SUCCESS;
    int i;

    acme_store_purge(store, p, ACME_STORE_PENDING, md->name);
    for (i = 0; i < specs->nelts && rv == APR_SUCCESS; ++i) {
        const char *spec = acme_pkey_spec_name(p, &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t));

        rv = aspect_restore(p, store, archived, md->name, acme_layout_privkey(p, spec),
                            ACME_STORE_SECRET);
        if (rv == APR_SUCCESS) {
            rv = aspect_restore(p, store, archived, md->name, acme_layout_pubcert(p, spec), 0);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = aspect_restore(p, store, archived, md->name, ACME_ASPECT_MD, 0);
    }
    if (rv == APR_SUCCESS) {
        rv = aspect_restore(p, store, archived, md->name, ACME_FALLBACK_KEY, ACME_STORE_SECRET);
    }
    if (rv == APR_SUCCESS) {
        rv = aspect_restore(p, store, archived, md->name, ACME_FALLBACK_CERT, 0);
    }
    return rv;
}


static void rollback_one(apr_pool_t *p, acme_store_t *store, const acme_config_md_t *md,
                         acme_selftest_entry_t *e, server_rec *s)
{
    const char *archived_bad = NULL;
    const char *why = e->result.message;
    apr_status_t rv;

    if (strncmp(why, "activation failed: ", 19) == 0) {
        why += 19;
    }
    rv = acme_store_exists(store, p, ACME_STORE_ARCHIVE, e->archived, NULL);
    if (rv == APR_SUCCESS) {
        rv = pending_fill(p, store, md, e->archived);
    }
    if (rv == APR_SUCCESS) {
        rv = acme_store_activate(&archived_bad, p, store, md->name);
    }
    if (rv != APR_SUCCESS) {
        acme_store_purge(store, p, ACME_STORE_PENDING, md->name);
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1426 %s: cannot roll back to the "
                     "previous certificate (archive/%s); the new one stays in service",
                     md->name, e->archived);
        acme_selftest_entry_set(e, ACME_SELFTEST_FAILED, apr_psprintf(
            p, "activation failed: %s; the rollback failed too (see ACME1426)", why));
        return;
    }
    if (archived_bad) {
        acme_archive_note(p, store, archived_bad, ROLLED_BACK_JSON, md->name, why,
                          "rolled-back");
    }
    acme_store_purge(store, p, ACME_STORE_ARCHIVE, e->archived);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "ACME1425 %s: activation rolled back: the "
                 "previous certificate (archive/%s) is served again; the set that failed its "
                 "self-test is archive/%s and is not activated again", md->name, e->archived,
                 archived_bad ? archived_bad : "?");
    e->rollbacks++;
    e->held = 1;
    e->archived[0] = '\0';
    acme_selftest_entry_set(e, ACME_SELFTEST_ROLLED_BACK,
                            apr_pstrcat(p, "activation rolled back: ", why, NULL));
}

void acme_rollback_run(acme_config_global_t *g, apr_pool_t *ptemp, server_rec *s)
{
    acme_selftest_carry_t *c = acme_selftest_carry(s);
    acme_store_t *store = acme_glue_store_get();
    int i, k;

    for (i = 0; i < c->n; ++i) {
        acme_selftest_entry_t *e = &c->entries[i];

        e->held = 0;
        if (e->result.state != ACME_SELFTEST_ROLLBACK || store == NULL) {
            continue;
        }
        for (k = 0; k < g->mds->nelts; ++k) {
            const acme_config_md_t *md = APR_ARRAY_IDX(g->mds, k, const acme_config_md_t *);

            if (strcmp(md->name, e->md) == 0 && !md->config_error
                && !(md->cert_files && md->cert_files->nelts > 0)) {
                rollback_one(ptemp, store, md, e, s);
                break;
            }
        }
        if (k == g->mds->nelts) {
            e->result.state = ACME_SELFTEST_NONE;   /* no longer one of ours */
        }
    }
}

int acme_selftest_hold(server_rec *s, const char *md_name)
{
    acme_selftest_entry_t *e = acme_selftest_entry_find(acme_selftest_carry(s), md_name, 0);

    return e && e->held;
}
