/* The store of the running generation: opened by the parent in post_config,
 * repaired after a crash, its worker groups given to httpd's User/Group, and
 * inherited by the children. */
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>
#include <unixd.h>

#include "acme_account_store.h"
#include "acme_store_fs.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

/* Leftovers of interrupted writes younger than this may belong to a write
 * still running in a child of the previous generation (a graceful restart
 * lets them finish): recovery leaves them for a later start. */
#define STORE_TMP_MIN_AGE apr_time_from_sec(3600)

static acme_store_t *store_current;

static apr_status_t store_forget(void *data)
{
    (void)data;
    store_current = NULL;
    return APR_SUCCESS;
}

int acme_glue_is_dry_run(void)
{
    return ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
}

/* The renewal jobs run in the children as User/Group: they need the groups
 * acme_store_fs_group_for_worker() names. Only root can give them away. */
static apr_status_t owners_give(acme_store_t *store, apr_pool_t *ptemp, server_rec *s)
{
    uid_t uid = ap_unixd_config.user_id;
    gid_t gid = ap_unixd_config.group_id;
    apr_status_t rv;
    int g;

    if (geteuid() != 0 || uid == 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ACME1202 store: not started as root "
                     "or User is root; the store keeps its owner");
        return APR_SUCCESS;
    }
    for (g = 0; g < ACME_STORE_GROUP_COUNT; ++g) {
        if (!acme_store_fs_group_for_worker((acme_store_group_e)g)) {
            continue;
        }
        rv = acme_store_fs_set_owner(store, ptemp, (acme_store_group_e)g, uid, gid);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_glue_store_open(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp)
{
    acme_config_global_t *g = acme_config_global_get(s);
    acme_store_t *store;
    apr_status_t rv;
    int changed;

    rv = acme_store_fs_open(&store, pconf, g->store_dir);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "ACME1200 cannot open the certificate "
                     "store %s (MDStoreDir); see the lines before for why", g->store_dir);
        return rv;
    }
    if (!acme_glue_is_dry_run()) {
        /* A failed recovery leaves each set whole (old or new); serve on. */
        rv = acme_store_recover(store, ptemp, STORE_TMP_MIN_AGE);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1201 store %s: start-up repair "
                         "incomplete; serving what is there", g->store_dir);
        }
        /* a store from mod_md: its account.json holds the EAB HMAC */
        rv = acme_account_store_forget_secrets(&changed, ptemp, store);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1204 store %s: an EAB HMAC left "
                         "by mod_md in accounts/ could not be removed; see the lines before",
                         g->store_dir);
        }
        rv = owners_give(store, ptemp, s);
        if (rv != APR_SUCCESS) {
            /* serving needs no worker ownership, renewals do: they will
             * report their own failures */
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ACME1203 store %s: cannot give the "
                         "renewal groups to User %ld/Group %ld; renewals will fail",
                         g->store_dir, (long)ap_unixd_config.user_id,
                         (long)ap_unixd_config.group_id);
        }
    }
    store_current = store;
    apr_pool_cleanup_register(pconf, NULL, store_forget, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

acme_store_t *acme_glue_store_get(void)
{
    return store_current;
}
