/* acme_json: bounded parsing, pool ownership, typed getters, URL checks. */
#include <string.h>

#include <apr_strings.h>

#include "acme_json.h"
#include "check_main.h"
#include "test_http.h"

static json_t *parse_ok(const char *text, unsigned flags)
{
    json_t *json = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_json_parse(&json, test_pool, text, strlen(text), flags, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_null(err);
    return json;
}

static apr_status_t parse_fails(const char *text, apr_size_t len, unsigned flags,
                                const char **perr)
{
    json_t *json = (json_t *)1;
    apr_status_t rv;

    *perr = NULL;
    rv = acme_json_parse(&json, test_pool, text, len, flags, perr);
    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_ptr_null(json);
    ck_assert_ptr_nonnull(*perr);
    return rv;
}

START_TEST(json_parse_object_and_pool_owns_it)
{
    apr_pool_t *p;
    json_t *json;

    apr_pool_create(&p, test_pool);
    ck_assert_int_eq(acme_json_parse(&json, p, "{\"a\": [1, 2]}", 13, ACME_JSON_OBJECT,
                                     NULL), APR_SUCCESS);
    ck_assert(json_is_object(json));
    /* Held by us and by the pool: destroying the pool drops exactly one. */
    json_incref(json);
    ck_assert_int_eq((int)json->refcount, 2);
    apr_pool_destroy(p);
    ck_assert_int_eq((int)json->refcount, 1);
    json_decref(json);
}
END_TEST

START_TEST(json_parse_rejects_non_object_when_asked)
{
    const char *err;

    ck_assert_int_eq(parse_fails("[1, 2]", 6, ACME_JSON_OBJECT, &err), APR_EINVAL);
    ck_assert_int_eq(parse_fails("\"str\"", 5, ACME_JSON_OBJECT, &err), APR_EINVAL);
    /* Any value is fine without the flag. */
    ck_assert(json_is_array(parse_ok("[1, 2]", ACME_JSON_ANY)));
    ck_assert(json_is_string(parse_ok("\"str\"", ACME_JSON_ANY)));
}
END_TEST

START_TEST(json_parse_rejects_duplicate_keys)
{
    const char *err;

    ck_assert_int_eq(parse_fails("{\"status\": \"valid\", \"status\": \"invalid\"}", 41,
                                 ACME_JSON_OBJECT, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "duplicate"));
}
END_TEST

START_TEST(json_parse_rejects_truncated_and_empty)
{
    const char *err;
    const char *text = "{\"status\": \"val";

    ck_assert_int_eq(parse_fails(text, strlen(text), ACME_JSON_OBJECT, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "line 1"));
    ck_assert_int_eq(parse_fails("", 0, ACME_JSON_ANY, &err), APR_EINVAL);
    ck_assert_int_eq(parse_fails(NULL, 0, ACME_JSON_ANY, &err), APR_EINVAL);
    /* Only `len` bytes count: the valid prefix of a longer buffer parses,
     * a cut inside the document does not. */
    ck_assert_int_eq(acme_json_parse(&(json_t *){NULL}, test_pool, "{}xyz", 2,
                                     ACME_JSON_OBJECT, NULL), APR_SUCCESS);
    ck_assert_int_eq(parse_fails("{\"a\":1}", 6, ACME_JSON_OBJECT, &err), APR_EINVAL);
}
END_TEST

START_TEST(json_parse_rejects_oversized)
{
    apr_size_t len = ACME_JSON_MAX_BYTES + 1;
    char *big = apr_palloc(test_pool, len);
    const char *err;

    /* A valid document: ["xxx...x"] of exactly one byte too many. */
    memset(big, 'x', len);
    big[0] = '[';
    big[1] = '"';
    big[len - 2] = '"';
    big[len - 1] = ']';
    ck_assert_int_eq(parse_fails(big, len, ACME_JSON_ANY, &err), APR_ENOSPC);
    /* One byte less is accepted. */
    big[len - 3] = '"';
    big[len - 2] = ']';
    ck_assert_int_eq(acme_json_parse(&(json_t *){NULL}, test_pool, big, len - 1,
                                     ACME_JSON_ANY, NULL), APR_SUCCESS);
}
END_TEST

static char *nested(int depth)
{
    char *s = apr_palloc(test_pool, (apr_size_t)depth * 2 + 1);
    int i;

    for (i = 0; i < depth; ++i) {
        s[i] = '[';
        s[depth * 2 - 1 - i] = ']';
    }
    s[depth * 2] = '\0';
    return s;
}

START_TEST(json_parse_bounds_depth)
{
    const char *err, *deep = nested(ACME_JSON_MAX_DEPTH + 1);
    const char *tricky = "{\"a\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[\"}";

    parse_ok(nested(ACME_JSON_MAX_DEPTH), ACME_JSON_ANY);
    ck_assert_int_eq(parse_fails(deep, strlen(deep), ACME_JSON_ANY, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "nesting"));
    /* Brackets inside strings (and escaped quotes) do not count. */
    parse_ok(tricky, ACME_JSON_OBJECT);
    /* A hostile depth far beyond any parser's comfort is refused early. */
    deep = nested(100000);
    ck_assert_int_eq(parse_fails(deep, strlen(deep), ACME_JSON_ANY, &err), APR_EINVAL);
}
END_TEST

START_TEST(json_get_string_and_optional)
{
    json_t *o = parse_ok("{\"s\": \"v\", \"n\": 3, \"z\": null}", ACME_JSON_OBJECT);
    const char *v, *err = NULL;

    ck_assert_int_eq(acme_json_get_string(&v, test_pool, o, "s", &err), APR_SUCCESS);
    ck_assert_str_eq(v, "v");
    ck_assert_int_eq(acme_json_get_string(&v, test_pool, o, "missing", &err), APR_EINVAL);
    ck_assert_ptr_null(v);
    ck_assert_str_eq(err, "member 'missing' is missing");
    ck_assert_int_eq(acme_json_get_string(&v, test_pool, o, "n", &err), APR_EINVAL);
    ck_assert_str_eq(err, "member 'n': expected a string, got an integer");
    ck_assert_int_eq(acme_json_get_string(&v, test_pool, o, "z", &err), APR_EINVAL);

    ck_assert_int_eq(acme_json_get_string_opt(&v, test_pool, o, "missing", &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(acme_json_get_string_opt(&v, test_pool, o, "z", &err), APR_SUCCESS);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(acme_json_get_string_opt(&v, test_pool, o, "s", &err), APR_SUCCESS);
    ck_assert_str_eq(v, "v");
    ck_assert_int_eq(acme_json_get_string_opt(&v, test_pool, o, "n", NULL), APR_EINVAL);
    /* Not an object at all. */
    ck_assert_int_eq(acme_json_get_string(&v, test_pool, json_object_get(o, "n"), "s",
                                          &err), APR_EINVAL);
}
END_TEST

START_TEST(json_get_strings)
{
    json_t *o = parse_ok("{\"a\": [\"x\", \"y\"], \"e\": [], \"bad\": [\"x\", 1],"
                         " \"s\": \"x\"}", ACME_JSON_OBJECT);
    apr_array_header_t *arr;
    const char *err;

    ck_assert_int_eq(acme_json_get_strings(&arr, test_pool, o, "a", &err), APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(arr, 1, const char *), "y");
    ck_assert_int_eq(acme_json_get_strings(&arr, test_pool, o, "e", &err), APR_SUCCESS);
    ck_assert_int_eq(arr->nelts, 0);
    ck_assert_int_eq(acme_json_get_strings(&arr, test_pool, o, "bad", &err), APR_EINVAL);
    ck_assert_ptr_null(arr);
    ck_assert_str_eq(err, "member 'bad'[1]: expected a string, got an integer");
    ck_assert_int_eq(acme_json_get_strings(&arr, test_pool, o, "s", &err), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_strings(&arr, test_pool, o, "none", &err), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_strings_opt(&arr, test_pool, o, "none", &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(arr);
    ck_assert_int_eq(acme_json_get_strings_opt(&arr, test_pool, o, "bad", &err),
                     APR_EINVAL);
}
END_TEST

START_TEST(json_get_int_bool_object_array)
{
    json_t *o = parse_ok("{\"i\": 42, \"r\": 1.5, \"t\": true, \"f\": false, \"o\": {},"
                         " \"a\": [], \"s\": \"1\"}", ACME_JSON_OBJECT);
    const json_t *sub;
    apr_int64_t i;
    int b;
    const char *err;

    ck_assert_int_eq(acme_json_get_int(&i, test_pool, o, "i", &err), APR_SUCCESS);
    ck_assert_int_eq(i, 42);
    ck_assert_int_eq(acme_json_get_int(&i, test_pool, o, "r", &err), APR_EINVAL);
    ck_assert_str_eq(err, "member 'r': expected an integer, got a real number");
    ck_assert_int_eq(acme_json_get_int(&i, test_pool, o, "s", &err), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_bool(&b, test_pool, o, "t", &err), APR_SUCCESS);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(acme_json_get_bool(&b, test_pool, o, "f", &err), APR_SUCCESS);
    ck_assert_int_eq(b, 0);
    ck_assert_int_eq(acme_json_get_bool(&b, test_pool, o, "i", &err), APR_EINVAL);
    ck_assert_str_eq(err, "member 'i': expected a boolean, got an integer");
    ck_assert_int_eq(acme_json_get_object(&sub, test_pool, o, "o", &err), APR_SUCCESS);
    ck_assert(json_is_object(sub));
    ck_assert_int_eq(acme_json_get_object(&sub, test_pool, o, "a", &err), APR_EINVAL);
    ck_assert_ptr_null(sub);
    ck_assert_int_eq(acme_json_get_array(&sub, test_pool, o, "a", &err), APR_SUCCESS);
    ck_assert(json_is_array(sub));
    ck_assert_int_eq(acme_json_get_array(&sub, test_pool, o, "o", &err), APR_EINVAL);
}
END_TEST

START_TEST(json_check_url)
{
    static const char *good[] = {
        "https://acme.example/dir", "http://127.0.0.1:14000/dir", "HTTPS://a.example",
        "https://[::1]:8443/acme/new-order?x=1",
    };
    static const char *bad[] = {
        "", "ftp://a.example/", "/relative/path", "https://", "https:///path",
        "https://a.example/with space", "https://a.example/\ttab", "https://a.example/\x7f",
        "https://a.example/\xc3\xa9", "https://user:pw@evil.example/", "javascript:alert(1)",
        "https:a.example", "https://:443/",
    };
    char *longurl;
    const char *err;
    apr_size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); ++i) {
        ck_assert_msg(acme_json_check_url(good[i], &err) == APR_SUCCESS, "%s", good[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        err = NULL;
        ck_assert_msg(acme_json_check_url(bad[i], &err) == APR_EINVAL, "%s", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
    ck_assert_int_eq(acme_json_check_url(NULL, NULL), APR_EINVAL);
    longurl = apr_pstrcat(test_pool, "https://a.example/", NULL);
    while (strlen(longurl) <= ACME_JSON_MAX_URL_LEN) {
        longurl = apr_pstrcat(test_pool, longurl, "aaaaaaaaaaaaaaaa", NULL);
    }
    ck_assert_int_eq(acme_json_check_url(longurl, &err), APR_EINVAL);
    ck_assert_str_eq(err, "URL is too long");
}
END_TEST

START_TEST(json_get_url)
{
    json_t *o = parse_ok("{\"newOrder\": \"https://ca.example/new-order\","
                         " \"bad\": \"file:///etc/passwd\"}", ACME_JSON_OBJECT);
    const char *url, *err;

    ck_assert_int_eq(acme_json_get_url(&url, test_pool, o, "newOrder", &err), APR_SUCCESS);
    ck_assert_str_eq(url, "https://ca.example/new-order");
    ck_assert_int_eq(acme_json_get_url(&url, test_pool, o, "bad", &err), APR_EINVAL);
    ck_assert_ptr_null(url);
    ck_assert_ptr_nonnull(strstr(err, "member 'bad'"));
}
END_TEST

START_TEST(json_dump_is_compact_and_sorted)
{
    json_t *o = parse_ok("{\"b\": 1, \"a\": [true, null]}", ACME_JSON_OBJECT);
    const char *s;
    apr_size_t len;

    ck_assert_int_eq(acme_json_dump(&s, &len, test_pool, o), APR_SUCCESS);
    ck_assert_str_eq(s, "{\"a\":[true,null],\"b\":1}");
    ck_assert_uint_eq(len, strlen(s));
}
END_TEST

TCase *test_http_json_tcase(void)
{
    TCase *tc = tcase_create("json");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, json_parse_object_and_pool_owns_it);
    tcase_add_test(tc, json_parse_rejects_non_object_when_asked);
    tcase_add_test(tc, json_parse_rejects_duplicate_keys);
    tcase_add_test(tc, json_parse_rejects_truncated_and_empty);
    tcase_add_test(tc, json_parse_rejects_oversized);
    tcase_add_test(tc, json_parse_bounds_depth);
    tcase_add_test(tc, json_get_string_and_optional);
    tcase_add_test(tc, json_get_strings);
    tcase_add_test(tc, json_get_int_bool_object_array);
    tcase_add_test(tc, json_check_url);
    tcase_add_test(tc, json_get_url);
    tcase_add_test(tc, json_dump_is_compact_and_sorted);
    return tc;
}
