/* Fuzz target: sealed blobs of the shared store (acme_seal.h, issue 18),
 * what a hostile or damaged Redis can hand back for a private key.
 *
 * The first input byte selects what the rest is:
 * - even: a blob, for acme_seal_open() with the target's key and item name
 *   (fuzz_seal.h), from an exact-size copy without a NUL byte after it.
 *   Checked: the status is one that acme_seal.h documents, a failure has a
 *   one-line printable message and leaves the outputs untouched, and
 *   ACME_SEAL_ENOTSEALED comes exactly when acme_seal_is_sealed() says no.
 *   A blob that opens is one that acme_seal() makes: our header, the
 *   length of its plaintext's blob, a NUL byte after the plaintext; it does
 *   not open for another item name (ACME_SEAL_EAUTH) or under another key
 *   (ACME_SEAL_EKEY), nor with one byte cut off or one bit changed (which
 *   bit of which byte: bits 1-7 of the mode byte); its plaintext sealed
 *   again opens to the same bytes.
 * - odd: a plaintext for acme_seal(). Checked: the blob is our header and
 *   base64url, as long as the format says, opens to the same bytes, and not
 *   for another item name or under another key.
 * A blob opens only when made by acme_seal() with the key and item name
 * (GCM's tag): the seeds are such blobs, made by make_seeds.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_seal.h"
#include "fuzz_common.h"
#include "fuzz_seal.h"

static const unsigned char untouched[] = "untouched";

static acme_seal_key_t *fuzz_seal_key(apr_pool_t *p, unsigned char first)
{
    unsigned char bytes[ACME_SEAL_KEY_LEN];
    acme_seal_key_t *key = NULL;
    int i;

    for (i = 0; i < ACME_SEAL_KEY_LEN; ++i) {
        bytes[i] = (unsigned char)(first + i);
    }
    FUZZ_CHECK(acme_seal_key_from_bytes(&key, p, bytes, sizeof(bytes)) == APR_SUCCESS);
    return key;
}

/* The length of the blob of `len` bytes of plaintext. */
static apr_size_t blob_len(apr_size_t len)
{
    apr_size_t raw = ACME_SEAL_NONCE_LEN + len + ACME_SEAL_TAG_LEN;

    return ACME_SEAL_HEADER_LEN + raw / 3 * 4 + (raw % 3 ? raw % 3 + 1 : 0);
}

static int one_printable_line(const char *text)
{
    const char *c;

    if (text == NULL || *text == '\0') {
        return 0;
    }
    for (c = text; *c; ++c) {
        if (*c < 0x20 || *c > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* acme_seal_open() on an exact-size copy of `len` bytes of `blob`: a read
 * past the blob is ASan's to see. On failure checks the message and that
 * the outputs are untouched. */
static apr_status_t open_exact(const unsigned char **pplain, apr_size_t *plen, apr_pool_t *p,
                               const acme_seal_key_t *key, const char *aad, const char *blob,
                               apr_size_t len)
{
    char *copy = malloc(len ? len : 1);
    const unsigned char *plain = untouched;
    apr_size_t plain_len = 4242;
    const char *err = NULL;
    apr_status_t rv;

    FUZZ_CHECK(copy != NULL);
    memcpy(copy, blob, len);
    rv = acme_seal_open(&plain, &plain_len, p, key, aad, copy, len, &err);
    free(copy);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == ACME_SEAL_ENOTSEALED || rv == ACME_SEAL_EVERSION
               || rv == ACME_SEAL_EKEY || rv == ACME_SEAL_EAUTH
               || rv == APR_FROM_OS_ERROR(EFBIG));
    FUZZ_CHECK((rv == APR_FROM_OS_ERROR(EFBIG)) == (len > ACME_SEAL_BLOB_MAX));
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(plain == untouched && plain_len == 4242);
        FUZZ_CHECK(one_printable_line(err));
        if (len <= ACME_SEAL_BLOB_MAX) {
            FUZZ_CHECK((rv == ACME_SEAL_ENOTSEALED) == !acme_seal_is_sealed(blob, len));
        }
    }
    if (pplain) {
        *pplain = plain;
        *plen = plain_len;
    }
    return rv;
}

static void fuzz_open(apr_pool_t *p, const acme_seal_key_t *key, const acme_seal_key_t *other,
                      unsigned choice, const char *blob, apr_size_t len)
{
    const char *header = apr_pstrcat(p, "acme-seal:v1:", acme_seal_key_id(key), ":", NULL);
    const unsigned char *plain = NULL, *again = NULL;
    const char *resealed = NULL;
    apr_size_t plen = 0, alen = 0, rlen = 0, pos;
    char *changed;

    if (open_exact(&plain, &plen, p, key, FUZZ_SEAL_AAD, blob, len) != APR_SUCCESS) {
        return;
    }
    FUZZ_CHECK(len >= ACME_SEAL_HEADER_LEN && memcmp(blob, header, ACME_SEAL_HEADER_LEN) == 0);
    FUZZ_CHECK(len == blob_len(plen));
    FUZZ_CHECK(plain[plen] == '\0');
    FUZZ_CHECK(open_exact(NULL, NULL, p, key, FUZZ_SEAL_AAD "x", blob, len) == ACME_SEAL_EAUTH);
    FUZZ_CHECK(open_exact(NULL, NULL, p, other, FUZZ_SEAL_AAD, blob, len) == ACME_SEAL_EKEY);
    FUZZ_CHECK(open_exact(NULL, NULL, p, key, FUZZ_SEAL_AAD, blob, len - 1) != APR_SUCCESS);
    pos = (choice * 2654435761u) % len;
    changed = apr_pmemdup(p, blob, len);
    changed[pos] = (char)(changed[pos] ^ (1 << (choice % 8)));
    FUZZ_CHECK(open_exact(NULL, NULL, p, key, FUZZ_SEAL_AAD, changed, len) != APR_SUCCESS);
    FUZZ_CHECK(acme_seal(&resealed, &rlen, p, key, FUZZ_SEAL_AAD, plain, plen) == APR_SUCCESS);
    FUZZ_CHECK(open_exact(&again, &alen, p, key, FUZZ_SEAL_AAD, resealed, rlen)
               == APR_SUCCESS);
    FUZZ_CHECK(alen == plen && memcmp(again, plain, plen) == 0);
}

static void fuzz_seal(apr_pool_t *p, const acme_seal_key_t *key, const acme_seal_key_t *other,
                      const unsigned char *plain, apr_size_t len)
{
    const char *header = apr_pstrcat(p, "acme-seal:v1:", acme_seal_key_id(key), ":", NULL);
    const unsigned char *opened = NULL;
    const char *blob = NULL;
    apr_size_t bloblen = 0, olen = 0, i;

    if (len > ACME_SEAL_PLAIN_MAX) {
        FUZZ_CHECK(acme_seal(&blob, &bloblen, p, key, FUZZ_SEAL_AAD, plain, len)
                   == APR_FROM_OS_ERROR(EFBIG));
        return;
    }
    FUZZ_CHECK(acme_seal(&blob, &bloblen, p, key, FUZZ_SEAL_AAD, plain, len) == APR_SUCCESS);
    FUZZ_CHECK(bloblen == blob_len(len) && strlen(blob) == bloblen);
    FUZZ_CHECK(memcmp(blob, header, ACME_SEAL_HEADER_LEN) == 0);
    FUZZ_CHECK(acme_b64url_is_alphabet(blob + ACME_SEAL_HEADER_LEN,
                                       bloblen - ACME_SEAL_HEADER_LEN));
    FUZZ_CHECK(open_exact(&opened, &olen, p, key, FUZZ_SEAL_AAD, blob, bloblen)
               == APR_SUCCESS);
    FUZZ_CHECK(olen == len && (len == 0 || memcmp(opened, plain, len) == 0));
    FUZZ_CHECK(opened[len] == '\0');
    FUZZ_CHECK(open_exact(NULL, NULL, p, key, "", blob, bloblen) == ACME_SEAL_EAUTH);
    FUZZ_CHECK(open_exact(NULL, NULL, p, other, FUZZ_SEAL_AAD, blob, bloblen)
               == ACME_SEAL_EKEY);
    for (i = 0; i < bloblen; ++i) {
        FUZZ_CHECK(blob[i] > 0x20 && blob[i] < 0x7f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    acme_seal_key_t *key, *other;

    if (size == 0) {
        return 0;
    }
    p = fuzz_pool_create();
    key = fuzz_seal_key(p, FUZZ_SEAL_KEY_FIRST);
    other = fuzz_seal_key(p, FUZZ_SEAL_OTHER_FIRST);
    if (data[0] & 1) {
        fuzz_seal(p, key, other, data + 1, size - 1);
    }
    else {
        fuzz_open(p, key, other, data[0] >> 1, (const char *)data + 1, size - 1);
    }
    apr_pool_destroy(p);
    return 0;
}
