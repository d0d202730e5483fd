/* The check_x509 program: suite assembly and shared fixtures. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/pem.h>

#include "acme_log.h"
#include "check_main.h"
#include "test_x509.h"

static char last_log[1024];

const char *x509_test_read(apr_size_t *plen, const char *file)
{
    const char *path = apr_pstrcat(test_pool, ACME_TEST_DATA, "/x509/", file, NULL);
    apr_file_t *fd;
    apr_finfo_t info;
    apr_size_t len;
    char *buf;

    ck_assert_int_eq(apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                                   APR_OS_DEFAULT, test_pool), APR_SUCCESS);
    ck_assert_int_eq(apr_file_info_get(&info, APR_FINFO_SIZE, fd), APR_SUCCESS);
    len = (apr_size_t)info.size;
    buf = apr_palloc(test_pool, len + 1);
    ck_assert_int_eq(apr_file_read_full(fd, buf, len, NULL), APR_SUCCESS);
    apr_file_close(fd);
    buf[len] = '\0';
    if (plen) {
        *plen = len;
    }
    return buf;
}

static apr_status_t x509_free_cb(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static apr_status_t pkey_free_cb(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

X509 *x509_test_load_cert(const char *file)
{
    apr_size_t len;
    const char *pem = x509_test_read(&len, file);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    BIO_free(bio);
    ck_assert_ptr_nonnull(cert);
    apr_pool_cleanup_register(test_pool, cert, x509_free_cb, apr_pool_cleanup_null);
    return cert;
}

EVP_PKEY *x509_test_leaf_key(void)
{
    apr_size_t len;
    const char *pem = x509_test_read(&len, "leaf.key");
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

    BIO_free(bio);
    ck_assert_ptr_nonnull(pkey);
    apr_pool_cleanup_register(test_pool, pkey, pkey_free_cb, apr_pool_cleanup_null);
    return pkey;
}

EVP_PKEY *x509_test_key(const char *type)
{
    static EVP_PKEY *rsa; /* one per process: RSA generation takes long under valgrind */
    EVP_PKEY *pkey;

    if (strcmp(type, "EC") == 0) {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    }
    else if (strcmp(type, "RSA") == 0) {
        if (rsa == NULL) {
            rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
            ck_assert_ptr_nonnull(rsa);
        }
        pkey = EVP_PKEY_up_ref(rsa) == 1 ? rsa : NULL;
    }
    else {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, type);
    }
    ck_assert_ptr_nonnull(pkey);
    apr_pool_cleanup_register(test_pool, pkey, pkey_free_cb, apr_pool_cleanup_null);
    return pkey;
}

apr_array_header_t *x509_test_names(const char *first, ...)
{
    apr_array_header_t *names = apr_array_make(test_pool, 4, sizeof(const char *));
    const char *name;
    va_list ap;

    va_start(ap, first);
    for (name = first; name != NULL; name = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(names, const char *) = name;
    }
    va_end(ap);
    return names;
}

static void capture_cb(void *baton, acme_log_level_e level, apr_status_t rv,
                       const char *msg)
{
    snprintf(last_log, sizeof(last_log), "%s", msg);
}

void x509_test_capture_log(void)
{
    last_log[0] = '\0';
    acme_log_set(capture_cb, NULL, ACME_LOG_TRACE);
}

const char *x509_test_last_log(void)
{
    return last_log;
}

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("x509");
    TCase *tcs[] = {
        test_x509_san_tcase(), test_x509_csr_tcase(), test_x509_cert_tcase(),
        test_x509_chain_tcase(), test_x509_gen_tcase(), test_x509_presented_tcase()
    };
    size_t i;

    for (i = 0; i < sizeof(tcs) / sizeof(tcs[0]); ++i) {
        tcase_add_checked_fixture(tcs[i], test_pool_setup, test_pool_teardown);
        suite_add_tcase(s, tcs[i]);
    }
    return s;
}
