/* Certificate revocation (RFC 8555 7.6).
 *
 * A certificate is revoked either by the account that ordered it (the
 * request is signed with the account key and kid) or by whoever holds the
 * certificate's private key (signed with that key, its JWK in the header;
 * no account needed). Errors as in acme_client.h; the CA answers
 * "alreadyRevoked" (ACME_EPROBLEM) for a second revocation. */
#ifndef ACME_REVOKE_H
#define ACME_REVOKE_H

#include <apr_pools.h>
#include <openssl/x509.h>

#include "acme_client.h"
#include "acme_pkey.h"
#include "acme_result.h"

/* No reason code sent (the CA records "unspecified"). */
#define ACME_REVOKE_NO_REASON (-1)

/* True for RFC 5280 5.3.1 codes a subscriber may send: 0..10 except 7
 * (unused), or ACME_REVOKE_NO_REASON. */
int acme_revoke_reason_is_valid(int reason);

/* Parses a reason name ("keyCompromise", "superseded", ... as in RFC 5280,
 * case-insensitive) or number. APR_EINVAL for anything else. */
apr_status_t acme_revoke_reason_parse(int *preason, const char *s);

/* Revokes `cert`. With `cert_key` NULL the request is signed by the
 * client's account (which must be set); otherwise by `cert_key`, which must
 * be the certificate's key (APR_EINVAL without a request if not). */
apr_status_t acme_revoke_cert(acme_client_t *c, apr_pool_t *p, X509 *cert, int reason,
                              const acme_pkey_t *cert_key, acme_result_t *r);

#endif /* ACME_REVOKE_H */
