/* Shared helpers of the check_x509 program (CSR, certificates, chains,
 * generated certificates). Everything is allocated from test_pool. */
#ifndef TEST_X509_H
#define TEST_X509_H

#include <apr_tables.h>
#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

TCase *test_x509_san_tcase(void);
TCase *test_x509_csr_tcase(void);
TCase *test_x509_cert_tcase(void);
TCase *test_x509_chain_tcase(void);
TCase *test_x509_gen_tcase(void);
TCase *test_x509_presented_tcase(void);

/* Contents of test/unit/data/x509/<file>, NUL-terminated; *plen may be NULL. */
const char *x509_test_read(apr_size_t *plen, const char *file);

/* A certificate fixture (PEM), freed with the pool. */
X509 *x509_test_load_cert(const char *file);

/* The test-only private key of leaf.pem. */
EVP_PKEY *x509_test_leaf_key(void);

/* A key of `type` ("EC" means P-256, "RSA" 2048 bits, "ED25519"), released
 * with the pool. EC and Ed25519 keys are fresh; the RSA key is made once per
 * process (shared, read-only): its generation takes long under valgrind. */
EVP_PKEY *x509_test_key(const char *type);

/* An array of const char * from a NULL-terminated argument list. */
apr_array_header_t *x509_test_names(const char *first, ...);

/* Captures log lines from here on; x509_test_last_log() is the latest one
 * ("" when none). */
void x509_test_capture_log(void);
const char *x509_test_last_log(void);

#endif /* TEST_X509_H */
