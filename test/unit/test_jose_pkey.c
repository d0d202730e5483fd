/* Key specs (MDPrivateKeys words), generation, PEM in and out. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "acme_jwk.h"
#include "acme_pkey.h"
#include "acme_pkey_cache.h"
#include "test_jose.h"

static const struct {
    const char *word;
    acme_pkey_type_e type;
    unsigned int bits;
    acme_pkey_curve_e curve;
    const char *name;
} spec_good[] = {
    {"RSA", ACME_PKEY_RSA, 2048, ACME_PKEY_CURVE_NONE, "rsa2048"},
    {"rsa", ACME_PKEY_RSA, 2048, ACME_PKEY_CURVE_NONE, "rsa2048"},
    {"rsa2048", ACME_PKEY_RSA, 2048, ACME_PKEY_CURVE_NONE, "rsa2048"},
    {"RSA3072", ACME_PKEY_RSA, 3072, ACME_PKEY_CURVE_NONE, "rsa3072"},
    {"rsa4096", ACME_PKEY_RSA, 4096, ACME_PKEY_CURVE_NONE, "rsa4096"},
    {"rsa8192", ACME_PKEY_RSA, 8192, ACME_PKEY_CURVE_NONE, "rsa8192"},
    {"secp256r1", ACME_PKEY_EC, 0, ACME_PKEY_P256, "P-256"},
    {"P-256", ACME_PKEY_EC, 0, ACME_PKEY_P256, "P-256"},
    {"p-256", ACME_PKEY_EC, 0, ACME_PKEY_P256, "P-256"},
    {"prime256v1", ACME_PKEY_EC, 0, ACME_PKEY_P256, "P-256"},
    {"SECP384R1", ACME_PKEY_EC, 0, ACME_PKEY_P384, "P-384"},
    {"P-384", ACME_PKEY_EC, 0, ACME_PKEY_P384, "P-384"},
};

START_TEST(spec_parse_accepts_mod_md_words)
{
    acme_pkey_spec_t spec, again;
    const char *err = NULL;

    ck_assert_int_eq(acme_pkey_spec_parse(&spec, test_pool, spec_good[_i].word, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(spec.type, spec_good[_i].type);
    ck_assert_uint_eq(spec.bits, spec_good[_i].bits);
    ck_assert_int_eq(spec.curve, spec_good[_i].curve);
    ck_assert_str_eq(acme_pkey_spec_name(test_pool, &spec), spec_good[_i].name);
    /* the canonical name parses back to the same spec */
    again = jose_spec(acme_pkey_spec_name(test_pool, &spec));
    ck_assert(acme_pkey_spec_eq(&spec, &again));
}
END_TEST

static const char *const spec_bad[] = {
    "", "rsa1024", "rsa2047", "rsa8193", "rsa99999", "rsa-2048", "rsa 2048", "rsa2048x",
    "rsa+2048", "rsa0x800", "P-521", "secp521r1", "ed25519", "dsa", "P256", "ec",
};

START_TEST(spec_parse_rejects_other_words_with_a_reason)
{
    acme_pkey_spec_t spec = {ACME_PKEY_EC, 7, ACME_PKEY_P384};
    const char *err = NULL;

    ck_assert_int_eq(acme_pkey_spec_parse(&spec, test_pool, spec_bad[_i], &err), APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_uint_gt(strlen(err), 10);
    ck_assert_uint_eq(spec.bits, 7); /* untouched */
}
END_TEST

START_TEST(spec_parse_null_and_unknown_reasons)
{
    acme_pkey_spec_t spec;
    const char *err = NULL;

    ck_assert_int_eq(acme_pkey_spec_parse(&spec, test_pool, NULL, &err), APR_EINVAL);
    ck_assert_int_eq(acme_pkey_spec_parse(&spec, test_pool, "ed25519", &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "'ed25519'"));
    ck_assert_int_eq(acme_pkey_spec_parse(&spec, test_pool, "rsa1024", &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "1024"));
    ck_assert_int_eq(acme_pkey_spec_parse(&spec, test_pool, "rsa1024", NULL), APR_EINVAL);
}
END_TEST

START_TEST(spec_two_word_rsa_form)
{
    acme_pkey_spec_t spec = jose_spec("RSA"), p256 = jose_spec("P-256");
    const char *err = NULL;

    ck_assert_int_eq(acme_pkey_spec_set_rsa_bits(&spec, test_pool, "3072", &err), APR_SUCCESS);
    ck_assert_str_eq(acme_pkey_spec_name(test_pool, &spec), "rsa3072");
    ck_assert_int_eq(acme_pkey_spec_set_rsa_bits(&spec, test_pool, "1024", &err), APR_EINVAL);
    ck_assert_int_eq(acme_pkey_spec_set_rsa_bits(&spec, test_pool, "9000", &err), APR_EINVAL);
    ck_assert_int_eq(acme_pkey_spec_set_rsa_bits(&spec, test_pool, "30x", &err), APR_EINVAL);
    ck_assert_int_eq(acme_pkey_spec_set_rsa_bits(&spec, test_pool, "", &err), APR_EINVAL);
    ck_assert_int_eq(acme_pkey_spec_set_rsa_bits(&spec, test_pool, NULL, &err), APR_EINVAL);
    ck_assert_uint_eq(spec.bits, 3072);
    ck_assert_int_eq(acme_pkey_spec_set_rsa_bits(&p256, test_pool, "3072", &err), APR_EINVAL);
    ck_assert_int_eq(p256.type, ACME_PKEY_EC);
}
END_TEST

/* Generation of every spec we offer, PEM out and back in. Under valgrind
 * the EC specs only (GEN_SPECS_VALGRIND): one RSA generation takes most of a
 * minute there, and our code around OpenSSL's generator is the same for
 * every type; RSA PEM import and export are checked with the RFC keys. */
static const char *const gen_specs[] = {"P-256", "P-384", "rsa2048", "rsa3072", "rsa4096"};
#define GEN_SPECS_VALGRIND 2

START_TEST(pkey_generate_pem_roundtrip_detects_spec)
{
    acme_pkey_spec_t spec = jose_spec(gen_specs[_i]);
    acme_pkey_t *key = NULL, *back = NULL;
    const char *pem = NULL, *err = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &spec, &err), APR_SUCCESS);
    ck_assert(acme_pkey_spec_eq(acme_pkey_get_spec(key), &spec));
    ck_assert(acme_pkey_has_private(key));
    ck_assert_int_eq(acme_pkey_to_pem(&pem, &len, test_pool, key, &err), APR_SUCCESS);
    ck_assert_uint_eq(strlen(pem), len);
    ck_assert_msg(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0, "not PKCS#8: %s", pem);
    ck_assert_int_eq(acme_pkey_from_pem(&back, test_pool, pem, len, &err), APR_SUCCESS);
    ck_assert_str_eq(acme_pkey_spec_name(test_pool, acme_pkey_get_spec(back)), gen_specs[_i]);
    ck_assert(acme_pkey_public_eq(key, back));
    ck_assert(acme_pkey_has_private(back));
}
END_TEST

START_TEST(pkey_generate_rejects_invalid_specs)
{
    acme_pkey_spec_t small = {ACME_PKEY_RSA, 1024, ACME_PKEY_CURVE_NONE};
    acme_pkey_spec_t nocurve = {ACME_PKEY_EC, 0, ACME_PKEY_CURVE_NONE};
    acme_pkey_spec_t zero = {0};
    acme_pkey_t *key = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &small, &err), APR_EINVAL);
    ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &nocurve, &err), APR_EINVAL);
    ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &zero, &err), APR_EINVAL);
    ck_assert_ptr_null(key);
}
END_TEST

START_TEST(pkey_two_generated_keys_differ)
{
    acme_pkey_spec_t spec = jose_spec("P-256");
    acme_pkey_t *a = NULL, *b = NULL;

    ck_assert_int_eq(acme_pkey_generate(&a, test_pool, &spec, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_pkey_generate(&b, test_pool, &spec, NULL), APR_SUCCESS);
    ck_assert(!acme_pkey_public_eq(a, b));
    ck_assert(acme_pkey_public_eq(a, a));
}
END_TEST

/* The RFC 7515 A.2 key as PKCS#8 and traditional PEM is the JWK's key, and
 * our PKCS#8 output of the JWK's key is byte for byte the same file. */
START_TEST(pkey_pem_matches_rfc_jwk_key)
{
    acme_pkey_t *jwk_key = jose_jwk_key("rfc7515-a2-rsa.json"), *pem_key = NULL, *trad = NULL;
    apr_size_t len, tlen;
    const char *file = jose_file("rfc7515-a2-rsa.pem", &len);
    const char *tfile = jose_file("rfc7515-a2-rsa-traditional.pem", &tlen);
    const char *pem = NULL, *err = NULL;

    ck_assert_int_eq(acme_pkey_from_pem(&pem_key, test_pool, file, len, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_pkey_from_pem(&trad, test_pool, tfile, tlen, &err), APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(jwk_key, pem_key));
    ck_assert(acme_pkey_public_eq(jwk_key, trad));
    ck_assert_str_eq(acme_pkey_spec_name(test_pool, acme_pkey_get_spec(trad)), "rsa2048");
    ck_assert_int_eq(acme_pkey_to_pem(&pem, NULL, test_pool, jwk_key, &err), APR_SUCCESS);
    ck_assert_str_eq(pem, file);
}
END_TEST

START_TEST(pkey_pem_skips_ec_parameters_block)
{
    apr_size_t len;
    const char *file = jose_file("ec-p256-traditional.pem", &len), *err = NULL;
    acme_pkey_t *key = NULL;

    ck_assert_ptr_nonnull(strstr(file, "BEGIN EC PARAMETERS"));
    ck_assert_int_eq(acme_pkey_from_pem(&key, test_pool, file, len, &err), APR_SUCCESS);
    ck_assert_str_eq(acme_pkey_spec_name(test_pool, acme_pkey_get_spec(key)), "P-256");
}
END_TEST

static const struct {
    const char *file;
    const char *reason; /* a part of the error message */
} pem_bad[] = {
    {"cert.pem", "no private key"},
    {"rfc7515-a2-rsa-public.pem", "no private key"},
    {"encrypted.pem", "encrypted"},
    {"rsa1024.pem", "1024 bits"},
    {"ec-p521.pem", "curve"},
    {"ed25519.pem", "ED25519"},
    {"vectors.json", "no private key"},
};

START_TEST(pkey_from_pem_rejects_unusable_input)
{
    apr_size_t len;
    const char *file = jose_file(pem_bad[_i].file, &len), *err = NULL;
    acme_pkey_t *key = NULL;

    ck_assert_int_eq(acme_pkey_from_pem(&key, test_pool, file, len, &err), APR_EINVAL);
    ck_assert_ptr_null(key);
    ck_assert_msg(err && strstr(err, pem_bad[_i].reason), "%s: %s", pem_bad[_i].file, err);
}
END_TEST

START_TEST(pkey_from_pem_rejects_empty_and_truncated)
{
    apr_size_t len;
    const char *file = jose_file("rfc7515-a2-rsa.pem", &len), *err = NULL;
    acme_pkey_t *key = NULL;

    ck_assert_int_eq(acme_pkey_from_pem(&key, test_pool, "", 0, &err), APR_EINVAL);
    ck_assert_int_eq(acme_pkey_from_pem(&key, test_pool, NULL, 0, &err), APR_EINVAL);
    ck_assert_int_eq(acme_pkey_from_pem(&key, test_pool, file, len / 2, &err), APR_EINVAL);
    ck_assert_ptr_null(key);
}
END_TEST

/* The PEM of the key in data/jose/<file> rebuilt from its parameters,
 * with `from_other` (names, NULL-terminated) taken from the key in <other>
 * and the parameter `bump` (may be NULL) plus 2: a key file damaged where
 * it still parses, or put together from two keys. */
static const char *pkey_tampered_pem(const char *file, const char *other,
                                     const char *const *from_other, const char *bump)
{
    const char *text = jose_file(file, NULL), *otext = other ? jose_file(other, NULL) : NULL;
    BIO *bio = BIO_new_mem_buf(text, -1), *obio = otext ? BIO_new_mem_buf(otext, -1) : NULL;
    EVP_PKEY *a = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL), *b = NULL, *out = NULL;
    OSSL_PARAM *pa = NULL, *pb = NULL, *built = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = NULL;
    BIO *mem = BIO_new(BIO_s_mem());
    const OSSL_PARAM *it;
    BIGNUM *bns[16] = {0}; /* the builder keeps pointers until it is done */
    char *data = NULL, *pem;
    long n;
    int i, nbns = 0;

    b = obio ? PEM_read_bio_PrivateKey(obio, NULL, NULL, NULL) : NULL;
    ck_assert(a && bld && mem && (!other || b));
    ck_assert_int_eq(EVP_PKEY_todata(a, EVP_PKEY_KEYPAIR, &pa), 1);
    ck_assert(!b || EVP_PKEY_todata(b, EVP_PKEY_KEYPAIR, &pb) == 1);
    for (it = pa; it->key; ++it) {
        const OSSL_PARAM *src = it;
        BIGNUM *bn = NULL;

        for (i = 0; from_other && from_other[i]; ++i) {
            if (strcmp(from_other[i], it->key) == 0) {
                ck_assert_ptr_nonnull(src = OSSL_PARAM_locate_const(pb, it->key));
            }
        }
        if (src->data_type == OSSL_PARAM_UNSIGNED_INTEGER) {
            ck_assert_int_eq(OSSL_PARAM_get_BN(src, &bn), 1);
            if (bump && strcmp(bump, it->key) == 0) {
                ck_assert_int_eq(BN_add_word(bn, 2), 1);
            }
            ck_assert_int_eq(OSSL_PARAM_BLD_push_BN(bld, it->key, bn), 1);
            ck_assert_int_lt(nbns, 16);
            bns[nbns++] = bn;
        }
        else if (src->data_type == OSSL_PARAM_INTEGER) {
            int v = 0;

            ck_assert_int_eq(OSSL_PARAM_get_int(src, &v), 1);
            ck_assert_int_eq(OSSL_PARAM_BLD_push_int(bld, it->key, v), 1);
        }
        else if (src->data_type == OSSL_PARAM_UTF8_STRING) {
            ck_assert_int_eq(OSSL_PARAM_BLD_push_utf8_string(bld, it->key, src->data,
                                                             src->data_size), 1);
        }
        else {
            ck_assert_int_eq(OSSL_PARAM_BLD_push_octet_string(bld, it->key, src->data,
                                                              src->data_size), 1);
        }
    }
    ck_assert_ptr_nonnull(built = OSSL_PARAM_BLD_to_param(bld));
    ck_assert_ptr_nonnull(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL));
    ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_KEYPAIR, built), 1);
    ck_assert_int_eq(PEM_write_bio_PrivateKey(mem, out, NULL, NULL, 0, NULL, NULL), 1);
    ck_assert_int_gt(n = BIO_get_mem_data(mem, &data), 0);
    pem = apr_pstrmemdup(test_pool, data, (apr_size_t)n);
    OSSL_PARAM_free(pa);
    OSSL_PARAM_free(pb);
    OSSL_PARAM_free(built);
    OSSL_PARAM_BLD_free(bld);
    for (i = 0; i < nbns; ++i) {
        BN_clear_free(bns[i]);
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    EVP_PKEY_free(out);
    BIO_free(bio);
    BIO_free(obio);
    BIO_free(mem);
    return pem;
}

static const char *const rsa_private_part[] = {
    OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
    OSSL_PKEY_PARAM_RSA_COEFFICIENT1, NULL};
static const char *const ec_private_part[] = {OSSL_PKEY_PARAM_PRIV_KEY, NULL};

/* Keys that parse but do not hold together; the first row is the control
 * (rebuilt unchanged: accepted). */
static const struct {
    const char *file, *other;
    const char *const *from_other;
    const char *bump;
} pkey_tampered[] = {
    {"rfc7515-a2-rsa.pem", NULL, NULL, NULL},
    {"rfc7515-a2-rsa.pem", NULL, NULL, OSSL_PKEY_PARAM_RSA_N},
    {"rfc7515-a2-rsa.pem", NULL, NULL, OSSL_PKEY_PARAM_RSA_E},
    {"rfc7515-a2-rsa.pem", NULL, NULL, OSSL_PKEY_PARAM_RSA_D},
    {"rfc7515-a2-rsa.pem", NULL, NULL, OSSL_PKEY_PARAM_RSA_FACTOR1},
    {"rfc7515-a2-rsa.pem", NULL, NULL, OSSL_PKEY_PARAM_RSA_EXPONENT2},
    {"rfc7515-a2-rsa.pem", NULL, NULL, OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
    /* the public half of one key, the private half of another */
    {"rfc7515-a2-rsa.pem", "rsa1024.pem", rsa_private_part, NULL},
    {"ec-p256-traditional.pem", NULL, NULL, NULL},
    {"ec-p256-traditional.pem", "../x509/leaf.key", ec_private_part, NULL},
    {"ec-p256-traditional.pem", NULL, NULL, OSSL_PKEY_PARAM_PRIV_KEY},
};

START_TEST(pkey_from_pem_refuses_tampered_keys)
{
    const char *pem = pkey_tampered_pem(pkey_tampered[_i].file, pkey_tampered[_i].other,
                                        pkey_tampered[_i].from_other, pkey_tampered[_i].bump);
    int control = !pkey_tampered[_i].other && !pkey_tampered[_i].bump;
    const char *err = NULL;
    acme_pkey_t *key = NULL;
    apr_status_t rv = acme_pkey_from_pem(&key, test_pool, pem, strlen(pem), &err);

    if (control) {
        ck_assert_int_eq(rv, APR_SUCCESS);
        return;
    }
    ck_assert_msg(rv == APR_EINVAL, "case %d accepted", _i);
    ck_assert_ptr_null(key);
    ck_assert_msg(err && strstr(err, "key check"), "case %d: %s", _i, err);
}
END_TEST

START_TEST(pkey_public_only_key_has_no_pem)
{
    acme_pkey_t *pub = jose_jwk_key("rfc7638-rsa.json");
    const char *pem = NULL, *err = NULL;

    ck_assert(!acme_pkey_has_private(pub));
    ck_assert_int_eq(acme_pkey_to_pem(&pem, NULL, test_pool, pub, &err), APR_EINVAL);
    ck_assert_ptr_null(pem);
}
END_TEST

/* The PEM copy of a private key is wiped when its pool is cleared. The buffer
 * sits in the first block of `sub`, which APR keeps across a clear, so it is
 * still ours to read afterwards. */
START_TEST(pkey_pem_is_wiped_with_its_pool)
{
    acme_pkey_spec_t spec = jose_spec("P-256");
    acme_pkey_t *key = NULL;
    apr_pool_t *sub = NULL;
    const char *pem = NULL;
    apr_size_t len = 0, i, nonzero = 0;

    ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &spec, NULL), APR_SUCCESS);
    apr_pool_create(&sub, test_pool);
    ck_assert_int_eq(acme_pkey_to_pem(&pem, &len, sub, key, NULL), APR_SUCCESS);
    ck_assert_uint_gt(len, 100);
    apr_pool_clear(sub);
    for (i = 0; i < len; ++i) {
        nonzero += pem[i] != 0;
    }
    ck_assert_uint_eq(nonzero, 0);
    apr_pool_destroy(sub);
}
END_TEST

START_TEST(pkey_wrap_rejects_unsupported_types)
{
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    acme_pkey_t *key = NULL;
    const char *err = NULL;

    ck_assert_ptr_nonnull(ed);
    /* takes ownership even on error: ASan would report a leak otherwise */
    ck_assert_int_eq(acme_pkey_wrap(&key, test_pool, ed, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not supported"));
    ck_assert_ptr_null(key);
}
END_TEST

/* A fresh P-256 key's PEM, for the cache tests. */
static const char *cache_test_pem(apr_size_t *plen)
{
    acme_pkey_spec_t spec = jose_spec("P-256");
    acme_pkey_t *key;
    const char *pem, *err = NULL;

    ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &spec, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_pkey_to_pem(&pem, plen, test_pool, key, &err), APR_SUCCESS);
    return pem;
}

static const char *cache_key_pem(const acme_pkey_t *key)
{
    const char *pem, *err = NULL;
    apr_size_t len;

    ck_assert_int_eq(acme_pkey_to_pem(&pem, &len, test_pool, key, &err), APR_SUCCESS);
    return pem;
}

/* A decoder that counts its calls. */
static int cache_decodes;

static apr_status_t counting_decode(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                    const char *pem, apr_size_t len, const char **perr)
{
    ck_assert_ptr_eq(baton, &cache_decodes);
    ++cache_decodes;
    return acme_pkey_from_pem(pkey, p, pem, len, perr);
}

START_TEST(pkey_cache_decodes_the_same_pem_once)
{
    acme_pkey_cache_t *cache = acme_pkey_cache_create(test_pool, 0, counting_decode,
                                                      &cache_decodes);
    acme_pkey_t *a, *b, *c;
    const char *err = NULL;
    apr_size_t len_a, len_b;
    const char *pem_a = cache_test_pem(&len_a), *pem_b = cache_test_pem(&len_b);
    char *copy = apr_pstrmemdup(test_pool, pem_a, len_a);
    apr_pool_t *sub;

    cache_decodes = 0;
    ck_assert_int_eq(acme_pkey_cache_from_pem(&a, cache, test_pool, pem_a, len_a, &err),
                     APR_SUCCESS);
    /* the same bytes elsewhere in memory: the same OpenSSL key, no decoding */
    ck_assert_int_eq(acme_pkey_cache_from_pem(&b, cache, test_pool, copy, len_a, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(cache_decodes, 1);
    ck_assert_ptr_eq(acme_pkey_get_evp(a), acme_pkey_get_evp(b));
    ck_assert_str_eq(cache_key_pem(b), pem_a);
    /* another key is another entry, and the first stays cached */
    ck_assert_int_eq(acme_pkey_cache_from_pem(&c, cache, test_pool, pem_b, len_b, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(cache_decodes, 2);
    ck_assert_str_eq(cache_key_pem(c), pem_b);
    /* a key handed out is the caller's: it outlives its pool's siblings */
    ck_assert_int_eq(apr_pool_create(&sub, test_pool), APR_SUCCESS);
    ck_assert_int_eq(acme_pkey_cache_from_pem(&b, cache, sub, pem_a, len_a, &err),
                     APR_SUCCESS);
    apr_pool_destroy(sub);
    ck_assert_int_eq(cache_decodes, 2);
    ck_assert_str_eq(cache_key_pem(a), pem_a);
}
END_TEST

START_TEST(pkey_cache_replaces_the_oldest_and_keeps_errors_out)
{
    acme_pkey_cache_t *cache = acme_pkey_cache_create(test_pool, 0, counting_decode,
                                                      &cache_decodes);
    const char *pems[ACME_PKEY_CACHE_MAX + 1], *err = NULL;
    apr_size_t lens[ACME_PKEY_CACHE_MAX + 1];
    acme_pkey_t *keys[ACME_PKEY_CACHE_MAX + 1], *again;
    int i;

    cache_decodes = 0;
    for (i = 0; i <= ACME_PKEY_CACHE_MAX; ++i) {
        pems[i] = cache_test_pem(&lens[i]);
        ck_assert_int_eq(acme_pkey_cache_from_pem(&keys[i], cache, test_pool, pems[i],
                                                  lens[i], &err), APR_SUCCESS);
    }
    ck_assert_int_eq(cache_decodes, ACME_PKEY_CACHE_MAX + 1);
    /* the second is still cached */
    ck_assert_int_eq(acme_pkey_cache_from_pem(&again, cache, test_pool, pems[1], lens[1],
                                              &err), APR_SUCCESS);
    ck_assert_int_eq(cache_decodes, ACME_PKEY_CACHE_MAX + 1);
    ck_assert_ptr_eq(acme_pkey_get_evp(again), acme_pkey_get_evp(keys[1]));
    /* the first was replaced by the last: decoded anew, still the right key,
     * and the key handed out before stays valid */
    ck_assert_int_eq(acme_pkey_cache_from_pem(&again, cache, test_pool, pems[0], lens[0],
                                              &err), APR_SUCCESS);
    ck_assert_int_eq(cache_decodes, ACME_PKEY_CACHE_MAX + 2);
    ck_assert_str_eq(cache_key_pem(again), pems[0]);
    ck_assert_str_eq(cache_key_pem(keys[0]), pems[0]);
    /* a damaged PEM: the decoder's error, readable after the call */
    err = NULL;
    ck_assert_int_eq(acme_pkey_cache_from_pem(&again, cache, test_pool, pems[2], 40, &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "private key"));
    /* no cache: a plain decode */
    ck_assert_int_eq(acme_pkey_cache_from_pem(&again, NULL, test_pool, pems[2], lens[2],
                                              &err), APR_SUCCESS);
    ck_assert_ptr_ne(acme_pkey_get_evp(again), acme_pkey_get_evp(keys[2]));
    ck_assert_str_eq(cache_key_pem(again), pems[2]);
}
END_TEST

TCase *jose_spec_tcase(void)
{
    TCase *tc = tcase_create("spec");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_loop_test(tc, spec_parse_accepts_mod_md_words, 0,
                        sizeof(spec_good) / sizeof(spec_good[0]));
    tcase_add_loop_test(tc, spec_parse_rejects_other_words_with_a_reason, 0,
                        sizeof(spec_bad) / sizeof(spec_bad[0]));
    tcase_add_test(tc, spec_parse_null_and_unknown_reasons);
    tcase_add_test(tc, spec_two_word_rsa_form);
    return tc;
}

TCase *jose_pkey_tcase(void)
{
    TCase *tc = tcase_create("pkey");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_set_timeout(tc, 120); /* RSA 4096 generation under sanitizers */
    tcase_add_loop_test(tc, pkey_generate_pem_roundtrip_detects_spec, 0,
                        test_under_valgrind() ? GEN_SPECS_VALGRIND
                                              : (int)(sizeof(gen_specs) / sizeof(gen_specs[0])));
    tcase_add_test(tc, pkey_generate_rejects_invalid_specs);
    tcase_add_test(tc, pkey_two_generated_keys_differ);
    tcase_add_test(tc, pkey_pem_matches_rfc_jwk_key);
    tcase_add_test(tc, pkey_pem_skips_ec_parameters_block);
    tcase_add_loop_test(tc, pkey_from_pem_rejects_unusable_input, 0,
                        sizeof(pem_bad) / sizeof(pem_bad[0]));
    tcase_add_test(tc, pkey_from_pem_rejects_empty_and_truncated);
    tcase_add_loop_test(tc, pkey_from_pem_refuses_tampered_keys, 0,
                        sizeof(pkey_tampered) / sizeof(pkey_tampered[0]));
    tcase_add_test(tc, pkey_public_only_key_has_no_pem);
    tcase_add_test(tc, pkey_cache_decodes_the_same_pem_once);
    tcase_add_test(tc, pkey_cache_replaces_the_oldest_and_keeps_errors_out);
    tcase_add_test(tc, pkey_pem_is_wiped_with_its_pool);
    tcase_add_test(tc, pkey_wrap_rejects_unsupported_types);
    return tc;
}
