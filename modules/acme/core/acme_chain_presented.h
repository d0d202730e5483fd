/* Does what a TLS server presented match the certificate set that was
 * activated? Used by the self-test after an activation (the parent's probe
 * handshakes, mod_acme_selftest.h); no socket here, only the comparison.
 *
 * The bar, per handshake (name, key type):
 *  - the leaf presented is the activated leaf (same DER);
 *  - the certificates that follow are the activated chain's issuers, in
 *    order (a server that drops or reorders intermediates fails: a client
 *    that trusts only the root could not build the path);
 *  - the presented chain verifies, with OpenSSL's X509_verify_cert(), up to
 *    the activated chain's topmost issuer taken as the trust anchor (partial
 *    chain): signatures, validity periods at `now`, and the host name.
 * Why that anchor: the parent does not know which roots the site's clients
 * trust (MDCACertificateFile is the trust for talking to the CA, not the
 * root that issued the certificate), and the activation already checked the
 * staged chain in itself. What the self-test adds is that the server
 * presents exactly that chain, and that it verifies as a whole for the name
 * asked. */
#ifndef ACME_CHAIN_PRESENTED_H
#define ACME_CHAIN_PRESENTED_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_time.h>
#include <openssl/x509.h>

#include "acme_chain.h"

/* `presented`: the peer's chain, leaf first (as SSL_get_peer_cert_chain()
 * returns it on a client). `host`: the name sent as SNI (a DNS name; NULL
 * skips the name check). APR_SUCCESS when it passes; APR_EMISMATCH with
 * *pwhy (from p, one line, no secret) when it does not; APR_EINVAL for an
 * empty expected or presented chain. */
apr_status_t acme_chain_presented_check(const char **pwhy, apr_pool_t *p,
                                        const acme_cert_chain_t *expected,
                                        STACK_OF(X509) *presented, const char *host,
                                        apr_time_t now);

#endif /* ACME_CHAIN_PRESENTED_H */
