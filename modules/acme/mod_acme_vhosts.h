/* Managed domains and virtual hosts, linked at check_config (see
 * mod_acme_config.h for the records this fills). */
#ifndef MOD_ACME_VHOSTS_H
#define MOD_ACME_VHOSTS_H

#include "mod_acme_config.h"

/* Indexes all names, matches domains to vhosts (and back), adds names of
 * vhosts to domains (MDMembers auto), decides which domains are driven and
 * fills in contacts from ServerAdmin. Logs and returns APR_EINVAL on a
 * conflict: a name in two domains, an https vhost matching two domains, a
 * driven wildcard domain. Runs in O(names + vhosts) with hash lookups
 * (vhost aliases with patterns other than "*.suffix" cost a scan each). */
apr_status_t acme_vhosts_link(acme_config_global_t *g, apr_pool_t *p, apr_pool_t *ptemp);

/* Sets is_ssl in the record of every server (main server and vhosts). */
void acme_vhosts_ssl_detect(acme_config_global_t *g, apr_pool_t *ptemp);

#endif /* MOD_ACME_VHOSTS_H */
