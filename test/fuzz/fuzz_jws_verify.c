/* Fuzz target: acme_jws_verify. The input is a JSON object: a flattened JWS
 * (verified with three fixed keys: P-256 "A" and "B", RSA), or any other
 * object, which is signed as a request payload and verified back.
 *
 * Properties:
 * - a JWS verifies with at most one of the keys, and only with the alg of
 *   that key; an error always has a reason;
 * - a verified JWS's payload is exactly the base64url-decoded "payload"
 *   (NUL-terminated), its header exactly the decoded "protected" object;
 * - changing one bit of the signature, or one byte of the payload, or
 *   signing the same input under another header, makes it fail (APR_EACCES);
 * - a verified payload that is itself a JWS (the inner JWS of a key change)
 *   obeys the same rules;
 * - an object without "signature": what acme_jws_sign() makes of it
 *   verifies with the signing key only, its payload parses back to the
 *   same object, its header carries the url, nonce and kid given; a
 *   POST-as-GET has an empty payload. With a member "rsa" the RSA key signs
 *   as well (RSA signatures are slow). */
#include <string.h>

#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_json.h"
#include "acme_jwk.h"
#include "acme_jws.h"
#include "fuzz_common.h"
#include "fuzz_keys.h"

static const fuzz_key_e verify_keys[] = { FUZZ_KEY_P256_A, FUZZ_KEY_P256_B, FUZZ_KEY_RSA };
#define VERIFY_KEYS (sizeof(verify_keys) / sizeof(verify_keys[0]))

static apr_status_t verify(acme_jws_parts_t **pparts, apr_pool_t *p, const json_t *jws,
                           acme_pkey_t *key)
{
    const char *err = NULL;
    apr_status_t rv;

    *pparts = NULL;
    rv = acme_jws_verify(pparts, p, jws, key, &err);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_EINVAL || rv == APR_EACCES);
    FUZZ_CHECK(rv == APR_SUCCESS || (err != NULL && err[0] != '\0'));
    FUZZ_CHECK((rv == APR_SUCCESS) == (*pparts != NULL));
    return rv;
}

/* A copy of the flattened JWS with `member` replaced by `value`. */
static json_t *with(apr_pool_t *p, const json_t *jws, const char *member, const char *value)
{
    json_t *copy = acme_json_pool_adopt(p, json_deep_copy(jws));

    FUZZ_CHECK(copy != NULL);
    json_object_set_new(copy, member, json_string(value));
    return copy;
}

/* Re-encodes the base64url member with one bit of its byte `at` flipped;
 * NULL when it decodes to nothing. */
static const char *flipped(apr_pool_t *p, const json_t *jws, const char *member, apr_size_t at)
{
    unsigned char *raw;
    apr_size_t len;

    FUZZ_CHECK(acme_b64url_decode_str(&raw, &len, p,
                                      json_string_value(json_object_get(jws, member)))
               == APR_SUCCESS);
    if (len == 0) {
        return NULL;
    }
    raw[at % len] ^= 0x01;
    return acme_b64url_encode(p, raw, len);
}

static void check_jws(apr_pool_t *p, const json_t *jws, int depth);

/* A JWS that verified with `key`: what it carries, and that no change of it
 * verifies. */
static void check_verified(apr_pool_t *p, const json_t *jws, const acme_jws_parts_t *parts,
                           acme_pkey_t *key, int depth)
{
    const char *prot64 = json_string_value(json_object_get(jws, "protected"));
    const char *payload64 = json_string_value(json_object_get(jws, "payload"));
    unsigned char *raw;
    apr_size_t len;
    acme_jws_parts_t *again;
    const char *changed;
    json_t *hdr, *inner = NULL;

    FUZZ_CHECK(prot64 && payload64);
    FUZZ_CHECK(acme_b64url_decode_str(&raw, &len, p, payload64) == APR_SUCCESS);
    FUZZ_CHECK(parts->payload_len == len && memcmp(parts->payload, raw, len) == 0);
    FUZZ_CHECK(parts->payload[len] == '\0');
    FUZZ_CHECK(acme_b64url_decode_str(&raw, &len, p, prot64) == APR_SUCCESS);
    hdr = acme_json_pool_adopt(p, json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES,
                                             NULL));
    FUZZ_CHECK(json_is_object(hdr) && json_equal(hdr, parts->header));
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(parts->header, "alg")),
                      acme_jwk_alg(key)) == 0);
    /* one bit of the signature, one byte of the payload */
    changed = flipped(p, jws, "signature", 0);
    FUZZ_CHECK(changed != NULL);
    FUZZ_CHECK(verify(&again, p, with(p, jws, "signature", changed), key) == APR_EACCES);
    changed = flipped(p, jws, "signature", parts->payload_len * 7 + 3);
    FUZZ_CHECK(verify(&again, p, with(p, jws, "signature", changed), key) == APR_EACCES);
    changed = flipped(p, jws, "payload", parts->payload_len / 2);
    FUZZ_CHECK(verify(&again, p, with(p, jws, "payload", changed ? changed : "e30"), key)
               == APR_EACCES);
    /* the same alg under another header */
    changed = apr_psprintf(p, "{\"alg\":\"%s\",\"nonce\":\"x%s\"}", acme_jwk_alg(key),
                           prot64);
    changed = acme_b64url_encode(p, (const unsigned char *)changed, strlen(changed));
    FUZZ_CHECK(verify(&again, p, with(p, jws, "protected", changed), key) == APR_EACCES);
    /* a key change's inner JWS */
    if (depth == 0
        && acme_json_parse(&inner, p, (const char *)parts->payload, parts->payload_len,
                           ACME_JSON_OBJECT, NULL) == APR_SUCCESS
        && json_object_get(inner, "signature")) {
        check_jws(p, inner, depth + 1);
    }
}

static void check_jws(apr_pool_t *p, const json_t *jws, int depth)
{
    acme_jws_parts_t *parts[VERIFY_KEYS];
    int verified = 0;
    size_t i;

    for (i = 0; i < VERIFY_KEYS; ++i) {
        if (verify(&parts[i], p, jws, fuzz_key(verify_keys[i])) == APR_SUCCESS) {
            verified++;
            check_verified(p, jws, parts[i], fuzz_key(verify_keys[i]), depth);
        }
    }
    FUZZ_CHECK(verified <= 1);
}

/* Signs `payload` (NULL: POST-as-GET) with `signer` and verifies it back. */
static void sign_round_trip(apr_pool_t *p, const json_t *payload, fuzz_key_e signer)
{
    const acme_jws_hdr_t hdr = {
        "https://ca.example/acme/new-order", "bm9uY2U", "https://ca.example/acme/acct/1"
    };
    acme_jws_parts_t *parts;
    json_t *jws = NULL, *back = NULL;
    const char *err = NULL;
    size_t i;

    FUZZ_CHECK(acme_jws_sign(&jws, p, fuzz_key(signer), &hdr, payload, &err) == APR_SUCCESS);
    acme_json_pool_adopt(p, jws);
    for (i = 0; i < VERIFY_KEYS; ++i) {
        apr_status_t rv = verify(&parts, p, jws, fuzz_key(verify_keys[i]));
        FUZZ_CHECK((rv == APR_SUCCESS) == (verify_keys[i] == signer));
    }
    FUZZ_CHECK(verify(&parts, p, jws, fuzz_key(signer)) == APR_SUCCESS);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(parts->header, "url")), hdr.url) == 0);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(parts->header, "nonce")), hdr.nonce)
               == 0);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(parts->header, "kid")), hdr.kid) == 0);
    FUZZ_CHECK(json_object_get(parts->header, "jwk") == NULL);
    if (payload == NULL) {
        FUZZ_CHECK(parts->payload_len == 0);
        return;
    }
    FUZZ_CHECK(acme_json_parse(&back, p, (const char *)parts->payload, parts->payload_len,
                               ACME_JSON_OBJECT, &err) == APR_SUCCESS);
    FUZZ_CHECK(json_equal(back, payload));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    json_t *json = NULL;
    const char *err = NULL;

    if (acme_json_parse(&json, p, (const char *)data, size, ACME_JSON_OBJECT, &err)
        == APR_SUCCESS) {
        check_jws(p, json, 0);
        if (json_object_get(json, "signature") == NULL) {
            sign_round_trip(p, json, FUZZ_KEY_P256_A);
            sign_round_trip(p, NULL, FUZZ_KEY_P256_B);
            if (json_object_get(json, "rsa")) {
                sign_round_trip(p, json, FUZZ_KEY_RSA);
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
