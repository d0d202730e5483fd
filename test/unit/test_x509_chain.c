/* Certificate chains: strict PEM reading, limits, order, writing. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "acme_chain.h"
#include "check_main.h"
#include "test_x509.h"

static apr_status_t load(acme_cert_chain_t **pchain, const char *pem)
{
    return acme_chain_from_pem(pchain, test_pool, pem, strlen(pem));
}

static const char *fixture(const char *file)
{
    return x509_test_read(NULL, file);
}

START_TEST(chain_loads_leaf_first)
{
    acme_cert_chain_t *chain = NULL;
    int bad = -1;

    ck_assert_int_eq(load(&chain, fixture("chain-full.pem")), APR_SUCCESS);
    ck_assert_int_eq(acme_chain_count(chain), 3);
    ck_assert_int_eq(X509_cmp(acme_chain_get(chain, 0), x509_test_load_cert("leaf.pem")), 0);
    ck_assert_int_eq(X509_cmp(acme_chain_get(chain, 1),
                              x509_test_load_cert("intermediate.pem")), 0);
    ck_assert_int_eq(X509_cmp(acme_chain_get(chain, 2), x509_test_load_cert("root.pem")), 0);
    ck_assert_ptr_null(acme_chain_get(chain, 3));
    ck_assert_ptr_null(acme_chain_get(chain, -1));
    ck_assert_int_eq(acme_chain_check_order(&bad, chain), APR_SUCCESS);
    ck_assert_int_eq(bad, -1);

    ck_assert_int_eq(load(&chain, fixture("chain.pem")), APR_SUCCESS);
    ck_assert_int_eq(acme_chain_count(chain), 2);
    ck_assert_int_eq(acme_chain_check_order(&bad, chain), APR_SUCCESS);
}
END_TEST

START_TEST(chain_accepts_whitespace_and_crlf)
{
    const char *pem = fixture("chain.pem");
    acme_cert_chain_t *chain = NULL;
    char *crlf = apr_palloc(test_pool, 2 * strlen(pem) + 1), *out = crlf;
    const char *in;

    for (in = pem; *in; ++in) {
        if (*in == '\n') {
            *out++ = '\r';
        }
        *out++ = *in;
    }
    *out = '\0';
    ck_assert_int_eq(load(&chain, crlf), APR_SUCCESS);
    ck_assert_int_eq(acme_chain_count(chain), 2);
    ck_assert_int_eq(load(&chain, apr_pstrcat(test_pool, " \n\t", fixture("leaf.pem"), "\n\n",
                                              fixture("intermediate.pem"), "  \r\n", NULL)),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_chain_count(chain), 2);
    /* No newline at all after the last END line. */
    pem = fixture("leaf.pem");
    ck_assert_int_eq(acme_chain_from_pem(&chain, test_pool, pem, strlen(pem) - 1), APR_SUCCESS);
    ck_assert_int_eq(acme_chain_count(chain), 1);
}
END_TEST

/* A certificate PEM block whose base64 body is `der` (len bytes). */
static const char *pem_block(const unsigned char *der, int len, const char *headers)
{
    char *b64 = apr_palloc(test_pool, (apr_size_t)(4 * (len / 3 + 1) + 1));

    EVP_EncodeBlock((unsigned char *)b64, der, len);
    return apr_pstrcat(test_pool, "-----BEGIN CERTIFICATE-----\n", headers, b64,
                       "\n-----END CERTIFICATE-----\n", NULL);
}

START_TEST(chain_rejects_malformed_pem)
{
    const char *leaf = fixture("leaf.pem"), *chain_pem = fixture("chain.pem");
    apr_size_t der_len;
    const unsigned char *der = (const unsigned char *)x509_test_read(&der_len, "leaf.der");
    unsigned char *der_plus = apr_palloc(test_pool, der_len + 2);
    const char *bad[16];
    acme_cert_chain_t *chain = NULL;
    size_t i, n = 0;

    memcpy(der_plus, der, der_len);
    der_plus[der_len] = der_plus[der_len + 1] = 0;
    bad[n++] = "";
    bad[n++] = " \r\n\t\n";
    bad[n++] = "hello, I am not a certificate";
    bad[n++] = apr_pstrcat(test_pool, "subject=CN = www.example.org\n", leaf, NULL);
    bad[n++] = apr_pstrcat(test_pool, chain_pem, "junk\n", NULL);
    bad[n++] = apr_pstrcat(test_pool, leaf, fixture("leaf.key"), NULL);
    bad[n++] = fixture("leaf.key");
    /* Cut in the middle of the second certificate, and just before its END. */
    bad[n++] = apr_pstrndup(test_pool, chain_pem, strlen(leaf) + 300);
    bad[n++] = apr_pstrndup(test_pool, chain_pem, strlen(chain_pem) - 10);
    /* First certificate without its END line, a complete one after it. */
    bad[n++] = apr_pstrcat(test_pool, apr_pstrndup(test_pool, leaf, strlen(leaf) - 26), leaf,
                           NULL);
    /* Base64 that is not a certificate, DER with trailing bytes, headers. */
    bad[n++] = "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n";
    bad[n++] = pem_block(der_plus, (int)der_len + 2, "");
    bad[n++] = pem_block(der, (int)der_len, "Proc-Type: 4,ENCRYPTED\n\n");
    /* Junk glued to the END line. */
    bad[n++] = apr_pstrcat(test_pool, apr_pstrndup(test_pool, leaf, strlen(leaf) - 1),
                           leaf, NULL);
    bad[n++] = apr_pstrcat(test_pool, "-----BEGIN TRUSTED CERTIFICATE-----",
                           strchr(leaf, '\n'), NULL);
    ck_assert_uint_le(n, sizeof(bad) / sizeof(bad[0]));
    ck_assert_int_eq(load(&chain, pem_block(der, (int)der_len, "")), APR_SUCCESS);
    for (i = 0; i < n; ++i) {
        chain = NULL;
        ck_assert_msg(load(&chain, bad[i]) == APR_EINVAL, "case %d accepted", (int)i);
        ck_assert_ptr_null(chain);
    }
}
END_TEST

START_TEST(chain_rejects_embedded_nul)
{
    const char *leaf = fixture("leaf.pem");
    apr_size_t len = strlen(leaf);
    char *buf = apr_pmemdup(test_pool, leaf, len);
    acme_cert_chain_t *chain = NULL;

    buf[100] = '\0';
    ck_assert_int_eq(acme_chain_from_pem(&chain, test_pool, buf, len), APR_EINVAL);
    memcpy(buf, leaf, len);
    buf[len - 1] = '\0';
    ck_assert_int_eq(acme_chain_from_pem(&chain, test_pool, buf, len), APR_EINVAL);
}
END_TEST

START_TEST(chain_enforces_limits)
{
    const char *leaf = fixture("leaf.pem"), *pem = "";
    acme_cert_chain_t *chain = NULL;
    char *big;
    apr_size_t len;
    int i;

    for (i = 0; i < ACME_CHAIN_CERTS_MAX; ++i) {
        pem = apr_pstrcat(test_pool, pem, leaf, NULL);
    }
    ck_assert_int_eq(load(&chain, pem), APR_SUCCESS);
    ck_assert_int_eq(acme_chain_count(chain), ACME_CHAIN_CERTS_MAX);
    x509_test_capture_log();
    ck_assert_int_eq(load(&chain, apr_pstrcat(test_pool, pem, leaf, NULL)), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(x509_test_last_log(), "ACME0328"));

    /* Over the byte limit even though it is only whitespace after one cert. */
    len = ACME_CHAIN_PEM_MAX + 1;
    big = apr_palloc(test_pool, len);
    memset(big, '\n', len);
    memcpy(big, leaf, strlen(leaf));
    ck_assert_int_eq(acme_chain_from_pem(&chain, test_pool, big, len), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(x509_test_last_log(), "ACME0326"));
    ck_assert_int_eq(acme_chain_from_pem(&chain, test_pool, big, len - 1), APR_SUCCESS);
}
END_TEST

static apr_status_t order_of(int *pbad, const char *a, const char *b, const char *c)
{
    acme_cert_chain_t *chain = acme_chain_create(test_pool);

    acme_chain_add(chain, test_pool, x509_test_load_cert(a));
    acme_chain_add(chain, test_pool, x509_test_load_cert(b));
    if (c) {
        acme_chain_add(chain, test_pool, x509_test_load_cert(c));
    }
    return acme_chain_check_order(pbad, chain);
}

START_TEST(chain_order_detects_wrong_order)
{
    int bad = -1;

    ck_assert_int_eq(order_of(&bad, "leaf.pem", "intermediate.pem", "root.pem"), APR_SUCCESS);
    ck_assert_int_eq(order_of(&bad, "intermediate.pem", "leaf.pem", NULL), APR_EMISMATCH);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(order_of(&bad, "leaf.pem", "root.pem", NULL), APR_EMISMATCH);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(order_of(&bad, "leaf.pem", "intermediate.pem", "leaf.pem"),
                     APR_EMISMATCH);
    ck_assert_int_eq(bad, 1);
    ck_assert_int_eq(acme_chain_check_order(&bad, acme_chain_create(test_pool)), APR_EINVAL);
}
END_TEST

/* Same subject name as the intermediate, other key: names match, the
 * signature must not. */
static X509 *forged_intermediate(void)
{
    X509 *real = x509_test_load_cert("intermediate.pem");
    EVP_PKEY *pkey = x509_test_key("EC");
    X509 *x = X509_new();

    ck_assert_ptr_nonnull(x);
    ck_assert(X509_set_version(x, X509_VERSION_3));
    ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 7));
    ck_assert(X509_set_subject_name(x, X509_get_subject_name(real)));
    ck_assert(X509_set_issuer_name(x, X509_get_issuer_name(real)));
    ck_assert(X509_set1_notBefore(x, X509_get0_notBefore(real)));
    ck_assert(X509_set1_notAfter(x, X509_get0_notAfter(real)));
    ck_assert(X509_set_pubkey(x, pkey));
    ck_assert(X509_sign(x, pkey, EVP_sha256()) > 0);
    return x;
}

START_TEST(chain_order_verifies_signatures)
{
    acme_cert_chain_t *chain = acme_chain_create(test_pool);
    X509 *forged = forged_intermediate();
    int bad = -1;

    acme_chain_add(chain, test_pool, x509_test_load_cert("leaf.pem"));
    acme_chain_add(chain, test_pool, forged);
    X509_free(forged); /* the chain holds its own reference */
    ck_assert_int_eq(X509_check_issued(acme_chain_get(chain, 1), acme_chain_get(chain, 0)),
                     X509_V_OK);
    ck_assert_int_eq(acme_chain_check_order(&bad, chain), APR_EMISMATCH);
    ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(chain_to_pem_round_trips)
{
    acme_cert_chain_t *chain = NULL;
    const char *pem;

    ck_assert_int_eq(load(&chain, fixture("chain-full.pem")), APR_SUCCESS);
    ck_assert_int_eq(acme_chain_to_pem(&pem, test_pool, chain), APR_SUCCESS);
    ck_assert_str_eq(pem, fixture("chain-full.pem"));
}
END_TEST

TCase *test_x509_chain_tcase(void)
{
    TCase *tc = tcase_create("chain");
    tcase_add_test(tc, chain_loads_leaf_first);
    tcase_add_test(tc, chain_accepts_whitespace_and_crlf);
    tcase_add_test(tc, chain_rejects_malformed_pem);
    tcase_add_test(tc, chain_rejects_embedded_nul);
    tcase_add_test(tc, chain_enforces_limits);
    tcase_add_test(tc, chain_order_detects_wrong_order);
    tcase_add_test(tc, chain_order_verifies_signatures);
    tcase_add_test(tc, chain_to_pem_round_trips);
    return tc;
}
