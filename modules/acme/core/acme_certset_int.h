/* Shared by acme_certset.c (the full check) and acme_certset_stamp.c (the
 * verdict rebuilt from a stamp): the parts both must do alike. Not for
 * other users. */
#ifndef ACME_CERTSET_INT_H
#define ACME_CERTSET_INT_H

#include "acme_certset.h"

/* SHA-256 of `len` bytes as 64 lowercase hex digits in p; NULL if OpenSSL
 * fails. */
const char *certset_sha256_hex(apr_pool_t *p, const char *data, apr_size_t len);

/* names_ok, name_missing, expired and the problem of a usable pair whose
 * leaf and dates are known: names_rv is what acme_cert_check_names() said
 * (APR_EMISMATCH with `missing`, APR_EINVAL for invalid names). */
void certset_pair_verdict(acme_certset_pair_t *pair, apr_pool_t *p, apr_status_t names_rv,
                          const char *missing, apr_time_t now);

/* Adds a checked pair to the set's problem, usable count and dates. */
void certset_tally(acme_certset_check_t *check, apr_pool_t *p, const acme_certset_pair_t *pair);

#endif /* ACME_CERTSET_INT_H */
