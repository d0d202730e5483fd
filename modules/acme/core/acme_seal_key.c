/* The seal key (acme_seal.h): read from a root-only file, checked on the
 * descriptor it is read from, named by its id, wiped with its pool. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acme_assert.h"
#include "acme_ossl.h"
#include "acme_seal.h"
#include "acme_seal_int.h"

/* The base64 text of 32 bytes: 43 characters and one '='. */
#define KEY_TEXT_LEN 44
/* A key file is 45 bytes; a bigger one is not read. */
#define KEY_FILE_MAX 1024
/* Hashed before the key for its id, so that the id is no digest a key has
 * anywhere else. */
static const char key_id_label[] = "mod_acme seal key id v1";

static apr_status_t key_wipe(void *data)
{
    acme_seal_key_t *key = data;

    OPENSSL_cleanse(key->bytes, sizeof(key->bytes));
    return APR_SUCCESS;
}

static apr_status_t key_id_make(acme_seal_key_t *key)
{
    static const char hex[] = "0123456789abcdef";
    EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    int ok;

    ok = sha256 != NULL && ctx != NULL && EVP_DigestInit_ex2(ctx, sha256, NULL) == 1
         && EVP_DigestUpdate(ctx, key_id_label, sizeof(key_id_label)) == 1
         && EVP_DigestUpdate(ctx, key->bytes, sizeof(key->bytes)) == 1
         && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen * 2 >= ACME_SEAL_KEY_ID_LEN;
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(sha256);
    if (!ok) {
        return acme_ossl_fail("ACME0790 seal key id: SHA-256 failed");
    }
    for (i = 0; i < ACME_SEAL_KEY_ID_LEN / 2; ++i) {
        key->id[2 * i] = hex[md[i] >> 4];
        key->id[2 * i + 1] = hex[md[i] & 0x0f];
    }
    key->id[ACME_SEAL_KEY_ID_LEN] = '\0';
    return APR_SUCCESS;
}

apr_status_t acme_seal_key_from_bytes(acme_seal_key_t **pkey, apr_pool_t *p,
                                      const unsigned char *bytes, apr_size_t len)
{
    acme_seal_key_t *key;
    apr_status_t rv;

    if (bytes == NULL || len != ACME_SEAL_KEY_LEN) {
        return APR_EINVAL;
    }
    key = apr_palloc(p, sizeof(*key));
    memcpy(key->bytes, bytes, ACME_SEAL_KEY_LEN);
    apr_pool_cleanup_register(p, key, key_wipe, apr_pool_cleanup_null);
    if ((rv = key_id_make(key)) != APR_SUCCESS) {
        return rv;
    }
    *pkey = key;
    return APR_SUCCESS;
}

void acme_seal_key_wipe(acme_seal_key_t *key)
{
    key_wipe(key);
    /* an empty id marks the key wiped: sealing under zero bytes must not happen */
    memset(key->id, 0, sizeof(key->id));
}

const char *acme_seal_key_id(const acme_seal_key_t *key)
{
    return key->id;
}

static const char *os_text(apr_pool_t *p, apr_status_t rv)
{
    char buf[256];

    return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
}

/* How a key file is made, for the messages. */
static const char *key_file_howto(apr_pool_t *p, const char *path)
{
    return apr_psprintf(p, "make one with (umask 077; openssl rand -base64 32 > %s)", path);
}

/* The descriptor's file: a regular file, root's or ours, closed to group
 * and others. */
static apr_status_t key_file_check(const struct stat *st, apr_pool_t *p, const char *path,
                                   const char **pwhy)
{
    uid_t euid = geteuid();

    if (!S_ISREG(st->st_mode)) {
        *pwhy = apr_psprintf(p, "is %s, not a regular file: %s",
                             S_ISDIR(st->st_mode) ? "a directory" : "a device, FIFO or socket",
                             key_file_howto(p, path));
        return APR_EINVAL;
    }
    if (st->st_uid != 0 && st->st_uid != euid) {
        *pwhy = apr_psprintf(p, "is owned by uid %ld, not by root%s: chown root %s",
                             (long)st->st_uid,
                             euid == 0 ? "" : apr_psprintf(p, " or uid %ld (this process)",
                                                           (long)euid),
                             path);
        return APR_EINVAL;
    }
    if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        *pwhy = apr_psprintf(p, "mode %04o lets group or others in: chmod 600 %s",
                             (unsigned)(st->st_mode & 07777), path);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Reads the whole file (at most KEY_FILE_MAX bytes) into text. */
static apr_status_t key_file_read(char *text, apr_size_t *plen, int fd, apr_pool_t *p,
                                  const char *path, const char **pwhy)
{
    apr_size_t len = 0;
    apr_status_t rv;
    ssize_t n;

    for (;;) {
        n = read(fd, text + len, KEY_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rv = APR_FROM_OS_ERROR(errno);
            *pwhy = apr_psprintf(p, "cannot be read (%s)", os_text(p, rv));
            return rv;
        }
        if (n == 0) {
            break;
        }
        len += (apr_size_t)n;
        if (len > KEY_FILE_MAX) {
            *pwhy = apr_psprintf(p, "is over %d bytes, a key file is %d: %s", KEY_FILE_MAX,
                                 KEY_TEXT_LEN + 1, key_file_howto(p, path));
            return APR_EINVAL;
        }
    }
    *plen = len;
    return APR_SUCCESS;
}

static int b64_std_char(char c)
{
    return apr_isalnum(c) || c == '+' || c == '/';
}

/* The key from the file's text: standard base64 with padding, white space
 * around it ignored. The text is the secret: no message quotes it. */
static apr_status_t key_text_decode(unsigned char *bytes, const char *text, apr_size_t len,
                                    apr_pool_t *p, const char *path, const char **pwhy)
{
    unsigned char out[KEY_TEXT_LEN / 4 * 3];
    apr_size_t start = 0, end = len, pad = 0, i;

    while (start < end && apr_isspace(text[start])) {
        ++start;
    }
    while (end > start && apr_isspace(text[end - 1])) {
        --end;
    }
    while (pad < 2 && end - start > pad && text[end - 1 - pad] == '=') {
        ++pad;
    }
    for (i = start; i < end - pad && b64_std_char(text[i]); ++i) {
    }
    if (start == end || i != end - pad || (end - start) % 4 != 0) {
        *pwhy = apr_psprintf(p, "%s base64 text (44 characters, '=' at the end): %s",
                             start == end ? "is empty, not" : "does not hold",
                             key_file_howto(p, path));
        return APR_EINVAL;
    }
    if ((end - start) / 4 * 3 - pad != ACME_SEAL_KEY_LEN) {
        *pwhy = apr_psprintf(p, "holds %" APR_SIZE_T_FMT " bytes, a key is %d: %s",
                             (end - start) / 4 * 3 - pad, ACME_SEAL_KEY_LEN,
                             key_file_howto(p, path));
        return APR_EINVAL;
    }
    /* 44 characters with one '=': 33 bytes, the last one the padding's */
    if (EVP_DecodeBlock(out, (const unsigned char *)text + start, KEY_TEXT_LEN)
            != KEY_TEXT_LEN / 4 * 3) {
        OPENSSL_cleanse(out, sizeof(out));
        *pwhy = apr_psprintf(p, "does not hold base64 text: %s", key_file_howto(p, path));
        return APR_EINVAL;
    }
    memcpy(bytes, out, ACME_SEAL_KEY_LEN);
    OPENSSL_cleanse(out, sizeof(out));
    return APR_SUCCESS;
}

apr_status_t acme_seal_key_load(acme_seal_key_t **pkey, apr_pool_t *p, const char *path,
                                const char **perr)
{
    char text[KEY_FILE_MAX + 1];
    unsigned char bytes[ACME_SEAL_KEY_LEN];
    acme_seal_key_t *key = NULL;
    const char *why = "cannot be used";
    apr_size_t len = 0;
    struct stat st;
    apr_status_t rv;
    int fd;

    ACME_ASSERT(path != NULL);
    /* O_NONBLOCK: a FIFO planted there must not hang the start */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        if (rv == APR_FROM_OS_ERROR(ELOOP)) {
            why = "is a symbolic link: name the file itself";
            rv = APR_EINVAL;
        }
        else {
            why = apr_psprintf(p, "cannot be opened (%s)%s%s", os_text(p, rv),
                               rv == APR_FROM_OS_ERROR(ENOENT) ? ": " : "",
                               rv == APR_FROM_OS_ERROR(ENOENT) ? key_file_howto(p, path) : "");
        }
        goto cleanup;
    }
    if (fstat(fd, &st) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        why = apr_psprintf(p, "cannot be read (%s)", os_text(p, rv));
        goto cleanup;
    }
    if ((rv = key_file_check(&st, p, path, &why)) != APR_SUCCESS
        || (rv = key_file_read(text, &len, fd, p, path, &why)) != APR_SUCCESS
        || (rv = key_text_decode(bytes, text, len, p, path, &why)) != APR_SUCCESS) {
        goto cleanup;
    }
    rv = acme_seal_key_from_bytes(&key, p, bytes, sizeof(bytes));
cleanup:
    if (fd >= 0) {
        close(fd);
    }
    OPENSSL_cleanse(text, sizeof(text));
    OPENSSL_cleanse(bytes, sizeof(bytes));
    if (rv != APR_SUCCESS) {
        if (perr) {
            *perr = apr_psprintf(p, "seal key file %s: %s", path, why);
        }
        return rv;
    }
    *pkey = key;
    return APR_SUCCESS;
}
