/* ARI (RFC 9773): the certificate id (the RFC's own example), the
 * renewalInfo answer (good, bad JSON, end before start, missing members,
 * bad explanationURL, Retry-After bounds), the fetch through a scripted CA,
 * the persisted state, and the watchdog's timing (first checks spread after
 * a start, the wait after a failure, the renewal time a state gives). */
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "acme_ari.h"
#include "acme_http_script.h"
#include "check_main.h"

#define SEC(n) apr_time_from_sec(n)
/* 2026-01-01T00:00:00Z */
#define NOW SEC(1767225600LL)
#define CA "https://ca.test"

/* RFC 9773 4.1: keyIdentifier 69:88:5B:6B:..., serial 0x87654321. */
static const unsigned char rfc_kid[] = {
    0x69, 0x88, 0x5b, 0x6b, 0x87, 0x46, 0x40, 0x41, 0xe1, 0xb3,
    0x7b, 0x84, 0x7b, 0xa0, 0xae, 0x2c, 0xde, 0x01, 0xc8, 0xd4
};
#define RFC_CERT_ID "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"

static void x509_free_cb(void *data)
{
    X509_free(data);
}

static apr_status_t x509_cleanup(void *data)
{
    x509_free_cb(data);
    return APR_SUCCESS;
}

/* A signed certificate (re-read from DER, as from a store) with `serial`
 * and, when kid is not NULL, an AKI keyIdentifier. */
static X509 *make_cert(apr_pool_t *p, uint64_t serial, const unsigned char *kid,
                       int kid_len)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new(), *out;
    ASN1_INTEGER *sn = ASN1_INTEGER_new();
    unsigned char *der = NULL;
    const unsigned char *c;
    int len;

    ck_assert_ptr_nonnull(key);
    ck_assert_int_eq(ASN1_INTEGER_set_uint64(sn, serial), 1);
    X509_set_serialNumber(x, sn);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    if (kid) {
        AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
        akid->keyid = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(akid->keyid, kid, kid_len);
        ck_assert_int_eq(X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0), 1);
        AUTHORITY_KEYID_free(akid);
    }
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    len = i2d_X509(x, &der);
    c = der;
    out = d2i_X509(NULL, &c, len);
    ck_assert_ptr_nonnull(out);
    OPENSSL_free(der);
    ASN1_INTEGER_free(sn);
    X509_free(x);
    EVP_PKEY_free(key);
    apr_pool_cleanup_register(p, out, x509_cleanup, apr_pool_cleanup_null);
    return out;
}

START_TEST(cert_id_rfc_example)
{
    const char *id = NULL;
    X509 *x = make_cert(test_pool, 0x87654321u, rfc_kid, sizeof(rfc_kid));

    ck_assert_int_eq(acme_ari_cert_id(&id, test_pool, x), APR_SUCCESS);
    ck_assert_str_eq(id, RFC_CERT_ID);
    ck_assert(acme_ari_cert_id_is_valid(id));
}
END_TEST

/* A serial without the high bit set needs no leading zero. */
START_TEST(cert_id_small_serial)
{
    const char *id = NULL;
    X509 *x = make_cert(test_pool, 0x01u, rfc_kid, sizeof(rfc_kid));

    ck_assert_int_eq(acme_ari_cert_id(&id, test_pool, x), APR_SUCCESS);
    ck_assert_str_eq(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQ");
}
END_TEST

START_TEST(cert_id_without_aki)
{
    const char *id = "untouched";
    X509 *x = make_cert(test_pool, 0x1234u, NULL, 0);

    ck_assert_int_eq(acme_ari_cert_id(&id, test_pool, x), APR_ENOENT);
    ck_assert_str_eq(id, "untouched");
}
END_TEST

START_TEST(cert_id_syntax)
{
    char longid[ACME_ARI_MAX_CERT_ID + 8];

    ck_assert(acme_ari_cert_id_is_valid("a.b"));
    ck_assert(!acme_ari_cert_id_is_valid(NULL));
    ck_assert(!acme_ari_cert_id_is_valid("nodot"));
    ck_assert(!acme_ari_cert_id_is_valid(".b"));
    ck_assert(!acme_ari_cert_id_is_valid("a."));
    ck_assert(!acme_ari_cert_id_is_valid("a.b.c"));
    ck_assert(!acme_ari_cert_id_is_valid("a/b.c"));
    ck_assert(!acme_ari_cert_id_is_valid("a=.b"));
    memset(longid, 'A', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    longid[4] = '.';
    ck_assert(!acme_ari_cert_id_is_valid(longid));
}
END_TEST

static apr_status_t parse(acme_ari_info_t **pinfo, const char *body, const char *retry_after,
                          acme_result_t **pr)
{
    *pr = acme_result_create(test_pool);
    return acme_ari_parse(pinfo, test_pool, body, strlen(body), retry_after, NOW, 0, *pr);
}

#define GOOD_WINDOW "\"suggestedWindow\":{\"start\":\"2026-01-02T00:00:00Z\"," \
                    "\"end\":\"2026-01-03T00:00:00Z\"}"

START_TEST(parse_good)
{
    acme_ari_info_t *info = NULL;
    acme_result_t *r;

    ck_assert_int_eq(parse(&info, "{" GOOD_WINDOW ",\"explanationURL\":"
                           "\"https://ca.test/why\",\"other\":1}", "3600", &r), APR_SUCCESS);
    ck_assert(info->start == NOW + SEC(86400));
    ck_assert(info->end == NOW + SEC(2 * 86400));
    ck_assert_str_eq(info->explanation, "https://ca.test/why");
    ck_assert(info->next_check == NOW + SEC(3600));
    ck_assert_int_eq(parse(&info, "{" GOOD_WINDOW "}", NULL, &r), APR_SUCCESS);
    ck_assert_ptr_null(info->explanation);
    ck_assert(info->next_check == NOW + ACME_ARI_WAIT_DEFAULT);
}
END_TEST

/* Each of these leaves *pinfo alone and says what was wrong. */
START_TEST(parse_bad)
{
    static const char *const bodies[] = {
        "{\"suggestedWindow\":{\"start\":\"2026-01-02T00:00:00Z\",",        /* bad JSON */
        "[1,2]",                                                             /* no object */
        "{}",                                                                /* no window */
        "{\"suggestedWindow\":{\"start\":\"2026-01-02T00:00:00Z\"}}",        /* no end */
        "{\"suggestedWindow\":{\"end\":\"2026-01-02T00:00:00Z\"}}",          /* no start */
        "{\"suggestedWindow\":\"tomorrow\"}",
        "{\"suggestedWindow\":{\"start\":\"soon\",\"end\":\"2026-01-02T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":5,\"end\":\"2026-01-02T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2026-01-03T00:00:00Z\","          /* end < start */
        "\"end\":\"2026-01-02T00:00:00Z\"}}",
        "{\"suggestedWindow\":{\"start\":\"2026-01-02T00:00:00Z\","          /* end == start */
        "\"end\":\"2026-01-02T00:00:00Z\"}}",
        "{" GOOD_WINDOW ",\"explanationURL\":\"javascript:alert(1)\"}",
        "{" GOOD_WINDOW ",\"explanationURL\":\"https://ca.test/a b\"}",
        "{" GOOD_WINDOW ",\"explanationURL\":7}",
    };
    acme_ari_info_t *info = (acme_ari_info_t *)"x";
    acme_result_t *r;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); ++i) {
        ck_assert_msg(parse(&info, bodies[i], NULL, &r) == APR_EINVAL, "body %zu", i);
        ck_assert_ptr_eq(info, (acme_ari_info_t *)"x");
        ck_assert_ptr_nonnull(r->detail);
        ck_assert_msg(strstr(r->detail, "renewalInfo") != NULL, "%s", r->detail);
    }
    parse(&info, bodies[8], NULL, &r);
    ck_assert_ptr_nonnull(strstr(r->detail, "ends before it starts"));
}
END_TEST

/* Retry-After is followed within [min_wait, ACME_ARI_WAIT_MAX]. */
START_TEST(parse_retry_after_bounds)
{
    acme_ari_info_t *info = NULL;
    acme_result_t *r = acme_result_create(test_pool);
    const char *body = "{" GOOD_WINDOW "}";

    ck_assert_int_eq(acme_ari_parse(&info, test_pool, body, strlen(body), "1", NOW,
                                    ACME_ARI_WAIT_MIN, r), APR_SUCCESS);
    ck_assert(info->next_check == NOW + ACME_ARI_WAIT_MIN);
    ck_assert_int_eq(acme_ari_parse(&info, test_pool, body, strlen(body), "1", NOW, 0, r),
                     APR_SUCCESS);
    ck_assert(info->next_check == NOW + SEC(1));
    ck_assert_int_eq(acme_ari_parse(&info, test_pool, body, strlen(body), "99999999", NOW,
                                    0, r), APR_SUCCESS);
    ck_assert(info->next_check == NOW + ACME_ARI_WAIT_MAX);
    ck_assert_int_eq(acme_ari_parse(&info, test_pool, body, strlen(body), "garbage", NOW,
                                    0, r), APR_SUCCESS);
    ck_assert(info->next_check == NOW + ACME_ARI_WAIT_DEFAULT);
}
END_TEST

static acme_client_t *script_client(acme_http_script_t **ps, int with_ari)
{
    acme_http_transport_t *t;
    acme_client_t *c = NULL;
    acme_result_t *r = acme_result_create(test_pool);
    const char *dir = apr_psprintf(test_pool, "{\"newNonce\":\"" CA "/nonce\",\"newAccount\":"
                                   "\"" CA "/acct\",\"newOrder\":\"" CA "/order\"%s}",
                                   with_ari ? ",\"renewalInfo\":\"" CA "/ari/\"" : "");

    *ps = acme_http_script_create(&t, test_pool);
    acme_http_script_add(*ps, ACME_HTTP_GET, CA "/dir", 200, "application/json", dir);
    ck_assert_int_eq(acme_client_create(&c, test_pool, t, CA "/dir", r), APR_SUCCESS);
    return c;
}

START_TEST(fetch_window)
{
    acme_http_script_t *s;
    acme_client_t *c = script_client(&s, 1);
    acme_http_script_step_t *step;
    acme_ari_info_t *info = NULL;
    acme_result_t *r = acme_result_create(test_pool);

    step = acme_http_script_add(s, ACME_HTTP_GET, CA "/ari/" RFC_CERT_ID, 200,
                                "application/json", "{" GOOD_WINDOW "}");
    acme_http_script_step_header(step, "Retry-After", "120");
    ck_assert_int_eq(acme_ari_fetch(&info, test_pool, c, RFC_CERT_ID, NOW, 0, r),
                     APR_SUCCESS);
    ck_assert_ptr_null(acme_http_script_error(s));
    ck_assert(info->start == NOW + SEC(86400));
    ck_assert(info->next_check == NOW + SEC(120));
}
END_TEST

START_TEST(fetch_errors)
{
    acme_http_script_t *s;
    acme_client_t *c = script_client(&s, 0);
    acme_ari_info_t *info = NULL;
    acme_result_t *r = acme_result_create(test_pool);

    /* a CA without renewalInfo, a bad id: nothing is sent */
    ck_assert_int_eq(acme_ari_fetch(&info, test_pool, c, RFC_CERT_ID, NOW, 0, r),
                     APR_ENOTIMPL);
    ck_assert_int_eq(acme_ari_fetch(&info, test_pool, c, "../x", NOW, 0, r), APR_EINVAL);
    ck_assert_int_eq(acme_http_script_count(s), 1);

    c = script_client(&s, 1);
    acme_http_script_add(s, ACME_HTTP_GET, CA "/ari/" RFC_CERT_ID, 500,
                         "application/problem+json",
                         "{\"type\":\"urn:ietf:params:acme:error:serverInternal\"}");
    acme_http_script_add(s, ACME_HTTP_GET, CA "/ari/" RFC_CERT_ID, 200, "application/json",
                         "{\"suggestedWindow\":{}}");
    ck_assert_int_eq(acme_ari_fetch(&info, test_pool, c, RFC_CERT_ID, NOW, 0, r),
                     ACME_EPROBLEM);
    ck_assert_int_eq(acme_ari_fetch(&info, test_pool, c, RFC_CERT_ID, NOW, 0, r),
                     APR_EINVAL);
    ck_assert_ptr_null(info);
    ck_assert_ptr_null(acme_http_script_error(s));
}
END_TEST

START_TEST(state_roundtrip)
{
    acme_ari_state_t st = { 0 }, *back = NULL;
    const char *text, *err = NULL;
    apr_size_t len;

    st.cert_id = RFC_CERT_ID;
    st.not_before = NOW - SEC(86400);
    st.not_after = NOW + SEC(89 * 86400);
    st.random = UINT32_MAX;
    st.has_window = 1;
    st.start = NOW + SEC(10);
    st.end = NOW + SEC(20);
    st.explanation = "https://ca.test/why";
    st.fetched = NOW;
    st.next_check = NOW + SEC(3600);
    ck_assert_int_eq(acme_ari_state_dump(&text, &len, test_pool, &st), APR_SUCCESS);
    ck_assert_int_eq(acme_ari_state_parse(&back, test_pool, text, len, &err), APR_SUCCESS);
    ck_assert_str_eq(back->cert_id, RFC_CERT_ID);
    ck_assert_uint_eq(back->random, UINT32_MAX);
    ck_assert_int_eq(back->has_window, 1);
    ck_assert(back->start == st.start && back->end == st.end);
    ck_assert(back->fetched == NOW && back->next_check == st.next_check);
    ck_assert(back->not_before == st.not_before && back->not_after == st.not_after);
    ck_assert_str_eq(back->explanation, st.explanation);
    ck_assert_ptr_null(back->error);

    st.has_window = 0;
    st.error = "the CA said no";
    ck_assert_int_eq(acme_ari_state_dump(&text, &len, test_pool, &st), APR_SUCCESS);
    ck_assert_int_eq(acme_ari_state_parse(&back, test_pool, text, len, &err), APR_SUCCESS);
    ck_assert_int_eq(back->has_window, 0);
    ck_assert_str_eq(back->error, "the CA said no");
}
END_TEST

START_TEST(state_bad)
{
    static const char *const docs[] = {
        "{", "{}", "{\"cert-id\":\"nodot\",\"random\":1}",
        "{\"cert-id\":\"a.b\",\"random\":-1}",
        "{\"cert-id\":\"a.b\",\"random\":4294967296}",
        "{\"cert-id\":\"a.b\",\"random\":1,\"start\":\"2026-01-02T00:00:00Z\","
        "\"end\":\"2026-01-01T00:00:00Z\"}",
        "{\"cert-id\":\"a.b\",\"random\":1,\"next-check\":\"yesterday\"}",
        "{\"cert-id\":\"a.b\",\"random\":1,\"not-before\":\"2026-01-02T00:00:00Z\","
        "\"not-after\":\"2026-01-01T00:00:00Z\"}",
    };
    acme_ari_state_t *st = NULL;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); ++i) {
        err = NULL;
        ck_assert_msg(acme_ari_state_parse(&st, test_pool, docs[i], strlen(docs[i]), &err)
                      == APR_EINVAL, "doc %zu", i);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_null(st);
    }
}
END_TEST

START_TEST(min_wait_follows_short_intervals)
{
    ck_assert(acme_ari_min_wait(0) == ACME_ARI_WAIT_MIN);
    ck_assert(acme_ari_min_wait(-1) == ACME_ARI_WAIT_MIN);
    ck_assert(acme_ari_min_wait(SEC(5)) == SEC(5));
    ck_assert(acme_ari_min_wait(SEC(12 * 3600)) == ACME_ARI_WAIT_MIN);
}
END_TEST

/* In [now, now + min(n x 1 s, interval)), whatever the random value. */
START_TEST(first_check_bounds)
{
    static const uint32_t randoms[] = { 0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu };
    static const struct { int n; apr_interval_time_t interval, spread; } cases[] = {
        { 1, SEC(12 * 3600), SEC(1) },
        { 10, SEC(12 * 3600), SEC(10) },
        { 100, SEC(30), SEC(30) },              /* the interval bounds the spread */
        { 10000, SEC(12 * 3600), SEC(10000) },  /* more than 2^32 us */
        { 100000, SEC(12 * 3600), SEC(12 * 3600) },
    };
    size_t i, j;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        for (j = 0; j < sizeof(randoms) / sizeof(randoms[0]); ++j) {
            apr_time_t at = acme_ari_first_check_at(NOW, cases[i].n, cases[i].interval,
                                                    randoms[j]);
            ck_assert_msg(at >= NOW && at < NOW + cases[i].spread, "case %zu random %zu",
                          i, j);
        }
        ck_assert(acme_ari_first_check_at(NOW, cases[i].n, cases[i].interval, 0) == NOW);
        /* the largest random value reaches the end of the spread */
        ck_assert_msg(acme_ari_first_check_at(NOW, cases[i].n, cases[i].interval,
                                              0xffffffffu)
                      >= NOW + cases[i].spread - cases[i].spread / 1000, "case %zu", i);
        ck_assert(acme_ari_first_check_at(NOW, cases[i].n, cases[i].interval, 0x80000000u)
                  == NOW + cases[i].spread / 2);
    }
    /* nothing to spread over */
    ck_assert(acme_ari_first_check_at(NOW, 0, SEC(3600), 0xffffffffu) == NOW);
    ck_assert(acme_ari_first_check_at(NOW, 10, 0, 0xffffffffu) == NOW);
    ck_assert(acme_ari_first_check_at(NOW, 10, -SEC(1), 0xffffffffu) == NOW);
}
END_TEST

/* xorshift32: a fixed sequence of uniform values, so the test cannot flake. */
static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* N domains' first checks cover the spread: none before now, not all at
 * once, every tenth of the spread gets its share. */
START_TEST(first_checks_are_spread)
{
    enum { N = 5000, BUCKETS = 10 };
    apr_interval_time_t spread = SEC(N);
    int buckets[BUCKETS] = { 0 }, at_now = 0, i;
    apr_time_t first = NOW + spread, last = NOW;
    uint32_t state = 2463534242u;

    for (i = 0; i < N; ++i) {
        apr_time_t at = acme_ari_first_check_at(NOW, N, SEC(12 * 3600), next_random(&state));

        ck_assert(at >= NOW && at < NOW + spread);
        at_now += at == NOW;
        first = at < first ? at : first;
        last = at > last ? at : last;
        ++buckets[(at - NOW) * BUCKETS / spread];
    }
    ck_assert_int_le(at_now, 1);
    ck_assert(first < NOW + spread / 100);
    ck_assert(last > NOW + spread - spread / 100);
    for (i = 0; i < BUCKETS; ++i) {
        ck_assert_msg(buckets[i] > N / BUCKETS / 2, "bucket %d: %d", i, buckets[i]);
    }
}
END_TEST

/* After a failure: min(1 h, interval), later by Retry-After, at most 24 h. */
START_TEST(retry_after_failure)
{
    apr_interval_time_t day = SEC(24 * 3600);

    ck_assert(acme_ari_retry_at(NOW, 0, SEC(12 * 3600)) == NOW + ACME_ARI_ERROR_WAIT);
    ck_assert(acme_ari_retry_at(NOW, 0, 0) == NOW + ACME_ARI_ERROR_WAIT);
    ck_assert(acme_ari_retry_at(NOW, 0, SEC(5)) == NOW + SEC(5));
    ck_assert(acme_ari_retry_at(NOW, NOW + SEC(7200), SEC(12 * 3600)) == NOW + SEC(7200));
    /* a shorter Retry-After (or one in the past) does not make it sooner */
    ck_assert(acme_ari_retry_at(NOW, NOW + SEC(30), SEC(12 * 3600))
              == NOW + ACME_ARI_ERROR_WAIT);
    ck_assert(acme_ari_retry_at(NOW, NOW - SEC(30), SEC(5)) == NOW + SEC(5));
    ck_assert(acme_ari_retry_at(NOW, NOW + 2 * day, SEC(12 * 3600)) == NOW + day);
    ck_assert(acme_ari_retry_at(NOW, NOW + day, SEC(12 * 3600)) == NOW + day);
}
END_TEST

/* The window's time when usable, the MDRenewWindow time otherwise; a failed
 * check (window kept, error set) keeps the time of the last good answer. */
START_TEST(renew_at_by_state)
{
    acme_config_window_t renew = { 1, 33, 0 }, warn = { 1, 10, 0 };
    apr_time_t base = NOW + SEC(50 * 86400), at = 0;
    acme_ari_state_t st;

    memset(&st, 0, sizeof(st));
    st.not_before = NOW - SEC(10 * 86400);
    st.not_after = NOW + SEC(80 * 86400);
    st.random = 0x80000000u;
    ck_assert_int_eq(acme_ari_renew_at(&at, &st, &renew, &warn, base, NOW), 0);
    ck_assert(at == base);

    st.has_window = 1;
    st.start = NOW + SEC(20 * 86400);
    st.end = NOW + SEC(22 * 86400);
    ck_assert_int_eq(acme_ari_renew_at(&at, &st, &renew, &warn, base, NOW), 1);
    ck_assert(at == NOW + SEC(21 * 86400));

    /* what a failed check leaves: the window stays, so does the time */
    st.error = "connection refused";
    st.next_check = acme_ari_retry_at(NOW, 0, SEC(12 * 3600));
    ck_assert_int_eq(acme_ari_renew_at(&at, &st, &renew, &warn, base, NOW + SEC(60)), 1);
    ck_assert(at == NOW + SEC(21 * 86400));

    /* a window in the past: now */
    st.start = NOW - SEC(2 * 86400);
    st.end = NOW - SEC(86400);
    ck_assert_int_eq(acme_ari_renew_at(&at, &st, &renew, &warn, base, NOW), 1);
    ck_assert(at == NOW);

    /* unusable: ends before the certificate starts, or out of range */
    st.start = NOW - SEC(30 * 86400);
    st.end = NOW - SEC(20 * 86400);
    ck_assert_int_eq(acme_ari_renew_at(&at, &st, &renew, &warn, base, NOW), 0);
    ck_assert(at == base);
    st.start = NOW;
    st.end = APR_INT64_MAX;
    ck_assert_int_eq(acme_ari_renew_at(&at, &st, &renew, &warn, base, NOW), 0);
    ck_assert(at == base);
}
END_TEST

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("ari");
    TCase *tc = tcase_create("ari");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, cert_id_rfc_example);
    tcase_add_test(tc, cert_id_small_serial);
    tcase_add_test(tc, cert_id_without_aki);
    tcase_add_test(tc, cert_id_syntax);
    tcase_add_test(tc, parse_good);
    tcase_add_test(tc, parse_bad);
    tcase_add_test(tc, parse_retry_after_bounds);
    tcase_add_test(tc, fetch_window);
    tcase_add_test(tc, fetch_errors);
    tcase_add_test(tc, state_roundtrip);
    tcase_add_test(tc, state_bad);
    tcase_add_test(tc, min_wait_follows_short_intervals);
    tcase_add_test(tc, first_check_bounds);
    tcase_add_test(tc, first_checks_are_spread);
    tcase_add_test(tc, retry_after_failure);
    tcase_add_test(tc, renew_at_by_state);
    suite_add_tcase(s, tc);
    return s;
}
