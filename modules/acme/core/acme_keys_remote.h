/* The custody of a key holder process (acme_keyholder.h), for httpd's
 * children: they never hold a private key. */
#ifndef ACME_KEYS_REMOTE_H
#define ACME_KEYS_REMOTE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "acme_keys.h"

/* A custody that asks the key holder at `socket_path` (one connection per
 * request; `timeout` per request, connecting included). Keys it returns are
 * public halves (from the JWK the key holder sends); account keys sign JWS
 * through acme_pkey_set_signer() with the op "sign", so the key holder's
 * policy applies to each signature. A refused request is the key holder's
 * status (APR_EINVAL for a refusal) and its one-line reason; a key holder
 * that is not there gives APR_ECONNREFUSED or APR_ENOENT at once, one that
 * does not answer in time APR_TIMEUP, one that closed without answering
 * APR_EOF. `socket_path` is copied. */
acme_keys_t *acme_keys_remote(apr_pool_t *p, const char *socket_path,
                              apr_interval_time_t timeout);

#endif /* ACME_KEYS_REMOTE_H */
