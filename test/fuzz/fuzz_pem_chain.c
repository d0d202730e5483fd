/* Fuzz target: certificate chains in PEM, as the CA's certificate download
 * sends them (and as the store reads them back). A chain that parses is
 * written out and read again (same number of certificates), checked for
 * issuing order and matched against a preferred issuer, and each
 * certificate's fields are read as the store and status pages read them. */
#include <string.h>

#include <openssl/x509.h>

#include "acme_cert.h"
#include "acme_chain.h"
#include "acme_order.h"
#include "fuzz_common.h"

static void fuzz_cert_fields(apr_pool_t *p, const X509 *cert)
{
    apr_array_header_t *sans = NULL, *names = NULL;
    const char *s = NULL;
    apr_time_t t;

    acme_cert_get_not_before(&t, cert);
    acme_cert_get_not_after(&t, cert);
    acme_cert_is_valid_at(cert, apr_time_from_sec(1700000000));
    if (acme_cert_get_sans(&sans, p, cert) == APR_SUCCESS) {
        FUZZ_CHECK(sans != NULL);
    }
    acme_cert_get_names(&names, p, cert, ACME_SAN_DNS);
    acme_cert_get_serial_hex(&s, p, cert);
    acme_cert_get_issuer(&s, p, cert);
    acme_cert_get_subject(&s, p, cert);
    FUZZ_CHECK(acme_cert_get_sha256_hex(&s, p, cert) == APR_SUCCESS);
    if (names != NULL && names->nelts > 0) {
        acme_cert_check_names(&s, p, cert, names);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    acme_cert_chain_t *chain = NULL, *again = NULL;
    const char *pem = NULL;
    int i, n, bad = -1;

    if (acme_chain_from_pem(&chain, p, (const char *)data, size) != APR_SUCCESS) {
        goto cleanup;
    }
    n = acme_chain_count(chain);
    FUZZ_CHECK(n >= 1 && n <= ACME_CHAIN_CERTS_MAX);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(acme_chain_get(chain, i) != NULL);
        fuzz_cert_fields(p, acme_chain_get(chain, i));
    }
    FUZZ_CHECK(acme_chain_get(chain, n) == NULL);
    if (acme_chain_check_order(&bad, chain) != APR_SUCCESS) {
        FUZZ_CHECK(bad >= 0 && bad < n - 1);
    }
    acme_order_chain_matches(chain, "Pebble Root CA");
    /* What was read must be written, and what is written must be read. */
    FUZZ_CHECK(acme_chain_to_pem(&pem, p, chain) == APR_SUCCESS);
    FUZZ_CHECK(acme_chain_from_pem(&again, p, pem, strlen(pem)) == APR_SUCCESS);
    FUZZ_CHECK(acme_chain_count(again) == n);
cleanup:
    apr_pool_destroy(p);
    return 0;
}
