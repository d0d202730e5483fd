/* Sealed blobs for the shared store (acme_seal.h): AES-256-GCM with the
 * header and the item's name as authenticated data. The key file's reading
 * is in acme_seal_key.c. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "acme_assert.h"
#include "acme_b64.h"
#include "acme_ossl.h"
#include "acme_seal.h"
#include "acme_seal_int.h"

#define SEAL_VERSION "v1"
#define SEAL_OVERHEAD (ACME_SEAL_NONCE_LEN + ACME_SEAL_TAG_LEN)
/* Longest version text quoted in a message. */
#define SEAL_VERSION_QUOTE_MAX 16

/* A plaintext handed out by acme_seal_open(), wiped with its pool. */
typedef struct {
    unsigned char *buf;
    apr_size_t len;
} seal_plain_t;

static apr_status_t plain_wipe(void *data)
{
    seal_plain_t *plain = data;

    OPENSSL_cleanse(plain->buf, plain->len);
    return APR_SUCCESS;
}

static void set_err(const char **perr, apr_pool_t *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(const char **perr, apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;

    if (perr) {
        va_start(ap, fmt);
        *perr = apr_pvsprintf(p, fmt, ap);
        va_end(ap);
    }
}

int acme_seal_is_sealed(const char *data, apr_size_t len)
{
    return data != NULL && len >= sizeof(ACME_SEAL_PREFIX) - 1
           && memcmp(data, ACME_SEAL_PREFIX, sizeof(ACME_SEAL_PREFIX) - 1) == 0;
}

/* "acme-seal:v1:<key id>:", the start of every blob of `key` and of its
 * authenticated data. */
static const char *seal_header(apr_pool_t *p, const acme_seal_key_t *key)
{
    return apr_pstrcat(p, ACME_SEAL_PREFIX, SEAL_VERSION ":", key->id, ":", NULL);
}

/* One AES-256-GCM pass over `len` bytes of `in` into `out` (same length),
 * with header and aad as authenticated data. Encrypting writes the tag into
 * `tag`, decrypting checks it: ACME_SEAL_EAUTH when it does not match. */
static apr_status_t seal_gcm(int encrypt, const acme_seal_key_t *key,
                             const unsigned char *nonce, const char *header, const char *aad,
                             const unsigned char *in, apr_size_t len, unsigned char *out,
                             unsigned char *tag)
{
    EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    OSSL_PARAM params[2];
    apr_status_t rv = APR_SUCCESS;
    int n = 0, ok;

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
                                                  ACME_SEAL_TAG_LEN);
    params[1] = OSSL_PARAM_construct_end();
    /* the default IV length of GCM is the 12 bytes of our nonce */
    ok = aes != NULL && ctx != NULL
         && EVP_CipherInit_ex2(ctx, aes, key->bytes, nonce, encrypt, NULL) == 1
         && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)header,
                             (int)strlen(header)) == 1
         && (*aad == '\0'
             || EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
                                 (int)strlen(aad)) == 1)
         && (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1)
         && (encrypt || EVP_CIPHER_CTX_set_params(ctx, params) == 1);
    if (!ok) {
        rv = acme_ossl_fail(encrypt ? "ACME0792 sealing: AES-256-GCM failed"
                                    : "ACME0793 opening a sealed blob: AES-256-GCM failed");
    }
    else if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1) {
        /* GCM's final step is where a decryption's tag is checked */
        ERR_clear_error();
        rv = encrypt ? acme_ossl_fail("ACME0792 sealing: AES-256-GCM failed") : ACME_SEAL_EAUTH;
    }
    else if (encrypt && EVP_CIPHER_CTX_get_params(ctx, params) != 1) {
        rv = acme_ossl_fail("ACME0792 sealing: no GCM tag");
    }
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(aes);
    return rv;
}

apr_status_t acme_seal(const char **pout, apr_size_t *plen, apr_pool_t *p,
                       const acme_seal_key_t *key, const char *aad,
                       const unsigned char *plain, apr_size_t len)
{
    unsigned char *raw;
    const char *header, *out;
    apr_status_t rv;

    ACME_ASSERT(key != NULL && key->id[0] != '\0' && aad != NULL
                && (plain != NULL || len == 0));
    if (len > ACME_SEAL_PLAIN_MAX) {
        return APR_FROM_OS_ERROR(EFBIG);
    }
    header = seal_header(p, key);
    raw = apr_palloc(p, len + SEAL_OVERHEAD);
    if (RAND_bytes(raw, ACME_SEAL_NONCE_LEN) != 1) {
        return acme_ossl_fail("ACME0791 sealing: no random nonce");
    }
    rv = seal_gcm(1, key, raw, header, aad, plain, len, raw + ACME_SEAL_NONCE_LEN,
                  raw + ACME_SEAL_NONCE_LEN + len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out = apr_pstrcat(p, header, acme_b64url_encode(p, raw, len + SEAL_OVERHEAD), NULL);
    *pout = out;
    *plen = strlen(out);
    return APR_SUCCESS;
}

/* The version of a blob that is not ours, quoted printable and short. */
static const char *version_quote(apr_pool_t *p, const char *v, apr_size_t len)
{
    char *q = apr_palloc(p, SEAL_VERSION_QUOTE_MAX + 1);
    apr_size_t i;

    for (i = 0; i < len && i < SEAL_VERSION_QUOTE_MAX && v[i] != ':'; ++i) {
        q[i] = apr_isprint(v[i]) && !(v[i] & 0x80) ? v[i] : '?';
    }
    q[i] = '\0';
    return q;
}

static int key_id_is_wellformed(const char *id, apr_size_t len)
{
    apr_size_t i;

    if (len <= ACME_SEAL_KEY_ID_LEN || id[ACME_SEAL_KEY_ID_LEN] != ':') {
        return 0;
    }
    for (i = 0; i < ACME_SEAL_KEY_ID_LEN; ++i) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* acme_b64url_decode() tolerates non-zero unused bits in the last
 * character, so two texts would open as one blob: only the text
 * acme_b64url_encode() writes is taken, so that no byte of a blob can
 * change without the blob failing to open. */
static int b64url_is_canonical(const char *s, apr_size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *c;

    if (len % 4 < 2) {
        return 1;
    }
    if (s[len - 1] == '\0' || (c = strchr(alphabet, s[len - 1])) == NULL) {
        return 0;
    }
    return ((c - alphabet) & (len % 4 == 2 ? 0x0f : 0x03)) == 0;
}

/* Checks the header of a blob for `key`: APR_SUCCESS or an ACME_SEAL_E*
 * code with its message. */
static apr_status_t header_check(apr_pool_t *p, const acme_seal_key_t *key, const char *blob,
                                 apr_size_t len, const char **perr)
{
    const apr_size_t v = sizeof(ACME_SEAL_PREFIX) - 1;
    const char *vend;
    apr_size_t id;

    if (!acme_seal_is_sealed(blob, len)) {
        set_err(perr, p, "not a sealed blob (no \"" ACME_SEAL_PREFIX "\" at its start)");
        return ACME_SEAL_ENOTSEALED;
    }
    if ((vend = memchr(blob + v, ':', len - v)) == NULL) {
        set_err(perr, p, "a damaged sealed blob (no version after \"" ACME_SEAL_PREFIX "\")");
        return ACME_SEAL_EAUTH;
    }
    id = (apr_size_t)(vend - blob) + 1;
    if (id - v != sizeof(SEAL_VERSION) || memcmp(blob + v, SEAL_VERSION, id - v - 1) != 0) {
        set_err(perr, p, "sealed in format \"%s\", this mod_acme reads " SEAL_VERSION
                " only: a newer mod_acme wrote it", version_quote(p, blob + v, len - v));
        return ACME_SEAL_EVERSION;
    }
    if (!key_id_is_wellformed(blob + id, len - id)) {
        set_err(perr, p, "a damaged sealed blob (no key id after \"" ACME_SEAL_PREFIX
                SEAL_VERSION ":\")");
        return ACME_SEAL_EAUTH;
    }
    if (memcmp(blob + id, key->id, ACME_SEAL_KEY_ID_LEN) != 0) {
        set_err(perr, p, "sealed under key %.*s, not under this server's key %s: every "
                "server sharing the store needs the same key file",
                ACME_SEAL_KEY_ID_LEN, blob + id, key->id);
        return ACME_SEAL_EKEY;
    }
    return APR_SUCCESS;
}

apr_status_t acme_seal_open(const unsigned char **pplain, apr_size_t *plen, apr_pool_t *p,
                            const acme_seal_key_t *key, const char *aad, const char *blob,
                            apr_size_t bloblen, const char **perr)
{
    const char *body;
    seal_plain_t *plain;
    unsigned char *raw;
    apr_size_t rawlen;
    apr_status_t rv;

    ACME_ASSERT(key != NULL && key->id[0] != '\0' && aad != NULL
                && (blob != NULL || bloblen == 0));
    if (bloblen > ACME_SEAL_BLOB_MAX) {
        set_err(perr, p, "a sealed blob of %" APR_SIZE_T_FMT " bytes, over the bound of %d",
                bloblen, ACME_SEAL_BLOB_MAX);
        return APR_FROM_OS_ERROR(EFBIG);
    }
    if ((rv = header_check(p, key, blob, bloblen, perr)) != APR_SUCCESS) {
        return rv;
    }
    body = blob + ACME_SEAL_HEADER_LEN;
    if (acme_b64url_decode(&raw, &rawlen, p, body, bloblen - ACME_SEAL_HEADER_LEN)
            != APR_SUCCESS
        || !b64url_is_canonical(body, bloblen - ACME_SEAL_HEADER_LEN)
        || rawlen < SEAL_OVERHEAD) {
        set_err(perr, p, "a damaged sealed blob (not base64url after its key id, or too "
                "short)");
        return ACME_SEAL_EAUTH;
    }
    plain = apr_palloc(p, sizeof(*plain));
    plain->len = rawlen - SEAL_OVERHEAD;
    plain->buf = apr_palloc(p, plain->len + 1);
    rv = seal_gcm(0, key, raw, seal_header(p, key), aad, raw + ACME_SEAL_NONCE_LEN,
                  plain->len, plain->buf, raw + ACME_SEAL_NONCE_LEN + plain->len);
    if (rv != APR_SUCCESS) {
        /* GCM hands out plaintext before it checks the tag */
        OPENSSL_cleanse(plain->buf, plain->len);
        if (rv == ACME_SEAL_EAUTH) {
            set_err(perr, p, "the sealed blob does not authenticate: damaged, tampered with, "
                    "or sealed for another item than this one");
        }
        else {
            set_err(perr, p, "opening the sealed blob failed (OpenSSL, see the error log)");
        }
        return rv;
    }
    plain->buf[plain->len] = '\0';
    apr_pool_cleanup_register(p, plain, plain_wipe, apr_pool_cleanup_null);
    *pplain = plain->buf;
    *plen = plain->len;
    return APR_SUCCESS;
}
