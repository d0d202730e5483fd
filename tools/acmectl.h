/* acmectl: the admin's command for the store of a running mod_acme
 * (docs/acmectl.md, man/acmectl.8). Shared between its files:
 *   acmectl.c          options, finding the store, the commands
 *   acmectl_conf.c     the httpd configuration reader
 *   acmectl_domain.c   the facts of a domain from the store
 *   acmectl_mds.c      the domains of a store without a configuration
 *   acmectl_json.c     --json output
 *   acmectl_text.c     text output */
#ifndef ACMECTL_H
#define ACMECTL_H

#include <stdio.h>

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#include "acmectl_conf.h"
#include "acmectl_domain.h"

/* Exit codes. */
#define ACMECTL_EXIT_OK 0
#define ACMECTL_EXIT_FAIL 1     /* failed: unknown domain, unreadable store ... */
#define ACMECTL_EXIT_USAGE 2    /* bad command line */

/* The version of the --json documents ("version" member). */
#define ACMECTL_JSON_VERSION 1

/* The domains of a store without a configuration (acmectl_mds.c): every
 * name in LIVE or STAGING, as its md.json describes it, the rest defaults.
 * *pmds holds acmectl_md_t *. Store errors are returned. */
apr_status_t acmectl_mds_from_store(apr_array_header_t **pmds, apr_pool_t *p,
                                    acme_store_t *store);

/* "2026-01-02T03:04:05Z" (UTC, seconds), from p. */
const char *acmectl_time_text(apr_pool_t *p, apr_time_t t);

/* "ok", "missing", "invalid" for a pair's status. */
const char *acmectl_pair_status(const acme_certset_pair_t *pair);

/* The domain as JSON; `full` adds what `show` prints (job, ARI, config). */
json_t *acmectl_domain_json(apr_pool_t *p, const acmectl_domain_t *dom, int full);

/* The domain as text, on out; `full` as above. */
void acmectl_domain_print(FILE *out, apr_pool_t *p, const acmectl_domain_t *dom, int full,
                          apr_time_t now);

#endif /* ACMECTL_H */
