/* OpenSSL's error queue, drained into our messages. The one place that
 * reads it: every caller leaves the (thread-local) queue empty, so no stale
 * entry explains a later, unrelated failure. */
#ifndef ACME_OSSL_H
#define ACME_OSSL_H

#include <apr_errno.h>
#include <apr_pools.h>

/* "what: <reason of the innermost entry>", allocated from `p`, for the
 * caller's message; every entry is logged at debug level (ACME0200). For
 * failures caused by the input (a key, a signature, a certificate). */
const char *acme_ossl_err(apr_pool_t *p, const char *what);

/* Logs `what` (which starts with its ACMEnnnn number) at error level with
 * every reason in the queue and returns APR_EGENERAL. For failures that are
 * ours or the machine's (allocation, encoding), not the input's. */
apr_status_t acme_ossl_fail(const char *what);

/* Every reason in the queue, "; "-separated, allocated from `p`; NULL when
 * the queue was empty. For errors whose whole chain matters (TLS). */
const char *acme_ossl_reasons(apr_pool_t *p);

#endif /* ACME_OSSL_H */
