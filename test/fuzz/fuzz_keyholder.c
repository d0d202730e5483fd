/* Fuzz target: the key holder's requests (acme_keyholder_handle), the
 * protocol a child running as httpd's User speaks to the root key holder.
 * The input is one request; the key holder answers from a local custody over
 * an in-memory store (fuzz_memstore.c) holding the account "acct-1" and a
 * staged P-256 key of md "example.org", within a fixed policy: CA
 * https://ca.example:14000, md example.org {example.org, www.example.org}
 * P-256, EAB kid "kid-1".
 *
 * Properties:
 * - every request gets an answer, a JSON object with a boolean "ok";
 * - a failure has a positive "status" and a one-line printable "error";
 * - no answer ever holds the EAB HMAC or a private key member ("d");
 * - an ok answer has the op's member: a public JWK; for sign a signature
 *   that verifies with the account key over the input asked for, whose
 *   header's url and kid start with the CA's origin, nonce non-empty, alg
 *   ES256; a CSR for exactly the two configured names; an EAB JWS. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <openssl/x509.h>

#include "acme_b64.h"
#include "acme_jws.h"
#include "acme_keyholder.h"
#include "acme_keys.h"
#include "fuzz_common.h"
#include "fuzz_keys.h"
#include "fuzz_memstore.h"

#define CA "https://ca.example:14000"
#define HMAC_KEY "c2VjcmV0LWhtYWMta2V5LW9mLTMyLWJ5dGVzLTAxMjM"

static acme_keyholder_policy_t *policy_make(apr_pool_t *p)
{
    static acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
    acme_keyholder_policy_t *policy = apr_pcalloc(p, sizeof(*policy));
    apr_array_header_t *urls = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *eabs = apr_array_make(p, 1, sizeof(acme_keyholder_eab_t));
    apr_array_header_t *names = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *specs = apr_array_make(p, 1, sizeof(acme_pkey_spec_t));
    acme_keyholder_md_t *md = apr_pcalloc(p, sizeof(*md));
    acme_keyholder_eab_t *eab = apr_array_push(eabs);

    APR_ARRAY_PUSH(urls, const char *) = CA "/dir";
    eab->kid = "kid-1";
    eab->hmac = HMAC_KEY;
    APR_ARRAY_PUSH(names, const char *) = "example.org";
    APR_ARRAY_PUSH(names, const char *) = "www.example.org";
    APR_ARRAY_PUSH(specs, acme_pkey_spec_t) = p256;
    md->name = "example.org";
    md->names = names;
    md->pkey_specs = specs;
    policy->ca_urls = urls;
    policy->eabs = eabs;
    policy->mds = apr_hash_make(p);
    apr_hash_set(policy->mds, md->name, APR_HASH_KEY_STRING, md);
    return policy;
}

/* An independent reading of "at the CA's origin": the configured origin
 * (case-insensitive; only this port is allowed, written as it is) ended by
 * the URL's end, a path, a query or a fragment. */
static int at_ca(json_t *v)
{
    const char *url = json_string_value(v);

    return url != NULL && strncasecmp(url, CA, strlen(CA)) == 0
           && strchr("/?#", url[strlen(CA)]) != NULL;
}

/* The signature of a sign request verifies, and the header is an allowed one. */
static void check_signature(apr_pool_t *p, acme_keys_t *local, json_t *req, json_t *answer)
{
    const char *input = json_string_value(json_object_get(req, "input"));
    const char *dot = input ? strchr(input, '.') : NULL;
    acme_jws_parts_t *parts;
    acme_pkey_t *key;
    json_t *jws, *hdr;

    FUZZ_CHECK(dot != NULL);
    FUZZ_CHECK(json_is_string(json_object_get(answer, "signature")));
    FUZZ_CHECK(acme_keys_account_key(&key, p, local, json_string_value(json_object_get(
                                         req, "account")), 0, NULL) == APR_SUCCESS);
    jws = json_pack("{s:s%, s:s, s:O}", "protected", input, (size_t)(dot - input),
                    "payload", dot + 1, "signature", json_object_get(answer, "signature"));
    FUZZ_CHECK(jws != NULL);
    FUZZ_CHECK(acme_jws_verify(&parts, p, jws, key, NULL) == APR_SUCCESS);
    hdr = parts->header;
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(hdr, "alg")), "ES256") == 0);
    FUZZ_CHECK(at_ca(json_object_get(hdr, "url")));
    FUZZ_CHECK(json_object_get(hdr, "kid") == NULL || at_ca(json_object_get(hdr, "kid")));
    FUZZ_CHECK(json_string_length(json_object_get(hdr, "nonce")) > 0);
    FUZZ_CHECK((json_object_get(hdr, "kid") != NULL) != (json_object_get(hdr, "jwk") != NULL));
    json_decref(jws);
}

static void check_csr(json_t *answer)
{
    const char *b64 = json_string_value(json_object_get(answer, "csr"));
    unsigned char *der;
    const unsigned char *q;
    apr_size_t len;
    apr_pool_t *p;
    X509_REQ *req;

    FUZZ_CHECK(b64 != NULL);
    apr_pool_create(&p, NULL);
    FUZZ_CHECK(acme_b64url_decode_str(&der, &len, p, b64) == APR_SUCCESS);
    q = der;
    req = d2i_X509_REQ(NULL, &q, (long)len);
    FUZZ_CHECK(req != NULL && (apr_size_t)(q - der) == len);
    FUZZ_CHECK(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1);
    X509_REQ_free(req);
    apr_pool_destroy(p);
}

static void check_answer(apr_pool_t *p, acme_keys_t *local, const char *request,
                         size_t size, const char *text, apr_size_t len)
{
    json_t *answer = json_loadb(text, len, 0, NULL), *req, *ok, *jwk;
    const char *op, *error, *c;

    FUZZ_CHECK(json_is_object(answer));
    /* never the configured HMAC, unless the request itself carried it (a
     * refusal may name the member it refuses) */
    FUZZ_CHECK(strstr(text, HMAC_KEY) == NULL
               || memmem(request, size, HMAC_KEY, strlen(HMAC_KEY)) != NULL);
    FUZZ_CHECK(strlen(text) == len);
    ok = json_object_get(answer, "ok");
    FUZZ_CHECK(json_is_boolean(ok));
    if (json_is_false(ok)) {
        FUZZ_CHECK(json_integer_value(json_object_get(answer, "status")) > 0);
        error = json_string_value(json_object_get(answer, "error"));
        FUZZ_CHECK(error != NULL && *error != '\0');
        for (c = error; *c; c++) {
            FUZZ_CHECK((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
        }
        json_decref(answer);
        return;
    }
    req = json_loadb(request, size, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(json_is_object(req));
    op = json_string_value(json_object_get(req, "op"));
    FUZZ_CHECK(op != NULL);
    if (!strcmp(op, "account-key") || !strcmp(op, "domain-key")) {
        jwk = json_object_get(answer, "jwk");
        FUZZ_CHECK(json_is_object(jwk) && json_object_get(jwk, "d") == NULL);
    }
    else if (!strcmp(op, "sign")) {
        check_signature(p, local, req, answer);
    }
    else if (!strcmp(op, "csr")) {
        FUZZ_CHECK(json_array_size(json_object_get(req, "names")) == 2);
        check_csr(answer);
    }
    else {
        FUZZ_CHECK(strcmp(op, "eab") == 0);
        FUZZ_CHECK(at_ca(json_object_get(req, "url")));
        FUZZ_CHECK(json_is_object(json_object_get(answer, "jws")));
    }
    json_decref(req);
    json_decref(answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
    apr_pool_t *p = fuzz_pool_create();
    acme_store_t *store = fuzz_memstore_create(p);
    acme_keys_t *local = acme_keys_local(p, store);
    const char *answer;
    apr_size_t len;
    acme_pkey_t *key;

    fuzz_memstore_put(store, ACME_STORE_ACCOUNTS, "acct-1", "account.pem",
                      fuzz_key_p256_a_pem, strlen(fuzz_key_p256_a_pem));
    FUZZ_CHECK(acme_keys_domain_key(&key, p, local, "example.org", &p256, 1, NULL)
               == APR_SUCCESS);
    FUZZ_CHECK(acme_keyholder_handle(&answer, &len, p, local, policy_make(p),
                                     (const char *)data, size) == APR_SUCCESS);
    check_answer(p, local, (const char *)data, size, answer, len);
    apr_pool_destroy(p);
    return 0;
}
