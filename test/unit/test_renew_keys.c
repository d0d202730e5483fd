/* The local key custody (acme_keys_local.c): account keys made once and
 * read back, staged domain keys made, reused and replaced when unusable,
 * CSRs for the staged key, the EAB binding, and keys kept private. */
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>
#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme_jws.h"
#include "acme_keys.h"
#include "acme_layout.h"
#include "acme_store_pkey.h"
#include "test_renew.h"

#define ACCOUNT "ACME-ca.test-0001"
#define MD "a.test"

static acme_keys_t *keys;

static void keys_setup(void)
{
    renew_setup();
    keys = acme_keys_local(test_pool, renew_store);
}

static acme_pkey_spec_t key_spec(const char *word)
{
    acme_pkey_spec_t spec;

    ck_assert_int_eq(acme_pkey_spec_parse(&spec, test_pool, word, NULL), APR_SUCCESS);
    return spec;
}

static const char *store_file(const char *group_dir, const char *name, const char *aspect)
{
    return apr_pstrcat(test_pool, renew_store_dir(), "/", group_dir, "/", name,
                       "/", aspect, NULL);
}

static int file_mode(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

START_TEST(account_key_is_made_once_and_read_back)
{
    acme_pkey_t *made = NULL, *again = NULL, *read = NULL;
    const char *why = NULL;

    ck_assert_int_eq(acme_keys_account_key(&read, test_pool, keys, ACCOUNT, 0, &why),
                     APR_ENOENT);
    ck_assert_int_eq(acme_keys_account_key(&made, test_pool, keys, ACCOUNT, 1, &why),
                     APR_SUCCESS);
    ck_assert(acme_pkey_has_private(made));
    ck_assert_str_eq(acme_pkey_spec_name(test_pool, acme_pkey_get_spec(made)), "P-256");
    /* a second account with this id is refused: the caller takes the next */
    ck_assert_int_eq(acme_keys_account_key(&again, test_pool, keys, ACCOUNT, 1, &why),
                     APR_EEXIST);
    ck_assert_int_eq(acme_keys_account_key(&read, test_pool, keys, ACCOUNT, 0, &why),
                     APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(made, read));
    /* kept as mod_md keeps it (encrypted with the store key), private */
    ck_assert_ptr_nonnull(strstr(renew_item(ACME_STORE_ACCOUNTS, ACCOUNT,
                                            ACME_ASPECT_ACCOUNT_KEY),
                                 "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    ck_assert_int_eq(file_mode(store_file("accounts", ACCOUNT, "account.pem")), 0600);
    /* a fresh custody (another process) reads the same key */
    ck_assert_int_eq(acme_keys_account_key(&read, test_pool,
                                           acme_keys_local(test_pool, renew_store), ACCOUNT,
                                           0, &why), APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(made, read));
    ck_assert_str_eq(acme_keys_kind(keys), "local");
}
END_TEST

START_TEST(account_key_readable_by_others_is_not_used)
{
    acme_pkey_t *key = NULL;
    const char *why = NULL;

    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, keys, ACCOUNT, 1, &why),
                     APR_SUCCESS);
    ck_assert_int_eq(chmod(store_file("accounts", ACCOUNT, "account.pem"), 0644), 0);
    key = NULL;
    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, keys, ACCOUNT, 0, &why),
                     APR_EACCES);
    ck_assert_ptr_null(key);
    ck_assert_str_eq(why, "the key file is not private");
    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, keys, "", 0, &why), APR_EINVAL);
}
END_TEST

START_TEST(domain_key_is_made_then_reused)
{
    acme_pkey_spec_t p256 = key_spec("P-256");
    acme_pkey_t *made = NULL, *again = NULL;
    const char *why = NULL;

    ck_assert_int_eq(acme_keys_domain_key(&made, test_pool, keys, MD, &p256, 0, &why),
                     APR_ENOENT);
    ck_assert_int_eq(acme_keys_domain_key(&made, test_pool, keys, MD, &p256, 1, &why),
                     APR_SUCCESS);
    ck_assert(acme_pkey_spec_eq(acme_pkey_get_spec(made), &p256));
    ck_assert_int_eq(file_mode(store_file("staging", MD, "privkey.secp256r1.pem")), 0600);
    ck_assert_int_eq(acme_keys_domain_key(&again, test_pool, keys, MD, &p256, 1, &why),
                     APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(made, again));
    ck_assert_int_eq(acme_keys_domain_key(&again, test_pool, keys, MD, &p256, 0, &why),
                     APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(made, again));
}
END_TEST

/* A key of another spec saved under this spec's name (RSA sizes share
 * privkey.pem): not this spec's key; create replaces it. */
START_TEST(domain_key_of_another_spec_is_replaced)
{
    acme_pkey_spec_t p256 = key_spec("P-256"), p384 = key_spec("P-384");
    acme_pkey_t *other, *key = NULL;
    const char *pem, *why = NULL;
    apr_size_t len;

    ck_assert_int_eq(acme_pkey_generate(&other, test_pool, &p384, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_store_pkey_to_pem(&pem, &len, test_pool, renew_store,
                                            ACME_STORE_STAGING, other, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_store_save(renew_store, test_pool, ACME_STORE_STAGING, MD,
                                     acme_layout_privkey(test_pool, "P-256"), pem, len,
                                     ACME_STORE_PRIVATE), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, keys, MD, &p256, 0, &why),
                     APR_ENOENT);
    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, keys, MD, &p256, 1, &why),
                     APR_SUCCESS);
    ck_assert(acme_pkey_spec_eq(acme_pkey_get_spec(key), &p256));
}
END_TEST

START_TEST(domain_key_damaged_or_not_private_is_replaced)
{
    acme_pkey_spec_t p256 = key_spec("P-256");
    const char *path = store_file("staging", MD, "privkey.secp256r1.pem");
    acme_pkey_t *first = NULL, *key = NULL;
    const char *why = NULL;

    ck_assert_int_eq(acme_store_save(renew_store, test_pool, ACME_STORE_STAGING, MD,
                                     "privkey.secp256r1.pem", "garbage", 7,
                                     ACME_STORE_PRIVATE), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, keys, MD, &p256, 0, &why),
                     APR_EINVAL);
    ck_assert_int_eq(acme_keys_domain_key(&first, test_pool, keys, MD, &p256, 1, &why),
                     APR_SUCCESS);
    /* readable by others: never used, a new key made in its place, private */
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, keys, MD, &p256, 0, &why),
                     APR_EACCES);
    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, keys, MD, &p256, 1, &why),
                     APR_SUCCESS);
    ck_assert(!acme_pkey_public_eq(first, key));
    ck_assert_int_eq(file_mode(path), 0600);
}
END_TEST

START_TEST(csr_is_signed_by_the_staged_key_for_the_names)
{
    acme_pkey_spec_t p256 = key_spec("P-256");
    apr_array_header_t *names = apr_array_make(test_pool, 2, sizeof(const char *));
    const unsigned char *der = NULL, *in;
    acme_pkey_t *key = NULL;
    const char *why = NULL;
    GENERAL_NAMES *sans;
    X509_REQ *req;
    apr_size_t len = 0;
    int i;

    APR_ARRAY_PUSH(names, const char *) = "a.test";
    APR_ARRAY_PUSH(names, const char *) = "www.a.test";
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, keys, MD, &p256, names, 0, &why),
                     APR_ENOENT);
    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, keys, MD, &p256, 1, &why),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, keys, MD, &p256, names, 0, &why),
                     APR_SUCCESS);
    in = der;
    req = d2i_X509_REQ(NULL, &in, (long)len);
    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(X509_REQ_verify(req, acme_pkey_get_evp(key)), 1);
    sans = NULL;
    {
        STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
        sans = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    }
    ck_assert_ptr_nonnull(sans);
    ck_assert_int_eq(sk_GENERAL_NAME_num(sans), 2);
    for (i = 0; i < 2; ++i) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
        ck_assert_int_eq(gn->type, GEN_DNS);
        ck_assert_str_eq((const char *)ASN1_STRING_get0_data(gn->d.dNSName),
                         APR_ARRAY_IDX(names, i, const char *));
    }
    GENERAL_NAMES_free(sans);
    X509_REQ_free(req);
    apr_array_clear(names);
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, keys, MD, &p256, names, 0, &why),
                     APR_EINVAL);
}
END_TEST

START_TEST(eab_binds_the_account_key)
{
    acme_pkey_t *key = NULL;
    json_t *jws = NULL, *want = NULL;
    const char *why = NULL;

    ck_assert_int_eq(acme_keys_eab(&jws, test_pool, keys, ACCOUNT, EAB_KID, EAB_HMAC,
                                   NEWACCT_URL, &why), APR_ENOENT);
    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, keys, ACCOUNT, 1, &why),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_keys_eab(&jws, test_pool, keys, ACCOUNT, EAB_KID, EAB_HMAC,
                                   NEWACCT_URL, &why), APR_SUCCESS);
    /* the binding a direct MAC over that key gives (HMAC is deterministic) */
    ck_assert_int_eq(acme_jws_sign_eab(&want, test_pool, key, EAB_KID, EAB_HMAC, NULL,
                                       NEWACCT_URL, &why), APR_SUCCESS);
    ck_assert(json_equal(jws, want));
    json_decref(jws);       /* the caller's (acme_jws_sign_eab) */
    json_decref(want);
    ck_assert_int_eq(acme_keys_eab(&jws, test_pool, keys, ACCOUNT, EAB_KID, "not base64url!",
                                   NEWACCT_URL, &why), APR_EINVAL);
    ck_assert_int_eq(acme_keys_eab(&jws, test_pool, keys, ACCOUNT, NULL, EAB_HMAC,
                                   NEWACCT_URL, &why), APR_EINVAL);
}
END_TEST

#if APR_HAS_THREADS
static volatile apr_uint32_t threads_bad;   /* reads that failed or gave another key */

/* Returns instead of apr_thread_exit(): pthread_exit() leaves this frame's
 * ASan redzones poisoned, and ASan then trips over them at thread exit. */
static void *APR_THREAD_FUNC read_account_key(apr_thread_t *thread, void *data)
{
    acme_pkey_t *first = data, *key;
    apr_pool_t *p;
    int i;

    (void)thread;
    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < 50; ++i) {
        if (acme_keys_account_key(&key, p, keys, ACCOUNT, 0, NULL) != APR_SUCCESS
            || !acme_pkey_public_eq(first, key)) {
            apr_atomic_inc32(&threads_bad);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

/* One custody, several renewal threads: every read gives the key. */
START_TEST(custody_serves_threads_at_once)
{
    apr_thread_t *threads[4];
    acme_pkey_t *first = NULL;
    apr_status_t trv;
    int i;

    ck_assert_int_eq(acme_keys_account_key(&first, test_pool, keys, ACCOUNT, 1, NULL),
                     APR_SUCCESS);
    apr_atomic_set32(&threads_bad, 0);
    for (i = 0; i < 4; ++i) {
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, read_account_key, first,
                                           test_pool), APR_SUCCESS);
    }
    for (i = 0; i < 4; ++i) {
        ck_assert_int_eq(apr_thread_join(&trv, threads[i]), APR_SUCCESS);
    }
    ck_assert_uint_eq(apr_atomic_read32(&threads_bad), 0);
}
END_TEST
#endif

TCase *test_renew_keys_tcase(void)
{
    TCase *tc = tcase_create("keys");

    tcase_add_checked_fixture(tc, keys_setup, renew_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, account_key_is_made_once_and_read_back);
    tcase_add_test(tc, account_key_readable_by_others_is_not_used);
    tcase_add_test(tc, domain_key_is_made_then_reused);
    tcase_add_test(tc, domain_key_of_another_spec_is_replaced);
    tcase_add_test(tc, domain_key_damaged_or_not_private_is_replaced);
    tcase_add_test(tc, csr_is_signed_by_the_staged_key_for_the_names);
    tcase_add_test(tc, eab_binds_the_account_key);
#if APR_HAS_THREADS
    tcase_add_test(tc, custody_serves_threads_at_once);
#endif
    return tc;
}
