/* Unit tests of OCSP requests, response checks, refresh times and storage. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>
#include <openssl/ocsp.h>

#include "acme_http_script.h"
#include "acme_ocsp.h"
#include "acme_store_fs.h"
#include "check_main.h"
#include "test_ocsp.h"

#define URL "http://127.0.0.1:4/ocsp"
#define HOUR (apr_time_from_sec(3600))

static EVP_PKEY *ca_key, *leaf_key, *other_key;
static X509 *ca, *leaf;
static apr_time_t now;

static void setup(void)
{
    test_pool_setup();
    ca_key = ocsp_test_key();
    leaf_key = ocsp_test_key();
    other_key = ocsp_test_key();
    ca = ocsp_test_cert("Test CA", ca_key, NULL, NULL, 1, NULL, 0);
    leaf = ocsp_test_cert("a.example", leaf_key, ca, ca_key, 2, "OCSP;URI:" URL, 0);
    now = apr_time_from_sec(apr_time_sec(apr_time_now()));
}

static void teardown(void)
{
    test_pool_teardown();
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(other_key);
}

/* A response signed by the CA for the leaf, valid from an hour ago for a day. */
static ocsp_test_resp_t good_spec(void)
{
    ocsp_test_resp_t spec;

    memset(&spec, 0, sizeof(spec));
    spec.cert = leaf;
    spec.issuer = ca;
    spec.signer = ca;
    spec.signer_key = ca_key;
    spec.status = V_OCSP_CERTSTATUS_GOOD;
    spec.this_update = now - HOUR;
    spec.next_update = now + 23 * HOUR;
    return spec;
}

static apr_status_t check_spec(acme_ocsp_answer_t **pa, const ocsp_test_resp_t *spec,
                               const char **pwhy)
{
    apr_size_t len;
    const unsigned char *der = ocsp_test_response(&len, spec);

    return acme_ocsp_answer_check(pa, test_pool, der, len, leaf, ca, now, pwhy);
}

START_TEST(responder_url_from_aia)
{
    const char *url = NULL;

    ck_assert_int_eq(acme_ocsp_responder_url(&url, test_pool, leaf), APR_SUCCESS);
    ck_assert_str_eq(url, URL);
    ck_assert_int_eq(acme_ocsp_responder_url(&url, test_pool, ca), APR_ENOENT);
}
END_TEST

START_TEST(request_names_the_certificate)
{
    const unsigned char *der, *in;
    apr_size_t len;
    OCSP_REQUEST *req;
    OCSP_CERTID *want = OCSP_cert_to_id(EVP_sha1(), leaf, ca);

    ck_assert_int_eq(acme_ocsp_request_make(&der, &len, test_pool, leaf, ca), APR_SUCCESS);
    in = der;
    req = d2i_OCSP_REQUEST(NULL, &in, (long)len);
    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(OCSP_request_onereq_count(req), 1);
    ck_assert_int_eq(OCSP_id_cmp(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)), want),
                     0);
    OCSP_REQUEST_free(req);
    OCSP_CERTID_free(want);
}
END_TEST

START_TEST(good_response_is_decoded)
{
    ocsp_test_resp_t spec = good_spec();
    acme_ocsp_answer_t *a = NULL;

    ck_assert_int_eq(check_spec(&a, &spec, NULL), APR_SUCCESS);
    ck_assert_int_eq(a->status, ACME_OCSP_GOOD);
    ck_assert_str_eq(acme_ocsp_status_name(a->status), "good");
    ck_assert(a->this_update == spec.this_update);
    ck_assert(a->next_update == spec.next_update);
    ck_assert(a->der_len > 0);
    ck_assert(acme_ocsp_answer_is_current(a, now, HOUR));
}
END_TEST

START_TEST(revoked_and_unknown_are_reported)
{
    ocsp_test_resp_t spec = good_spec();
    acme_ocsp_answer_t *a = NULL;

    spec.status = V_OCSP_CERTSTATUS_REVOKED;
    ck_assert_int_eq(check_spec(&a, &spec, NULL), APR_SUCCESS);
    ck_assert_int_eq(a->status, ACME_OCSP_REVOKED);
    ck_assert(a->revoked_at == spec.this_update - apr_time_from_sec(86400));
    spec.status = V_OCSP_CERTSTATUS_UNKNOWN;
    ck_assert_int_eq(check_spec(&a, &spec, NULL), APR_SUCCESS);
    ck_assert_int_eq(a->status, ACME_OCSP_UNKNOWN);
}
END_TEST

START_TEST(foreign_signature_is_rejected)
{
    ocsp_test_resp_t spec = good_spec();
    acme_ocsp_answer_t *a = NULL;
    const char *why = NULL;
    /* a rogue CA of the same name: only the key tells it apart */
    X509 *rogue = ocsp_test_cert("Test CA", other_key, NULL, NULL, 1, NULL, 0);

    spec.signer = rogue;
    spec.signer_key = other_key;
    ck_assert_int_eq(check_spec(&a, &spec, &why), APR_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "not signed"));
}
END_TEST

START_TEST(delegated_responder_needs_the_eku)
{
    ocsp_test_resp_t spec = good_spec();
    acme_ocsp_answer_t *a = NULL;

    spec.signer = ocsp_test_cert("OCSP responder", other_key, ca, ca_key, 7, NULL, 1);
    spec.signer_key = other_key;
    ck_assert_int_eq(check_spec(&a, &spec, NULL), APR_SUCCESS);
    ck_assert_int_eq(a->status, ACME_OCSP_GOOD);
    spec.signer = ocsp_test_cert("Not a responder", other_key, ca, ca_key, 8, NULL, 0);
    ck_assert_int_eq(check_spec(&a, &spec, NULL), APR_EMISMATCH);
}
END_TEST

START_TEST(answer_for_another_certificate_is_rejected)
{
    ocsp_test_resp_t spec = good_spec();
    acme_ocsp_answer_t *a = NULL;
    const char *why = NULL;

    spec.cert = ocsp_test_cert("b.example", other_key, ca, ca_key, 3, NULL, 0);
    ck_assert_int_eq(check_spec(&a, &spec, &why), APR_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "no answer for this certificate"));
}
END_TEST

START_TEST(insane_times_are_stale)
{
    ocsp_test_resp_t spec = good_spec();
    acme_ocsp_answer_t *a = NULL;

    spec.this_update = now + 2 * HOUR;
    spec.next_update = now + 30 * HOUR;
    ck_assert_int_eq(check_spec(&a, &spec, NULL), ACME_OCSP_ESTALE);
    spec.this_update = now - HOUR;
    spec.next_update = now - 2 * HOUR;
    ck_assert_int_eq(check_spec(&a, &spec, NULL), ACME_OCSP_ESTALE);
    /* expired but sane: decoded, and not current */
    spec.this_update = now - 48 * HOUR;
    spec.next_update = now - 24 * HOUR;
    ck_assert_int_eq(check_spec(&a, &spec, NULL), APR_SUCCESS);
    ck_assert(!acme_ocsp_answer_is_current(a, now, HOUR));
}
END_TEST

START_TEST(error_status_and_garbage_are_rejected)
{
    acme_ocsp_answer_t *a = NULL;
    const char *why = NULL;
    apr_size_t len;
    const unsigned char *der = ocsp_test_error_response(&len, OCSP_RESPONSE_STATUS_TRYLATER);
    ocsp_test_resp_t spec = good_spec();
    const unsigned char *good;
    unsigned char *longer;
    apr_size_t good_len;

    ck_assert_int_eq(acme_ocsp_answer_check(&a, test_pool, der, len, leaf, ca, now, &why),
                     ACME_OCSP_ESTATUS);
    ck_assert_ptr_nonnull(strstr(why, "trylater"));
    ck_assert_int_eq(acme_ocsp_answer_check(&a, test_pool, (const unsigned char *)"junk", 4,
                                            leaf, ca, now, NULL), APR_EINVAL);
    good = ocsp_test_response(&good_len, &spec);
    longer = apr_palloc(test_pool, good_len + 1);
    memcpy(longer, good, good_len);
    longer[good_len] = 0;
    ck_assert_int_eq(acme_ocsp_answer_check(&a, test_pool, longer, good_len + 1, leaf, ca, now,
                                            NULL), APR_EINVAL);
}
END_TEST

static const char *check_request(void *baton, const acme_http_request_t *req, apr_pool_t *p)
{
    (void)baton;
    if (!req->content_type || strcmp(req->content_type, "application/ocsp-request")) {
        return "wrong content type";
    }
    return req->body_len > 0 ? NULL : apr_pstrdup(p, "empty body");
}

START_TEST(fetch_posts_and_checks)
{
    acme_http_transport_t *t;
    acme_http_script_t *s = acme_http_script_create(&t, test_pool);
    acme_http_script_step_t *step;
    ocsp_test_resp_t spec = good_spec();
    acme_ocsp_answer_t *a = NULL;
    const unsigned char *der;
    const char *why = NULL;
    apr_size_t len;

    der = ocsp_test_response(&len, &spec);
    step = acme_http_script_add(s, ACME_HTTP_POST, URL, 200, "application/ocsp-response", NULL);
    acme_http_script_step_body(step, (const char *)der, len);
    acme_http_script_step_check(step, check_request, NULL);
    acme_http_script_add(s, ACME_HTTP_POST, URL, 500, "text/plain", "oops");
    acme_http_script_add_error(s, ACME_HTTP_POST, URL, ACME_HTTP_ECONNECT, "refused");
    spec.this_update = now - 48 * HOUR;
    spec.next_update = now - 24 * HOUR;
    der = ocsp_test_response(&len, &spec);
    step = acme_http_script_add(s, ACME_HTTP_POST, URL, 200, "application/ocsp-response", NULL);
    acme_http_script_step_body(step, (const char *)der, len);

    ck_assert_int_eq(acme_ocsp_fetch(&a, test_pool, t, URL, leaf, ca, now, &why), APR_SUCCESS);
    ck_assert_int_eq(a->status, ACME_OCSP_GOOD);
    ck_assert_int_eq(acme_ocsp_fetch(&a, test_pool, t, URL, leaf, ca, now, &why),
                     ACME_OCSP_ESTATUS);
    ck_assert_ptr_nonnull(strstr(why, "HTTP 500"));
    ck_assert_int_eq(acme_ocsp_fetch(&a, test_pool, t, URL, leaf, ca, now, &why),
                     ACME_HTTP_ECONNECT);
    ck_assert_ptr_nonnull(strstr(why, "not reached"));
    ck_assert_int_eq(acme_ocsp_fetch(&a, test_pool, t, URL, leaf, ca, now, &why),
                     ACME_OCSP_ESTALE);
    ck_assert_ptr_null(acme_http_script_error(s));
    ck_assert_int_eq(acme_http_script_pending(s), 0);
}
END_TEST

START_TEST(refresh_time_follows_the_window)
{
    acme_ocsp_answer_t a;
    acme_config_window_t w = { 1, 25, 0 };

    memset(&a, 0, sizeof(a));
    a.this_update = now;
    a.next_update = now + 100 * HOUR;
    ck_assert(acme_ocsp_refresh_at(&a, &w) == now + 75 * HOUR);
    w.is_percent = 0;
    w.duration = 10 * HOUR;
    ck_assert(acme_ocsp_refresh_at(&a, &w) == now + 90 * HOUR);
    w.duration = 200 * HOUR;  /* longer than the validity: 33% */
    ck_assert(acme_ocsp_refresh_at(&a, &w) == now + 67 * HOUR);
    a.next_update = 0;
    ck_assert(acme_ocsp_refresh_at(&a, &w) == now + ACME_OCSP_NO_NEXT_REFRESH);
}
END_TEST

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

START_TEST(store_keeps_and_drops)
{
    char root[] = "/tmp/acme-ocsp-test-XXXXXX";
    ocsp_test_resp_t spec = good_spec();
    acme_ocsp_answer_t *a = NULL, *b = NULL;
    acme_store_t *store;
    const char *aspect, *path;
    struct stat st;

    ck_assert_ptr_nonnull(mkdtemp(root));
    ck_assert_int_eq(acme_store_fs_open(&store, test_pool, root), APR_SUCCESS);
    ck_assert_int_eq(acme_ocsp_store_load(&b, test_pool, store, "a.example", leaf, ca, now,
                                          HOUR), APR_ENOENT);
    ck_assert_int_eq(check_spec(&a, &spec, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_ocsp_store_save(store, test_pool, "a.example", leaf, a), APR_SUCCESS);
    ck_assert_int_eq(acme_ocsp_aspect(&aspect, test_pool, leaf), APR_SUCCESS);
    ck_assert_str_eq(aspect, "ocsp.P-256.der");
    path = apr_pstrcat(test_pool, root, "/ocsp/a.example/", aspect, NULL);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0022, 0);
    ck_assert_int_eq(acme_ocsp_store_load(&b, test_pool, store, "a.example", leaf, ca, now,
                                          2 * HOUR), APR_SUCCESS);
    ck_assert_int_eq(b->der_len, a->der_len);
    ck_assert_int_eq(memcmp(b->der, a->der, a->der_len), 0);
    /* older than the keep time: dropped from the store */
    ck_assert_int_eq(acme_ocsp_store_load(&b, test_pool, store, "a.example", leaf, ca, now,
                                          HOUR / 2), APR_ENOENT);
    ck_assert_int_ne(stat(path, &st), 0);
    /* the response of a predecessor (same key type) is dropped when loaded */
    ck_assert_int_eq(acme_ocsp_store_save(store, test_pool, "a.example", leaf, a), APR_SUCCESS);
    ck_assert_int_eq(acme_ocsp_store_load(&b, test_pool, store, "a.example",
                                          ocsp_test_cert("a.example", other_key, ca, ca_key, 9,
                                                         NULL, 0), ca, now, 2 * HOUR),
                     APR_ENOENT);
    ck_assert_int_ne(stat(path, &st), 0);
    /* a stored file that does not check out is dropped too */
    ck_assert_int_eq(acme_store_save(store, test_pool, ACME_STORE_OCSP, "a.example", aspect,
                                     "junk", 4, 0), APR_SUCCESS);
    ck_assert_int_eq(acme_ocsp_store_load(&b, test_pool, store, "a.example", leaf, ca, now,
                                          HOUR), APR_ENOENT);
    ck_assert_int_ne(stat(path, &st), 0);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("ocsp");
    TCase *tc = tcase_create("ocsp");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, responder_url_from_aia);
    tcase_add_test(tc, request_names_the_certificate);
    tcase_add_test(tc, good_response_is_decoded);
    tcase_add_test(tc, revoked_and_unknown_are_reported);
    tcase_add_test(tc, foreign_signature_is_rejected);
    tcase_add_test(tc, delegated_responder_needs_the_eku);
    tcase_add_test(tc, answer_for_another_certificate_is_rejected);
    tcase_add_test(tc, insane_times_are_stale);
    tcase_add_test(tc, error_status_and_garbage_are_rejected);
    tcase_add_test(tc, fetch_posts_and_checks);
    tcase_add_test(tc, refresh_time_follows_the_window);
    tcase_add_test(tc, store_keeps_and_drops);
    suite_add_tcase(s, tc);
    return s;
}
