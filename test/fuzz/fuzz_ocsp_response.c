/* Fuzz target: the OCSP response check (acme_ocsp_answer_check) and what
 * builds on it. The input is a DER OCSPResponse for a fixed leaf certificate
 * (serial 0x1001) of a fixed CA; test/fuzz/make-ocsp-seeds.sh made these
 * fixtures and the seeds (issuer-signed, delegated, revoked, unknown, no
 * nextUpdate, signed by an impostor CA of the same name, an error status).
 * "Now" is fixed a minute after the seeds were made.
 *
 * Properties:
 * - the result is one of the documented codes; an error has a reason;
 * - an accepted answer: a status of the three, revoked_at set exactly for
 *   "revoked", thisUpdate not beyond now + skew, nextUpdate none or not
 *   before thisUpdate, der the whole input (a copy); checking again gives
 *   the same;
 * - an answer accepted for the leaf is refused for its sibling (same CA,
 *   another serial) and with the impostor CA (same name, another key) as
 *   the issuer;
 * - acme_ocsp_answer_is_current and acme_ocsp_refresh_at follow their
 *   documented rules (refresh between thisUpdate and nextUpdate);
 * - a saved answer loads back the same (acme_ocsp_store_save/_load). */
#include <string.h>

#include <openssl/pem.h>

#include "acme_ocsp.h"
#include "fuzz_common.h"
#include "fuzz_memstore.h"

/* 2026-12-06T20:14:26Z */
#define NOW apr_time_from_sec(1796588066)
#define KEEP apr_time_from_sec(100LL * 365 * 86400)

static const char ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdjCCARygAwIBAgIBATAKBggqhkjOPQQDAjASMRAwDgYDVQQDDAdGdXp6IENB\n"
    "MB4XDTI2MTIwNjIwMTMyNloXDTM2MTIwMzIwMTMyNlowEjEQMA4GA1UEAwwHRnV6\n"
    "eiBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABMurWlDAdXSNoeucSh4AhPMx\n"
    "t+IxGT/p419ICpnqjFkranIqTtOQH6D45XiZ6ihsiOIXQAsk6n1LGmXJMTLY6zij\n"
    "YzBhMB0GA1UdDgQWBBSlMeNBrTuZ74HERVRzYnsad4g1XjAfBgNVHSMEGDAWgBSl\n"
    "MeNBrTuZ74HERVRzYnsad4g1XjAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQE\n"
    "AwIBhjAKBggqhkjOPQQDAgNIADBFAiBJIbgJzBccXwR5E4LXLPq/B1Rdvu7qtLUh\n"
    "WXZLbfHqggIhAKoNCguu7N0uOAAxOqAbfTAEJCkIjMnHahBlpusFtBGm\n"
    "-----END CERTIFICATE-----\n"
    ;

static const char other_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdTCCARygAwIBAgIBATAKBggqhkjOPQQDAjASMRAwDgYDVQQDDAdGdXp6IENB\n"
    "MB4XDTI2MTIwNjIwMTMyNloXDTM2MTIwMzIwMTMyNlowEjEQMA4GA1UEAwwHRnV6\n"
    "eiBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDDYhpH9G9TCyHaMGrBPHXLr\n"
    "6x5BM6g85yFwgy425VydIDXJ7sn5LB8Ja5j1HBhKAZhc9k5h5+xzTluEdiLBZwmj\n"
    "YzBhMB0GA1UdDgQWBBSgW6dyQ4Nbupox5ufDj3z3fF1I1zAfBgNVHSMEGDAWgBSg\n"
    "W6dyQ4Nbupox5ufDj3z3fF1I1zAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQE\n"
    "AwIBhjAKBggqhkjOPQQDAgNHADBEAiANT7bCevchEJxd8tpFqtplcUmuZD6j6iCg\n"
    "hI6r1trnGgIgUHkiiVN1K8L12d1rHGG6JKLOOmN8igRmcOeIMYSvTRI=\n"
    "-----END CERTIFICATE-----\n"
    ;

static const char leaf_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBqzCCAVCgAwIBAgICEAEwCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHRnV6eiBD\n"
    "QTAeFw0yNjEyMDYyMDEzMjZaFw0yNzAzMDYyMDEzMjZaMA8xDTALBgNVBAMMBGxl\n"
    "YWYwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATFW79i4LMBpM/kOWahHndtEMzk\n"
    "/YJVH3otdusVg3m01vgsxIEaAAxkmEganeBCCVWEdrr3nLJ19R3fZnRhqYLJo4GY\n"
    "MIGVMAkGA1UdEwQCMAAwFgYDVR0RBA8wDYILZXhhbXBsZS5vcmcwMAYIKwYBBQUH\n"
    "AQEEJDAiMCAGCCsGAQUFBzABhhRodHRwOi8vb2NzcC5leGFtcGxlLzAdBgNVHQ4E\n"
    "FgQU0qbpWGKRhpleAd640loCmGcV4gAwHwYDVR0jBBgwFoAUpTHjQa07me+BxEVU\n"
    "c2J7GneINV4wCgYIKoZIzj0EAwIDSQAwRgIhAMlyPtJ9bpl5QDsrTjPeG2dkVAm7\n"
    "uxsyOmFc7FX++ZFtAiEAtTv5EyYanqDSKScLoCCoT992EinU63C5UcmucrPno/4=\n"
    "-----END CERTIFICATE-----\n"
    ;

static const char leaf2_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBqTCCAVCgAwIBAgICEAIwCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHRnV6eiBD\n"
    "QTAeFw0yNjEyMDYyMDEzMjZaFw0yNzAzMDYyMDEzMjZaMA8xDTALBgNVBAMMBGxl\n"
    "YWYwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATFW79i4LMBpM/kOWahHndtEMzk\n"
    "/YJVH3otdusVg3m01vgsxIEaAAxkmEganeBCCVWEdrr3nLJ19R3fZnRhqYLJo4GY\n"
    "MIGVMAkGA1UdEwQCMAAwFgYDVR0RBA8wDYILZXhhbXBsZS5vcmcwMAYIKwYBBQUH\n"
    "AQEEJDAiMCAGCCsGAQUFBzABhhRodHRwOi8vb2NzcC5leGFtcGxlLzAdBgNVHQ4E\n"
    "FgQU0qbpWGKRhpleAd640loCmGcV4gAwHwYDVR0jBBgwFoAUpTHjQa07me+BxEVU\n"
    "c2J7GneINV4wCgYIKoZIzj0EAwIDRwAwRAIgcr5fl0/leeHyc5WfzaUEym1O/bcL\n"
    "ASoiEtRsizadngICIC7z+7fyHsHM/aVIrXn53VKjfwLKV2NErdp3XCL3imGm\n"
    "-----END CERTIFICATE-----\n"
    ;

typedef struct {
    X509 *ca, *other_ca, *leaf, *leaf2;
} fixtures_t;

static X509 *pem_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    if (cert == NULL) {
        fuzz_abort("a fixed OCSP fixture does not load");
    }
    return cert;
}

static const fixtures_t *fixtures(void)
{
    static fixtures_t f;

    if (f.ca == NULL) {
        f.ca = pem_cert(ca_pem);
        f.other_ca = pem_cert(other_ca_pem);
        f.leaf = pem_cert(leaf_pem);
        f.leaf2 = pem_cert(leaf2_pem);
    }
    return &f;
}

static apr_status_t check(acme_ocsp_answer_t **pans, apr_pool_t *p, const uint8_t *data,
                          size_t size, X509 *cert, X509 *issuer)
{
    const char *why = NULL;
    apr_status_t rv;

    *pans = NULL;
    rv = acme_ocsp_answer_check(pans, p, data, size, cert, issuer, NOW, &why);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_EINVAL || rv == APR_EMISMATCH
               || rv == ACME_OCSP_ESTATUS || rv == ACME_OCSP_ESTALE);
    FUZZ_CHECK(rv == APR_SUCCESS || (why != NULL && why[0] != '\0'));
    FUZZ_CHECK((rv == APR_SUCCESS) == (*pans != NULL));
    return rv;
}

static int same_answer(const acme_ocsp_answer_t *a, const acme_ocsp_answer_t *b)
{
    return a->status == b->status && a->this_update == b->this_update
        && a->next_update == b->next_update && a->revoked_at == b->revoked_at
        && a->der_len == b->der_len && memcmp(a->der, b->der, a->der_len) == 0;
}

static void check_timing(const acme_ocsp_answer_t *a)
{
    static const acme_config_window_t windows[] = {
        { 1, 33, 0 }, { 1, 0, 0 }, { 1, 99, 0 },
        { 0, 0, apr_time_from_sec(86400) }, { 0, 0, apr_time_from_sec(400LL * 86400) }
    };
    const apr_interval_time_t max_age = apr_time_from_sec(3600);
    apr_time_t when[] = { NOW, a->this_update, a->next_update, a->next_update + ACME_OCSP_SKEW,
                          NOW + apr_time_from_sec(30LL * 86400) };
    size_t i;

    for (i = 0; i < sizeof(when) / sizeof(when[0]); ++i) {
        int expect = a->next_update ? when[i] < a->next_update + ACME_OCSP_SKEW
                                    : when[i] - a->this_update < max_age;
        FUZZ_CHECK(acme_ocsp_answer_is_current(a, when[i], max_age) == expect);
    }
    for (i = 0; i < sizeof(windows) / sizeof(windows[0]); ++i) {
        apr_time_t at = acme_ocsp_refresh_at(a, &windows[i]);
        if (a->next_update) {
            FUZZ_CHECK(at >= a->this_update && at <= a->next_update);
        }
        else {
            FUZZ_CHECK(at == a->this_update + ACME_OCSP_NO_NEXT_REFRESH);
        }
    }
}

static void check_stored(apr_pool_t *p, const acme_ocsp_answer_t *a, X509 *cert, X509 *issuer)
{
    acme_store_t *store = fuzz_memstore_create(p);
    acme_ocsp_answer_t *back = NULL;

    FUZZ_CHECK(acme_ocsp_store_save(store, p, "example.org", cert, a) == APR_SUCCESS);
    FUZZ_CHECK(acme_ocsp_store_load(&back, p, store, "example.org", cert, issuer, NOW, KEEP)
               == APR_SUCCESS);
    FUZZ_CHECK(same_answer(a, back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fixtures_t *f = fixtures();
    apr_pool_t *p = fuzz_pool_create();
    acme_ocsp_answer_t *a, *again;
    apr_status_t rv;

    rv = check(&a, p, data, size, f->leaf, f->ca);
    FUZZ_CHECK(check(&again, p, data, size, f->leaf, f->ca) == rv);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(same_answer(a, again));
        FUZZ_CHECK(a->status == ACME_OCSP_GOOD || a->status == ACME_OCSP_REVOKED
                   || a->status == ACME_OCSP_UNKNOWN);
        FUZZ_CHECK((a->status == ACME_OCSP_REVOKED) == (a->revoked_at != 0));
        FUZZ_CHECK(a->this_update <= NOW + ACME_OCSP_SKEW);
        FUZZ_CHECK(a->next_update == 0 || a->next_update >= a->this_update);
        FUZZ_CHECK(a->der_len == size && memcmp(a->der, data, size) == 0);
        FUZZ_CHECK(a->der != (const unsigned char *)data);
        FUZZ_CHECK(strcmp(acme_ocsp_status_name(a->status), "") != 0);
        FUZZ_CHECK(check(&again, p, data, size, f->leaf2, f->ca) != APR_SUCCESS);
        FUZZ_CHECK(check(&again, p, data, size, f->leaf, f->other_ca) != APR_SUCCESS);
        check_timing(a);
        check_stored(p, a, f->leaf, f->ca);
    }
    /* the sibling and the impostor on their own: no crash, documented codes */
    check(&again, p, data, size, f->leaf2, f->ca);
    check(&again, p, data, size, f->leaf, f->other_ca);
    apr_pool_destroy(p);
    return 0;
}
