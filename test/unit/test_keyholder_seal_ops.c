/* check_keyholder: the key holder's seal and unseal ops (issue 18): A's key
 * holder seals, B's installs (acme_keyholder_handle()), and a child asks
 * through the socket (the remote custody); the policy refuses domains, key
 * specs and names that are not configured, and account keys for accounts
 * that have one; no answer ever holds a plaintext key; a key holder without
 * a seal key seals nothing. A and B as in test_keyholder_seal.c. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acme_jwk.h"
#include "acme_jws.h"
#include "acme_seal.h"
#include "test_keyholder.h"

static const acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
static const acme_pkey_spec_t p384 = { ACME_PKEY_EC, 0, ACME_PKEY_P384 };
static const acme_pkey_spec_t rsa2048 = { ACME_PKEY_RSA, 2048, ACME_PKEY_CURVE_NONE };

static apr_status_t json_release(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* `request` (consumed) answered by acme_keyholder_handle() from `local`
 * within `policy`: the answer, whose text holds no key. */
static json_t *handle(acme_keys_t *local, const acme_keyholder_policy_t *policy,
                      json_t *request)
{
    char *text = json_dumps(request, JSON_COMPACT);
    const char *answer;
    apr_size_t len;
    json_t *parsed;

    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(acme_keyholder_handle(&answer, &len, test_pool, local, policy, text,
                                           strlen(text)), APR_SUCCESS);
    free(text);
    json_decref(request);
    tkh_assert_no_secret(answer);
    parsed = json_loads(answer, 0, NULL);
    ck_assert_ptr_nonnull(parsed);
    apr_pool_cleanup_register(test_pool, parsed, json_release, apr_pool_cleanup_null);
    return parsed;
}

static const char *answer_sealed(json_t *answer)
{
    const char *sealed = json_string_value(json_object_get(answer, "sealed"));

    ck_assert_msg(json_is_true(json_object_get(answer, "ok")), "not ok: %s",
                  json_string_value(json_object_get(answer, "error")));
    ck_assert_ptr_nonnull(sealed);
    ck_assert(acme_seal_is_sealed(sealed, strlen(sealed)));
    return sealed;
}

/* The public key of an unseal's answer: a JWK without its private member. */
static acme_pkey_t *answer_key(json_t *answer)
{
    json_t *jwk = json_object_get(answer, "jwk");
    acme_pkey_t *key;

    ck_assert_msg(json_is_true(json_object_get(answer, "ok")), "not ok: %s",
                  json_string_value(json_object_get(answer, "error")));
    ck_assert(json_is_object(jwk));
    ck_assert_ptr_null(json_object_get(jwk, "d"));
    ck_assert_ptr_null(json_object_get(jwk, "p"));
    ck_assert_int_eq(acme_jwk_to_pkey(&key, test_pool, jwk, NULL), APR_SUCCESS);
    return key;
}

/* A refusal or failure: its status, and its error line holds `phrase`. */
static void assert_answer_fails(json_t *answer, apr_status_t status, const char *phrase)
{
    const char *error = json_string_value(json_object_get(answer, "error"));

    ck_assert(json_is_false(json_object_get(answer, "ok")));
    ck_assert_int_eq(json_integer_value(json_object_get(answer, "status")), status);
    ck_assert_msg(error && strstr(error, phrase), "'%s' not in '%s'", phrase,
                  error ? error : "");
}

static json_t *seal_domain_request(const char *md, const char *spec, const char *aad)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "op", "seal-domain-key", "md", md, "spec", spec,
                     "aad", aad);
}

static json_t *unseal_domain_request(const char *md, const char *spec, const char *sealed,
                                     const char *aad)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "unseal-domain-key", "md", md,
                     "spec", spec, "sealed", sealed, "aad", aad);
}

/* ------------------------------------------------------------ round trips */

START_TEST(keyholder_round_trips_ec_rsa_and_account)
{
    const char *aad_ec = acme_keys_seal_aad_domain(test_pool, TKH_MD, &p256);
    const char *aad_rsa = acme_keys_seal_aad_domain(test_pool, TKH_MD_RSA, &rsa2048);
    const char *aad_acct = acme_keys_seal_aad_account(test_pool, CA_NAME);
    acme_pkey_t *ec = tkh_staged_make(tkh_local, TKH_MD, &p256);
    acme_pkey_t *rsa = tkh_staged_make(tkh_local, TKH_MD_RSA, &rsa2048);
    acme_pkey_t *acct = tkh_account_make(tkh_local, TKH_ACCOUNT);
    const char *sealed;
    acme_pkey_t *got, *kept;

    /* A's key holder seals, B's installs */
    sealed = answer_sealed(handle(tkh_local, tkh_policy,
                                  seal_domain_request(TKH_MD, "P-256", aad_ec)));
    got = answer_key(handle(tkh_b, tkh_policy,
                            unseal_domain_request(TKH_MD, "P-256", sealed, aad_ec)));
    ck_assert(acme_pkey_public_eq(got, ec));
    ck_assert_int_eq(acme_keys_domain_key(&kept, test_pool, tkh_b, TKH_MD, &p256, 0, NULL),
                     APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(kept, ec));
    tkh_assert_stored_as_custody_keys(tkh_staged_path(tkh_b_dir, TKH_MD, &p256));

    sealed = answer_sealed(handle(tkh_local, tkh_policy,
                                  seal_domain_request(TKH_MD_RSA, "rsa2048", aad_rsa)));
    got = answer_key(handle(tkh_b, tkh_policy,
                            unseal_domain_request(TKH_MD_RSA, "rsa2048", sealed, aad_rsa)));
    ck_assert(acme_pkey_public_eq(got, rsa));
    ck_assert_int_eq(acme_keys_domain_key(&kept, test_pool, tkh_b, TKH_MD_RSA, &rsa2048, 0,
                                          NULL), APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(kept, rsa));

    sealed = answer_sealed(handle(tkh_local, tkh_policy,
                                  json_pack("{s:s, s:s, s:s}", "op", "seal-account-key",
                                            "account", TKH_ACCOUNT, "aad", aad_acct)));
    got = answer_key(handle(tkh_b, tkh_policy,
                            json_pack("{s:s, s:s, s:s, s:s}", "op", "unseal-account-key",
                                      "account", B_ACCOUNT, "sealed", sealed,
                                      "aad", aad_acct)));
    ck_assert(acme_pkey_public_eq(got, acct));
    ck_assert_int_eq(acme_keys_account_key(&kept, test_pool, tkh_b, B_ACCOUNT, 0, NULL),
                     APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(kept, acct));
    tkh_assert_stored_as_custody_keys(tkh_account_path(tkh_b_dir, B_ACCOUNT));
}
END_TEST

/* A child (the remote custody) has A's key holder seal A's account key and
 * install B's staged key in place of A's: the cluster's set replaces ours. */
START_TEST(remote_seals_and_installs_through_the_socket)
{
    const char *aad_ec = acme_keys_seal_aad_domain(test_pool, TKH_MD, &p256);
    const char *aad_acct = acme_keys_seal_aad_account(test_pool, CA_NAME);
    acme_pkey_t *ours = tkh_staged_make(tkh_local, TKH_MD, &p256);
    acme_pkey_t *theirs = tkh_staged_make(tkh_b, TKH_MD, &p256);
    acme_pkey_t *acct = tkh_account_make(tkh_local, TKH_ACCOUNT);
    acme_jws_hdr_t hdr = { TKH_CA "/acme/order/1", "bm9uY2U", TKH_CA "/acme/acct/1" };
    const char *sealed, *why = NULL;
    acme_jws_parts_t *parts;
    acme_pkey_t *got, *kept;
    json_t *jws;
    char *big;

    ck_assert(!acme_pkey_public_eq(ours, theirs));
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed, test_pool, tkh_b, TKH_MD, &p256,
                                               aad_ec, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_unseal_domain_key(&got, test_pool, tkh_remote, TKH_MD, &p256,
                                                 sealed, aad_ec, &why), APR_SUCCESS);
    ck_assert(!acme_pkey_has_private(got));
    ck_assert(acme_pkey_public_eq(got, theirs));
    ck_assert_int_eq(acme_keys_domain_key(&kept, test_pool, tkh_local, TKH_MD, &p256, 0, NULL),
                     APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(kept, theirs));

    ck_assert_int_eq(acme_keys_seal_account_key(&sealed, test_pool, tkh_remote, TKH_ACCOUNT,
                                                aad_acct, &why), APR_SUCCESS);
    tkh_assert_no_secret(sealed);
    ck_assert_int_eq(acme_keys_unseal_account_key(&got, test_pool, tkh_b, B_ACCOUNT, sealed,
                                                  aad_acct, &why), APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(got, acct));
    /* installed through the key holder, an account key signs through it */
    ck_assert_int_eq(acme_keys_seal_account_key(&sealed, test_pool, tkh_b, B_ACCOUNT,
                                                aad_acct, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_unseal_account_key(&got, test_pool, tkh_remote, "ACME-a-0002",
                                                  sealed, aad_acct, &why), APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(got, acct));
    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, got, &hdr, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, acct, NULL), APR_SUCCESS);
    json_decref(jws);
    /* a sealed text bigger than a frame is refused before it is sent */
    big = apr_palloc(test_pool, ACME_KEYHOLDER_FRAME_MAX + 2);
    memset(big, 'A', ACME_KEYHOLDER_FRAME_MAX + 1);
    big[ACME_KEYHOLDER_FRAME_MAX + 1] = '\0';
    ck_assert_int_eq(acme_keys_unseal_domain_key(&got, test_pool, tkh_remote, TKH_MD, &p256,
                                                 big, aad_ec, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "frame size"));
}
END_TEST

/* ------------------------------------------------------------ refusals */

START_TEST(policy_refuses_what_is_not_configured)
{
    const char *aad = acme_keys_seal_aad_domain(test_pool, TKH_MD, &p256);
    const char *aad_other = acme_keys_seal_aad_domain(test_pool, "other.example", &p256);
    const char *path = tkh_staged_path(tkh_b_dir, TKH_MD, &p256), *sealed, *sealed_other;
    const char *before;

    tkh_staged_make(tkh_local, TKH_MD, &p256);
    /* the local custody has no policy: it makes a key for any domain */
    tkh_staged_make(tkh_local, "other.example", &p256);
    tkh_staged_make(tkh_b, TKH_MD, &p256);
    before = tkh_file_text(path);
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed, test_pool, tkh_local, TKH_MD, &p256,
                                               aad, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed_other, test_pool, tkh_local,
                                               "other.example", &p256, aad_other, NULL),
                     APR_SUCCESS);
    /* domains and specs that are not configured */
    assert_answer_fails(handle(tkh_local, tkh_policy,
                               seal_domain_request("other.example", "P-256", aad_other)),
                        APR_EINVAL, "md other.example is not configured");
    assert_answer_fails(handle(tkh_b, tkh_policy, unseal_domain_request(
                            "other.example", "P-256", sealed_other, aad_other)),
                        APR_EINVAL, "md other.example is not configured");
    ck_assert_ptr_null(tkh_file_text(tkh_staged_path(tkh_b_dir, "other.example", &p256)));
    assert_answer_fails(handle(tkh_local, tkh_policy, seal_domain_request(
                            TKH_MD, "P-384", acme_keys_seal_aad_domain(test_pool, TKH_MD,
                                                                       &p384))),
                        APR_EINVAL, "P-384 is not configured for md example.org");
    assert_answer_fails(handle(tkh_b, tkh_policy,
                               unseal_domain_request(TKH_MD, "rsa2048", sealed, aad)),
                        APR_EINVAL, "rsa2048 is not configured for md example.org");
    /* a name that is not the key's own: no key sealed or taken under another's */
    assert_answer_fails(handle(tkh_b, tkh_policy, unseal_domain_request(
                            TKH_MD, "P-256", sealed_other, aad_other)),
                        APR_EINVAL, "is not the name of this staged key");
    assert_answer_fails(handle(tkh_local, tkh_policy, seal_domain_request(
                            TKH_MD, "P-256", "account/" CA_NAME)),
                        APR_EINVAL, "is not the name of this staged key");
    assert_answer_fails(handle(tkh_local, tkh_policy, json_pack(
                            "{s:s, s:s, s:s}", "op", "seal-account-key", "account",
                            TKH_ACCOUNT, "aad", aad)),
                        APR_EINVAL, "is not an account key's name");
    assert_answer_fails(handle(tkh_local, tkh_policy, json_pack(
                            "{s:s, s:s, s:s}", "op", "seal-account-key", "account",
                            TKH_ACCOUNT, "aad", "account/../x")),
                        APR_EINVAL, "is not an account key's name");
    /* account ids, members */
    assert_answer_fails(handle(tkh_b, tkh_policy, json_pack(
                            "{s:s, s:s, s:s, s:s}", "op", "unseal-account-key", "account",
                            "../accounts/x", "sealed", sealed, "aad", "account/" CA_NAME)),
                        APR_EINVAL, "account id");
    assert_answer_fails(handle(tkh_b, tkh_policy, json_pack(
                            "{s:s, s:s, s:s, s:s, s:s, s:b}", "op", "unseal-domain-key", "md",
                            TKH_MD, "spec", "P-256", "sealed", sealed, "aad", aad, "create",
                            1)), APR_EINVAL, "unknown member 'create'");
    assert_answer_fails(handle(tkh_b, tkh_policy, json_pack(
                            "{s:s, s:s, s:s, s:s}", "op", "unseal-domain-key", "md", TKH_MD,
                            "spec", "P-256", "aad", aad)),
                        APR_EINVAL, "member 'sealed' is missing");
    ck_assert_str_eq(tkh_file_text(path), before);
    /* and the good one is taken */
    answer_key(handle(tkh_b, tkh_policy, unseal_domain_request(TKH_MD, "P-256", sealed, aad)));
    ck_assert_str_ne(tkh_file_text(path), before);
}
END_TEST

/* The key holder installs an account key for a new account only. */
START_TEST(keyholder_installs_new_accounts_only)
{
    const char *aad = acme_keys_seal_aad_account(test_pool, CA_NAME);
    const char *path = tkh_account_path(tkh_b_dir, B_ACCOUNT), *sealed, *before;

    tkh_account_make(tkh_local, TKH_ACCOUNT);
    tkh_account_make(tkh_b, B_ACCOUNT);
    before = tkh_file_text(path);
    ck_assert_int_eq(acme_keys_seal_account_key(&sealed, test_pool, tkh_local, TKH_ACCOUNT,
                                                aad, NULL), APR_SUCCESS);
    assert_answer_fails(handle(tkh_b, tkh_policy, json_pack(
                            "{s:s, s:s, s:s, s:s}", "op", "unseal-account-key", "account",
                            B_ACCOUNT, "sealed", sealed, "aad", aad)),
                        APR_EEXIST, "the key exists");
    ck_assert_str_eq(tkh_file_text(path), before);
}
END_TEST

START_TEST(keyholder_without_a_seal_key_seals_nothing)
{
    const char *aad = acme_keys_seal_aad_domain(test_pool, TKH_MD, &p256);
    const char *path = tkh_staged_path(tkh_store_dir, TKH_MD, &p256), *sealed, *before;
    acme_keyholder_policy_t unsealing = *tkh_policy;

    tkh_staged_make(tkh_local, TKH_MD, &p256);
    tkh_account_make(tkh_local, TKH_ACCOUNT);
    before = tkh_file_text(path);
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed, test_pool, tkh_local, TKH_MD, &p256,
                                               aad, NULL), APR_SUCCESS);
    /* a key holder without one, whatever its custody could do */
    unsealing.seal_key = NULL;
    assert_answer_fails(handle(tkh_local, &unsealing,
                               seal_domain_request(TKH_MD, "P-256", aad)),
                        APR_ENOTIMPL, "no MDSharedStoreKeyFile");
    assert_answer_fails(handle(tkh_local, &unsealing,
                               unseal_domain_request(TKH_MD, "P-256", sealed, aad)),
                        APR_ENOTIMPL, "no MDSharedStoreKeyFile");
    assert_answer_fails(handle(tkh_local, &unsealing, json_pack(
                            "{s:s, s:s, s:s}", "op", "seal-account-key", "account",
                            TKH_ACCOUNT, "aad", "account/" CA_NAME)),
                        APR_ENOTIMPL, "no MDSharedStoreKeyFile");
    ck_assert_str_eq(tkh_file_text(path), before);
}
END_TEST

TCase *test_keyholder_seal_ops_tcase(void)
{
    TCase *tc = tcase_create("seal ops");

    tcase_add_checked_fixture(tc, tkh_seal_setup, tkh_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, keyholder_round_trips_ec_rsa_and_account);
    tcase_add_test(tc, remote_seals_and_installs_through_the_socket);
    tcase_add_test(tc, policy_refuses_what_is_not_configured);
    tcase_add_test(tc, keyholder_installs_new_accounts_only);
    tcase_add_test(tc, keyholder_without_a_seal_key_seals_nothing);
    return tc;
}
