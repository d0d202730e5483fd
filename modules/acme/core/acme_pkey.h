/* Private keys: specs as MDPrivateKeys writes them, generation, PEM.
 *
 * Only RSA (2048..8192 bits) and EC on P-256 / P-384 are supported: what ACME
 * CAs accept for accounts and certificates. OpenSSL 3 EVP only.
 *
 * Errors: fallible functions return an apr_status_t and, when `perr` is not
 * NULL, set *perr to a one-line reason (allocated from the pool passed, never
 * containing key material). APR_EINVAL means the input was wrong (a bad spec
 * word, a PEM without a usable key); APR_EGENERAL means OpenSSL failed. The
 * OpenSSL error queue is logged at debug level and cleared on failure. */
#ifndef ACME_PKEY_H
#define ACME_PKEY_H

#include <apr_pools.h>
#include <openssl/evp.h>

#define ACME_PKEY_RSA_MIN_BITS 2048
#define ACME_PKEY_RSA_MAX_BITS 8192
#define ACME_PKEY_RSA_DEFAULT_BITS 2048

typedef enum {
    ACME_PKEY_RSA = 1,
    ACME_PKEY_EC = 2
} acme_pkey_type_e;

typedef enum {
    ACME_PKEY_CURVE_NONE = 0,
    ACME_PKEY_P256 = 1,
    ACME_PKEY_P384 = 2
} acme_pkey_curve_e;

/* What kind of key to make (or what a loaded key is). */
typedef struct acme_pkey_spec_t {
    acme_pkey_type_e type;
    unsigned int bits;        /* RSA modulus size; 0 for EC */
    acme_pkey_curve_e curve;  /* EC curve; ACME_PKEY_CURVE_NONE for RSA */
} acme_pkey_spec_t;

/* Parses one MDPrivateKeys word, case-insensitive: "RSA" (2048 bits),
 * "rsa2048", "rsa3072", "rsa4096" (any rsaN with N in 2048..8192),
 * "secp256r1" / "P-256" / "prime256v1", "secp384r1" / "P-384".
 * For the two-word form "RSA 3072" the caller parses "RSA" here and then hands
 * the number to acme_pkey_spec_set_rsa_bits(). mod_md's "Default" is the
 * caller's business. On error *spec is untouched. */
apr_status_t acme_pkey_spec_parse(acme_pkey_spec_t *spec, apr_pool_t *p, const char *word,
                                  const char **perr);

/* Sets the RSA size from a decimal string ("3072"); `spec` must be RSA.
 * Rejects anything but digits and sizes outside 2048..8192. */
apr_status_t acme_pkey_spec_set_rsa_bits(acme_pkey_spec_t *spec, apr_pool_t *p,
                                         const char *bits, const char **perr);

/* Canonical name: "rsa2048", "rsa4096", "P-256", "P-384". Allocated from `p`.
 * acme_pkey_spec_parse() accepts it back. */
const char *acme_pkey_spec_name(apr_pool_t *p, const acme_pkey_spec_t *spec);

/* True when both describe the same kind of key. */
int acme_pkey_spec_eq(const acme_pkey_spec_t *a, const acme_pkey_spec_t *b);

/* A key (private, or public only when built from a public JWK). The EVP_PKEY
 * inside is freed by a cleanup of the pool the key was returned in. */
typedef struct acme_pkey_t acme_pkey_t;

/* Generates a new key of `spec`. */
apr_status_t acme_pkey_generate(acme_pkey_t **pkey, apr_pool_t *p, const acme_pkey_spec_t *spec,
                                const char **perr);

/* Takes ownership of `evp` (also on error: it is freed then) and detects its
 * spec. APR_EINVAL for unsupported types, curves and RSA sizes. */
apr_status_t acme_pkey_wrap(acme_pkey_t **pkey, apr_pool_t *p, EVP_PKEY *evp,
                            const char **perr);

/* Reads the first private key in `len` bytes of PEM: PKCS#8 ("PRIVATE KEY")
 * or the traditional "RSA/EC PRIVATE KEY"; other PEM blocks before it (EC
 * PARAMETERS, certificates) are skipped. APR_EINVAL when there is no private
 * key, when it is encrypted (nothing prompts for a passphrase), when its
 * type/size is unsupported, or when it fails OpenSSL's key check (halves that
 * do not match, e.g. a damaged file). */
apr_status_t acme_pkey_from_pem(acme_pkey_t **pkey, apr_pool_t *p, const char *pem,
                                apr_size_t len, const char **perr);

/* acme_pkey_from_pem(), and an encrypted PKCS#8 key is decrypted with
 * `pass` (pass_len raw bytes, e.g. mod_md's store key; NULL: none). An
 * unencrypted key is read as it is. */
apr_status_t acme_pkey_from_pem_pass(acme_pkey_t **pkey, apr_pool_t *p, const char *pem,
                                     apr_size_t len, const unsigned char *pass,
                                     apr_size_t pass_len, const char **perr);

/* Writes the private key as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY").
 * *ppem is NUL-terminated, *plen excludes the NUL (plen may be NULL). The
 * buffer is allocated from `p` and wiped when `p` is cleared or destroyed.
 * APR_EINVAL for a public-only key. */
apr_status_t acme_pkey_to_pem(const char **ppem, apr_size_t *plen, apr_pool_t *p,
                              const acme_pkey_t *key, const char **perr);

/* acme_pkey_to_pem(), encrypted with `pass` when it is not NULL: PKCS#8
 * "ENCRYPTED PRIVATE KEY" (PBKDF2, AES-256-CBC), as mod_md keeps account
 * keys with its store key. */
apr_status_t acme_pkey_to_pem_pass(const char **ppem, apr_size_t *plen, apr_pool_t *p,
                                   const acme_pkey_t *key, const unsigned char *pass,
                                   apr_size_t pass_len, const char **perr);

/* The detected spec; lives as long as the key. */
const acme_pkey_spec_t *acme_pkey_get_spec(const acme_pkey_t *key);

/* The OpenSSL key, borrowed: do not free, valid as long as the key. */
EVP_PKEY *acme_pkey_get_evp(const acme_pkey_t *key);

/* True when the key holds its private half (can sign). */
int acme_pkey_has_private(const acme_pkey_t *key);

/* A JWS signature made elsewhere: signs the JWS signing input `input` (`len`
 * bytes) and returns the base64url signature, as acme_jws_sign_input() does.
 * The key holder's client (acme_keys_remote.c) makes them. */
typedef apr_status_t acme_pkey_signer_fn(const char **psig, apr_pool_t *p, void *baton,
                                         const char *input, apr_size_t len,
                                         const char **perr);

/* Makes a public-only key sign JWS through `fn` (baton borrowed; both must
 * live as long as the key): acme_jws_sign_input() calls it for this key.
 * acme_pkey_has_private() stays false: the private half is not here. */
void acme_pkey_set_signer(acme_pkey_t *key, acme_pkey_signer_fn *fn, void *baton);

/* Signs through the key's signer. APR_ENOTIMPL when it has none. */
apr_status_t acme_pkey_sign_remote(const char **psig, apr_pool_t *p, const acme_pkey_t *key,
                                   const char *input, apr_size_t len, const char **perr);

/* True when both keys have the same public key (e.g. a stored key matches the
 * one in a certificate, or a JWK from the CA is our account key). */
int acme_pkey_public_eq(const acme_pkey_t *a, const acme_pkey_t *b);


#endif /* ACME_PKEY_H */
