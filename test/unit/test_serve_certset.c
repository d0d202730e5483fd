/* acme_certset_check: the verdicts the activation and the hand-over act on. */
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "acme_certset.h"
#include "acme_layout.h"
#include "test_serve.h"

#define MD "a.example"

static acme_certset_check_t *check_of(acme_store_group_e group, const char *name,
                                      apr_array_header_t *specs, apr_array_header_t *names)
{
    acme_certset_check_t *check = NULL;

    ck_assert_int_eq(acme_certset_check(&check, test_pool, serve_store, group, name, specs,
                                        names, apr_time_now()), APR_SUCCESS);
    ck_assert_ptr_nonnull(check);
    ck_assert_int_eq(check->pairs->nelts, specs->nelts);
    return check;
}

static acme_certset_pair_t *pair_at(acme_certset_check_t *check, int i)
{
    return &APR_ARRAY_IDX(check->pairs, i, acme_certset_pair_t);
}

/* One P-256 pair for MD in STAGING from a leaf with `names`, validity and
 * chain shape as given; returns the leaf. */
static X509 *stage_p256(const char *names, apr_interval_time_t from, apr_interval_time_t until,
                        int issuers, int swap)
{
    acme_pkey_t *key = serve_key("P-256");
    X509 *leaf = serve_leaf(key, names, from, until);

    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(key),
                   serve_chain_pem(leaf, issuers, swap));
    return leaf;
}

/* The verdict on a set staged as given, for MD's names {MD, www.MD}. */
static acme_certset_check_t *verdict(void)
{
    return check_of(ACME_STORE_STAGING, MD, serve_specs("P-256", NULL),
                    serve_names(MD, "www." MD, NULL));
}

START_TEST(certset_complete_set)
{
    acme_certset_check_t *check;
    acme_certset_pair_t *pair;
    apr_time_t now = apr_time_now();

    stage_p256(MD ",www." MD, -SERVE_DAY, 20 * SERVE_DAY, 1, 0);
    check = verdict();
    pair = pair_at(check, 0);
    ck_assert_int_eq(pair->status, APR_SUCCESS);
    ck_assert_ptr_null(pair->problem);
    ck_assert_str_eq(pair->spec_name, "P-256");
    ck_assert(pair->has_key && pair->has_cert && pair->names_ok && !pair->expired);
    ck_assert_ptr_nonnull(pair->serial);
    ck_assert(pair->not_before < now && pair->not_after > now + 19 * SERVE_DAY);
    ck_assert_int_eq(check->usable, 1);
    ck_assert(check->not_before == pair->not_before && check->not_after == pair->not_after);
    ck_assert(acme_certset_is_issued(check) && acme_certset_is_complete(check));
    ck_assert_ptr_null(check->problem);
    ck_assert_str_eq(check->name, MD);
}
END_TEST

START_TEST(certset_full_chain_with_root_is_fine)
{
    stage_p256(MD ",www." MD, -SERVE_DAY, 20 * SERVE_DAY, 2, 0);
    ck_assert(acme_certset_is_complete(verdict()));
}
END_TEST

START_TEST(certset_absent_set)
{
    acme_certset_check_t *check = verdict();
    acme_certset_pair_t *pair = pair_at(check, 0);

    ck_assert_int_eq(pair->status, APR_ENOENT);
    ck_assert(!pair->has_key && !pair->has_cert);
    ck_assert_int_eq(check->usable, 0);
    ck_assert(check->not_before == 0 && check->not_after == 0);
    ck_assert(!acme_certset_is_issued(check) && !acme_certset_is_complete(check));
}
END_TEST

START_TEST(certset_key_without_certificate_is_unfinished)
{
    acme_certset_check_t *check;

    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(serve_key("P-256")), NULL);
    check = verdict();
    ck_assert_int_eq(pair_at(check, 0)->status, APR_ENOENT);
    ck_assert(pair_at(check, 0)->has_key && !pair_at(check, 0)->has_cert);
    ck_assert(!acme_certset_is_issued(check));
    ck_assert_str_eq(check->problem, "P-256: pubcert.P-256.pem is missing");
}
END_TEST

START_TEST(certset_certificate_without_key_is_bad)
{
    acme_certset_check_t *check;
    X509 *leaf = serve_leaf(serve_key("P-256"), MD ",www." MD, -SERVE_DAY, SERVE_DAY);

    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", NULL, serve_chain_pem(leaf, 1, 0));
    check = verdict();
    ck_assert(acme_certset_is_issued(check) && !acme_certset_is_complete(check));
    ck_assert_str_eq(check->problem, "P-256: privkey.P-256.pem is missing");
}
END_TEST

START_TEST(certset_key_mismatch)
{
    X509 *leaf = serve_leaf(serve_key("P-256"), MD ",www." MD, -SERVE_DAY, SERVE_DAY);
    acme_certset_check_t *check;

    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(serve_key("P-256")),
                   serve_chain_pem(leaf, 1, 0));
    check = verdict();
    ck_assert_int_eq(pair_at(check, 0)->status, APR_EINVAL);
    ck_assert_int_eq(check->usable, 0);
    ck_assert_str_eq(check->problem, "P-256: the private key does not match the certificate");
}
END_TEST

START_TEST(certset_key_of_another_type)
{
    acme_pkey_t *rsa = serve_key("rsa2048");
    X509 *leaf = serve_leaf(rsa, MD ",www." MD, -SERVE_DAY, SERVE_DAY);

    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(rsa),
                   serve_chain_pem(leaf, 1, 0));
    ck_assert_str_eq(verdict()->problem, "P-256: the private key is rsa2048, not P-256");
}
END_TEST

START_TEST(certset_leaf_without_chain)
{
    stage_p256(MD ",www." MD, -SERVE_DAY, SERVE_DAY, 0, 0);
    ck_assert_ptr_nonnull(strstr(verdict()->problem, "holds only the certificate"));
}
END_TEST

START_TEST(certset_chain_out_of_order)
{
    acme_certset_check_t *check;

    stage_p256(MD ",www." MD, -SERVE_DAY, SERVE_DAY, 2, 1);
    check = verdict();
    ck_assert_int_eq(pair_at(check, 0)->status, APR_EINVAL);
    ck_assert_str_eq(check->problem, "P-256: the chain is not in order: certificate 0 is not "
                     "issued by certificate 1");
}
END_TEST

START_TEST(certset_name_not_covered)
{
    acme_certset_check_t *check;
    acme_certset_pair_t *pair;

    stage_p256(MD, -SERVE_DAY, SERVE_DAY, 1, 0);
    check = verdict();
    pair = pair_at(check, 0);
    /* usable (the hand-over serves it), but not fit to go live */
    ck_assert_int_eq(pair->status, APR_SUCCESS);
    ck_assert(!pair->names_ok);
    ck_assert_int_eq(check->usable, 1);
    ck_assert(!acme_certset_is_complete(check));
    ck_assert_str_eq(check->problem, "P-256: the certificate does not cover the name www." MD);
}
END_TEST

START_TEST(certset_wildcard_covers_names)
{
    acme_certset_check_t *check;

    stage_p256("*." MD "," MD, -SERVE_DAY, SERVE_DAY, 1, 0);
    check = verdict();
    ck_assert(acme_certset_is_complete(check));
}
END_TEST

START_TEST(certset_expired)
{
    acme_certset_check_t *check;

    stage_p256(MD ",www." MD, -10 * SERVE_DAY, -SERVE_DAY, 1, 0);
    check = verdict();
    ck_assert_int_eq(pair_at(check, 0)->status, APR_SUCCESS);
    ck_assert(pair_at(check, 0)->expired && !acme_certset_is_complete(check));
    ck_assert_ptr_nonnull(strstr(check->problem, "the certificate expired on "));
}
END_TEST

START_TEST(certset_not_yet_valid_is_not_a_problem)
{
    /* notBefore ahead is a matter of when to activate, not of the set */
    acme_certset_check_t *check;

    stage_p256(MD ",www." MD, SERVE_DAY, 10 * SERVE_DAY, 1, 0);
    check = verdict();
    ck_assert(acme_certset_is_complete(check));
    ck_assert(check->not_before > apr_time_now());
}
END_TEST

START_TEST(certset_garbage_files)
{
    X509 *leaf = serve_leaf(serve_key("P-256"), MD ",www." MD, -SERVE_DAY, SERVE_DAY);
    acme_certset_check_t *check;

    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", "not a key\n", serve_chain_pem(leaf, 1, 0));
    check = verdict();
    ck_assert_int_eq(pair_at(check, 0)->status, APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(check->problem, "the private key is unusable"));

    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(serve_key("P-256")),
                   "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    check = verdict();
    ck_assert_str_eq(check->problem, "P-256: the certificate file is not a PEM certificate "
                     "chain");
}
END_TEST

START_TEST(certset_pairs_per_spec)
{
    acme_pkey_t *rsa = serve_key("rsa2048");
    X509 *rsa_leaf = serve_leaf(rsa, MD ",www." MD, -2 * SERVE_DAY, 5 * SERVE_DAY);
    acme_certset_check_t *check;

    stage_p256(MD ",www." MD, -SERVE_DAY, 9 * SERVE_DAY, 1, 0);
    check = check_of(ACME_STORE_STAGING, MD, serve_specs("P-256", "rsa2048", NULL),
                     serve_names(MD, "www." MD, NULL));
    ck_assert(!acme_certset_is_issued(check));
    ck_assert_int_eq(check->usable, 1);
    ck_assert_str_eq(check->problem, "rsa2048: privkey.rsa2048.pem is missing");

    serve_put_pair(ACME_STORE_STAGING, MD, "rsa2048", serve_key_pem(rsa),
                   serve_chain_pem(rsa_leaf, 1, 0));
    check = check_of(ACME_STORE_STAGING, MD, serve_specs("P-256", "rsa2048", NULL),
                     serve_names(MD, "www." MD, NULL));
    ck_assert(acme_certset_is_complete(check));
    ck_assert_int_eq(check->usable, 2);
    /* the set is as good as its weakest pair: latest start, earliest end */
    ck_assert(check->not_after == pair_at(check, 1)->not_after);
    ck_assert(check->not_before == pair_at(check, 0)->not_before);
}
END_TEST

START_TEST(certset_store_error_is_no_verdict)
{
    acme_certset_check_t *check = NULL;
    const char *dir = apr_pstrcat(test_pool, serve_store_dir, "/live/" MD "/",
                                  acme_layout_privkey(test_pool, "P-256"), NULL);

    stage_p256(MD, -SERVE_DAY, SERVE_DAY, 1, 0);
    ck_assert_int_eq(acme_store_move(serve_store, test_pool, ACME_STORE_STAGING,
                                     ACME_STORE_LIVE, MD), APR_SUCCESS);
    ck_assert_int_eq(remove(dir), 0);
    ck_assert_int_eq(mkdir(dir, 0700), 0);   /* unreadable as a file: EISDIR */
    ck_assert_int_ne(acme_certset_check(&check, test_pool, serve_store, ACME_STORE_LIVE, MD,
                                        serve_specs("P-256", NULL), serve_names(MD, NULL),
                                        apr_time_now()), APR_SUCCESS);
    ck_assert_ptr_null(check);
}
END_TEST

START_TEST(certset_needs_specs)
{
    acme_certset_check_t *check = NULL;
    apr_array_header_t *none = apr_array_make(test_pool, 1, sizeof(acme_pkey_spec_t));

    ck_assert_int_eq(acme_certset_check(&check, test_pool, serve_store, ACME_STORE_LIVE, MD,
                                        none, serve_names(MD, NULL), apr_time_now()),
                     APR_EINVAL);
    ck_assert_ptr_null(check);
}
END_TEST

TCase *test_serve_certset_tcase(void)
{
    TCase *tc = tcase_create("certset");

    tcase_add_checked_fixture(tc, serve_setup, serve_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, certset_complete_set);
    tcase_add_test(tc, certset_full_chain_with_root_is_fine);
    tcase_add_test(tc, certset_absent_set);
    tcase_add_test(tc, certset_key_without_certificate_is_unfinished);
    tcase_add_test(tc, certset_certificate_without_key_is_bad);
    tcase_add_test(tc, certset_key_mismatch);
    tcase_add_test(tc, certset_key_of_another_type);
    tcase_add_test(tc, certset_leaf_without_chain);
    tcase_add_test(tc, certset_chain_out_of_order);
    tcase_add_test(tc, certset_name_not_covered);
    tcase_add_test(tc, certset_wildcard_covers_names);
    tcase_add_test(tc, certset_expired);
    tcase_add_test(tc, certset_not_yet_valid_is_not_a_problem);
    tcase_add_test(tc, certset_garbage_files);
    tcase_add_test(tc, certset_pairs_per_spec);
    tcase_add_test(tc, certset_store_error_is_no_verdict);
    tcase_add_test(tc, certset_needs_specs);
    return tc;
}
