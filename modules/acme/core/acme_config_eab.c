/* External account binding credentials (MDExternalAccountBinding): checks of
 * the key id and HMAC key, and reading them from a JSON file. The HMAC key is
 * a secret: no message here ever contains it. */
#include <stdlib.h>

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "acme_config_value.h"
#include "acme_json_secret.h"

#define WHY(text) do { if (pwhy) { *pwhy = (text); } } while (0)

#define EAB_KID_MAX 256
#define EAB_HMAC_MIN_BYTES 16

static int is_base64url(char c)
{
    return apr_isalnum(c) || c == '-' || c == '_';
}

apr_status_t acme_config_eab_check(const char *kid, const char *hmac, const char **pwhy)
{
    size_t len, chars, pad = 0;
    const char *c;

    len = kid ? strlen(kid) : 0;
    if (len == 0 || len > EAB_KID_MAX) {
        WHY("has a key id that is empty or longer than 256 characters");
        return APR_EINVAL;
    }
    for (c = kid; *c; ++c) {
        if (!apr_isgraph(*c) || (*c & 0x80)) {
            WHY("has a key id with spaces or non-printable characters");
            return APR_EINVAL;
        }
    }
    len = hmac ? strlen(hmac) : 0;
    for (chars = 0; chars < len && is_base64url(hmac[chars]); ++chars) {
    }
    while (chars + pad < len && pad < 2 && hmac[chars + pad] == '=') {
        ++pad;
    }
    if (len == 0 || chars + pad != len) {
        WHY("has an HMAC key that is not base64url (A-Z a-z 0-9 - _)");
        return APR_EINVAL;
    }
    if (chars * 6 / 8 < EAB_HMAC_MIN_BYTES) {
        WHY("has an HMAC key shorter than 16 bytes; use the key your CA gave you");
        return ACME_CONFIG_ERANGE;
    }
    return APR_SUCCESS;
}

static const char *json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The file's bytes in a buffer of ours (stdio's would be freed uncleared). */
static apr_status_t file_slurp(char **pbuf, apr_size_t *plen, apr_pool_t *p, const char *path)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t len;
    apr_status_t rv;
    char *buf;

    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS && (fi.size < 0 || fi.size > 64 * 1024)) {
        rv = APR_EINVAL;    /* no EAB file is that big */
    }
    if (rv == APR_SUCCESS) {
        len = (apr_size_t)fi.size;
        buf = apr_palloc(p, len + 1);
        rv = apr_file_read_full(f, buf, len, &len);
        if (rv == APR_EOF) {
            rv = APR_SUCCESS;
        }
        buf[len] = '\0';
        *pbuf = buf;
        *plen = len;
    }
    apr_file_close(f);
    return rv;
}

apr_status_t acme_config_eab_file_read(const char **pkid, const char **phmac, apr_pool_t *p,
                                       const char *path, const char **pwhy)
{
    json_error_t jerr;
    json_t *json = NULL;
    const char *kid, *hmac, *why = NULL;
    apr_status_t rv = APR_EINVAL;
    char *buf = NULL;
    apr_size_t len = 0;
    acme_json_secret_scope_t scope;

    acme_json_secret_begin(&scope);
    if (file_slurp(&buf, &len, p, path) == APR_SUCCESS) {
        json = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        OPENSSL_cleanse(buf, len);
    }
    else {
        jerr.line = 0;
    }
    if (!json) {
        /* jansson's text may quote the file's content (the HMAC): only the
         * position goes into the message */
        if (jerr.line <= 0) {
            WHY("cannot be opened or read");
        }
        else {
            WHY(apr_psprintf(p, "is not valid JSON (error at line %d, column %d)",
                             jerr.line, jerr.column));
        }
        OPENSSL_cleanse(&jerr, sizeof(jerr));
        acme_json_secret_end(&scope);
        return APR_EINVAL;
    }
    kid = json_str(json, "kid");
    hmac = json_str(json, "hmac");
    if (!json_is_object(json) || !kid || !hmac) {
        WHY("does not hold a JSON object with the strings \"kid\" and \"hmac\"");
        goto cleanup;
    }
    if ((rv = acme_config_eab_check(kid, hmac, &why)) != APR_SUCCESS) {
        WHY(why);
        goto cleanup;
    }
    *pkid = apr_pstrdup(p, kid);
    *phmac = apr_pstrdup(p, hmac);
cleanup:
    json_decref(json);
    acme_json_secret_end(&scope);
    return rv;
}
