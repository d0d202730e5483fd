/* A bounded pool of anti-replay nonces (RFC 8555 section 6.5).
 *
 * Every response from the CA may carry a Replay-Nonce header; the client keeps
 * the freshest few so that most signed requests need no extra newNonce round
 * trip. Values are validated (base64url alphabet, bounded length) before they
 * are stored: an invalid header is ignored, as RFC 8555 6.5.1 asks.
 *
 * The pool has fixed storage: feeding it any number of nonces never grows
 * memory, so it can live as long as the client. Not thread-safe. */
#ifndef ACME_NONCE_H
#define ACME_NONCE_H

#include <apr_pools.h>

/* Longest nonce accepted (base64url characters). Boulder and pebble send 24-44. */
#define ACME_NONCE_MAX_LEN 256
/* How many nonces are kept; older ones are dropped first. */
#define ACME_NONCE_POOL_SIZE 8

typedef struct acme_nonce_pool_t acme_nonce_pool_t;

/* Creates an empty pool allocated in `p`. */
acme_nonce_pool_t *acme_nonce_pool_create(apr_pool_t *p);

/* True when `value` is a well-formed nonce: 1..ACME_NONCE_MAX_LEN base64url
 * characters, no padding. */
int acme_nonce_is_valid(const char *value);

/* Stores a copy of `value` if valid; returns 1 when stored, 0 when ignored.
 * When full, the oldest nonce is dropped. */
int acme_nonce_pool_put(acme_nonce_pool_t *np, const char *value);

/* Takes the most recently stored nonce out of the pool (each nonce is used at
 * most once) and copies it into `p`. Returns NULL when the pool is empty. */
const char *acme_nonce_pool_take(acme_nonce_pool_t *np, apr_pool_t *p);

/* Number of nonces currently held. */
int acme_nonce_pool_count(const acme_nonce_pool_t *np);

/* Forgets all nonces (e.g. after the CA changed its directory). */
void acme_nonce_pool_clear(acme_nonce_pool_t *np);

#endif /* ACME_NONCE_H */
