/* Helpers of the check_ocsp program; everything lives in test_pool. */
#ifndef TEST_OCSP_H
#define TEST_OCSP_H

#include <apr_time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* A fresh P-256 key (the caller frees it). */
EVP_PKEY *ocsp_test_key(void);

/* A certificate for `cn` with `key`, signed by issuer/issuer_key (both NULL:
 * a self-signed CA). `aia` e.g. "OCSP;URI:http://ocsp.test/" or NULL;
 * ocsp_signer adds the OCSP signing EKU (a delegated responder). */
X509 *ocsp_test_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                     long serial, const char *aia, int ocsp_signer);

typedef struct {
    X509 *cert, *issuer;        /* whose status, and its CA (for the CertID) */
    X509 *signer;               /* who signs: the issuer or a delegate (then included) */
    EVP_PKEY *signer_key;
    int status;                 /* V_OCSP_CERTSTATUS_* */
    apr_time_t this_update, next_update;    /* next_update 0: none */
} ocsp_test_resp_t;

/* A successful DER OCSPResponse as `spec` says. */
const unsigned char *ocsp_test_response(apr_size_t *plen, const ocsp_test_resp_t *spec);

/* An error OCSPResponse (OCSP_RESPONSE_STATUS_TRYLATER, ...). */
const unsigned char *ocsp_test_error_response(apr_size_t *plen, int status);

#endif /* TEST_OCSP_H */
