/* JSON documents from the CA: bounded parsing and typed member access.
 *
 * Everything the CA sends is untrusted. acme_json_parse() bounds size and
 * nesting, rejects duplicate keys, and hands out a json_t owned by a pool (a
 * json_decref cleanup is registered), so callers never decref what they got
 * here. The getters check presence and type and explain a failure in one
 * message naming the member; strings they return are copied into the pool
 * passed, so they outlive the document.
 *
 * Error codes used throughout:
 *   APR_EINVAL  malformed JSON, wrong type, missing member, bad URL
 *   APR_ENOSPC  document larger than ACME_JSON_MAX_BYTES
 * Every `perr` parameter may be NULL; when not, it receives a message
 * allocated in the pool passed (or a static string), set only on failure. */
#ifndef ACME_JSON_H
#define ACME_JSON_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

/* Largest document accepted, in bytes (the default body limit of the
 * transport is the same). */
#define ACME_JSON_MAX_BYTES (1024 * 1024)
/* Deepest nesting of arrays/objects accepted. ACME documents nest 3-4 levels;
 * the bound keeps hostile input from driving the parser's recursion. */
#define ACME_JSON_MAX_DEPTH 32
/* Longest URL accepted from the CA (acme_json_check_url). */
#define ACME_JSON_MAX_URL_LEN 2048

/* Flags of acme_json_parse(). */
#define ACME_JSON_ANY    0x00  /* any JSON value at the top */
#define ACME_JSON_OBJECT 0x01  /* the top level must be an object */

/* Parses `len` bytes at `data` (need not be NUL-terminated). On success
 * *pjson is owned by `p`: it is decref'd when `p` is cleared or destroyed.
 * Callers that keep a reference beyond `p` must json_incref() it. */
apr_status_t acme_json_parse(json_t **pjson, apr_pool_t *p, const char *data,
                             apr_size_t len, unsigned flags, const char **perr);

/* Hands a reference the caller owns to `p` (decref at pool cleanup) and
 * returns `json` for convenience. NULL is passed through. */
json_t *acme_json_pool_adopt(apr_pool_t *p, json_t *json);

/* Serializes compactly with sorted keys into a NUL-terminated string in `p`;
 * *plen (may be NULL) receives the length. APR_ENOMEM if jansson fails. */
apr_status_t acme_json_dump(const char **pstr, apr_size_t *plen, apr_pool_t *p,
                            const json_t *json);

/* Member `key` of object `obj` must be a string; copied into `p`. */
apr_status_t acme_json_get_string(const char **pval, apr_pool_t *p, const json_t *obj,
                                  const char *key, const char **perr);

/* Like acme_json_get_string(), but an absent or null member gives
 * *pval = NULL and APR_SUCCESS. Any other type is APR_EINVAL. */
apr_status_t acme_json_get_string_opt(const char **pval, apr_pool_t *p, const json_t *obj,
                                      const char *key, const char **perr);

/* Member `key` must be a string that passes acme_json_check_url(). */
apr_status_t acme_json_get_url(const char **pval, apr_pool_t *p, const json_t *obj,
                               const char *key, const char **perr);

/* Member `key` must be an array of strings; *parr is an array of
 * `const char *` (copies in `p`), possibly empty. */
apr_status_t acme_json_get_strings(apr_array_header_t **parr, apr_pool_t *p,
                                   const json_t *obj, const char *key, const char **perr);

/* The other way: a new JSON array of the `const char *` in arr (NULL: an
 * empty array). The caller owns the reference. */
json_t *acme_json_strings(const apr_array_header_t *arr);

/* Like acme_json_get_strings(), but an absent or null member gives
 * *parr = NULL and APR_SUCCESS. */
apr_status_t acme_json_get_strings_opt(apr_array_header_t **parr, apr_pool_t *p,
                                       const json_t *obj, const char *key,
                                       const char **perr);

/* Member `key` must be a JSON integer (not a real). */
apr_status_t acme_json_get_int(apr_int64_t *pval, apr_pool_t *p, const json_t *obj,
                               const char *key, const char **perr);

/* Member `key` must be true or false; *pval is 1 or 0. */
apr_status_t acme_json_get_bool(int *pval, apr_pool_t *p, const json_t *obj,
                                const char *key, const char **perr);

/* Member `key` must be an object / an array. *pval is borrowed: it lives as
 * long as `obj` (and so as long as the pool owning the document). */
apr_status_t acme_json_get_object(const json_t **pval, apr_pool_t *p, const json_t *obj,
                                  const char *key, const char **perr);
apr_status_t acme_json_get_array(const json_t **pval, apr_pool_t *p, const json_t *obj,
                                 const char *key, const char **perr);

/* Checks a URL received from the CA: absolute "https://" or "http://"
 * (scheme case-insensitive) with a non-empty host, at most
 * ACME_JSON_MAX_URL_LEN bytes, no whitespace, control characters or
 * non-ASCII bytes. APR_EINVAL with a static message in *perr otherwise. */
apr_status_t acme_json_check_url(const char *url, const char **perr);

#endif /* ACME_JSON_H */
