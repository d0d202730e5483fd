/* check_keyholder: private keys sealed for the cluster's shared store (issue
 * 18), by the local custody. Two servers of a cluster: A (the fixture's
 * store and local custody, the key holder's) and B (a store and a local
 * custody of its own, the same seal key). A key A seals, B installs: the
 * same key, kept as B keeps the keys it makes. A sealed text for another
 * name, under another seal key, tampered with, of another key spec or that
 * is no key is refused and nothing is written; an account key only goes to
 * a new account; without a seal key nothing seals. Also the helpers of
 * test_keyholder_seal_ops.c (the key holder's side). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "acme_layout.h"
#include "acme_seal.h"
#include "acme_store_fs.h"
#include "test_keyholder.h"

static const acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
static const acme_pkey_spec_t p384 = { ACME_PKEY_EC, 0, ACME_PKEY_P384 };
static const acme_pkey_spec_t rsa2048 = { ACME_PKEY_RSA, 2048, ACME_PKEY_CURVE_NONE };

const char *tkh_b_dir;
acme_keys_t *tkh_b;

/* A line of the plaintext PEM of each private key a test made: no answer,
 * message or file may hold one. */
#define SECRETS_MAX 8
static const char *secrets[SECRETS_MAX];
static int secrets_count;

void tkh_seal_setup(void)
{
    acme_store_t *store;

    tkh_setup();
    tkh_b_dir = apr_pstrcat(test_pool, tkh_dir, "/store-b", NULL);
    ck_assert_int_eq(acme_store_fs_open(&store, test_pool, tkh_b_dir), APR_SUCCESS);
    tkh_b = acme_keys_local_sealing(test_pool, store, tkh_seal_key);
    secrets_count = 0;
}

/* Remembers the first line of base64 of the key's plaintext PKCS#8 PEM. */
void tkh_secret_remember(const acme_pkey_t *key)
{
    const char *pem, *line;
    apr_size_t len;

    ck_assert_int_eq(acme_pkey_to_pem(&pem, &len, test_pool, key, NULL), APR_SUCCESS);
    line = strchr(pem, '\n');
    ck_assert_ptr_nonnull(line);
    ck_assert_int_lt(secrets_count, SECRETS_MAX);
    secrets[secrets_count++] = apr_pstrndup(test_pool, line + 1, 64);
}

static void assert_no_plaintext(const char *text)
{
    int i;

    ck_assert_msg(strstr(text, "BEGIN PRIVATE KEY") == NULL, "a PEM key in: %s", text);
    for (i = 0; i < secrets_count; i++) {
        ck_assert_msg(strstr(text, secrets[i]) == NULL, "a plaintext key in: %s", text);
    }
}

/* No key at all, encrypted or not: answers, messages, sealed texts. */
void tkh_assert_no_secret(const char *text)
{
    if (text != NULL) {
        ck_assert_msg(strstr(text, "PRIVATE KEY") == NULL, "a PEM key in: %s", text);
        assert_no_plaintext(text);
    }
}

/* A staged key of `spec` made in `keys` (remembered as a secret). */
acme_pkey_t *tkh_staged_make(acme_keys_t *keys, const char *md,
                            const acme_pkey_spec_t *spec)
{
    acme_pkey_t *key;

    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, keys, md, spec, 1, NULL),
                     APR_SUCCESS);
    tkh_secret_remember(key);
    return key;
}

acme_pkey_t *tkh_account_make(acme_keys_t *keys, const char *id)
{
    acme_pkey_t *key;

    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, keys, id, 1, NULL), APR_SUCCESS);
    tkh_secret_remember(key);
    return key;
}

const char *tkh_staged_path(const char *store_dir, const char *md,
                            const acme_pkey_spec_t *spec)
{
    return apr_pstrcat(test_pool, store_dir, "/staging/", md, "/",
                       acme_layout_privkey(test_pool, acme_pkey_spec_name(test_pool, spec)),
                       NULL);
}

const char *tkh_account_path(const char *store_dir, const char *id)
{
    return apr_pstrcat(test_pool, store_dir, "/accounts/", id, "/account.pem", NULL);
}

/* The file's text, or NULL when there is none. */
const char *tkh_file_text(const char *path)
{
    char buf[16384];
    size_t n;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    return apr_pstrmemdup(test_pool, buf, n);
}

/* A key installed by unseal is kept as the custody keeps the keys it makes:
 * encrypted with that store's key, private to its owner. */
void tkh_assert_stored_as_custody_keys(const char *path)
{
    const char *text = tkh_file_text(path);
    struct stat st;

    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "BEGIN ENCRYPTED PRIVATE KEY"));
    assert_no_plaintext(text);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(st.st_nlink, 1);
}

/* ------------------------------------------------------------ round trips */

START_TEST(local_round_trips_ec_rsa_and_account)
{
    const char *aad_ec = acme_keys_seal_aad_domain(test_pool, TKH_MD, &p256);
    const char *aad_rsa = acme_keys_seal_aad_domain(test_pool, TKH_MD_RSA, &rsa2048);
    const char *aad_acct = acme_keys_seal_aad_account(test_pool, CA_NAME);
    acme_pkey_t *ec = tkh_staged_make(tkh_local, TKH_MD, &p256);
    acme_pkey_t *rsa = tkh_staged_make(tkh_local, TKH_MD_RSA, &rsa2048);
    acme_pkey_t *acct = tkh_account_make(tkh_local, TKH_ACCOUNT);
    const char *sealed_ec, *sealed_rsa, *sealed_acct, *why = NULL;
    acme_pkey_t *got, *kept;

    ck_assert_str_eq(aad_ec, "set/" TKH_MD "/privkey.secp256r1.pem");
    ck_assert_str_eq(aad_rsa, "set/" TKH_MD_RSA "/privkey.pem");
    ck_assert_str_eq(aad_acct, "account/" CA_NAME);
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed_ec, test_pool, tkh_local, TKH_MD, &p256,
                                               aad_ec, &why), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed_rsa, test_pool, tkh_local, TKH_MD_RSA,
                                               &rsa2048, aad_rsa, &why), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_seal_account_key(&sealed_acct, test_pool, tkh_local,
                                                TKH_ACCOUNT, aad_acct, &why), APR_SUCCESS);
    tkh_assert_no_secret(sealed_ec);
    tkh_assert_no_secret(sealed_rsa);
    tkh_assert_no_secret(sealed_acct);
    ck_assert(acme_seal_is_sealed(sealed_ec, strlen(sealed_ec)));
    /* B takes them: the same keys, kept as B keeps its own */
    ck_assert_int_eq(acme_keys_unseal_domain_key(&got, test_pool, tkh_b, TKH_MD, &p256,
                                                 sealed_ec, aad_ec, &why), APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(got, ec));
    ck_assert_int_eq(acme_keys_domain_key(&kept, test_pool, tkh_b, TKH_MD, &p256, 0, NULL),
                     APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(kept, ec));
    ck_assert(acme_pkey_has_private(kept));
    tkh_assert_stored_as_custody_keys(tkh_staged_path(tkh_b_dir, TKH_MD, &p256));
    ck_assert_int_eq(acme_keys_unseal_domain_key(&got, test_pool, tkh_b, TKH_MD_RSA,
                                                 &rsa2048, sealed_rsa, aad_rsa, &why),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_keys_domain_key(&kept, test_pool, tkh_b, TKH_MD_RSA, &rsa2048, 0,
                                          NULL), APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(kept, rsa));
    tkh_assert_stored_as_custody_keys(tkh_staged_path(tkh_b_dir, TKH_MD_RSA, &rsa2048));
    ck_assert_int_eq(acme_keys_unseal_account_key(&got, test_pool, tkh_b, B_ACCOUNT,
                                                  sealed_acct, aad_acct, &why), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_account_key(&kept, test_pool, tkh_b, B_ACCOUNT, 0, NULL),
                     APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(kept, acct));
    tkh_assert_stored_as_custody_keys(tkh_account_path(tkh_b_dir, B_ACCOUNT));
}
END_TEST

/* ------------------------------------------------------------ refusals */

/* Each sealed text B must not take: refused with `status`, B's staged
 * P-256 key unchanged. */
static void assert_b_refuses(acme_keys_t *keys, const char *sealed, const char *aad,
                             apr_status_t status, const char *phrase)
{
    const char *path = tkh_staged_path(tkh_b_dir, TKH_MD, &p256);
    const char *before = tkh_file_text(path), *why = NULL;
    acme_pkey_t *got = NULL;

    ck_assert_ptr_nonnull(before);
    ck_assert_int_eq(acme_keys_unseal_domain_key(&got, test_pool, keys, TKH_MD, &p256, sealed,
                                                 aad, &why), status);
    ck_assert_ptr_null(got);
    ck_assert_msg(why && strstr(why, phrase), "'%s' not in '%s'", phrase, why ? why : "");
    tkh_assert_no_secret(why);
    ck_assert_str_eq(tkh_file_text(path), before);
}

START_TEST(sealed_texts_that_do_not_fit_write_nothing)
{
    const char *aad = acme_keys_seal_aad_domain(test_pool, TKH_MD, &p256);
    const char *sealed, *other_sealed, *pem, *not_a_key, *encrypted;
    unsigned char other_bytes[ACME_SEAL_KEY_LEN];
    acme_seal_key_t *other_key;
    acme_store_t *b_store;
    acme_keys_t *other;
    acme_pkey_t *got;
    apr_size_t len;
    char *tampered;
    int i;

    tkh_staged_make(tkh_local, TKH_MD, &p256);
    tkh_staged_make(tkh_local, TKH_MD_RSA, &rsa2048);
    tkh_staged_make(tkh_b, TKH_MD, &p256);
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed, test_pool, tkh_local, TKH_MD, &p256,
                                               aad, NULL), APR_SUCCESS);
    /* sealed for another name */
    assert_b_refuses(tkh_b, sealed,
                     acme_keys_seal_aad_domain(test_pool, "other.example", &p256),
                     ACME_SEAL_EAUTH, "does not authenticate");
    /* under another seal key: this server's does not open it */
    for (i = 0; i < ACME_SEAL_KEY_LEN; i++) {
        other_bytes[i] = (unsigned char)(0x80 + i);
    }
    ck_assert_int_eq(acme_seal_key_from_bytes(&other_key, test_pool, other_bytes,
                                              sizeof(other_bytes)), APR_SUCCESS);
    ck_assert_int_eq(acme_store_fs_open(&b_store, test_pool, tkh_b_dir), APR_SUCCESS);
    other = acme_keys_local_sealing(test_pool, b_store, other_key);
    assert_b_refuses(other, sealed, aad, ACME_SEAL_EKEY, "not under this server's key");
    ck_assert_int_eq(acme_keys_seal_domain_key(&other_sealed, test_pool, other, TKH_MD, &p256,
                                               aad, NULL), APR_SUCCESS);
    assert_b_refuses(tkh_b, other_sealed, aad, ACME_SEAL_EKEY, "not under this server's");
    /* tampered with: one character of the ciphertext */
    tampered = apr_pstrdup(test_pool, sealed);
    i = (int)strlen(tampered) / 2;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    assert_b_refuses(tkh_b, tampered, aad, ACME_SEAL_EAUTH, "does not authenticate");
    /* a key of another spec, sealed for the P-256 key's name */
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed, test_pool, tkh_local, TKH_MD_RSA,
                                               &rsa2048, aad, NULL), APR_SUCCESS);
    assert_b_refuses(tkh_b, sealed, aad, APR_EINVAL, "is rsa2048, not P-256");
    /* no key: text, a public key, the store's encrypted key file */
    ck_assert_int_eq(acme_seal(&not_a_key, &len, test_pool, tkh_seal_key, aad,
                               (const unsigned char *)"not a key", 9), APR_SUCCESS);
    assert_b_refuses(tkh_b, not_a_key, aad, APR_EINVAL, "not a usable private key");
    pem = "-----BEGIN PUBLIC KEY-----\n"
          "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEj6xQ1ya8tRMhlNQ0GKmsYGWQig\n"
          "hgDs1/QsMOQu9PmeD9dIyyyXPYnDRtQcCGUXfSfhTHLQlTdINBOEfc1XjD5nOQ==\n"
          "-----END PUBLIC KEY-----\n";
    ck_assert_int_eq(acme_seal(&sealed, &len, test_pool, tkh_seal_key, aad,
                               (const unsigned char *)pem, strlen(pem)), APR_SUCCESS);
    assert_b_refuses(tkh_b, sealed, aad, APR_EINVAL, "not a usable private key");
    encrypted = tkh_file_text(tkh_staged_path(tkh_store_dir, TKH_MD, &p256));
    ck_assert_ptr_nonnull(strstr(encrypted, "ENCRYPTED"));
    ck_assert_int_eq(acme_seal(&sealed, &len, test_pool, tkh_seal_key, aad,
                               (const unsigned char *)encrypted, strlen(encrypted)),
                     APR_SUCCESS);
    assert_b_refuses(tkh_b, sealed, aad, APR_EINVAL, "not a usable private key");
    /* plain PEM instead of a sealed text */
    ck_assert_int_eq(acme_pkey_to_pem(&pem, &len, test_pool,
                                      tkh_staged_make(tkh_local, TKH_MD, &p384), NULL),
                     APR_SUCCESS);
    assert_b_refuses(tkh_b, pem, aad, ACME_SEAL_ENOTSEALED, "not a sealed blob");
    /* where no key was, none is made */
    ck_assert_int_eq(acme_keys_unseal_domain_key(&got, test_pool, tkh_b, TKH_MD_RSA, &rsa2048,
                                                 not_a_key, aad, NULL), APR_EINVAL);
    ck_assert_ptr_null(tkh_file_text(tkh_staged_path(tkh_b_dir, TKH_MD_RSA, &rsa2048)));
}
END_TEST

START_TEST(account_keys_only_for_new_accounts)
{
    const char *aad = acme_keys_seal_aad_account(test_pool, CA_NAME);
    const char *path = tkh_account_path(tkh_b_dir, B_ACCOUNT), *sealed, *before, *why = NULL;
    acme_pkey_t *got = NULL;
    apr_size_t len;

    tkh_account_make(tkh_local, TKH_ACCOUNT);
    tkh_account_make(tkh_b, B_ACCOUNT);
    before = tkh_file_text(path);
    ck_assert_int_eq(acme_keys_seal_account_key(&sealed, test_pool, tkh_local, TKH_ACCOUNT,
                                                aad, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_unseal_account_key(&got, test_pool, tkh_b, B_ACCOUNT, sealed,
                                                  aad, &why), APR_EEXIST);
    ck_assert_ptr_null(got);
    ck_assert_str_eq(tkh_file_text(path), before);
    /* a text that is no key makes no account */
    ck_assert_int_eq(acme_seal(&sealed, &len, test_pool, tkh_seal_key, aad,
                               (const unsigned char *)"{}", 2), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_unseal_account_key(&got, test_pool, tkh_b, "ACME-b-0002",
                                                  sealed, aad, &why), APR_EINVAL);
    ck_assert_ptr_null(tkh_file_text(tkh_account_path(tkh_b_dir, "ACME-b-0002")));
    /* an account with no key has nothing to seal */
    ck_assert_int_eq(acme_keys_seal_account_key(&sealed, test_pool, tkh_b, "ACME-b-0003",
                                                aad, &why), APR_ENOENT);
}
END_TEST

START_TEST(without_a_seal_key_nothing_seals)
{
    const char *aad = acme_keys_seal_aad_domain(test_pool, TKH_MD, &p256);
    const char *path = tkh_staged_path(tkh_store_dir, TKH_MD, &p256), *sealed, *before;
    const char *why = NULL;
    acme_store_t *store;
    acme_keys_t *plain;
    acme_pkey_t *got;

    tkh_staged_make(tkh_local, TKH_MD, &p256);
    tkh_account_make(tkh_local, TKH_ACCOUNT);
    before = tkh_file_text(path);
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed, test_pool, tkh_local, TKH_MD, &p256,
                                               aad, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_store_fs_open(&store, test_pool, tkh_store_dir), APR_SUCCESS);
    plain = acme_keys_local(test_pool, store);
    ck_assert_int_eq(acme_keys_seal_domain_key(&sealed, test_pool, plain, TKH_MD, &p256, aad,
                                               &why), APR_ENOTIMPL);
    ck_assert_ptr_nonnull(strstr(why, "no MDSharedStoreKeyFile"));
    ck_assert_int_eq(acme_keys_seal_account_key(&sealed, test_pool, plain, TKH_ACCOUNT,
                                                "account/" CA_NAME, &why), APR_ENOTIMPL);
    ck_assert_int_eq(acme_keys_unseal_domain_key(&got, test_pool, plain, TKH_MD, &p256, sealed,
                                                 aad, &why), APR_ENOTIMPL);
    ck_assert_ptr_nonnull(strstr(why, "no MDSharedStoreKeyFile"));
    ck_assert_int_eq(acme_keys_unseal_account_key(&got, test_pool, plain, "ACME-a-0009",
                                                  sealed, "account/" CA_NAME, &why),
                     APR_ENOTIMPL);
    ck_assert_str_eq(tkh_file_text(path), before);
    ck_assert_ptr_null(tkh_file_text(tkh_account_path(tkh_store_dir, "ACME-a-0009")));
}
END_TEST

TCase *test_keyholder_seal_tcase(void)
{
    TCase *tc = tcase_create("seal");

    tcase_add_checked_fixture(tc, tkh_seal_setup, tkh_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, local_round_trips_ec_rsa_and_account);
    tcase_add_test(tc, sealed_texts_that_do_not_fit_write_nothing);
    tcase_add_test(tc, account_keys_only_for_new_accounts);
    tcase_add_test(tc, without_a_seal_key_nothing_seals);
    return tc;
}
