/* The key holder process: forked and kept alive by httpd's root parent, the
 * only process with private keys and EAB HMACs (mod_acme_keyholder.c). */
#ifndef MOD_ACME_KEYHOLDER_H
#define MOD_ACME_KEYHOLDER_H

#include <httpd.h>

#include "acme_keys.h"

/* post_config (after the store is open): starts this generation's key
 * holder on the real pass. */
int acme_glue_keyholder_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                    server_rec *s);

/* monitor hook: starts the key holder again when it died and its pause is over. */
int acme_glue_keyholder_monitor(apr_pool_t *p, server_rec *s);

/* child_init: wipes the EAB HMACs from the child's copy of the configuration
 * (the key holder MACs with its own). */
void acme_glue_keyholder_child_init(apr_pool_t *pchild, server_rec *s);

/* The custody renewals use in a child: the key holder's (also while it is
 * being started again: its requests fail as a retry meanwhile), or NULL when
 * this generation has none (no managed domain, or the store could not be
 * opened: no renewal runs then). */
acme_keys_t *acme_glue_keyholder_custody(apr_pool_t *p);

#endif /* MOD_ACME_KEYHOLDER_H */
