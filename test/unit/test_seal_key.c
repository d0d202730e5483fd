/* check_seal: the key file (acme_seal_key_load): what `openssl rand -base64
 * 32` writes is read, and each way a file can be wrong is refused with a
 * one-line message naming the path and the fix, never the file's text. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "acme_seal_int.h"
#include "check_main.h"
#include "test_seal.h"

static char tmp_root[64];
/* The key bytes 1, 2, ..., 32 and their base64 text (44 characters). */
static unsigned char key_bytes[ACME_SEAL_KEY_LEN];
static char key_text[ACME_SEAL_KEY_LEN / 3 * 4 + 8];

static void key_file_setup(void)
{
    int i;

    test_pool_setup();
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/acme-seal-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
    for (i = 0; i < ACME_SEAL_KEY_LEN; ++i) {
        key_bytes[i] = (unsigned char)(i + 1);
    }
    ck_assert_int_eq(EVP_EncodeBlock((unsigned char *)key_text, key_bytes, ACME_SEAL_KEY_LEN),
                     44);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void key_file_teardown(void)
{
    test_pool_teardown();
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new file in the temp dir (mkstemp) holding `len` bytes, with `mode`. */
static const char *key_file(const void *data, apr_size_t len, mode_t mode)
{
    char *path = apr_pstrcat(test_pool, tmp_root, "/key-XXXXXX", NULL);
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static const char *key_file_text(const char *text)
{
    return key_file(text, strlen(text), 0600);
}

static acme_seal_key_t *load_ok(const char *path)
{
    acme_seal_key_t *key = NULL;
    const char *err = NULL;

    ck_assert_msg(acme_seal_key_load(&key, test_pool, path, &err) == APR_SUCCESS, "%s",
                  err ? err : "?");
    ck_assert_ptr_nonnull(key);
    return key;
}

/* Loading `path` fails with `code`; the message is one line, names the path
 * and holds `needle`, and never the key's text or bytes. Returns it. */
static const char *load_fails(const char *path, apr_status_t code, const char *needle)
{
    acme_seal_key_t *key = NULL;
    const char *err = NULL;
    apr_status_t rv = acme_seal_key_load(&key, test_pool, path, &err);

    ck_assert_msg(rv == code, "%s: status %d, expected %d (%s)", path, rv, code,
                  err ? err : "no message");
    ck_assert_ptr_null(key);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strncmp(err, apr_pstrcat(test_pool, "seal key file ", path, ": ", NULL),
                          strlen(path) + 16) == 0, "message without the path: %s", err);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s' not in: %s", needle, err);
    ck_assert_msg(strchr(err, '\n') == NULL, "not one line: %s", err);
    ck_assert_msg(strstr(err, apr_pstrndup(test_pool, key_text, 8)) == NULL,
                  "the key's text in: %s", err);
    ck_assert(strstr(err, apr_pstrmemdup(test_pool, (const char *)key_bytes + 8, 8)) == NULL);
    /* and without a place for the message */
    ck_assert_int_eq(acme_seal_key_load(&key, test_pool, path, NULL), code);
    return err;
}

START_TEST(reads_what_openssl_rand_writes)
{
    acme_seal_key_t *key = load_ok(key_file_text(apr_pstrcat(test_pool, key_text, "\n",
                                                             NULL)));
    acme_seal_key_t *same;
    const unsigned char *plain = NULL;
    const char *blob;
    apr_size_t len;

    ck_assert_int_eq(acme_seal_key_from_bytes(&same, test_pool, key_bytes, ACME_SEAL_KEY_LEN),
                     APR_SUCCESS);
    ck_assert_str_eq(acme_seal_key_id(key), acme_seal_key_id(same));
    ck_assert_int_eq(acme_seal(&blob, &len, test_pool, same, "a",
                               (const unsigned char *)"secret", 6), APR_SUCCESS);
    ck_assert_int_eq(acme_seal_open(&plain, &len, test_pool, key, "a", blob, len, NULL),
                     APR_SUCCESS);
    ck_assert_mem_eq(plain, "secret", 6);
    /* white space around the text, or none at all */
    load_ok(key_file_text(key_text));
    load_ok(key_file_text(apr_pstrcat(test_pool, "  ", key_text, "\r\n", NULL)));
    load_ok(key_file_text(apr_pstrcat(test_pool, "\n\t", key_text, "\n\n", NULL)));
    /* read-only is fine */
    load_ok(key_file(key_text, strlen(key_text), 0400));
}
END_TEST

START_TEST(group_or_others_let_in_is_refused)
{
    static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0620, 0602, 0610, 0601, 0700 };
    const char *path, *err;
    apr_size_t i;

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); ++i) {
        path = key_file(key_text, strlen(key_text), modes[i]);
        if (modes[i] == 0700) {
            load_ok(path);  /* the owner's own bits are the owner's business */
            continue;
        }
        err = load_fails(path, APR_EINVAL, apr_psprintf(test_pool, "chmod 600 %s", path));
        ck_assert_str_eq(err, apr_psprintf(test_pool, "seal key file %s: mode %04o lets "
                                           "group or others in: chmod 600 %s", path,
                                           (unsigned)modes[i], path));
    }
}
END_TEST

START_TEST(links_directories_and_fifos_are_refused)
{
    const char *good = key_file_text(key_text);
    const char *link = apr_pstrcat(test_pool, tmp_root, "/link", NULL);
    const char *dir = apr_pstrcat(test_pool, tmp_root, "/dir", NULL);
    const char *fifo = apr_pstrcat(test_pool, tmp_root, "/fifo", NULL);

    ck_assert_int_eq(symlink(good, link), 0);
    load_fails(link, APR_EINVAL, "is a symbolic link: name the file itself");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    load_fails(dir, APR_EINVAL, "is a directory, not a regular file");
    /* a FIFO would block an open without O_NONBLOCK: Check's timeout fails it */
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    load_fails(fifo, APR_EINVAL, "not a regular file");
    load_fails(apr_pstrcat(test_pool, tmp_root, "/missing", NULL), APR_FROM_OS_ERROR(ENOENT),
               "openssl rand -base64 32 >");
}
END_TEST

START_TEST(another_owner_is_refused)
{
    struct passwd *nobody = getpwnam("nobody");
    const char *path = key_file_text(key_text), *err;

    if (geteuid() != 0 || nobody == NULL || nobody->pw_uid == 0) {
        /* only root can give a file away: nothing to check here */
        fprintf(stderr, "check_seal: another_owner_is_refused needs root and 'nobody'\n");
        return;
    }
    load_ok(path);      /* root's */
    ck_assert_int_eq(chown(path, nobody->pw_uid, (gid_t)-1), 0);
    err = load_fails(path, APR_EINVAL, apr_psprintf(test_pool, "is owned by uid %ld, not by "
                                                    "root: chown root %s",
                                                    (long)nobody->pw_uid, path));
    (void)err;
}
END_TEST

START_TEST(wrong_lengths_are_refused)
{
    unsigned char bytes[48];
    char text[80];

    memset(bytes, 0x5a, sizeof(bytes));
    ck_assert_int_eq(EVP_EncodeBlock((unsigned char *)text, bytes, 16), 24);
    load_fails(key_file_text(text), APR_EINVAL, "holds 16 bytes, a key is 32");
    ck_assert_int_eq(EVP_EncodeBlock((unsigned char *)text, bytes, 33), 44);
    load_fails(key_file_text(text), APR_EINVAL, "holds 33 bytes, a key is 32");
    ck_assert_int_eq(EVP_EncodeBlock((unsigned char *)text, bytes, 48), 64);
    load_fails(key_file_text(text), APR_EINVAL, "holds 48 bytes, a key is 32");
    load_fails(key_file_text(""), APR_EINVAL, "is empty, not base64 text");
    load_fails(key_file_text(" \n"), APR_EINVAL, "is empty, not base64 text");
}
END_TEST

START_TEST(what_is_not_base64_is_refused)
{
    char *text = apr_pstrdup(test_pool, key_text), *big;
    const char *howto = "openssl rand -base64 32 >";

    /* the raw 32 bytes: refused, a typed passphrase would pass as one */
    load_fails(key_file(key_bytes, sizeof(key_bytes), 0600), APR_EINVAL, howto);
    load_fails(key_file_text("correct horse battery staple 123"), APR_EINVAL, howto);
    /* no padding */
    text[43] = '\0';
    load_fails(key_file_text(text), APR_EINVAL, "does not hold base64 text");
    /* a character outside the alphabet, base64url's, white space inside */
    text = apr_pstrdup(test_pool, key_text);
    text[5] = '!';
    load_fails(key_file_text(text), APR_EINVAL, "does not hold base64 text");
    text[5] = '-';
    load_fails(key_file_text(text), APR_EINVAL, "does not hold base64 text");
    text[5] = '_';
    load_fails(key_file_text(text), APR_EINVAL, "does not hold base64 text");
    load_fails(key_file_text(apr_pstrcat(test_pool, apr_pstrndup(test_pool, key_text, 20),
                                         "\n", key_text + 20, NULL)),
               APR_EINVAL, "does not hold base64 text");
    /* '=' inside */
    text = apr_pstrdup(test_pool, key_text);
    text[40] = '=';
    load_fails(key_file_text(text), APR_EINVAL, "does not hold base64 text");
    /* two keys */
    load_fails(key_file_text(apr_pstrcat(test_pool, key_text, "\n", key_text, "\n", NULL)),
               APR_EINVAL, "does not hold base64 text");
    /* a large file is not read */
    big = apr_palloc(test_pool, 4096);
    memset(big, 'A', 4096);
    load_fails(key_file(big, 4096, 0600), APR_EINVAL, "is over 1024 bytes");
}
END_TEST

/* httpd's children wipe the key they inherited from the parent: its bytes
 * are gone from their memory at once, not when the pool goes. */
START_TEST(wipe_clears_the_bytes_now)
{
    acme_seal_key_t *key = load_ok(key_file_text(key_text));
    static const unsigned char zeros[ACME_SEAL_KEY_LEN];

    ck_assert_mem_eq(key->bytes, key_bytes, ACME_SEAL_KEY_LEN);
    acme_seal_key_wipe(key);
    ck_assert_mem_eq(key->bytes, zeros, ACME_SEAL_KEY_LEN);
    ck_assert_str_eq(acme_seal_key_id(key), "");
}
END_TEST

TCase *seal_key_file_tcase(void)
{
    TCase *tc = tcase_create("key file");

    tcase_add_checked_fixture(tc, key_file_setup, key_file_teardown);
    tcase_add_test(tc, reads_what_openssl_rand_writes);
    tcase_add_test(tc, group_or_others_let_in_is_refused);
    tcase_add_test(tc, links_directories_and_fifos_are_refused);
    tcase_add_test(tc, another_owner_is_refused);
    tcase_add_test(tc, wrong_lengths_are_refused);
    tcase_add_test(tc, what_is_not_base64_is_refused);
    tcase_add_test(tc, wipe_clears_the_bytes_now);
    return tc;
}
