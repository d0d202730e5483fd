/* acme_certset_check: the verdicts the activation and the hand-over act on;
 * acme_certset_check_stamped: the same verdicts from a stamp while the files
 * are unchanged, a full check as soon as they are not. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>

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
    ck_assert_str_eq(check->problem, "P-256: pubcert.secp256r1.pem is missing");
}
END_TEST

START_TEST(certset_certificate_without_key_is_bad)
{
    acme_certset_check_t *check;
    X509 *leaf = serve_leaf(serve_key("P-256"), MD ",www." MD, -SERVE_DAY, SERVE_DAY);

    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", NULL, serve_chain_pem(leaf, 1, 0));
    check = verdict();
    ck_assert(acme_certset_is_issued(check) && !acme_certset_is_complete(check));
    ck_assert_str_eq(check->problem, "P-256: privkey.secp256r1.pem is missing");
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
    ck_assert_str_eq(check->problem, "rsa2048: privkey.pem is missing");

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
    const char *dir = apr_pstrcat(test_pool, serve_store_dir, "/domains/" MD "/",
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

/* ------------------------------------------------------------- the stamp */

static acme_certset_check_t *stamped_of(apr_array_header_t *names, apr_time_t now, int flags)
{
    acme_certset_check_t *check = NULL;

    ck_assert_int_eq(acme_certset_check_stamped(&check, test_pool, serve_store,
                                                ACME_STORE_STAGING, MD,
                                                serve_specs("P-256", NULL), names, now, flags),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(check);
    return check;
}

static apr_array_header_t *md_names(void)
{
    return serve_names(MD, "www." MD, NULL);
}

/* Stamps the set as staged now after its full check. */
static acme_certset_check_t *stamp_now(apr_array_header_t *names)
{
    acme_certset_check_t *check = check_of(ACME_STORE_STAGING, MD, serve_specs("P-256", NULL),
                                           names);

    ck_assert_int_eq(acme_certset_stamp_save(check, test_pool, serve_store,
                                             ACME_STORE_STAGING, names), APR_SUCCESS);
    return check;
}

static int stamp_exists(void)
{
    return acme_store_exists(serve_store, test_pool, ACME_STORE_STAGING, MD,
                             ACME_CERTSET_STAMP) == APR_SUCCESS;
}

START_TEST(stamp_gives_the_full_verdict)
{
    acme_certset_check_t *full, *quick;
    acme_certset_pair_t *a, *b;

    stage_p256(MD ",www." MD, -SERVE_DAY, 20 * SERVE_DAY, 1, 0);
    full = stamp_now(md_names());
    quick = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(!full->stamped && quick->stamped);
    a = pair_at(full, 0);
    b = pair_at(quick, 0);
    ck_assert_int_eq(b->status, APR_SUCCESS);
    ck_assert(b->has_key && b->has_cert && b->names_ok && !b->expired);
    ck_assert_ptr_null(b->problem);
    ck_assert_str_eq(b->spec_name, "P-256");
    ck_assert_str_eq(b->serial, a->serial);
    ck_assert_str_eq(b->leaf_sha256, a->leaf_sha256);
    ck_assert_str_eq(b->issuer, a->issuer);
    ck_assert_str_eq(b->key_sha256, a->key_sha256);
    ck_assert_str_eq(b->cert_sha256, a->cert_sha256);
    ck_assert(b->not_before == a->not_before && b->not_after == a->not_after);
    ck_assert(quick->not_before == full->not_before && quick->not_after == full->not_after);
    ck_assert(acme_certset_is_complete(quick) && acme_certset_is_issued(quick));
    ck_assert_int_eq(strlen(a->leaf_sha256), 64);
    ck_assert_ptr_nonnull(strstr(a->issuer, "CN"));
}
END_TEST

START_TEST(stamp_set_changed_after_stamping_is_checked)
{
    acme_pkey_t *key = serve_key("P-256");
    X509 *leaf = serve_leaf(key, MD ",www." MD, -SERVE_DAY, 20 * SERVE_DAY);
    X509 *other = serve_leaf(key, MD, -SERVE_DAY, 30 * SERVE_DAY);
    acme_certset_check_t *check;

    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(key),
                   serve_chain_pem(leaf, 1, 0));
    stamp_now(md_names());
    /* another certificate for the same key: the new leaf's verdict */
    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", NULL, serve_chain_pem(other, 1, 0));
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(!check->stamped);
    ck_assert_str_eq(check->problem, "P-256: the certificate does not cover the name www." MD);
    /* a key that does not match: caught although the stamp is still there */
    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(serve_key("P-256")),
                   serve_chain_pem(leaf, 1, 0));
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(!check->stamped && stamp_exists());
    ck_assert_int_eq(pair_at(check, 0)->status, APR_EINVAL);
    ck_assert_str_eq(check->problem, "P-256: the private key does not match the certificate");
    /* one byte of the chain damaged */
    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(key),
                   apr_pstrcat(test_pool, "X", serve_chain_pem(leaf, 1, 0), NULL));
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(!check->stamped);
    /* a file gone */
    ck_assert_int_eq(acme_store_remove(serve_store, test_pool, ACME_STORE_STAGING, MD,
                                       acme_layout_pubcert(test_pool, "P-256")), APR_SUCCESS);
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(!check->stamped);
    ck_assert_int_eq(pair_at(check, 0)->status, APR_ENOENT);
}
END_TEST

START_TEST(stamp_restamp_only_usable_sets)
{
    acme_pkey_t *key = serve_key("P-256");
    X509 *leaf = serve_leaf(key, MD ",www." MD, -SERVE_DAY, 20 * SERVE_DAY);
    acme_certset_check_t *check;

    /* a broken set gets no stamp */
    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(serve_key("P-256")),
                   serve_chain_pem(leaf, 1, 0));
    check = stamped_of(md_names(), apr_time_now(), ACME_CERTSET_RESTAMP);
    ck_assert(!check->stamped && !stamp_exists());
    ck_assert_int_eq(acme_certset_stamp_save(check, test_pool, serve_store,
                                             ACME_STORE_STAGING, md_names()), APR_EINVAL);
    ck_assert(!stamp_exists());
    /* repaired: checked fully once, stamped, then trusted */
    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(key), NULL);
    check = stamped_of(md_names(), apr_time_now(), ACME_CERTSET_RESTAMP);
    ck_assert(!check->stamped && stamp_exists());
    check = stamped_of(md_names(), apr_time_now(), ACME_CERTSET_RESTAMP);
    ck_assert(check->stamped && acme_certset_is_complete(check));
    /* without the flag nothing is written */
    ck_assert_int_eq(acme_store_remove(serve_store, test_pool, ACME_STORE_STAGING, MD,
                                       ACME_CERTSET_STAMP), APR_SUCCESS);
    ck_assert(!stamped_of(md_names(), apr_time_now(), 0)->stamped && !stamp_exists());
}
END_TEST

START_TEST(stamp_is_for_its_names_and_specs)
{
    acme_certset_check_t *check = NULL;

    stage_p256(MD, -SERVE_DAY, 20 * SERVE_DAY, 1, 0);
    stamp_now(md_names());
    /* a name missing is kept as a verdict, with its problem */
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(check->stamped && !pair_at(check, 0)->names_ok);
    ck_assert_str_eq(pair_at(check, 0)->name_missing, "www." MD);
    ck_assert_str_eq(check->problem, "P-256: the certificate does not cover the name www." MD);
    ck_assert(!acme_certset_is_complete(check));
    /* other names, other specs: checked again */
    check = stamped_of(serve_names(MD, NULL), apr_time_now(), 0);
    ck_assert(!check->stamped && acme_certset_is_complete(check));
    ck_assert_int_eq(acme_certset_check_stamped(&check, test_pool, serve_store,
                                                ACME_STORE_STAGING, MD,
                                                serve_specs("P-256", "rsa2048", NULL),
                                                md_names(), apr_time_now(), 0), APR_SUCCESS);
    ck_assert(!check->stamped && check->usable == 1);
}
END_TEST

START_TEST(stamp_expiry_is_judged_now)
{
    acme_certset_check_t *check;

    stage_p256(MD ",www." MD, -SERVE_DAY, 2 * SERVE_DAY, 1, 0);
    stamp_now(md_names());
    check = stamped_of(md_names(), apr_time_now() + 3 * SERVE_DAY, 0);
    ck_assert(check->stamped && pair_at(check, 0)->expired);
    ck_assert_int_eq(pair_at(check, 0)->status, APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(check->problem, "the certificate expired on "));
}
END_TEST

START_TEST(stamp_damaged_or_foreign_is_ignored)
{
    static const char *const bad[] = {
        "", "{", "[]", "{\"version\": 2}",
        "{\"version\": 1, \"name\": \"b.example\", \"names\": [\"a.example\", "
        "\"www.a.example\"], \"pairs\": []}",
        "{\"version\": 1, \"name\": \"a.example\", \"names\": [\"a.example\", "
        "\"www.a.example\"], \"pairs\": [{\"spec\": \"P-256\"}]}",
    };
    acme_certset_check_t *check;
    const char *good;
    apr_size_t len, i;

    stage_p256(MD ",www." MD, -SERVE_DAY, 20 * SERVE_DAY, 1, 0);
    stamp_now(md_names());
    ck_assert_int_eq(acme_store_load(&good, &len, test_pool, serve_store, ACME_STORE_STAGING,
                                     MD, ACME_CERTSET_STAMP), APR_SUCCESS);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        ck_assert_int_eq(acme_store_save(serve_store, test_pool, ACME_STORE_STAGING, MD,
                                         ACME_CERTSET_STAMP, bad[i], strlen(bad[i]), 0),
                         APR_SUCCESS);
        check = stamped_of(md_names(), apr_time_now(), 0);
        ck_assert_msg(!check->stamped, "stamp %d applied", (int)i);
        ck_assert(acme_certset_is_complete(check));
    }
    /* a record with a digest changed is not the record of these files */
    ck_assert_int_eq(acme_store_save(serve_store, test_pool, ACME_STORE_STAGING, MD,
                                     ACME_CERTSET_STAMP, good, len, 0), APR_SUCCESS);
    ck_assert(stamped_of(md_names(), apr_time_now(), 0)->stamped);
    {
        char *edited = apr_pstrdup(test_pool, good);
        char *at = strstr(edited, "\"cert-sha256\":\"");

        ck_assert_ptr_nonnull(at);
        at += strlen("\"cert-sha256\":\"");
        *at = (*at == '0') ? '1' : '0';
        ck_assert_int_eq(acme_store_save(serve_store, test_pool, ACME_STORE_STAGING, MD,
                                         ACME_CERTSET_STAMP, edited, len, 0), APR_SUCCESS);
        ck_assert(!stamped_of(md_names(), apr_time_now(), 0)->stamped);
    }
}
END_TEST

/* SHA-256 (hex) of a file below the store directory. */
static const char *file_sha256(const char *rel)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    char buf[65536], *hex;
    size_t len;
    FILE *f = fopen(apr_pstrcat(test_pool, serve_store_dir, "/", rel, NULL), "rb");

    ck_assert_ptr_nonnull(f);
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    ck_assert_int_eq(EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL), 1);
    hex = apr_palloc(test_pool, 2 * mdlen + 1);
    for (i = 0; i < mdlen; ++i) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    return hex;
}

/* Finding 2 (issue 16): a good set is stamped, then swapped for a bad one
 * (key of another certificate, another name, expired) whose stamp is forged
 * to match the new files' hashes: the stamp of a good set, vouching for
 * the bad one. Returns the stamp's path. */
static const char *stage_bad_set_with_forged_stamp(void)
{
    const char *stamp_path = apr_pstrcat(test_pool, serve_store_dir, "/staging/" MD "/",
                                         ACME_CERTSET_STAMP, NULL);
    acme_pkey_t *key = serve_key("P-256"), *other = serve_key("P-256");
    json_t *json, *pair;

    stage_p256(MD ",www." MD, -SERVE_DAY, 20 * SERVE_DAY, 1, 0);
    stamp_now(md_names());
    serve_put_pair(ACME_STORE_STAGING, MD, "P-256", serve_key_pem(key),
                   serve_chain_pem(serve_leaf(other, "other.example", -30 * SERVE_DAY,
                                              -SERVE_DAY), 1, 0));
    json = json_load_file(stamp_path, 0, NULL);
    ck_assert_ptr_nonnull(json);
    pair = json_array_get(json_object_get(json, "pairs"), 0);
    json_object_set_new(pair, "key-sha256",
                        json_string(file_sha256("staging/" MD "/privkey.secp256r1.pem")));
    json_object_set_new(pair, "cert-sha256",
                        json_string(file_sha256("staging/" MD "/pubcert.secp256r1.pem")));
    ck_assert_int_eq(json_dump_file(json, stamp_path, 0), 0);
    json_decref(json);
    return stamp_path;
}

START_TEST(stamp_forged_where_others_can_write_is_ignored)
{
    acme_certset_check_t *check;
    const char *stamp_path = stage_bad_set_with_forged_stamp();

    /* the forgery is good enough: where only we can write, it is believed */
    ck_assert_int_eq(chmod(stamp_path, 0644), 0);
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(check->stamped && acme_certset_is_complete(check));
    /* writable by others (its file or its directory): a full check */
    ck_assert_int_eq(chmod(stamp_path, 0666), 0);
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(!check->stamped);
    ck_assert(!acme_certset_is_complete(check));
    ck_assert_int_ne(pair_at(check, 0)->status, APR_SUCCESS);
    ck_assert_int_eq(chmod(stamp_path, 0644), 0);
    ck_assert_int_eq(chmod(apr_pstrcat(test_pool, serve_store_dir, "/staging/" MD, NULL),
                           0775), 0);
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(!check->stamped && !acme_certset_is_complete(check));
}
END_TEST

START_TEST(stamp_forged_by_another_user_is_ignored)
{
    acme_certset_check_t *check;
    const char *stamp_path;

    if (geteuid() != 0) {
        return; /* needs root to give the stamp to another user */
    }
    stamp_path = stage_bad_set_with_forged_stamp();
    /* as httpd's User writes STAGING: owner nobody, mode 0644 */
    ck_assert_int_eq(chown(stamp_path, 65534, 65534), 0);
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(!check->stamped);
    ck_assert(!acme_certset_is_complete(check));
    ck_assert_ptr_nonnull(check->problem);
    ck_assert_int_eq(chown(stamp_path, 0, 0), 0);
    ck_assert_int_eq(chown(apr_pstrcat(test_pool, serve_store_dir, "/staging/" MD, NULL),
                           65534, 65534), 0);
    check = stamped_of(md_names(), apr_time_now(), 0);
    ck_assert(!check->stamped && !acme_certset_is_complete(check));
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
    tcase_add_test(tc, stamp_gives_the_full_verdict);
    tcase_add_test(tc, stamp_set_changed_after_stamping_is_checked);
    tcase_add_test(tc, stamp_restamp_only_usable_sets);
    tcase_add_test(tc, stamp_is_for_its_names_and_specs);
    tcase_add_test(tc, stamp_expiry_is_judged_now);
    tcase_add_test(tc, stamp_damaged_or_foreign_is_ignored);
    tcase_add_test(tc, stamp_forged_where_others_can_write_is_ignored);
    tcase_add_test(tc, stamp_forged_by_another_user_is_ignored);
    return tc;
}
