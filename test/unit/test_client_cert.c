/* Certificate download with alternate chains, and revocation. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/x509.h>

#include "acme_b64.h"
#include "acme_chain.h"
#include "acme_order.h"
#include "acme_revoke.h"
#include "check_main.h"
#include "test_client.h"

#define ALT1_URL CERT_URL "/alt/1"
#define ALT2_URL CERT_URL "/alt/2"

static acme_http_script_step_t *chain_step(client_fixture_t *fx, const char *url,
                                           const char *file)
{
    acme_http_script_step_t *step;
    apr_size_t len;
    const char *pem = client_test_read(&len, file);

    step = client_test_post(fx, url, 200, NULL);
    acme_http_script_step_header(step, "Content-Type", ACME_MEDIA_PEM_CHAIN);
    acme_http_script_step_body(step, pem, len);
    return step;
}

static acme_cert_chain_t *load_chain(const char *file)
{
    acme_cert_chain_t *chain;
    apr_size_t len;
    const char *pem = client_test_read(&len, file);

    ck_assert_int_eq(acme_chain_from_pem(&chain, test_pool, pem, len), APR_SUCCESS);
    return chain;
}

static int same_chain(const acme_cert_chain_t *a, const acme_cert_chain_t *b)
{
    int i;

    if (acme_chain_count(a) != acme_chain_count(b)) {
        return 0;
    }
    for (i = 0; i < acme_chain_count(a); ++i) {
        if (X509_cmp(acme_chain_get(a, i), acme_chain_get(b, i)) != 0) {
            return 0;
        }
    }
    return 1;
}

START_TEST(chain_matches_by_issuer_cn)
{
    ck_assert(acme_order_chain_matches(load_chain("chain-a.pem"), "Test Root A"));
    ck_assert(acme_order_chain_matches(load_chain("chain-a.pem"), "Test Issuing CA"));
    ck_assert(!acme_order_chain_matches(load_chain("chain-a.pem"), "Test Root B"));
    ck_assert(!acme_order_chain_matches(load_chain("chain-a.pem"), "a.test"));  /* the leaf */
    ck_assert(!acme_order_chain_matches(load_chain("chain-a.pem"), "Test Root"));
    ck_assert(acme_order_chain_matches(load_chain("chain-b-full.pem"), "Test Root B"));
}
END_TEST

START_TEST(download_default_chain_without_preference)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_cert_chain_t *chain;

    acme_http_script_step_header(chain_step(fx, CERT_URL, "chain-a.pem"), "Link",
                                 "<" ALT1_URL ">;rel=\"alternate\"");
    ck_assert_int_eq(acme_order_download(&chain, test_pool, fx->client, CERT_URL, NULL, fx->r),
                     APR_SUCCESS);
    ck_assert(same_chain(chain, load_chain("chain-a.pem")));
    client_test_script_done(fx);  /* the alternate was not fetched */
}
END_TEST

START_TEST(download_selects_preferred_alternate_chain)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_http_script_step_t *step;
    acme_cert_chain_t *chain;

    step = chain_step(fx, CERT_URL, "chain-a.pem");
    acme_http_script_step_header(step, "Link", "<" DIR_URL ">;rel=\"index\"");
    acme_http_script_step_header(step, "Link", "<" ALT1_URL ">;rel=\"alternate\", "
                                 "<" ALT2_URL ">;rel=\"alternate\"");
    chain_step(fx, ALT1_URL, "chain-a.pem");
    chain_step(fx, ALT2_URL, "chain-b.pem");
    ck_assert_int_eq(acme_order_download(&chain, test_pool, fx->client, CERT_URL, "Test Root B",
                                         fx->r), APR_SUCCESS);
    ck_assert(same_chain(chain, load_chain("chain-b.pem")));
    client_test_script_done(fx);
}
END_TEST

START_TEST(download_falls_back_to_default_chain)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_cert_chain_t *chain;

    acme_http_script_step_header(chain_step(fx, CERT_URL, "chain-a.pem"), "Link",
                                 "<ftp://ca.test/x>;rel=\"alternate\", <" ALT1_URL ">;"
                                 "rel=alternate, <" ALT2_URL ">;rel=alternate");
    client_test_post(fx, ALT1_URL, 404, "{\"type\": \"urn:ietf:params:acme:error:"
                     "malformed\", \"detail\": \"gone\"}");
    chain_step(fx, ALT2_URL, "chain-bad.pem");
    ck_assert_int_eq(acme_order_download(&chain, test_pool, fx->client, CERT_URL, "Other Root",
                                         fx->r), APR_SUCCESS);
    ck_assert(same_chain(chain, load_chain("chain-a.pem")));
    ck_assert_int_eq(fx->r->status, APR_SUCCESS);
    client_test_script_done(fx);
}
END_TEST

START_TEST(download_rejects_bad_chains)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_cert_chain_t *chain = NULL;
    acme_http_script_step_t *step;

    chain_step(fx, CERT_URL, "chain-bad.pem");
    step = client_test_post(fx, CERT_URL, 200, "-----BEGIN CERTIFICATE-----\nAAAA\n");
    acme_http_script_step_header(step, "Content-Type", ACME_MEDIA_PEM_CHAIN);
    client_test_post(fx, CERT_URL, 200, "");
    ck_assert_int_eq(acme_order_download(&chain, test_pool, fx->client, CERT_URL, NULL, fx->r),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(fx->r->detail, "not issued by"));
    ck_assert_int_eq(acme_order_download(&chain, test_pool, fx->client, CERT_URL, NULL, fx->r),
                     APR_EINVAL);
    ck_assert_int_eq(acme_order_download(&chain, test_pool, fx->client, CERT_URL, NULL, fx->r),
                     APR_EINVAL);
    ck_assert_ptr_null(chain);
    client_test_script_done(fx);
}
END_TEST

static const char *cert_b64(X509 *cert)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    const char *b64 = acme_b64url_encode(test_pool, der, (apr_size_t)len);

    OPENSSL_free(der);
    return b64;
}

START_TEST(revoke_with_account_and_with_certificate_key)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    apr_size_t len;
    const char *pem = client_test_read(&len, "../x509/chain.pem");
    const char *key_pem = client_test_read(&len, "../x509/leaf.key");
    acme_cert_chain_t *chain;
    acme_pkey_t *cert_key;
    json_t *hdr, *payload;
    X509 *cert;

    ck_assert_int_eq(acme_chain_from_pem(&chain, test_pool, pem, strlen(pem)), APR_SUCCESS);
    cert = acme_chain_get(chain, 0);
    ck_assert_int_eq(acme_pkey_from_pem(&cert_key, test_pool, key_pem, len, NULL), APR_SUCCESS);
    client_test_post(fx, REVOKE_URL, 200, "");
    client_test_post(fx, REVOKE_URL, 200, "");
    client_test_post(fx, REVOKE_URL, 400, "{\"type\": \"urn:ietf:params:acme:error:"
                     "alreadyRevoked\", \"detail\": \"already revoked\"}");

    ck_assert_int_eq(acme_revoke_cert(fx->client, test_pool, cert, 1, NULL, fx->r),
                     APR_SUCCESS);
    hdr = client_test_jws_protected(fx, 2);
    payload = client_test_jws_payload(fx, 2);
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "kid")), ACCT_URL);
    ck_assert_str_eq(json_string_value(json_object_get(payload, "certificate")), cert_b64(cert));
    ck_assert_int_eq(json_integer_value(json_object_get(payload, "reason")), 1);

    ck_assert_int_eq(acme_revoke_cert(fx->client, test_pool, cert, ACME_REVOKE_NO_REASON,
                                      cert_key, fx->r), APR_SUCCESS);
    hdr = client_test_jws_protected(fx, 3);
    ck_assert_ptr_null(json_object_get(hdr, "kid"));
    ck_assert_ptr_nonnull(json_object_get(hdr, "jwk"));
    ck_assert_ptr_null(json_object_get(client_test_jws_payload(fx, 3), "reason"));

    ck_assert_int_eq(acme_revoke_cert(fx->client, test_pool, cert, 4, NULL, fx->r),
                     ACME_EPROBLEM);
    ck_assert(acme_result_is(fx->r, "alreadyRevoked"));
    /* refused before sending: a wrong key, a reason that does not exist */
    ck_assert_int_eq(acme_revoke_cert(fx->client, test_pool, cert, 0, fx->key, fx->r),
                     APR_EINVAL);
    ck_assert_int_eq(acme_revoke_cert(fx->client, test_pool, cert, 7, NULL, fx->r), APR_EINVAL);
    client_test_script_done(fx);
}
END_TEST

START_TEST(revocation_reasons)
{
    int reason = -5;

    ck_assert_int_eq(acme_revoke_reason_parse(&reason, "keyCompromise"), APR_SUCCESS);
    ck_assert_int_eq(reason, 1);
    ck_assert_int_eq(acme_revoke_reason_parse(&reason, "SUPERSEDED"), APR_SUCCESS);
    ck_assert_int_eq(reason, 4);
    ck_assert_int_eq(acme_revoke_reason_parse(&reason, "10"), APR_SUCCESS);
    ck_assert_int_eq(reason, 10);
    ck_assert_int_eq(acme_revoke_reason_parse(&reason, "7"), APR_EINVAL);
    ck_assert_int_eq(acme_revoke_reason_parse(&reason, "11"), APR_EINVAL);
    ck_assert_int_eq(acme_revoke_reason_parse(&reason, "-1"), APR_EINVAL);
    ck_assert_int_eq(acme_revoke_reason_parse(&reason, ""), APR_EINVAL);
    ck_assert_int_eq(acme_revoke_reason_parse(&reason, "1x"), APR_EINVAL);
    ck_assert_int_eq(acme_revoke_reason_parse(&reason, "stolen"), APR_EINVAL);
    ck_assert(acme_revoke_reason_is_valid(ACME_REVOKE_NO_REASON));
    ck_assert(!acme_revoke_reason_is_valid(-2));
}
END_TEST

TCase *test_client_cert_tcase(void)
{
    TCase *tc = tcase_create("cert");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, chain_matches_by_issuer_cn);
    tcase_add_test(tc, download_default_chain_without_preference);
    tcase_add_test(tc, download_selects_preferred_alternate_chain);
    tcase_add_test(tc, download_falls_back_to_default_chain);
    tcase_add_test(tc, download_rejects_bad_chains);
    tcase_add_test(tc, revoke_with_account_and_with_certificate_key);
    tcase_add_test(tc, revocation_reasons);
    return tc;
}
