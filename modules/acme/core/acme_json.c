/* Bounded JSON parsing and typed getters, see acme_json.h. */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_json.h"
#include "acme_log.h"

static apr_status_t json_pool_decref(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *acme_json_pool_adopt(apr_pool_t *p, json_t *json)
{
    if (json != NULL) {
        apr_pool_cleanup_register(p, json, json_pool_decref, apr_pool_cleanup_null);
    }
    return json;
}

/* Nesting depth of the text, counted outside strings. Done before jansson
 * sees the text so that hostile nesting never reaches its recursion. */
static int json_depth_exceeds(const char *data, apr_size_t len, int max_depth)
{
    int depth = 0, in_string = 0, escaped = 0;
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        char c = data[i];
        if (in_string) {
            if (escaped) {
                escaped = 0;
            }
            else if (c == '\\') {
                escaped = 1;
            }
            else if (c == '"') {
                in_string = 0;
            }
        }
        else if (c == '"') {
            in_string = 1;
        }
        else if (c == '{' || c == '[') {
            if (++depth > max_depth) {
                return 1;
            }
        }
        else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return 0;
}

apr_status_t acme_json_parse(json_t **pjson, apr_pool_t *p, const char *data,
                             apr_size_t len, unsigned flags, const char **perr)
{
    json_error_t jerr;
    json_t *json;
    size_t jflags = JSON_REJECT_DUPLICATES;

    *pjson = NULL;
    if (data == NULL || len == 0) {
        if (perr) *perr = "empty JSON document";
        return APR_EINVAL;
    }
    if (len > ACME_JSON_MAX_BYTES) {
        if (perr) *perr = apr_psprintf(p, "JSON document of %" APR_SIZE_T_FMT
                                       " bytes exceeds the limit of %d", len,
                                       ACME_JSON_MAX_BYTES);
        return APR_ENOSPC;
    }
    if (json_depth_exceeds(data, len, ACME_JSON_MAX_DEPTH)) {
        if (perr) *perr = apr_psprintf(p, "JSON nesting deeper than %d levels",
                                       ACME_JSON_MAX_DEPTH);
        return APR_EINVAL;
    }
    if (!(flags & ACME_JSON_OBJECT)) {
        jflags |= JSON_DECODE_ANY;
    }
    json = json_loadb(data, len, jflags, &jerr);
    if (json == NULL) {
        if (perr) *perr = apr_psprintf(p, "invalid JSON at line %d column %d: %s",
                                       jerr.line, jerr.column, jerr.text);
        return APR_EINVAL;
    }
    acme_json_pool_adopt(p, json);
    if ((flags & ACME_JSON_OBJECT) && !json_is_object(json)) {
        if (perr) *perr = "JSON document is not an object";
        return APR_EINVAL;
    }
    *pjson = json;
    return APR_SUCCESS;
}

apr_status_t acme_json_dump(const char **pstr, apr_size_t *plen, apr_pool_t *p,
                            const json_t *json)
{
    char *s = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    apr_size_t len;

    *pstr = NULL;
    if (s == NULL) {
        return APR_ENOMEM;
    }
    len = strlen(s);
    *pstr = apr_pstrmemdup(p, s, len);
    free(s);
    if (plen) *plen = len;
    return APR_SUCCESS;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    case JSON_NULL:    return "null";
    }
    return "unknown";
}

/* Looks up `key` and checks its type. `optional`: absent or null yields
 * *pval = NULL and APR_SUCCESS. */
static apr_status_t json_member(const json_t **pval, apr_pool_t *p, const json_t *obj,
                                const char *key, json_type type, int optional,
                                const char *want, const char **perr)
{
    const json_t *v;

    *pval = NULL;
    if (!json_is_object(obj)) {
        if (perr) *perr = apr_psprintf(p, "expected an object holding '%s'", key);
        return APR_EINVAL;
    }
    v = json_object_get(obj, key);
    if (v == NULL || (optional && json_is_null(v))) {
        if (optional) {
            return APR_SUCCESS;
        }
        if (perr) *perr = apr_psprintf(p, "member '%s' is missing", key);
        return APR_EINVAL;
    }
    if (json_typeof(v) != type
        && !(type == JSON_TRUE && json_is_boolean(v))) {
        if (perr) *perr = apr_psprintf(p, "member '%s': expected %s, got %s",
                                       key, want, json_type_name(v));
        return APR_EINVAL;
    }
    *pval = v;
    return APR_SUCCESS;
}

static apr_status_t json_string_member(const char **pval, apr_pool_t *p, const json_t *obj,
                                       const char *key, int optional, const char **perr)
{
    const json_t *v;
    apr_status_t rv;

    *pval = NULL;
    rv = json_member(&v, p, obj, key, JSON_STRING, optional, "a string", perr);
    if (rv == APR_SUCCESS && v != NULL) {
        *pval = apr_pstrmemdup(p, json_string_value(v), json_string_length(v));
    }
    return rv;
}

apr_status_t acme_json_get_string(const char **pval, apr_pool_t *p, const json_t *obj,
                                  const char *key, const char **perr)
{
    return json_string_member(pval, p, obj, key, 0, perr);
}

apr_status_t acme_json_get_string_opt(const char **pval, apr_pool_t *p, const json_t *obj,
                                      const char *key, const char **perr)
{
    return json_string_member(pval, p, obj, key, 1, perr);
}

apr_status_t acme_json_get_url(const char **pval, apr_pool_t *p, const json_t *obj,
                               const char *key, const char **perr)
{
    const char *url, *why;
    apr_status_t rv;

    *pval = NULL;
    rv = acme_json_get_string(&url, p, obj, key, perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acme_json_check_url(url, &why);
    if (rv != APR_SUCCESS) {
        if (perr) *perr = apr_psprintf(p, "member '%s': %s", key, why);
        return rv;
    }
    *pval = url;
    return APR_SUCCESS;
}

static apr_status_t json_strings_member(apr_array_header_t **parr, apr_pool_t *p,
                                        const json_t *obj, const char *key, int optional,
                                        const char **perr)
{
    const json_t *v, *item;
    apr_array_header_t *arr;
    apr_status_t rv;
    size_t i;

    *parr = NULL;
    rv = json_member(&v, p, obj, key, JSON_ARRAY, optional, "an array", perr);
    if (rv != APR_SUCCESS || v == NULL) {
        return rv;
    }
    arr = apr_array_make(p, (int)json_array_size(v), sizeof(const char *));
    json_array_foreach(v, i, item) {
        if (!json_is_string(item)) {
            if (perr) *perr = apr_psprintf(p, "member '%s'[%" APR_SIZE_T_FMT "]: expected a string,"
                                           " got %s", key, (apr_size_t)i, json_type_name(item));
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(arr, const char *) =
            apr_pstrmemdup(p, json_string_value(item), json_string_length(item));
    }
    *parr = arr;
    return APR_SUCCESS;
}

apr_status_t acme_json_get_strings(apr_array_header_t **parr, apr_pool_t *p,
                                   const json_t *obj, const char *key, const char **perr)
{
    return json_strings_member(parr, p, obj, key, 0, perr);
}

apr_status_t acme_json_get_strings_opt(apr_array_header_t **parr, apr_pool_t *p,
                                       const json_t *obj, const char *key,
                                       const char **perr)
{
    return json_strings_member(parr, p, obj, key, 1, perr);
}

apr_status_t acme_json_get_int(apr_int64_t *pval, apr_pool_t *p, const json_t *obj,
                               const char *key, const char **perr)
{
    const json_t *v;
    apr_status_t rv;

    *pval = 0;
    rv = json_member(&v, p, obj, key, JSON_INTEGER, 0, "an integer", perr);
    if (rv == APR_SUCCESS) {
        *pval = (apr_int64_t)json_integer_value(v);
    }
    return rv;
}

apr_status_t acme_json_get_bool(int *pval, apr_pool_t *p, const json_t *obj,
                                const char *key, const char **perr)
{
    const json_t *v;
    apr_status_t rv;

    *pval = 0;
    rv = json_member(&v, p, obj, key, JSON_TRUE, 0, "a boolean", perr);
    if (rv == APR_SUCCESS) {
        *pval = json_is_true(v) ? 1 : 0;
    }
    return rv;
}

apr_status_t acme_json_get_object(const json_t **pval, apr_pool_t *p, const json_t *obj,
                                  const char *key, const char **perr)
{
    return json_member(pval, p, obj, key, JSON_OBJECT, 0, "an object", perr);
}

apr_status_t acme_json_get_array(const json_t **pval, apr_pool_t *p, const json_t *obj,
                                 const char *key, const char **perr)
{
    return json_member(pval, p, obj, key, JSON_ARRAY, 0, "an array", perr);
}

apr_status_t acme_json_check_url(const char *url, const char **perr)
{
    const char *s, *host;
    apr_size_t len;

    if (url == NULL || *url == '\0') {
        if (perr) *perr = "URL is empty";
        return APR_EINVAL;
    }
    len = strlen(url);
    if (len > ACME_JSON_MAX_URL_LEN) {
        if (perr) *perr = "URL is too long";
        return APR_EINVAL;
    }
    for (s = url; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f) {
            if (perr) *perr = "URL contains whitespace, control or non-ASCII characters";
            return APR_EINVAL;
        }
    }
    if (strncasecmp(url, "https://", 8) == 0) {
        host = url + 8;
    }
    else if (strncasecmp(url, "http://", 7) == 0) {
        host = url + 7;
    }
    else {
        if (perr) *perr = "URL is not an absolute http:// or https:// URL";
        return APR_EINVAL;
    }
    if (*host == '\0' || *host == '/' || *host == '?' || *host == '#' || *host == ':') {
        if (perr) *perr = "URL has no host";
        return APR_EINVAL;
    }
    /* Credentials in the authority only serve to disguise the real host. */
    for (s = host; *s && *s != '/' && *s != '?' && *s != '#'; ++s) {
        if (*s == '@') {
            if (perr) *perr = "URL carries user information";
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

json_t *acme_json_strings(const apr_array_header_t *arr)
{
    json_t *out = json_array();
    int i;

    for (i = 0; arr && i < arr->nelts; ++i) {
        json_array_append_new(out, json_string(APR_ARRAY_IDX(arr, i, const char *)));
    }
    return out;
}
