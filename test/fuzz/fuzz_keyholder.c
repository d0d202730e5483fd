/* Fuzz target: the key holder's requests (acme_keyholder_handle), the
 * protocol a child running as httpd's User speaks to the root key holder.
 * The input is one request; the key holder answers from a local custody over
 * an in-memory store (fuzz_memstore.c) holding the account "acct-1" and a
 * staged P-256 key of md "example.org", within a fixed policy: CA
 * https://ca.example:14000, md example.org {example.org, www.example.org}
 * P-256, EAB kid "kid-1", the seal key of fuzz_seal.h (FUZZ_SEAL_KEY_FIRST).
 *
 * Properties:
 * - every request gets an answer, a JSON object with a boolean "ok";
 * - a failure has a positive "status" and a one-line printable "error";
 * - no answer ever holds the EAB HMAC or a private key member ("d"), nor a
 *   plaintext private key: no "PRIVATE KEY", and the private number of the
 *   account key, the staged key or a key the request's sealed text holds
 *   in no form (hex, base64, base64url, at any alignment, across line
 *   breaks), unless the request itself held it (a refusal may quote a
 *   member name);
 * - an ok answer has the op's member: a public JWK; for sign a signature
 *   that verifies with the account key over the input asked for, whose
 *   header's url and kid start with the CA's origin, nonce non-empty, alg
 *   ES256; a CSR for exactly the two configured names; an EAB JWS;
 * - seal (issue 18): only for the aad that is the key's own name
 *   ("set/example.org/privkey.secp256r1.pem", "account/..."), a sealed text
 *   that opens under the seal key for that aad to the very key asked for;
 * - unseal: only for that aad too, never into the account that has a key,
 *   and the JWK answered is the key the store then holds there. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acme_b64.h"
#include "acme_jws.h"
#include "acme_jwk.h"
#include "acme_keyholder.h"
#include "acme_keys.h"
#include "acme_layout.h"
#include "acme_pkey_cache.h"
#include "acme_seal.h"
#include "fuzz_common.h"
#include "fuzz_keys.h"
#include "fuzz_memstore.h"
#include "fuzz_seal.h"

#define CA "https://ca.example:14000"
#define HMAC_KEY "c2VjcmV0LWhtYWMta2V5LW9mLTMyLWJ5dGVzLTAxMjM"
#define STAGED_AAD "set/example.org/privkey.secp256r1.pem"
#define ACCOUNT "acct-1"    /* the account that has a key */
#define SECRETS_MAX (3 * 8)     /* three keys, eight forms each */

static const acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };

/* What one input runs with. */
typedef struct {
    apr_pool_t *p;
    acme_keys_t *local;
    acme_seal_key_t *seal_key;
    const char *request;        /* NUL-terminated copy */
    size_t size;
    const char *secrets[SECRETS_MAX];  /* forms of private numbers no answer holds */
    int secret_count;
} fuzz_kh_t;

static acme_keyholder_policy_t *policy_make(apr_pool_t *p, const acme_seal_key_t *seal_key)
{
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
    policy->seal_key = seal_key;
    return policy;
}

static acme_seal_key_t *seal_key_make(apr_pool_t *p)
{
    unsigned char bytes[ACME_SEAL_KEY_LEN];
    acme_seal_key_t *key = NULL;
    int i;

    for (i = 0; i < ACME_SEAL_KEY_LEN; ++i) {
        bytes[i] = (unsigned char)(FUZZ_SEAL_KEY_FIRST + i);
    }
    FUZZ_CHECK(acme_seal_key_from_bytes(&key, p, bytes, sizeof(bytes)) == APR_SUCCESS);
    return key;
}

static const char *hex(apr_pool_t *p, const unsigned char *bytes, int n, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *out = apr_palloc(p, (apr_size_t)n * 2 + 1);
    int i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    out[2 * n] = '\0';
    return out;
}

/* Remembers the forms in which the private number of `key` (an EC key's
 * scalar, an RSA key's d) would show in an answer: hex, and base64 and
 * base64url of its bytes at each of the three alignments a base64 text of
 * a buffer holding it can have (whole groups only), so that a PEM or a JWK
 * with it is found wherever in the buffer it sits. */
static void secret_remember(fuzz_kh_t *f, const acme_pkey_t *key)
{
    EVP_PKEY *evp = acme_pkey_get_evp(key);
    unsigned char bytes[1024];
    BIGNUM *bn = NULL;
    char *b64, *c;
    int n, shift, groups;

    FUZZ_CHECK(EVP_PKEY_get_bn_param(evp, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1
               || EVP_PKEY_get_bn_param(evp, OSSL_PKEY_PARAM_RSA_D, &bn) == 1);
    n = BN_num_bytes(bn);
    FUZZ_CHECK(n >= 16 && n <= (int)sizeof(bytes) && BN_bn2bin(bn, bytes) == n);
    BN_clear_free(bn);
    FUZZ_CHECK(f->secret_count + 8 <= SECRETS_MAX);
    f->secrets[f->secret_count++] = hex(f->p, bytes, n, 0);
    f->secrets[f->secret_count++] = hex(f->p, bytes, n, 1);
    for (shift = 0; shift < 3; shift++) {
        groups = (n - shift) / 3;
        b64 = apr_palloc(f->p, (apr_size_t)groups * 4 + 1);
        FUZZ_CHECK(EVP_EncodeBlock((unsigned char *)b64, bytes + shift, groups * 3)
                   == groups * 4);
        f->secrets[f->secret_count++] = apr_pstrdup(f->p, b64);
        for (c = b64; *c; c++) {
            *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
        }
        f->secrets[f->secret_count++] = b64;
    }
    OPENSSL_cleanse(bytes, sizeof(bytes));
}

/* The key in the request's sealed text, when it holds one that opens for
 * its aad: its private number must not come back either. */
static void secret_of_request(fuzz_kh_t *f, json_t *req)
{
    const char *sealed = json_string_value(json_object_get(req, "sealed"));
    const char *aad = json_string_value(json_object_get(req, "aad"));
    const unsigned char *plain;
    acme_pkey_t *key;
    apr_size_t len;

    if (sealed && aad
        && acme_seal_open(&plain, &len, f->p, f->seal_key, aad, sealed, strlen(sealed), NULL)
           == APR_SUCCESS
        && acme_pkey_from_pem(&key, f->p, (const char *)plain, len, NULL) == APR_SUCCESS) {
        secret_remember(f, key);
    }
}

/* `text` holds no PEM private key and no remembered private number (line
 * breaks, escaped or not, taken out first: a PEM breaks its base64), unless
 * the request has it. */
static void check_no_secret(const fuzz_kh_t *f, const char *text)
{
    char *flat = apr_palloc(f->p, strlen(text) + 1), *out = flat;
    const char *in;
    int i;

    FUZZ_CHECK(strstr(text, "PRIVATE KEY") == NULL
               || memmem(f->request, f->size, "PRIVATE KEY", 11) != NULL);
    for (in = text; *in; in++) {
        if (in[0] == '\\' && (in[1] == 'n' || in[1] == 'r')) {
            in++;
        }
        else if (*in != '\n' && *in != '\r') {
            *out++ = *in;
        }
    }
    *out = '\0';
    for (i = 0; i < f->secret_count; i++) {
        FUZZ_CHECK(strstr(flat, f->secrets[i]) == NULL
                   || memmem(f->request, f->size, f->secrets[i], strlen(f->secrets[i]))
                      != NULL);
    }
}

/* The key a seal or unseal request names, as the store holds it now. */
static apr_status_t target_key(acme_pkey_t **pkey, const fuzz_kh_t *f, json_t *req)
{
    const char *account = json_string_value(json_object_get(req, "account"));

    if (account) {
        return acme_keys_account_key(pkey, f->p, f->local, account, 0, NULL);
    }
    return acme_keys_domain_key(pkey, f->p, f->local, "example.org", &p256, 0, NULL);
}

/* The aad was the key's own name. */
static void check_aad(json_t *req)
{
    const char *aad = json_string_value(json_object_get(req, "aad"));

    FUZZ_CHECK(aad != NULL);
    if (json_object_get(req, "account")) {
        FUZZ_CHECK(strncmp(aad, "account/", 8) == 0 && aad[8] != '\0'
                   && strchr(aad + 8, '/') == NULL);
    }
    else {
        FUZZ_CHECK(strcmp(aad, STAGED_AAD) == 0);
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(req, "md")), "example.org") == 0);
    }
}

/* A seal's text opens under the seal key for its aad to the key asked for. */
static void check_sealed(const fuzz_kh_t *f, json_t *req, json_t *answer)
{
    const char *sealed = json_string_value(json_object_get(answer, "sealed"));
    const unsigned char *plain;
    acme_pkey_t *key, *target;
    apr_size_t len;

    check_aad(req);
    FUZZ_CHECK(sealed != NULL && acme_seal_is_sealed(sealed, strlen(sealed)));
    FUZZ_CHECK(acme_seal_open(&plain, &len, f->p, f->seal_key,
                              json_string_value(json_object_get(req, "aad")), sealed,
                              strlen(sealed), NULL) == APR_SUCCESS);
    FUZZ_CHECK(acme_pkey_from_pem(&key, f->p, (const char *)plain, len, NULL) == APR_SUCCESS);
    FUZZ_CHECK(target_key(&target, f, req) == APR_SUCCESS);
    FUZZ_CHECK(acme_pkey_public_eq(key, target));
}

/* An unseal's JWK is the key now in the store, never in the account that
 * had one. */
static void check_unsealed(const fuzz_kh_t *f, json_t *req, json_t *answer)
{
    const char *account = json_string_value(json_object_get(req, "account"));
    acme_pkey_t *answered, *target;

    check_aad(req);
    FUZZ_CHECK(account == NULL || strcmp(account, ACCOUNT) != 0);
    FUZZ_CHECK(acme_jwk_to_pkey(&answered, f->p, json_object_get(answer, "jwk"), NULL)
               == APR_SUCCESS);
    FUZZ_CHECK(target_key(&target, f, req) == APR_SUCCESS);
    FUZZ_CHECK(acme_pkey_public_eq(answered, target));
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

static void check_answer(fuzz_kh_t *f, const char *text, apr_size_t len)
{
    json_t *answer = json_loadb(text, len, 0, NULL), *req, *ok, *jwk;
    const char *request = f->request, *op, *error, *c;
    size_t size = f->size;

    FUZZ_CHECK(json_is_object(answer));
    req = json_loadb(request, size, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(req)) {
        secret_of_request(f, req);
    }
    json_decref(req);
    check_no_secret(f, text);
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
    jwk = json_object_get(answer, "jwk");
    FUZZ_CHECK(jwk == NULL || (json_is_object(jwk) && json_object_get(jwk, "d") == NULL));
    if (!strcmp(op, "account-key") || !strcmp(op, "domain-key")) {
        FUZZ_CHECK(jwk != NULL);
    }
    else if (!strcmp(op, "sign")) {
        check_signature(f->p, f->local, req, answer);
    }
    else if (!strcmp(op, "seal-account-key") || !strcmp(op, "seal-domain-key")) {
        check_sealed(f, req, answer);
    }
    else if (!strcmp(op, "unseal-account-key") || !strcmp(op, "unseal-domain-key")) {
        FUZZ_CHECK(jwk != NULL);
        check_unsealed(f, req, answer);
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

/* A key of the store as it is kept: its PEM and the key decoded. */
typedef struct {
    const char *pem;
    apr_size_t len;
    acme_pkey_t *key;
    EVP_PKEY *evp;      /* the key's, held here too: the leak check at exit
                         * does not look into APR's pool memory (mmap) */
} fuzz_kh_key_t;

/* What every input starts from, made once: decoding a key from PEM costs
 * OpenSSL 3 milliseconds under the sanitizers, ten times the rest of an
 * input. The store goes back to its baseline (the account key and the
 * staged key) before each input; each input's custody is new (nothing an
 * input cached reaches the next) with the two keys put in its cache. */
typedef struct {
    apr_pool_t *p;
    acme_store_t *store;
    acme_seal_key_t *seal_key;
    acme_keyholder_policy_t *policy;
    fuzz_kh_key_t account, staged;
    fuzz_kh_t remembered;       /* the secret forms of the two keys */
} fuzz_kh_base_t;

static void base_key_read(fuzz_kh_base_t *base, fuzz_kh_key_t *k, acme_store_group_e group,
                          const char *name, const char *aspect, acme_pkey_t *key)
{
    FUZZ_CHECK(acme_store_load_private(&k->pem, &k->len, base->p, base->store, group, name,
                                       aspect) == APR_SUCCESS);
    k->key = key;
    k->evp = acme_pkey_get_evp(key);
    secret_remember(&base->remembered, key);
}

static fuzz_kh_base_t *base_get(void)
{
    static fuzz_kh_base_t *base;
    acme_keys_t *local;
    acme_pkey_t *key;

    if (base != NULL) {
        return base;
    }
    base = calloc(1, sizeof(*base));
    FUZZ_CHECK(base != NULL);
    base->p = fuzz_pool_create();
    base->store = fuzz_memstore_create(base->p);
    base->seal_key = seal_key_make(base->p);
    base->policy = policy_make(base->p, base->seal_key);
    base->remembered.p = base->p;
    local = acme_keys_local_sealing(base->p, base->store, base->seal_key);
    fuzz_memstore_put(base->store, ACME_STORE_ACCOUNTS, ACCOUNT, "account.pem",
                      fuzz_key_p256_a_pem, strlen(fuzz_key_p256_a_pem));
    FUZZ_CHECK(acme_keys_account_key(&key, base->p, local, ACCOUNT, 0, NULL) == APR_SUCCESS);
    base_key_read(base, &base->account, ACME_STORE_ACCOUNTS, ACCOUNT, "account.pem", key);
    FUZZ_CHECK(acme_keys_domain_key(&key, base->p, local, "example.org", &p256, 1, NULL)
               == APR_SUCCESS);
    base_key_read(base, &base->staged, ACME_STORE_STAGING, "example.org",
                  acme_layout_privkey(base->p, acme_pkey_spec_name(base->p, &p256)), key);
    fuzz_memstore_keep_baseline(base->store);
    return base;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_kh_base_t *base = base_get();
    apr_pool_t *p = fuzz_pool_create();
    acme_pkey_cache_t *cache;
    const char *answer;
    apr_size_t len;
    fuzz_kh_t f;

    fuzz_memstore_reset(base->store);
    f = base->remembered;
    f.p = p;
    f.seal_key = base->seal_key;
    f.local = acme_keys_local_sealing(p, base->store, base->seal_key);
    f.request = fuzz_strdup(p, data, size);
    f.size = size;
    FUZZ_CHECK((cache = acme_keys_local_cache(f.local)) != NULL);
    acme_pkey_cache_put(cache, base->account.pem, base->account.len, base->account.key);
    acme_pkey_cache_put(cache, base->staged.pem, base->staged.len, base->staged.key);
    FUZZ_CHECK(acme_keyholder_handle(&answer, &len, p, f.local, base->policy,
                                     (const char *)data, size) == APR_SUCCESS);
    check_answer(&f, answer, len);
    apr_pool_destroy(p);
    return 0;
}
