/* check_jose: the JOSE and key layer. Helpers shared by the test_jose_*.c
 * files and the suite. */
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_jwk.h"
#include "test_jose.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

json_t *jose_keep(json_t *j)
{
    apr_pool_cleanup_register(test_pool, j, json_cleanup, apr_pool_cleanup_null);
    return j;
}

const char *jose_file(const char *name, apr_size_t *plen)
{
    const char *path = apr_pstrcat(test_pool, ACME_TEST_DATA, "/jose/", name, NULL);
    apr_file_t *f = NULL;
    apr_finfo_t info;
    apr_size_t len;
    char *buf;

    ck_assert_msg(apr_file_open(&f, path, APR_FOPEN_READ, 0, test_pool) == APR_SUCCESS,
                  "cannot open %s", path);
    ck_assert_int_eq(apr_file_info_get(&info, APR_FINFO_SIZE, f), APR_SUCCESS);
    len = (apr_size_t)info.size;
    buf = apr_palloc(test_pool, len + 1);
    ck_assert_int_eq(apr_file_read_full(f, buf, len, NULL), APR_SUCCESS);
    buf[len] = '\0';
    apr_file_close(f);
    if (plen) {
        *plen = len;
    }
    return buf;
}

json_t *jose_json(const char *name)
{
    apr_size_t len;
    const char *text = jose_file(name, &len);
    json_error_t err;
    json_t *j = json_loadb(text, len, 0, &err);

    ck_assert_msg(j != NULL, "%s: %s", name, err.text);
    return jose_keep(j);
}

const char *jose_vec(const char *path)
{
    json_t *j = jose_json("vectors.json");
    char *copy = apr_pstrdup(test_pool, path), *last = NULL, *part;

    for (part = apr_strtok(copy, ".", &last); part; part = apr_strtok(NULL, ".", &last)) {
        j = json_object_get(j, part);
    }
    ck_assert_msg(json_is_string(j), "vector %s missing", path);
    return json_string_value(j);
}

acme_pkey_t *jose_jwk_key(const char *name)
{
    static apr_pool_t *keys_pool;
    static apr_hash_t *keys;
    const char *err = NULL;
    acme_pkey_t *key;

    if (keys == NULL) {
        ck_assert_int_eq(apr_pool_create(&keys_pool, NULL), APR_SUCCESS);
        keys = apr_hash_make(keys_pool);
    }
    key = apr_hash_get(keys, name, APR_HASH_KEY_STRING);
    if (key == NULL) {
        ck_assert_msg(acme_jwk_to_pkey(&key, keys_pool, jose_json(name), &err) == APR_SUCCESS,
                      "%s: %s", name, err);
        apr_hash_set(keys, apr_pstrdup(keys_pool, name), APR_HASH_KEY_STRING, key);
    }
    return key;
}

acme_pkey_spec_t jose_spec(const char *name)
{
    acme_pkey_spec_t spec;
    const char *err = NULL;

    ck_assert_msg(acme_pkey_spec_parse(&spec, test_pool, name, &err) == APR_SUCCESS,
                  "%s: %s", name, err);
    return spec;
}

const char *jose_b64dec(const char *s, apr_size_t *plen)
{
    unsigned char *data = NULL;
    apr_size_t len = 0;

    ck_assert_msg(acme_b64url_decode_str(&data, &len, test_pool, s) == APR_SUCCESS,
                  "not base64url: %s", s);
    if (plen) {
        *plen = len;
    }
    return (const char *)data;
}

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("jose");

    suite_add_tcase(s, jose_b64_tcase());
    suite_add_tcase(s, jose_spec_tcase());
    suite_add_tcase(s, jose_pkey_tcase());
    suite_add_tcase(s, jose_jwk_tcase());
    suite_add_tcase(s, jose_jws_tcase());
    suite_add_tcase(s, jose_jws_acme_tcase());
    suite_add_tcase(s, jose_keyauth_tcase());
    return s;
}
