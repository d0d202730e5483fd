/* Challenge answers of the renewal job, in the store where the responders
 * (the http-01 handler, the tls-alpn-01 hook of mod_ssl) find them, laid out
 * as acme_layout.h says: CHALLENGES/<identifier>/
 *   http-01.<token>        the key authorization
 *   tls-alpn-01.cert.pem   the RFC 8737 certificate
 *   tls-alpn-01.key.pem    its key (a fresh P-256 key, saved ACME_STORE_SECRET)
 * dns-01 answers are not in the store: the job hands them to the glue's hook
 * (acme_renew_dns01_t in acme_renew.h); this file only computes them. */
#ifndef ACME_RENEW_CHALLENGE_H
#define ACME_RENEW_CHALLENGE_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "acme_order.h"
#include "acme_pkey.h"
#include "acme_result.h"
#include "acme_store.h"

/* True for the challenge types answered from the store (http-01, tls-alpn-01);
 * dns-01 is answered through the job's hook instead. */
int acme_renew_challenge_supported(const char *type);

#define ACME_CHALLENGE_DNS01 "dns-01"

/* The challenge of `authz` to answer: the first type of `prefs` (const char *,
 * most preferred first) that is supported and offered; dns-01 counts as
 * supported only with `dns01_ok` (a hook is configured). When none is, r
 * says why (FIX_CONFIG: the CA offers none of the types, or only dns-01
 * without a hook, as for wildcards) and APR_ENOTIMPL is returned. */
apr_status_t acme_renew_challenge_select(const acme_challenge_t **pchal,
                                         const acme_authz_t *authz,
                                         const apr_array_header_t *prefs, int dns01_ok,
                                         apr_pool_t *p, acme_result_t *r);

/* The dns-01 TXT value of `chal` for `account_key`, from p. Errors in r. */
apr_status_t acme_renew_challenge_dns01_value(const char **pvalue, apr_pool_t *p,
                                              const acme_challenge_t *chal,
                                              const acme_pkey_t *account_key,
                                              acme_result_t *r);

/* Writes the answer to `chal` (of `authz`, signed for `account_key`) into
 * the store. Errors in r: an identifier that cannot name a store entry (an
 * IPv6 address) or an unsupported type are FIX_CONFIG, store failures RETRY. */
apr_status_t acme_renew_challenge_setup(acme_store_t *store, apr_pool_t *p,
                                        const acme_authz_t *authz,
                                        const acme_challenge_t *chal,
                                        const acme_pkey_t *account_key, acme_result_t *r);

/* Removes the answer of type `type` with `token` for `identifier`; an absent
 * answer is no error. */
apr_status_t acme_renew_challenge_remove(acme_store_t *store, apr_pool_t *p,
                                         const char *identifier, const char *type,
                                         const char *token);

#endif /* ACME_RENEW_CHALLENGE_H */
