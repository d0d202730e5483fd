/* The secrets the parent reads with the configuration, and the processes
 * that must not keep them (mod_acme_secrets.c; docs/security.md). */
#ifndef MOD_ACME_SECRETS_H
#define MOD_ACME_SECRETS_H

#include <apr_pools.h>

#include <httpd.h>

/* What acme_glue_secrets_wipe() wipes. */
#define ACME_SECRETS_SEAL_KEY       0x01  /* MDSharedStoreKeyFile's key */
#define ACME_SECRETS_EAB            0x02  /* EAB HMACs: records and the configuration tree */
#define ACME_SECRETS_STORE_KEY      0x04  /* the store key of private keys */
#define ACME_SECRETS_REDIS_PASSWORD 0x08  /* MDSharedStore's password */
/* What a child of the MPM with a key holder does without. */
#define ACME_SECRETS_KEYS (ACME_SECRETS_SEAL_KEY | ACME_SECRETS_EAB | ACME_SECRETS_STORE_KEY)
#define ACME_SECRETS_ALL (ACME_SECRETS_KEYS | ACME_SECRETS_REDIS_PASSWORD)

/* Wipes this process's copies (copy-on-write pages: the parent's stay). */
void acme_glue_secrets_wipe(server_rec *s, int what);

/* post_config, first of all hooks: until acme_glue_secrets_guard_off(),
 * every process forked by the parent (mod_cgid's daemon, which runs as the
 * User and never runs child_init; helpers of other modules) wipes them all
 * at once, in a fork handler. */
int acme_glue_secrets_guard_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                        apr_pool_t *ptemp, server_rec *s);

/* The last post_config hook calls it: the forks after it are the key
 * holder's (it keeps them) and the MPM's children (child_init wipes). */
void acme_glue_secrets_guard_off(void);

#endif /* MOD_ACME_SECRETS_H */
