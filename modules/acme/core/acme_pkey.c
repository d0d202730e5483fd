/* Private keys: specs, generation, PEM, see acme_pkey.h. */
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "acme_log.h"
#include "acme_ossl.h"
#include "acme_pkey.h"

struct acme_pkey_t {
    EVP_PKEY *evp;
    acme_pkey_spec_t spec;
    int has_private;
    acme_pkey_signer_fn *signer;  /* signs for a public-only key (the key holder) */
    void *signer_baton;
};

/* A PEM copy of a private key, wiped when its pool goes. */
typedef struct {
    char *buf;
    apr_size_t len;
} pkey_secret_t;

/* Accepted curve words; the first of each curve is also what OpenSSL's
 * group names look like when a key is loaded ("prime256v1", "secp384r1"). */
static const struct {
    const char *word;
    acme_pkey_curve_e curve;
} curve_words[] = {
    {"prime256v1", ACME_PKEY_P256},
    {"secp256r1", ACME_PKEY_P256},
    {"P-256", ACME_PKEY_P256},
    {"secp384r1", ACME_PKEY_P384},
    {"P-384", ACME_PKEY_P384},
};

static void set_err(const char **perr, apr_pool_t *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(const char **perr, apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;

    if (perr) {
        va_start(ap, fmt);
        *perr = apr_pvsprintf(p, fmt, ap);
        va_end(ap);
    }
}

static acme_pkey_curve_e curve_from_word(const char *word)
{
    apr_size_t i;

    for (i = 0; i < sizeof(curve_words) / sizeof(curve_words[0]); ++i) {
        if (strcasecmp(word, curve_words[i].word) == 0) {
            return curve_words[i].curve;
        }
    }
    return ACME_PKEY_CURVE_NONE;
}

/* Decimal digits only (no sign, no blanks), within the RSA size range. */
static apr_status_t rsa_bits_parse(unsigned int *pbits, apr_pool_t *p, const char *s,
                                   const char **perr)
{
    unsigned long v = 0;
    apr_size_t i, n = strlen(s);

    for (i = 0; i < n && n <= 5; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            break;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (n == 0 || n > 5 || i != n) {
        set_err(perr, p, "RSA key size '%.20s' is not a number", s);
        return APR_EINVAL;
    }
    if (v < ACME_PKEY_RSA_MIN_BITS || v > ACME_PKEY_RSA_MAX_BITS) {
        set_err(perr, p, "RSA key size %lu is out of range (%d..%d bits)", v,
                ACME_PKEY_RSA_MIN_BITS, ACME_PKEY_RSA_MAX_BITS);
        return APR_EINVAL;
    }
    *pbits = (unsigned int)v;
    return APR_SUCCESS;
}

apr_status_t acme_pkey_spec_parse(acme_pkey_spec_t *spec, apr_pool_t *p, const char *word,
                                  const char **perr)
{
    acme_pkey_spec_t s = {0};
    apr_status_t rv;

    if (word == NULL || *word == '\0') {
        set_err(perr, p, "empty private key type");
        return APR_EINVAL;
    }
    if (strcasecmp(word, "RSA") == 0) {
        s.type = ACME_PKEY_RSA;
        s.bits = ACME_PKEY_RSA_DEFAULT_BITS;
    }
    else if (strncasecmp(word, "rsa", 3) == 0) {
        s.type = ACME_PKEY_RSA;
        if ((rv = rsa_bits_parse(&s.bits, p, word + 3, perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    else if ((s.curve = curve_from_word(word)) != ACME_PKEY_CURVE_NONE) {
        s.type = ACME_PKEY_EC;
    }
    else {
        set_err(perr, p, "unsupported private key type '%.40s' (use RSA, rsa2048, rsa3072, "
                "rsa4096, P-256 (secp256r1) or P-384 (secp384r1))", word);
        return APR_EINVAL;
    }
    *spec = s;
    return APR_SUCCESS;
}

apr_status_t acme_pkey_spec_set_rsa_bits(acme_pkey_spec_t *spec, apr_pool_t *p,
                                         const char *bits, const char **perr)
{
    unsigned int v;
    apr_status_t rv;

    if (spec->type != ACME_PKEY_RSA) {
        set_err(perr, p, "a key size applies to RSA keys only");
        return APR_EINVAL;
    }
    if ((rv = rsa_bits_parse(&v, p, bits ? bits : "", perr)) != APR_SUCCESS) {
        return rv;
    }
    spec->bits = v;
    return APR_SUCCESS;
}

const char *acme_pkey_spec_name(apr_pool_t *p, const acme_pkey_spec_t *spec)
{
    if (spec->type == ACME_PKEY_RSA) {
        return apr_psprintf(p, "rsa%u", spec->bits);
    }
    if (spec->type == ACME_PKEY_EC && spec->curve == ACME_PKEY_P256) {
        return "P-256";
    }
    if (spec->type == ACME_PKEY_EC && spec->curve == ACME_PKEY_P384) {
        return "P-384";
    }
    return "invalid";
}

int acme_pkey_spec_eq(const acme_pkey_spec_t *a, const acme_pkey_spec_t *b)
{
    if (a->type != b->type) {
        return 0;
    }
    return a->type == ACME_PKEY_RSA ? a->bits == b->bits : a->curve == b->curve;
}

static apr_status_t pkey_cleanup(void *data)
{
    acme_pkey_t *key = data;

    EVP_PKEY_free(key->evp);
    key->evp = NULL;
    return APR_SUCCESS;
}

static apr_status_t secret_cleanup(void *data)
{
    pkey_secret_t *secret = data;

    OPENSSL_cleanse(secret->buf, secret->len);
    return APR_SUCCESS;
}

/* Whether the private half is present, without leaving errors behind. */
static int evp_has_private(EVP_PKEY *evp)
{
    const char *name = EVP_PKEY_is_a(evp, "RSA") ? OSSL_PKEY_PARAM_RSA_D
                                                 : OSSL_PKEY_PARAM_PRIV_KEY;
    BIGNUM *bn = NULL;
    int ok;

    ERR_set_mark();
    ok = EVP_PKEY_get_bn_param(evp, name, &bn);
    ERR_pop_to_mark();
    BN_clear_free(bn);
    return ok == 1;
}

/* The spec of an OpenSSL key, or APR_EINVAL when we do not support it. */
static apr_status_t evp_detect_spec(acme_pkey_spec_t *spec, apr_pool_t *p, EVP_PKEY *evp,
                                    const char **perr)
{
    acme_pkey_spec_t s = {0};
    char group[64];
    size_t glen = 0;
    int bits;

    if (EVP_PKEY_is_a(evp, "RSA")) {
        bits = EVP_PKEY_get_bits(evp);
        if (bits < ACME_PKEY_RSA_MIN_BITS || bits > ACME_PKEY_RSA_MAX_BITS) {
            set_err(perr, p, "RSA key of %d bits is not supported (%d..%d bits)", bits,
                    ACME_PKEY_RSA_MIN_BITS, ACME_PKEY_RSA_MAX_BITS);
            return APR_EINVAL;
        }
        s.type = ACME_PKEY_RSA;
        s.bits = (unsigned int)bits;
    }
    else if (EVP_PKEY_is_a(evp, "EC")) {
        ERR_set_mark();
        if (!EVP_PKEY_get_utf8_string_param(evp, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                            sizeof(group), &glen)) {
            ERR_pop_to_mark();
            set_err(perr, p, "EC key without a named curve is not supported");
            return APR_EINVAL;
        }
        ERR_pop_to_mark();
        s.type = ACME_PKEY_EC;
        if ((s.curve = curve_from_word(group)) == ACME_PKEY_CURVE_NONE) {
            set_err(perr, p, "EC curve %s is not supported (use P-256 or P-384)", group);
            return APR_EINVAL;
        }
    }
    else {
        set_err(perr, p, "key type %s is not supported (use RSA or EC)",
                EVP_PKEY_get0_type_name(evp) ? EVP_PKEY_get0_type_name(evp) : "unknown");
        return APR_EINVAL;
    }
    *spec = s;
    return APR_SUCCESS;
}

apr_status_t acme_pkey_wrap(acme_pkey_t **pkey, apr_pool_t *p, EVP_PKEY *evp,
                            const char **perr)
{
    acme_pkey_spec_t spec;
    acme_pkey_t *key;
    apr_status_t rv;

    if ((rv = evp_detect_spec(&spec, p, evp, perr)) != APR_SUCCESS) {
        EVP_PKEY_free(evp);
        return rv;
    }
    key = apr_pcalloc(p, sizeof(*key));
    key->evp = evp;
    key->spec = spec;
    key->has_private = evp_has_private(evp);
    apr_pool_cleanup_register(p, key, pkey_cleanup, apr_pool_cleanup_null);
    *pkey = key;
    return APR_SUCCESS;
}

apr_status_t acme_pkey_generate(acme_pkey_t **pkey, apr_pool_t *p, const acme_pkey_spec_t *spec,
                                const char **perr)
{
    EVP_PKEY *evp = NULL;

    if (spec->type == ACME_PKEY_RSA) {
        if (spec->bits < ACME_PKEY_RSA_MIN_BITS || spec->bits > ACME_PKEY_RSA_MAX_BITS) {
            set_err(perr, p, "RSA key size %u is out of range (%d..%d bits)", spec->bits,
                    ACME_PKEY_RSA_MIN_BITS, ACME_PKEY_RSA_MAX_BITS);
            return APR_EINVAL;
        }
        evp = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)spec->bits);
    }
    else if (spec->type == ACME_PKEY_EC && spec->curve != ACME_PKEY_CURVE_NONE) {
        evp = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
                                spec->curve == ACME_PKEY_P256 ? "P-256" : "P-384");
    }
    else {
        set_err(perr, p, "invalid private key spec");
        return APR_EINVAL;
    }
    if (evp == NULL) {
        set_err(perr, p, "%s", acme_ossl_err(p, "generating a private key"));
        return APR_EGENERAL;
    }
    acme_log(ACME_LOG_DEBUG, 0, "ACME0201 generated a %s key", acme_pkey_spec_name(p, spec));
    return acme_pkey_wrap(pkey, p, evp, perr);
}

/* The CRT relations of an RSA key: n = p*q, d*e = 1 mod (p-1) and (q-1),
 * dP = d mod (p-1), dQ = d mod (q-1), qInv*q = 1 mod p. 1 when they hold or
 * the key has no two-prime CRT form (then only the round trip below). */
static int rsa_crt_consistent(EVP_PKEY *evp)
{
    static const char *const names[] = {
        OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
        OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
        OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
        OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    enum { N, E, D, P, Q, DP, DQ, QINV, NPARAMS };
    BIGNUM *v[NPARAMS] = {0}, *t = NULL, *pm1 = NULL, *qm1 = NULL, *r3 = NULL;
    BN_CTX *ctx = NULL;
    int i, ok = 0;

    ERR_set_mark();
    for (i = 0; i < NPARAMS; ++i) {
        if (EVP_PKEY_get_bn_param(evp, names[i], &v[i]) != 1) {
            ok = i >= P; /* no CRT form: nothing to compare */
            goto cleanup;
        }
    }
    if (EVP_PKEY_get_bn_param(evp, OSSL_PKEY_PARAM_RSA_FACTOR3, &r3) == 1) {
        ok = 1; /* multi-prime: left to the round trip */
        goto cleanup;
    }
    if ((ctx = BN_CTX_new()) == NULL || (t = BN_new()) == NULL
        || (pm1 = BN_dup(v[P])) == NULL || (qm1 = BN_dup(v[Q])) == NULL
        || !BN_sub_word(pm1, 1) || !BN_sub_word(qm1, 1)
        || BN_is_zero(pm1) || BN_is_zero(qm1)) {
        goto cleanup;
    }
    ok = BN_mul(t, v[P], v[Q], ctx) && BN_cmp(t, v[N]) == 0
         && BN_mod_mul(t, v[D], v[E], pm1, ctx) && BN_is_one(t)
         && BN_mod_mul(t, v[D], v[E], qm1, ctx) && BN_is_one(t)
         && BN_nnmod(t, v[D], pm1, ctx) && BN_cmp(t, v[DP]) == 0
         && BN_nnmod(t, v[D], qm1, ctx) && BN_cmp(t, v[DQ]) == 0
         && BN_mod_mul(t, v[QINV], v[Q], v[P], ctx) && BN_is_one(t);
cleanup:
    ERR_pop_to_mark();
    for (i = 0; i < NPARAMS; ++i) {
        BN_clear_free(v[i]);
    }
    BN_clear_free(t);
    BN_clear_free(pm1);
    BN_clear_free(qm1);
    BN_clear_free(r3);
    BN_CTX_free(ctx);
    return ok;
}

/* A signature made with the private half verifies with the public half. */
static int pkey_sign_roundtrip(EVP_PKEY *evp)
{
    static const unsigned char msg[] = "mod_acme key check";
    unsigned char sig[1024]; /* RSA 8192: 1024 bytes; ECDSA far less */
    size_t slen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;

    ok = md && EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, evp, NULL) == 1
         && EVP_DigestSign(md, sig, &slen, msg, sizeof(msg)) == 1
         && EVP_MD_CTX_reset(md) == 1
         && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, evp, NULL) == 1
         && EVP_DigestVerify(md, sig, slen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* Whether the private and public halves belong together. OpenSSL 3.0's
 * EVP_PKEY_pairwise_check() also tests RSA's p and q for primality (~40 ms
 * per RSA-2048 key, paid for every set at every activation); damage and
 * mix-ups show as well in the CRT relations plus a sign-and-verify round
 * trip (< 1 ms). EC keys keep OpenSSL's check (pub = priv * G, cheap). */
static int pkey_is_consistent(EVP_PKEY *evp)
{
    EVP_PKEY_CTX *ctx;
    int ok;

    if (EVP_PKEY_is_a(evp, "RSA")) {
        return rsa_crt_consistent(evp) && pkey_sign_roundtrip(evp);
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, evp, NULL);
    ok = ctx && EVP_PKEY_pairwise_check(ctx) > 0;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* The passphrase of an encrypted PEM: the one given (raw bytes, as mod_md's
 * store key), or none (refusing to prompt); notes that one was asked for. */
typedef struct {
    const unsigned char *pass;
    apr_size_t len;
    int asked;
} pem_pass_t;

static int pem_pass_cb(char *buf, int size, int rwflag, void *u)
{
    pem_pass_t *pp = u;

    (void)rwflag;
    pp->asked = 1;
    if (pp->pass == NULL || pp->len > (apr_size_t)size) {
        return -1;
    }
    memcpy(buf, pp->pass, pp->len);
    return (int)pp->len;
}

apr_status_t acme_pkey_from_pem(acme_pkey_t **pkey, apr_pool_t *p, const char *pem,
                                apr_size_t len, const char **perr)
{
    return acme_pkey_from_pem_pass(pkey, p, pem, len, NULL, 0, perr);
}

apr_status_t acme_pkey_from_pem_pass(acme_pkey_t **pkey, apr_pool_t *p, const char *pem,
                                     apr_size_t len, const unsigned char *pass,
                                     apr_size_t pass_len, const char **perr)
{
    pem_pass_t pp = { pass, pass_len, 0 };
    EVP_PKEY *evp = NULL;
    acme_pkey_t *key;
    BIO *bio = NULL;
    apr_status_t rv;

    if (pem == NULL || len == 0 || len > INT_MAX) {
        set_err(perr, p, "no private key found: empty or oversized PEM input");
        return APR_EINVAL;
    }
    if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
        set_err(perr, p, "%s", acme_ossl_err(p, "reading PEM"));
        return APR_ENOMEM;
    }
    evp = PEM_read_bio_PrivateKey(bio, NULL, pem_pass_cb, &pp);
    BIO_free(bio);
    if (evp == NULL) {
        acme_ossl_err(p, "reading a private key from PEM"); /* details at debug */
        set_err(perr, p, "%s", !pp.asked ? "no private key found in PEM (missing or damaged)"
                               : pass ? "the private key is encrypted with another passphrase "
                                        "(not the store key) or damaged"
                                      : "the private key is encrypted (no passphrase here)");
        return APR_EINVAL;
    }
    if ((rv = acme_pkey_wrap(&key, p, evp, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!key->has_private) {
        set_err(perr, p, "no private key found in PEM (only a public key)");
        return APR_EINVAL;
    }
    /* A damaged key file can still parse, e.g. an RSA key with n != p*q:
     * every signature and CSR made with it would be rejected far from the
     * cause. */
    if (!pkey_is_consistent(key->evp)) {
        set_err(perr, p, "%s", acme_ossl_err(p, "the private key fails the key check"));
        return APR_EINVAL;
    }
    *pkey = key;
    return APR_SUCCESS;
}

apr_status_t acme_pkey_to_pem(const char **ppem, apr_size_t *plen, apr_pool_t *p,
                              const acme_pkey_t *key, const char **perr)
{
    return acme_pkey_to_pem_pass(ppem, plen, p, key, NULL, 0, perr);
}

apr_status_t acme_pkey_to_pem_pass(const char **ppem, apr_size_t *plen, apr_pool_t *p,
                                   const acme_pkey_t *key, const unsigned char *pass,
                                   apr_size_t pass_len, const char **perr)
{
    pkey_secret_t *secret;
    apr_status_t rv = APR_SUCCESS;
    char *data = NULL;
    long n;
    int ok;
    /* secure memory: OpenSSL wipes the BIO's buffer (and its regrowths) on free */
    BIO *bio = BIO_new(BIO_s_secmem());

    if (!key->has_private) {
        set_err(perr, p, "a public key has no private PEM");
        rv = APR_EINVAL;
        goto cleanup;
    }
    if (pass != NULL && pass_len > INT_MAX) {
        set_err(perr, p, "the passphrase is too long");
        rv = APR_EINVAL;
        goto cleanup;
    }
    /* encrypted: PKCS#8 with PBES2 (PBKDF2, AES-256-CBC), as mod_md writes */
    ok = bio != NULL
         && (pass ? PEM_write_bio_PKCS8PrivateKey(bio, key->evp, EVP_aes_256_cbc(),
                                                  (const char *)pass, (int)pass_len,
                                                  NULL, NULL)
                  : PEM_write_bio_PrivateKey(bio, key->evp, NULL, NULL, 0, NULL, NULL));
    if (!ok || (n = BIO_get_mem_data(bio, &data)) <= 0) {
        set_err(perr, p, "%s", acme_ossl_err(p, "writing the private key as PEM"));
        rv = APR_EGENERAL;
        goto cleanup;
    }
    secret = apr_palloc(p, sizeof(*secret));
    secret->len = (apr_size_t)n + 1;
    secret->buf = apr_palloc(p, secret->len);
    memcpy(secret->buf, data, (apr_size_t)n);
    secret->buf[n] = '\0';
    apr_pool_cleanup_register(p, secret, secret_cleanup, apr_pool_cleanup_null);
    *ppem = secret->buf;
    if (plen) {
        *plen = (apr_size_t)n;
    }
cleanup:
    BIO_free(bio);
    return rv;
}

const acme_pkey_spec_t *acme_pkey_get_spec(const acme_pkey_t *key)
{
    return &key->spec;
}

EVP_PKEY *acme_pkey_get_evp(const acme_pkey_t *key)
{
    return key->evp;
}

int acme_pkey_has_private(const acme_pkey_t *key)
{
    return key->has_private;
}

void acme_pkey_set_signer(acme_pkey_t *key, acme_pkey_signer_fn *fn, void *baton)
{
    key->signer = fn;
    key->signer_baton = baton;
}

apr_status_t acme_pkey_sign_remote(const char **psig, apr_pool_t *p, const acme_pkey_t *key,
                                   const char *input, apr_size_t len, const char **perr)
{
    if (key->signer == NULL) {
        return APR_ENOTIMPL;
    }
    return key->signer(psig, p, key->signer_baton, input, len, perr);
}

int acme_pkey_public_eq(const acme_pkey_t *a, const acme_pkey_t *b)
{
    int eq;

    ERR_set_mark();
    eq = EVP_PKEY_eq(a->evp, b->evp);
    ERR_pop_to_mark();
    return eq == 1;
}
