/* The secrets the parent reads with the configuration (EAB HMACs, the
 * store key, MDSharedStoreKeyFile's key, MDSharedStore's password) and the
 * processes that must not keep them.
 *
 * The MPM's children wipe at child_init (mod_acme_keyholder.c). But other
 * modules fork too, while the configuration is processed: mod_cgid forks
 * its daemon in its post_config; it runs as the User (as the CGI scripts it
 * starts) and never runs child_init, so it kept the parent's copies, within
 * reach of any script of the User. So from the first post_config hook until
 * the last one (ours, before the key holder's fork), a fork handler
 * (pthread_atfork) wipes them in every child the parent forks. The handler
 * goes with the module: glibc drops handlers registered from a shared object
 * when it is unloaded, and httpd reloads modules at every restart. */
#include <pthread.h>
#include <string.h>

#include <httpd.h>
#include <http_config.h>

#include "acme_redis_url.h"
#include "acme_seal.h"
#include "acme_store_fs.h"
#include "mod_acme_config.h"
#include "mod_acme_secrets.h"
#include "mod_acme_serve.h"

/* Set in the parent while it processes the configuration; read in a child
 * right after fork(), the parent being single-threaded then. */
static server_rec *guard_server;
static int guard_registered;

static void wipe(const char *secret)
{
    if (secret) {
        /* the child's copy-on-write page, not the parent's */
        memset((char *)secret, 0, strlen(secret));
    }
}

/* MDExternalAccountBinding's arguments as the configuration tree keeps them. */
static void wipe_tree(ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (d->directive && !strcasecmp(d->directive, "MDExternalAccountBinding")) {
            wipe(d->args);
        }
        wipe_tree(d->first_child);
    }
}

static void wipe_eab(server_rec *s, acme_config_global_t *cg)
{
    server_rec *vs;
    int i;

    for (i = 0; cg->mds && i < cg->mds->nelts; ++i) {
        acme_config_md_t *md = APR_ARRAY_IDX(cg->mds, i, acme_config_md_t *);
        wipe(md->props.eab_hmac);
    }
    wipe(cg->props.eab_hmac);
    for (vs = s; vs; vs = vs->next) {
        acme_config_srv_t *sc = acme_config_srv_get(vs);
        if (sc && sc->global) {
            wipe(sc->global->props.eab_hmac);
        }
    }
    wipe_tree(ap_conftree);
}

void acme_glue_secrets_wipe(server_rec *s, int what)
{
    acme_config_global_t *cg = acme_config_global_get(s);

    if (cg == NULL) {
        return;
    }
    if ((what & ACME_SECRETS_SEAL_KEY) && cg->shared_seal_key) {
        acme_seal_key_wipe(cg->shared_seal_key);
    }
    if (what & ACME_SECRETS_EAB) {
        wipe_eab(s, cg);
    }
    if ((what & ACME_SECRETS_STORE_KEY) && acme_glue_store_get() != NULL) {
        acme_store_fs_forget_secret_key(acme_glue_store_get());
    }
    if ((what & ACME_SECRETS_REDIS_PASSWORD) && cg->shared_url) {
        wipe(cg->shared_url->password);
    }
}

static void fork_child(void)
{
    if (guard_server) {
        acme_glue_secrets_wipe(guard_server, ACME_SECRETS_ALL);
        guard_server = NULL;
    }
}

int acme_glue_secrets_guard_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                        apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (!guard_registered) {
        guard_registered = pthread_atfork(NULL, NULL, fork_child) == 0;
    }
    guard_server = s;
    return OK;
}

void acme_glue_secrets_guard_off(void)
{
    guard_server = NULL;
}
