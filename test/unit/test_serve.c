/* check_serve: fixture (store + test CA), helpers and the suite. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>
#include <openssl/x509v3.h>

#include "acme_cert.h"
#include "acme_layout.h"
#include "acme_store_fs.h"
#include "test_serve.h"

acme_store_t *serve_store;
const char *serve_store_dir;
static char tmp_root[64];
static acme_pkey_t *root_key, *inter_key;
static X509 *root_cert, *inter_cert;
static long serial_next = 1;

/* A certificate for `key` signed by `issuer_key` (self-signed when
 * `issuer` is NULL); CA certificates get basicConstraints CA:TRUE. */
static X509 *cert_make(acme_pkey_t *key, const char *cn, X509 *issuer, acme_pkey_t *issuer_key,
                       const char *names, apr_interval_time_t from, apr_interval_time_t until)
{
    X509 *x = X509_new();
    X509_NAME *subject = X509_NAME_new();
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    apr_time_t now = apr_time_now();

    ck_assert_ptr_nonnull(x);
    ck_assert(X509_set_version(x, 2));
    ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), serial_next++));
    ck_assert(X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                         (const unsigned char *)cn, -1, -1, 0));
    ck_assert(X509_set_subject_name(x, subject));
    ck_assert(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject));
    X509_NAME_free(subject);
    ck_assert(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)apr_time_sec(now + from)));
    ck_assert(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)apr_time_sec(now + until)));
    ck_assert(X509_set_pubkey(x, acme_pkey_get_evp(key)));
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    if (names) {
        char *copy = apr_pstrdup(test_pool, names), *last, *name;
        const char *san = NULL;
        for (name = apr_strtok(copy, ",", &last); name; name = apr_strtok(NULL, ",", &last)) {
            san = san ? apr_pstrcat(test_pool, san, ",DNS:", name, NULL)
                      : apr_pstrcat(test_pool, "DNS:", name, NULL);
        }
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    }
    else {
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    }
    ck_assert_ptr_nonnull(ext);
    ck_assert(X509_add_ext(x, ext, -1));
    X509_EXTENSION_free(ext);
    ck_assert(X509_sign(x, acme_pkey_get_evp(issuer_key), EVP_sha256()) > 0);
    acme_cert_pool_own(test_pool, x);
    return x;
}

acme_pkey_t *serve_key(const char *spec_word)
{
    acme_pkey_spec_t spec;
    acme_pkey_t *key;

    ck_assert_int_eq(acme_pkey_spec_parse(&spec, test_pool, spec_word, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &spec, NULL), APR_SUCCESS);
    return key;
}

void serve_setup(void)
{
    test_pool_setup();
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/acme-serve-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
    serve_store_dir = apr_pstrcat(test_pool, tmp_root, "/store", NULL);
    ck_assert_int_eq(acme_store_fs_open(&serve_store, test_pool, serve_store_dir), APR_SUCCESS);
    root_key = serve_key("P-256");
    inter_key = serve_key("P-256");
    root_cert = cert_make(root_key, "test root", NULL, root_key, NULL, -SERVE_DAY,
                          30 * SERVE_DAY);
    inter_cert = cert_make(inter_key, "test intermediate", root_cert, root_key, NULL,
                           -SERVE_DAY, 30 * SERVE_DAY);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void serve_teardown(void)
{
    test_pool_teardown();
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

X509 *serve_leaf(acme_pkey_t *key, const char *names, apr_interval_time_t from,
                 apr_interval_time_t until)
{
    return cert_make(key, "leaf", inter_cert, inter_key, names, from, until);
}

const char *serve_chain_pem(X509 *leaf, int issuers, int swap)
{
    const char *leaf_pem, *inter_pem, *root_pem;

    ck_assert_int_eq(acme_cert_to_pem(&leaf_pem, test_pool, leaf), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_to_pem(&inter_pem, test_pool, inter_cert), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_to_pem(&root_pem, test_pool, root_cert), APR_SUCCESS);
    if (issuers == 0) {
        return leaf_pem;
    }
    if (issuers == 1) {
        return apr_pstrcat(test_pool, leaf_pem, swap ? root_pem : inter_pem, NULL);
    }
    return swap ? apr_pstrcat(test_pool, leaf_pem, root_pem, inter_pem, NULL)
                : apr_pstrcat(test_pool, leaf_pem, inter_pem, root_pem, NULL);
}

const char *serve_key_pem(acme_pkey_t *key)
{
    const char *pem;

    ck_assert_int_eq(acme_pkey_to_pem(&pem, NULL, test_pool, key, NULL), APR_SUCCESS);
    return pem;
}

void serve_put_pair(acme_store_group_e group, const char *name, const char *spec,
                    const char *key_pem, const char *chain_pem)
{
    if (key_pem) {
        ck_assert_int_eq(acme_store_save(serve_store, test_pool, group, name,
                                         acme_layout_privkey(test_pool, spec), key_pem,
                                         strlen(key_pem), ACME_STORE_SECRET), APR_SUCCESS);
    }
    if (chain_pem) {
        ck_assert_int_eq(acme_store_save(serve_store, test_pool, group, name,
                                         acme_layout_pubcert(test_pool, spec), chain_pem,
                                         strlen(chain_pem), 0), APR_SUCCESS);
    }
}

apr_array_header_t *serve_specs(const char *first, ...)
{
    apr_array_header_t *a = apr_array_make(test_pool, 2, sizeof(acme_pkey_spec_t));
    const char *word;
    va_list ap;

    va_start(ap, first);
    for (word = first; word; word = va_arg(ap, const char *)) {
        acme_pkey_spec_t *spec = apr_array_push(a);
        ck_assert_int_eq(acme_pkey_spec_parse(spec, test_pool, word, NULL), APR_SUCCESS);
    }
    va_end(ap);
    return a;
}

apr_array_header_t *serve_names(const char *first, ...)
{
    apr_array_header_t *a = apr_array_make(test_pool, 2, sizeof(const char *));
    const char *word;
    va_list ap;

    va_start(ap, first);
    for (word = first; word; word = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(a, const char *) = word;
    }
    va_end(ap);
    return a;
}

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("serve");

    suite_add_tcase(s, test_serve_certset_tcase());
    suite_add_tcase(s, test_serve_path_tcase());
    return s;
}
