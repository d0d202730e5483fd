/* The fs store's marker, md_store.json, which it shares with mod_md:
 *   {"store": {"version": 3.0}, "key": "<base64url of 48 random bytes>",
 *    "mod_acme": {"format": 2}}
 * "store.version" is mod_md's store format (3 since mod_md 2.0); "key" is the
 * store key mod_md encrypts account keys with (the passphrase of their
 * PKCS#8 PEM is its 48 raw bytes); "mod_acme.format" is ours, for layout
 * changes mod_md does not see. mod_md reads only the first two and leaves
 * the rest alone.
 *
 * A store in mod_acme's first layout (store.json {"format": 1}, LIVE in
 * live/, key files named by our key specs: privkey.P-256.pem) is converted
 * once, in place: live/ becomes domains/, the key and certificate files of
 * every set get mod_md's names, "_wildcard_.example.org" directories become
 * "*.example.org", then md_store.json is written and store.json removed. Each step can be repeated, so a crash during the conversion is
 * finished at the next start. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "acme_b64.h"
#include "acme_json_secret.h"
#include "acme_layout.h"
#include "acme_log.h"
#include "acme_pkey.h"
#include "acme_store_fs_int.h"

#define FS_OLD_STORE_JSON "store.json"
#define FS_OLD_LIVE_DIR "live"
/* the first layout's directory name of "*.": "_wildcard_.example.org" */
#define FS_OLD_WILDCARD_KEY "_wildcard_."
/* mod_md's store format this code reads and writes */
#define FS_MOD_MD_VERSION 3.0

static apr_status_t fs_marker_open(acme_store_fs_t *fs, apr_pool_t *p);

static apr_status_t os_error(void)
{
    return APR_FROM_OS_ERROR(errno);
}

static apr_status_t key_create(acme_store_fs_t *fs, apr_pool_t *p)
{
    json_t *json, *store, *ours;
    acme_json_secret_scope_t scope;
    char *text, *key64;
    apr_status_t rv;

    if (RAND_bytes(fs->key, sizeof(fs->key)) != 1) {
        acme_log(ACME_LOG_ERR, APR_EGENERAL, "ACME0722 store(fs): no random bytes for the "
                 "store key of %s", fs->base);
        return APR_EGENERAL;
    }
    key64 = (char *)acme_b64url_encode(p, fs->key, sizeof(fs->key));
    acme_json_secret_begin(&scope);
    json = json_object();
    store = json_object();
    ours = json_object();
    json_object_set_new(store, "version", json_real(FS_MOD_MD_VERSION));
    json_object_set_new(json, "store", store);
    json_object_set_new(json, "key", json_string(key64));
    OPENSSL_cleanse(key64, strlen(key64));
    json_object_set_new(ours, "format", json_integer(ACME_STORE_FS_FORMAT));
    json_object_set_new(json, "mod_acme", ours);
    text = json_dumps(json, JSON_INDENT(2));
    json_decref(json);
    /* 0600: the key opens the account keys */
    rv = text == NULL ? APR_ENOMEM
                      : fs_write_atomic(fs->base_fd, FS_MD_STORE_JSON, text, strlen(text), 0600,
                                        NULL, FS_WRITE_EXCL);
    acme_json_secret_free(text);
    acme_json_secret_end(&scope);
    if (text == NULL) {
        return APR_ENOMEM;
    }
    if (rv == APR_SUCCESS) {
        fs->has_key = 1;
    }
    return rv;
}

static apr_status_t refuse(acme_store_fs_t *fs, apr_status_t rv, const char *why)
{
    acme_log(ACME_LOG_ERR, rv, "ACME0713 store(fs): %s/%s %s", fs->base, FS_MD_STORE_JSON, why);
    return rv;
}

/* The marker's versions: ours and mod_md's, both must be ones we read. */
static apr_status_t marker_check(acme_store_fs_t *fs, json_t *json)
{
    json_t *version = json_object_get(json_object_get(json, "store"), "version");
    json_t *format = json_object_get(json_object_get(json, "mod_acme"), "format");
    apr_status_t rv = APR_SUCCESS;

    if (!json_is_object(json)) {
        rv = refuse(fs, APR_EINVAL, "is corrupt (not a JSON object)");
    }
    else if (json_number_value(version) > FS_MOD_MD_VERSION) {
        acme_log(ACME_LOG_ERR, APR_ENOTIMPL, "ACME0711 store(fs): %s has store version %g, "
                 "written by a newer mod_md; this mod_acme reads up to %g: refusing to "
                 "open it", fs->base, json_number_value(version), FS_MOD_MD_VERSION);
        rv = APR_ENOTIMPL;
    }
    else if (json_number_value(version) < FS_MOD_MD_VERSION) {
        rv = refuse(fs, APR_ENOTIMPL, "is a store of mod_md before 2.0 (store version 1 or 2): "
                    "start a current mod_md on it once, which upgrades it");
    }
    else if (json_is_integer(format) && json_integer_value(format) > ACME_STORE_FS_FORMAT) {
        acme_log(ACME_LOG_ERR, APR_ENOTIMPL, "ACME0711 store(fs): %s has mod_acme format %ld "
                 "but this mod_acme reads up to format %d: it was written by a newer "
                 "version; refusing to open it", fs->base, (long)json_integer_value(format),
                 ACME_STORE_FS_FORMAT);
        rv = APR_ENOTIMPL;
    }
    return rv;
}

static apr_status_t key_take(acme_store_fs_t *fs, apr_pool_t *p, json_t *json)
{
    const char *key64 = json_string_value(json_object_get(json, "key"));
    unsigned char *key = NULL;
    apr_size_t key_len = 0;
    apr_status_t rv;

    if ((rv = marker_check(fs, json)) != APR_SUCCESS) {
        return rv;
    }
    if (key64 == NULL
             || acme_b64url_decode_str(&key, &key_len, p, key64) != APR_SUCCESS
             || key_len != sizeof(fs->key)) {
        rv = refuse(fs, APR_EINVAL, "is corrupt: its \"key\" is not 48 bytes in base64url");
    }
    else {
        memcpy(fs->key, key, sizeof(fs->key));
        fs->has_key = 1;
    }
    if (key != NULL) {
        OPENSSL_cleanse(key, key_len);
    }
    return rv;
}

/* md_store.json's key from its `len` bytes at `data`, parsed so that no
 * copy of it stays in freed memory; the bytes are wiped after. */
static apr_status_t key_read(acme_store_fs_t *fs, apr_pool_t *p, const char *data,
                             apr_size_t len)
{
    acme_json_secret_scope_t scope;
    apr_status_t rv;
    json_t *json;

    acme_json_secret_begin(&scope);
    json = json_loadb(data, len, 0, NULL);
    rv = key_take(fs, p, json);
    json_decref(json);
    acme_json_secret_end(&scope);
    OPENSSL_cleanse((char *)data, len);
    return rv;
}

/* The mod_md name of an old set file ("privkey.P-256.pem"), NULL when it
 * is not one or already has it. */
static const char *new_set_file(apr_pool_t *p, const char *name)
{
    static const char *const bases[] = { "privkey.", "pubcert.", NULL };
    acme_pkey_spec_t spec;
    apr_size_t len = strlen(name);
    const char *to;
    int i;

    for (i = 0; bases[i]; ++i) {
        apr_size_t blen = strlen(bases[i]);
        if (len > blen + 4 && !strncmp(name, bases[i], blen) && !strcmp(name + len - 4, ".pem")
            && acme_pkey_spec_parse(&spec, p, apr_pstrndup(p, name + blen, len - blen - 4),
                                    NULL) == APR_SUCCESS) {
            const char *spec_name = acme_pkey_spec_name(p, &spec);
            to = i == 0 ? acme_layout_privkey(p, spec_name) : acme_layout_pubcert(p, spec_name);
            return strcmp(to, name) ? to : NULL;
        }
    }
    return NULL;
}

/* Renames the old files of one entry of a set group (fs_dir_entry_cb;
 * baton: a pool). */
static apr_status_t convert_file(int dfd, const char *name, void *baton)
{
    const char *to = new_set_file(baton, name);

    if (to == NULL) {
        return APR_SUCCESS;
    }
    if (faccessat(dfd, to, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        /* renamed before a crash and the old name came back? keep the new */
        acme_log(ACME_LOG_WARNING, 0, "ACME0721 store(fs): a set holds both %s and %s; "
                 "keeping %s", name, to, to);
        return APR_SUCCESS;
    }
    return renameat(dfd, name, dfd, to) == 0 ? APR_SUCCESS : os_error();
}

static apr_status_t convert_set(int dfd, const char *set, void *baton)
{
    apr_status_t rv;
    int fd;

    if (set[0] == '.') {
        return APR_SUCCESS;
    }
    if (!strncmp(set, FS_OLD_WILDCARD_KEY, strlen(FS_OLD_WILDCARD_KEY))) {
        const char *to = apr_pstrcat(baton, "*.", set + strlen(FS_OLD_WILDCARD_KEY), NULL);

        if (renameat(dfd, set, dfd, to) != 0) {
            return os_error();
        }
        set = to;
    }
    fd = openat(dfd, set, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOTDIR || errno == ELOOP ? APR_SUCCESS : os_error();
    }
    rv = fs_dir_each(dup(fd), convert_file, baton);
    if (rv == APR_SUCCESS) {
        rv = fs_sync(fd);
    }
    close(fd);
    return rv;
}

static apr_status_t convert_group(acme_store_fs_t *fs, apr_pool_t *p, const char *group)
{
    int gfd = openat(fs->base_fd, group, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (gfd < 0) {
        return errno == ENOENT ? APR_SUCCESS : os_error();
    }
    return fs_dir_each(gfd, convert_set, p);
}

/* mod_acme's first layout -> mod_md's; see the top of this file. */
static apr_status_t convert_old_layout(acme_store_fs_t *fs, apr_pool_t *p)
{
    const char *live = acme_store_group_name(ACME_STORE_LIVE);
    static const acme_store_group_e sets[] = {
        ACME_STORE_LIVE, ACME_STORE_STAGING, ACME_STORE_ARCHIVE, ACME_STORE_PENDING,
        ACME_STORE_JOBS, ACME_STORE_OCSP, ACME_STORE_CHALLENGES,
    };
    apr_status_t rv = APR_SUCCESS;
    apr_size_t i;

    if (fs_dir_exists(fs->base_fd, FS_OLD_LIVE_DIR) == APR_SUCCESS) {
        if (fs_dir_exists(fs->base_fd, live) == APR_SUCCESS) {
            acme_log(ACME_LOG_ERR, APR_EEXIST, "ACME0712 store(fs): %s holds both %s/ and %s/ "
                     "and no %s: move one of them away", fs->base, FS_OLD_LIVE_DIR, live,
                     FS_MD_STORE_JSON);
            return APR_EEXIST;
        }
        if (renameat(fs->base_fd, FS_OLD_LIVE_DIR, fs->base_fd, live) != 0
            || fs_sync(fs->base_fd) != APR_SUCCESS) {
            return os_error();
        }
    }
    for (i = 0; i < sizeof(sets) / sizeof(sets[0]) && rv == APR_SUCCESS; ++i) {
        rv = convert_group(fs, p, acme_store_group_name(sets[i]));
    }
    if (rv == APR_SUCCESS) {
        rv = key_create(fs, p);
    }
    if (rv == APR_SUCCESS && unlinkat(fs->base_fd, FS_OLD_STORE_JSON, 0) != 0) {
        rv = os_error();
    }
    if (rv == APR_SUCCESS) {
        rv = fs_sync(fs->base_fd);
        acme_log(ACME_LOG_NOTICE, 0, "ACME0720 store(fs): %s converted to mod_md's layout "
                 "(%s, domains/, mod_md's key file names)", fs->base, FS_MD_STORE_JSON);
    }
    else {
        acme_log(ACME_LOG_ERR, rv, "ACME0720 store(fs): converting %s to mod_md's layout "
                 "failed; it is finished at the next start", fs->base);
    }
    return rv;
}

/* Makes fd (a directory or a public file of ours) readable by all. */
static void make_readable(int fd, mode_t mode)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 07777) != mode
        && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
        if (fchmod(fd, mode) != 0) {
            acme_log(ACME_LOG_WARNING, os_error(), "ACME0723 store(fs): cannot make a public "
                     "part of the live sets readable");
        }
    }
}

static apr_status_t public_file(int dfd, const char *name, void *baton)
{
    int fd;

    (void)baton;
    if (name[0] == '.' || strstr(name, "privkey") != NULL || strstr(name, "key.pem") != NULL) {
        return APR_SUCCESS;     /* a key, or a temporary entry */
    }
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        make_readable(fd, 0644);
        close(fd);
    }
    return APR_SUCCESS;
}

static apr_status_t public_set(int dfd, const char *set, void *baton)
{
    int fd;

    if (set[0] == '.') {
        return APR_SUCCESS;
    }
    fd = openat(dfd, set, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        make_readable(fd, 0755);
        fs_dir_each(fd, public_file, baton);
    }
    return APR_SUCCESS;
}

/* mod_md keeps domains/ root-only (0700 dirs, 0600 files): its children get
 * what they need from the parent. mod_acme's renewal worker reads the live
 * certificates (to schedule renewals, for the status), never the keys: the
 * directories and the public files of a live set are made readable here,
 * the keys stay 0600. mod_md narrows domains/ itself whenever it runs, so
 * a domains/ that is 0755 already needs no walk (it is widened last). */
static void live_public_parts(acme_store_fs_t *fs)
{
    struct stat st;
    int gfd = openat(fs->base_fd, acme_store_group_name(ACME_STORE_LIVE),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (gfd < 0) {
        return;
    }
    if (fstat(gfd, &st) == 0 && (st.st_mode & 07777) != 0755) {
        fs_dir_each(dup(gfd), public_set, NULL);
        make_readable(gfd, 0755);
    }
    close(gfd);
}

apr_status_t fs_format_open(acme_store_fs_t *fs, apr_pool_t *p)
{
    apr_status_t rv = fs_marker_open(fs, p);

    if (rv == APR_SUCCESS) {
        live_public_parts(fs);
    }
    return rv;
}

static apr_status_t fs_marker_open(acme_store_fs_t *fs, apr_pool_t *p)
{
    const char *data;
    apr_size_t len;
    apr_status_t rv;

    rv = fs_read_capped(&data, &len, p, fs->base_fd, FS_MD_STORE_JSON, 64 * 1024);
    if (rv == APR_SUCCESS) {
        return key_read(fs, p, data, len);
    }
    if (!APR_STATUS_IS_ENOENT(rv)) {
        return refuse(fs, rv, "cannot be read");
    }
    if (faccessat(fs->base_fd, FS_OLD_STORE_JSON, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        return convert_old_layout(fs, p);
    }
    rv = key_create(fs, p);
    if (APR_STATUS_IS_EEXIST(rv)) {
        /* another process made it just now */
        rv = fs_read_capped(&data, &len, p, fs->base_fd, FS_MD_STORE_JSON, 64 * 1024);
        if (rv == APR_SUCCESS) {
            rv = key_read(fs, p, data, len);
        }
    }
    return rv;
}

apr_status_t fs_format_check(acme_store_fs_t *fs, apr_pool_t *p)
{
    const char *data;
    apr_size_t len;
    apr_status_t rv;

    rv = fs_read_capped(&data, &len, p, fs->base_fd, FS_MD_STORE_JSON, 64 * 1024);
    if (APR_STATUS_IS_ENOENT(rv)
        && faccessat(fs->base_fd, FS_OLD_STORE_JSON, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        return APR_EGENERAL;    /* the first layout: httpd converts it at its start */
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return key_read(fs, p, data, len);
}
