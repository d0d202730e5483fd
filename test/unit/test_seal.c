/* check_seal: sealed blobs for the shared store (acme_seal.h): round trips,
 * fresh nonces, every damaged byte refused with the code that says why,
 * the item name (aad) and the key bound in, bounds, wiping. The key file's
 * checks are in test_seal_key.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "acme_b64.h"
#include "acme_seal_int.h"
#include "check_main.h"
#include "test_seal.h"

#define AAD "domains/example.org/privkey.pem"
/* What a failed open must leave in its outputs. */
static const unsigned char untouched[] = "untouched";

acme_seal_key_t *seal_test_key(unsigned char first)
{
    unsigned char bytes[ACME_SEAL_KEY_LEN];
    acme_seal_key_t *key = NULL;
    int i;

    for (i = 0; i < ACME_SEAL_KEY_LEN; ++i) {
        bytes[i] = (unsigned char)(first + i);
    }
    ck_assert_int_eq(acme_seal_key_from_bytes(&key, test_pool, bytes, sizeof(bytes)),
                     APR_SUCCESS);
    return key;
}

/* A real private key PEM (P-256, traditional form). */
static const char *pem_key(apr_size_t *plen)
{
    const char *path = apr_pstrcat(test_pool, ACME_TEST_DATA, "/jose/ec-p256-traditional.pem",
                                   NULL);
    apr_file_t *f = NULL;
    apr_finfo_t info;
    char *buf;

    ck_assert_int_eq(apr_file_open(&f, path, APR_FOPEN_READ, 0, test_pool), APR_SUCCESS);
    ck_assert_int_eq(apr_file_info_get(&info, APR_FINFO_SIZE, f), APR_SUCCESS);
    *plen = (apr_size_t)info.size;
    buf = apr_palloc(test_pool, *plen + 1);
    ck_assert_int_eq(apr_file_read_full(f, buf, *plen, NULL), APR_SUCCESS);
    buf[*plen] = '\0';
    apr_file_close(f);
    ck_assert_ptr_nonnull(strstr(buf, "PRIVATE KEY"));
    return buf;
}

static const char *seal_ok(apr_size_t *plen, const acme_seal_key_t *key, const char *aad,
                           const void *plain, apr_size_t len)
{
    const char *blob = NULL;

    ck_assert_int_eq(acme_seal(&blob, plen, test_pool, key, aad, plain, len), APR_SUCCESS);
    ck_assert_ptr_nonnull(blob);
    ck_assert_uint_eq(strlen(blob), *plen);
    return blob;
}

/* Opens blob with key and aad and expects `code`; a failure leaves the
 * outputs untouched and says why. */
static void open_fails(const acme_seal_key_t *key, const char *aad, const char *blob,
                       apr_size_t len, apr_status_t code, const char *what)
{
    const unsigned char *plain = untouched;
    apr_size_t plen = 4242;
    const char *err = NULL;
    apr_status_t rv = acme_seal_open(&plain, &plen, test_pool, key, aad, blob, len, &err);

    ck_assert_msg(rv == code, "%s: status %d, expected %d (%s)", what, rv, code,
                  err ? err : "no message");
    ck_assert_msg(plain == untouched && plen == 4242, "%s: outputs set on failure", what);
    ck_assert_msg(err != NULL && *err != '\0' && strchr(err, '\n') == NULL,
                  "%s: no one-line message", what);
}

static void assert_round_trip(const acme_seal_key_t *key, const void *plain, apr_size_t len)
{
    const unsigned char *out = NULL;
    const char *blob, *header;
    apr_size_t bloblen, outlen = 0;

    blob = seal_ok(&bloblen, key, AAD, plain, len);
    header = apr_pstrcat(test_pool, "acme-seal:v1:", acme_seal_key_id(key), ":", NULL);
    ck_assert_uint_eq(strlen(header), ACME_SEAL_HEADER_LEN);
    ck_assert_int_eq(strncmp(blob, header, ACME_SEAL_HEADER_LEN), 0);
    ck_assert_uint_le(bloblen, ACME_SEAL_BLOB_MAX);
    ck_assert(acme_seal_is_sealed(blob, bloblen));
    ck_assert_int_eq(acme_seal_open(&out, &outlen, test_pool, key, AAD, blob, bloblen, NULL),
                     APR_SUCCESS);
    ck_assert_uint_eq(outlen, len);
    ck_assert(len == 0 || memcmp(out, plain, len) == 0);
    ck_assert_int_eq(out[len], '\0');
}

START_TEST(round_trips_from_empty_to_the_largest)
{
    acme_seal_key_t *key = seal_test_key(1);
    unsigned char *big = apr_palloc(test_pool, ACME_SEAL_PLAIN_MAX);
    apr_size_t len;
    const char *pem = pem_key(&len);

    assert_round_trip(key, NULL, 0);
    assert_round_trip(key, "x", 1);
    assert_round_trip(key, pem, len);
    ck_assert_int_eq(RAND_bytes(big, ACME_SEAL_PLAIN_MAX), 1);
    assert_round_trip(key, big, ACME_SEAL_PLAIN_MAX);
}
END_TEST

START_TEST(bounds_keep_a_blob_within_the_store_item)
{
    acme_seal_key_t *key = seal_test_key(1);
    unsigned char *big = apr_pcalloc(test_pool, ACME_SEAL_PLAIN_MAX + 1);
    const char *blob = (const char *)untouched;
    apr_size_t len = 4242;
    char *huge;

    /* the largest plaintext makes a blob that just fits; one byte more would not */
    seal_ok(&len, key, AAD, big, ACME_SEAL_PLAIN_MAX);
    ck_assert_uint_le(len, ACME_STORE_ITEM_MAX);
    ck_assert_uint_gt(ACME_SEAL_HEADER_LEN + ((ACME_SEAL_PLAIN_MAX + 1 + 28) * 4 + 2) / 3,
                      ACME_STORE_ITEM_MAX);
    len = 4242;
    ck_assert_int_eq(acme_seal(&blob, &len, test_pool, key, AAD, big, ACME_SEAL_PLAIN_MAX + 1),
                     APR_FROM_OS_ERROR(EFBIG));
    ck_assert(blob == (const char *)untouched && len == 4242);
    /* a blob over the store's bound is not read */
    huge = apr_palloc(test_pool, ACME_SEAL_BLOB_MAX + 1);
    memset(huge, 'A', ACME_SEAL_BLOB_MAX + 1);
    memcpy(huge, "acme-seal:v1:", 13);
    open_fails(key, AAD, huge, ACME_SEAL_BLOB_MAX + 1, APR_FROM_OS_ERROR(EFBIG), "too big");
}
END_TEST

START_TEST(each_seal_takes_a_fresh_nonce)
{
    acme_seal_key_t *key = seal_test_key(1);
    apr_size_t len1, len2;
    const char *a = seal_ok(&len1, key, AAD, "same", 4);
    const char *b = seal_ok(&len2, key, AAD, "same", 4);

    ck_assert_uint_eq(len1, len2);
    ck_assert_str_ne(a, b);
    /* the nonce is the first 12 bytes: 16 base64url characters */
    ck_assert(memcmp(a + ACME_SEAL_HEADER_LEN, b + ACME_SEAL_HEADER_LEN, 16) != 0);
}
END_TEST

/* The code a blob of `key` gets with `c` at position `pos` instead of
 * what was there. */
static apr_status_t damaged_code(apr_size_t pos, char c)
{
    if (pos < 10) {             /* "acme-seal:" */
        return ACME_SEAL_ENOTSEALED;
    }
    if (pos < 13) {             /* "v1:" */
        return ACME_SEAL_EVERSION;
    }
    if (pos < 29) {             /* a key id that is another key's, or no key id */
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ? ACME_SEAL_EKEY
                                                                : ACME_SEAL_EAUTH;
    }
    return ACME_SEAL_EAUTH;
}

/* Every bit of every byte flipped, every prefix, a byte added: never opens. */
static void assert_damage_refused(const acme_seal_key_t *key, const void *plain,
                                  apr_size_t len)
{
    apr_size_t bloblen, pos;
    const char *blob = seal_ok(&bloblen, key, AAD, plain, len);
    char *copy = apr_pmemdup(test_pool, blob, bloblen + 1);
    char what[64];
    int bit;

    for (pos = 0; pos < bloblen; ++pos) {
        for (bit = 0; bit < 8; ++bit) {
            copy[pos] = (char)(blob[pos] ^ (1 << bit));
            snprintf(what, sizeof(what), "size %zu, byte %zu, bit %d", len, pos, bit);
            open_fails(key, AAD, copy, bloblen, damaged_code(pos, copy[pos]), what);
            copy[pos] = blob[pos];
        }
    }
    for (pos = 0; pos < bloblen; ++pos) {
        snprintf(what, sizeof(what), "size %zu, cut to %zu", len, pos);
        open_fails(key, AAD, blob, pos, pos < 10 ? ACME_SEAL_ENOTSEALED : ACME_SEAL_EAUTH,
                   what);
    }
    open_fails(key, AAD, apr_pstrcat(test_pool, blob, "A", NULL), bloblen + 1,
               ACME_SEAL_EAUTH, "a byte added");
    open_fails(key, AAD, apr_pstrcat(test_pool, blob, "\n", NULL), bloblen + 1,
               ACME_SEAL_EAUTH, "a newline added");
}

START_TEST(any_damaged_byte_is_refused)
{
    acme_seal_key_t *key = seal_test_key(1);
    apr_size_t len;
    const char *pem = pem_key(&len);

    /* 0, 1 and 2 bytes: base64url texts whose last character has 4, 2 and
     * no unused bits */
    assert_damage_refused(key, NULL, 0);
    assert_damage_refused(key, "x", 1);
    assert_damage_refused(key, "xy", 2);
    assert_damage_refused(key, pem, len);
}
END_TEST

START_TEST(another_item_name_does_not_open)
{
    acme_seal_key_t *key = seal_test_key(1);
    apr_size_t len;
    const char *blob = seal_ok(&len, key, AAD, "secret", 6);

    open_fails(key, "domains/example.net/privkey.pem", blob, len, ACME_SEAL_EAUTH, "other");
    open_fails(key, AAD "x", blob, len, ACME_SEAL_EAUTH, "longer");
    open_fails(key, "domains/example.org/privkey.pe", blob, len, ACME_SEAL_EAUTH, "shorter");
    open_fails(key, "", blob, len, ACME_SEAL_EAUTH, "empty");
    /* and the empty name is a name like any other */
    blob = seal_ok(&len, key, "", "secret", 6);
    open_fails(key, AAD, blob, len, ACME_SEAL_EAUTH, "sealed for the empty name");
}
END_TEST

START_TEST(another_key_is_named_as_such)
{
    acme_seal_key_t *mine = seal_test_key(1), *theirs = seal_test_key(2);
    const unsigned char *plain = untouched;
    const char *err = NULL, *blob;
    apr_size_t len, plen = 0;

    ck_assert_str_ne(acme_seal_key_id(mine), acme_seal_key_id(theirs));
    blob = seal_ok(&len, theirs, AAD, "secret", 6);
    open_fails(mine, AAD, blob, len, ACME_SEAL_EKEY, "another key");
    ck_assert_int_eq(acme_seal_open(&plain, &plen, test_pool, mine, AAD, blob, len, &err),
                     ACME_SEAL_EKEY);
    ck_assert_ptr_nonnull(strstr(err, acme_seal_key_id(mine)));
    ck_assert_ptr_nonnull(strstr(err, acme_seal_key_id(theirs)));
    /* a blob claiming our key id but sealed under another key: the tag says so */
    blob = apr_pstrcat(test_pool, "acme-seal:v1:", acme_seal_key_id(mine), ":",
                       blob + ACME_SEAL_HEADER_LEN, NULL);
    open_fails(mine, AAD, blob, len, ACME_SEAL_EAUTH, "our id, their key");
}
END_TEST

START_TEST(key_id_is_a_hash_of_label_and_key)
{
    static const char label[] = "mod_acme seal key id v1";   /* with its NUL */
    unsigned char buf[sizeof(label) + ACME_SEAL_KEY_LEN], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    char hex[ACME_SEAL_KEY_ID_LEN + 1];

    /* blobs in a store carry the id: it must not change between versions */
    memcpy(buf, label, sizeof(label));
    for (i = 0; i < ACME_SEAL_KEY_LEN; ++i) {
        buf[sizeof(label) + i] = (unsigned char)(7 + i);
    }
    ck_assert_int_eq(EVP_Digest(buf, sizeof(buf), md, &mdlen, EVP_sha256(), NULL), 1);
    for (i = 0; i < ACME_SEAL_KEY_ID_LEN / 2; ++i) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    ck_assert_str_eq(acme_seal_key_id(seal_test_key(7)), hex);
    ck_assert_int_eq(acme_seal_key_from_bytes(NULL, test_pool, buf, ACME_SEAL_KEY_LEN - 1),
                     APR_EINVAL);
}
END_TEST

/* Opens blob as acme_seal.h describes the format, with OpenSSL alone and
 * `aad_used` as the whole authenticated data; 1 when it authenticates and
 * gives `plain`. */
static int open_independently(const char *blob, unsigned char first, const char *aad_used,
                              const char *plain)
{
    unsigned char keyb[ACME_SEAL_KEY_LEN], *raw, *out;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    apr_size_t rawlen, clen;
    int i, n, ok;

    for (i = 0; i < ACME_SEAL_KEY_LEN; ++i) {
        keyb[i] = (unsigned char)(first + i);
    }
    ck_assert_int_eq(acme_b64url_decode_str(&raw, &rawlen, test_pool,
                                            blob + ACME_SEAL_HEADER_LEN), APR_SUCCESS);
    ck_assert_uint_ge(rawlen, 28);
    clen = rawlen - 28;
    out = apr_palloc(test_pool, clen + 16);
    ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, keyb, raw) == 1
         && EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad_used,
                              (int)strlen(aad_used)) == 1
         && EVP_DecryptUpdate(ctx, out, &n, raw + 12, (int)clen) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, raw + 12 + clen) == 1
         && EVP_DecryptFinal_ex(ctx, out + n, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok && clen == strlen(plain) && memcmp(out, plain, clen) == 0;
}

START_TEST(format_is_as_documented)
{
    acme_seal_key_t *key = seal_test_key(3);
    const char *header = apr_pstrcat(test_pool, "acme-seal:v1:", acme_seal_key_id(key), ":",
                                     NULL);
    apr_size_t len;
    const char *blob = seal_ok(&len, key, AAD, "a secret", 8);

    /* another implementation can open it: AES-256-GCM, nonce || ciphertext ||
     * tag, the header and then the item's name authenticated */
    ck_assert(open_independently(blob, 3, apr_pstrcat(test_pool, header, AAD, NULL),
                                 "a secret"));
    ck_assert(!open_independently(blob, 3, AAD, "a secret"));
    ck_assert(!open_independently(blob, 3, header, "a secret"));
    ck_assert_uint_eq(len, ACME_SEAL_HEADER_LEN + (12 + 8 + 16) / 3 * 4);
}
END_TEST

START_TEST(a_blob_does_not_hold_its_plaintext)
{
    acme_seal_key_t *key = seal_test_key(1);
    apr_size_t len, bloblen, i;
    const char *pem = pem_key(&len), *blob, *encoded;

    blob = seal_ok(&bloblen, key, AAD, pem, len);
    /* no 12 bytes of the PEM, not even the base64 lines of the key */
    for (i = 0; i + 12 <= len; ++i) {
        ck_assert_msg(strstr(blob, apr_pstrndup(test_pool, pem + i, 12)) == NULL,
                      "the blob holds the plaintext's bytes %zu..%zu", i, i + 11);
    }
    /* nor the plaintext merely encoded */
    encoded = acme_b64url_encode(test_pool, pem, len);
    for (i = 0; i + 16 <= strlen(encoded); i += 4) {
        ck_assert(strstr(blob, apr_pstrndup(test_pool, encoded + i, 16)) == NULL);
    }
}
END_TEST

START_TEST(not_sealed_and_unknown_versions)
{
    acme_seal_key_t *key = seal_test_key(1);
    apr_size_t len, bloblen;
    const char *pem = pem_key(&len), *blob, *err = NULL;
    const unsigned char *plain;
    char *v2;

    ck_assert(!acme_seal_is_sealed(pem, len));
    ck_assert(!acme_seal_is_sealed(NULL, 0));
    ck_assert(!acme_seal_is_sealed("acme-seal", 9));
    ck_assert(acme_seal_is_sealed("acme-seal:", 10));
    open_fails(key, AAD, pem, len, ACME_SEAL_ENOTSEALED, "a PEM");
    open_fails(key, AAD, "", 0, ACME_SEAL_ENOTSEALED, "empty");
    blob = seal_ok(&bloblen, key, AAD, "secret", 6);
    v2 = apr_pstrdup(test_pool, blob);
    v2[11] = '2';
    open_fails(key, AAD, v2, bloblen, ACME_SEAL_EVERSION, "v2");
    ck_assert_int_eq(acme_seal_open(&plain, &len, test_pool, key, AAD, v2, bloblen, &err),
                     ACME_SEAL_EVERSION);
    ck_assert_ptr_nonnull(strstr(err, "\"v2\""));
    /* a version is quoted printable and short */
    v2 = apr_pstrcat(test_pool, "acme-seal:v\x01\n", "0123456789abcdef0123456789:", NULL);
    ck_assert_int_eq(acme_seal_open(&plain, &len, test_pool, key, AAD, v2, strlen(v2), &err),
                     ACME_SEAL_EVERSION);
    ck_assert_ptr_nonnull(strstr(err, "\"v??0123456789abc\""));
    /* cut inside the version: damaged, not another version */
    open_fails(key, AAD, "acme-seal:v1", 12, ACME_SEAL_EAUTH, "cut after v1");
}
END_TEST

START_TEST(plaintext_and_key_are_wiped_with_their_pool)
{
    static const char secret[] = "-----BEGIN PRIVATE KEY-----\nnot really\n";
    acme_seal_key_t *key = seal_test_key(1), *subkey;
    const unsigned char *plain = NULL;
    apr_size_t len, bloblen, i;
    apr_pool_t *sub;
    const char *blob = seal_ok(&bloblen, key, AAD, secret, sizeof(secret) - 1);

    apr_pool_create(&sub, test_pool);
    ck_assert_int_eq(acme_seal_open(&plain, &len, sub, key, AAD, blob, bloblen, NULL),
                     APR_SUCCESS);
    ck_assert_mem_eq(plain, secret, sizeof(secret) - 1);
    subkey = seal_test_key(9);      /* in test_pool: its bytes, copied into sub */
    ck_assert_int_eq(acme_seal_key_from_bytes(&subkey, sub, subkey->bytes, ACME_SEAL_KEY_LEN),
                     APR_SUCCESS);
    /* a clear keeps the pool's first block: what the cleanups left is there */
    apr_pool_clear(sub);
    for (i = 0; i < len; ++i) {
        ck_assert_msg(plain[i] == 0, "plaintext byte %zu survived its pool", i);
    }
    for (i = 0; i < ACME_SEAL_KEY_LEN; ++i) {
        ck_assert_msg(subkey->bytes[i] == 0, "key byte %zu survived its pool", i);
    }
    apr_pool_destroy(sub);
}
END_TEST

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("seal");
    TCase *tc = tcase_create("blob");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    /* every byte of a few blobs damaged eight ways: thousands of opens */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trips_from_empty_to_the_largest);
    tcase_add_test(tc, bounds_keep_a_blob_within_the_store_item);
    tcase_add_test(tc, each_seal_takes_a_fresh_nonce);
    tcase_add_test(tc, any_damaged_byte_is_refused);
    tcase_add_test(tc, another_item_name_does_not_open);
    tcase_add_test(tc, another_key_is_named_as_such);
    tcase_add_test(tc, key_id_is_a_hash_of_label_and_key);
    tcase_add_test(tc, format_is_as_documented);
    tcase_add_test(tc, a_blob_does_not_hold_its_plaintext);
    tcase_add_test(tc, not_sealed_and_unknown_versions);
    tcase_add_test(tc, plaintext_and_key_are_wiped_with_their_pool);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, seal_key_file_tcase());
    return s;
}
