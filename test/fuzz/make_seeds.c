/* Writes the seeds of fuzz_jws_verify (JWS signed with the fixed keys of
 * fuzz_keys.c), the job.json seeds of fuzz_store_json, the sealed blobs
 * of fuzz_seal (its keys, fuzz_seal.h) and the seal and unseal requests of
 * fuzz_keyholder (keys of fuzz_keys.c sealed under fuzz_seal.h's key) into
 * DIR:
 *
 *   make test/fuzz/make_seeds && test/fuzz/make_seeds $srcdir/test/fuzz/corpus
 *
 * Not built by default (EXTRA_PROGRAMS); run again only when a key in
 * fuzz_keys.c, fuzz_seal.h, the job format or the seal format changes.
 * ECDSA signatures and seal nonces differ on every run: the files change,
 * not what they test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acme_job.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_result.h"
#include "acme_seal.h"
#include "fuzz_common.h"
#include "fuzz_keys.h"
#include "fuzz_seal.h"

static const char *dir;

static void write_file(apr_pool_t *p, const char *sub, const char *name, const char *text)
{
    const char *path = apr_pstrcat(p, dir, "/", sub, "/", name, NULL);
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    printf("wrote %s\n", path);
}

static const char *dump(apr_pool_t *p, const json_t *json)
{
    const char *text;
    apr_size_t len;

    if (acme_json_dump(&text, &len, p, json) != APR_SUCCESS) {
        fuzz_abort("acme_json_dump failed");
    }
    return text;
}

static json_t *sign(apr_pool_t *p, fuzz_key_e key, const char *kid, const json_t *payload)
{
    const acme_jws_hdr_t hdr = { "https://ca.example/acme/new-order", "bm9uY2UtMQ", kid };
    const char *err = NULL;
    json_t *jws = NULL;

    if (acme_jws_sign(&jws, p, fuzz_key(key), &hdr, payload, &err) != APR_SUCCESS) {
        fuzz_abort(err ? err : "acme_jws_sign failed");
    }
    return acme_json_pool_adopt(p, jws);
}

static void jws_seeds(apr_pool_t *p)
{
    const char *kid = "https://ca.example/acme/acct/1", *err = NULL;
    json_t *order = acme_json_pool_adopt(p, json_pack(
        "{s:[{s:s,s:s},{s:s,s:s}]}", "identifiers", "type", "dns", "value", "example.org",
        "type", "ip", "value", "192.0.2.1"));
    json_t *tos = acme_json_pool_adopt(p, json_pack("{s:b}", "termsOfServiceAgreed", 1));
    json_t *inner = NULL, *eab = NULL;

    write_file(p, "jws_verify", "es256-kid-order.json", dump(p, sign(p, FUZZ_KEY_P256_A, kid,
                                                                      order)));
    write_file(p, "jws_verify", "es256-b-post-as-get.json",
               dump(p, sign(p, FUZZ_KEY_P256_B, kid, NULL)));
    write_file(p, "jws_verify", "rs256-jwk-new-account.json",
               dump(p, sign(p, FUZZ_KEY_RSA, NULL, tos)));
    if (acme_jws_sign_key_change(&inner, p, fuzz_key(FUZZ_KEY_P256_B), fuzz_key(FUZZ_KEY_P256_A),
                                 kid, "https://ca.example/acme/key-change", &err)
        != APR_SUCCESS) {
        fuzz_abort("acme_jws_sign_key_change failed");
    }
    write_file(p, "jws_verify", "es256-key-change.json",
               dump(p, sign(p, FUZZ_KEY_P256_A, kid, acme_json_pool_adopt(p, inner))));
    if (acme_jws_sign_eab(&eab, p, fuzz_key(FUZZ_KEY_P256_A), "kid-1",
                          "c2VjcmV0LWtleS1mb3ItZnV6emluZw", "HS256",
                          "https://ca.example/acme/new-account", &err) != APR_SUCCESS) {
        fuzz_abort("acme_jws_sign_eab failed");
    }
    write_file(p, "jws_verify", "hs256-eab-refused.json", dump(p, acme_json_pool_adopt(p, eab)));
    write_file(p, "jws_verify", "payload-to-sign.json",
               "{\"status\":\"deactivated\",\"contact\":[\"mailto:a@example.org\"]}");
    write_file(p, "jws_verify", "payload-to-sign-rsa.json",
               "{\"csr\":\"MIIB\",\"rsa\":true}");
}

static void job_seeds(apr_pool_t *p)
{
    json_t *spec = acme_json_pool_adopt(p, json_pack(
        "{s:s, s:[ss], s:[ss], s:s}", "md", "example.org", "names", "example.org",
        "www.example.org", "pkey-specs", "P-256", "rsa2048", "ca-url",
        "https://ca.example/directory"));
    apr_time_t t0 = apr_time_from_sec(1796580000);
    acme_job_t *job = acme_job_create(p, "example.org", spec, 2, t0);
    acme_result_t *r = acme_result_create(p);
    const char *text;
    apr_size_t len;

    if (acme_job_to_json(&text, &len, p, job) != APR_SUCCESS) {
        fuzz_abort("acme_job_to_json failed");
    }
    write_file(p, "store_json", "job-new.json", text);
    job->step = ACME_JOB_POLL_AUTHZ;
    job->account_id = "ACME-ca.example-0001";
    acme_job_set_order(job, "https://ca.example/acme/order/17");
    acme_job_add_answer(job, "example.org", "http-01", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
                        NULL);
    acme_job_add_answer(job, "*.example.org", "dns-01", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                        "Xh1w4tmS3pVRk9XVbcfMZ-Nq1BUyQvbIhqGP0BHbnSA");
    job->answered_by = 4242;
    job->errors = 3;
    job->backoff = 1;
    job->next_at = t0 + apr_time_from_sec(600);
    acme_result_fail(r, APR_EGENERAL, "the CA said %s", "no");
    acme_job_set_error(job, r);
    job->updated = t0 + apr_time_from_sec(5);
    if (acme_job_to_json(&text, &len, p, job) != APR_SUCCESS) {
        fuzz_abort("acme_job_to_json failed");
    }
    write_file(p, "store_json", "job-poll-authz.json", text);
}

/* `mode` then the blob of `plain` under the key whose bytes start at
 * `first`, for the item `aad`. */
static const char *sealed(apr_pool_t *p, const char *mode, unsigned char first, const char *aad,
                          const char *plain)
{
    unsigned char bytes[ACME_SEAL_KEY_LEN];
    acme_seal_key_t *key = NULL;
    const char *blob = NULL;
    apr_size_t len;
    int i;

    for (i = 0; i < ACME_SEAL_KEY_LEN; ++i) {
        bytes[i] = (unsigned char)(first + i);
    }
    if (acme_seal_key_from_bytes(&key, p, bytes, sizeof(bytes)) != APR_SUCCESS
        || acme_seal(&blob, &len, p, key, aad, (const unsigned char *)plain, strlen(plain))
               != APR_SUCCESS) {
        fuzz_abort("acme_seal failed");
    }
    return apr_pstrcat(p, mode, blob, NULL);
}

static void seal_seeds(apr_pool_t *p)
{
    /* test/unit/data/jose/ed25519.pem, a test-only key */
    static const char pem[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MC4CAQAwBQYDK2VwBCIEINGAKre3nAhhQH9mAdCZMWRvtguAjumZgxG0Zbdz3Z/d\n"
        "-----END PRIVATE KEY-----\n";
    const char *blob;

    /* '0': a blob to open; '1': a plaintext to seal */
    write_file(p, "seal", "open-pem.txt",
               sealed(p, "0", FUZZ_SEAL_KEY_FIRST, FUZZ_SEAL_AAD, pem));
    write_file(p, "seal", "open-empty.txt",
               sealed(p, "0", FUZZ_SEAL_KEY_FIRST, FUZZ_SEAL_AAD, ""));
    write_file(p, "seal", "open-other-key.txt",
               sealed(p, "0", FUZZ_SEAL_OTHER_FIRST, FUZZ_SEAL_AAD, pem));
    write_file(p, "seal", "open-other-name.txt",
               sealed(p, "0", FUZZ_SEAL_KEY_FIRST, "domains/example.net/privkey.pem", pem));
    blob = sealed(p, "0", FUZZ_SEAL_KEY_FIRST, FUZZ_SEAL_AAD, "x");
    write_file(p, "seal", "open-v2.txt", apr_pstrcat(p, "0acme-seal:v2", blob + 13, NULL));
    write_file(p, "seal", "open-plain-pem.txt", apr_pstrcat(p, "0", pem, NULL));
    write_file(p, "seal", "seal-pem.txt", apr_pstrcat(p, "1", pem, NULL));
    write_file(p, "seal", "seal-empty.txt", "1");
}

/* A request of fuzz_keyholder as its file. */
static void keyholder_seed(apr_pool_t *p, const char *name, json_t *request)
{
    if (request == NULL) {
        fuzz_abort("json_pack failed");
    }
    write_file(p, "keyholder", name, dump(p, acme_json_pool_adopt(p, request)));
}

static void keyholder_seeds(apr_pool_t *p)
{
    static const char staged[] = "set/example.org/privkey.secp256r1.pem";
    static const char account[] = "account/ca-1";
    const char *blob;

    keyholder_seed(p, "seal-domain-key.json",
                   json_pack("{s:s, s:s, s:s, s:s}", "op", "seal-domain-key",
                             "md", "example.org", "spec", "P-256", "aad", staged));
    keyholder_seed(p, "seal-account-key.json",
                   json_pack("{s:s, s:s, s:s}", "op", "seal-account-key", "account", "acct-1",
                             "aad", account));
    /* mode "0" of sealed() is fuzz_seal's: cut off here */
    blob = sealed(p, "0", FUZZ_SEAL_KEY_FIRST, staged, fuzz_key_p256_b_pem) + 1;
    keyholder_seed(p, "unseal-domain-key.json",
                   json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "unseal-domain-key",
                             "md", "example.org", "spec", "P-256", "sealed", blob,
                             "aad", staged));
    blob = sealed(p, "0", FUZZ_SEAL_KEY_FIRST, staged, fuzz_key_rsa_pem) + 1;
    keyholder_seed(p, "unseal-domain-key-rsa.json",
                   json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "unseal-domain-key",
                             "md", "example.org", "spec", "P-256", "sealed", blob,
                             "aad", staged));
    blob = sealed(p, "0", FUZZ_SEAL_KEY_FIRST, account, fuzz_key_p256_b_pem) + 1;
    keyholder_seed(p, "unseal-account-key.json",
                   json_pack("{s:s, s:s, s:s, s:s}", "op", "unseal-account-key",
                             "account", "acct-2", "sealed", blob, "aad", account));
    /* into the account that has a key: refused */
    keyholder_seed(p, "unseal-account-key-existing.json",
                   json_pack("{s:s, s:s, s:s, s:s}", "op", "unseal-account-key",
                             "account", "acct-1", "sealed", blob, "aad", account));
    /* an account's key offered as a staged key, under its own name: refused */
    keyholder_seed(p, "unseal-domain-key-account-name.json",
                   json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "unseal-domain-key",
                             "md", "example.org", "spec", "P-256", "sealed", blob,
                             "aad", account));
}

int main(int argc, char **argv)
{
    apr_pool_t *p;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUSDIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    p = fuzz_pool_create();
    jws_seeds(p);
    job_seeds(p);
    seal_seeds(p);
    keyholder_seeds(p);
    apr_pool_destroy(p);
    return 0;
}

/* make_seeds is linked with fuzz_common.c, which wants a target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}
