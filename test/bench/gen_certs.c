/* gen_certs: many P-256 certificates, fast, for the scale benchmarks and the
 * scale test (not part of the module).
 *
 *   gen_certs OUTDIR COUNT SUFFIX [DAYS]
 *
 * Makes a throwaway root and intermediate CA (OUTDIR/root.pem, inter.pem)
 * and, for i in 0..COUNT-1, the domain "d<i>.<SUFFIX>" with its own P-256 key
 * and a leaf certificate (SAN = that name, valid from an hour ago for DAYS
 * days, default 90) signed by the intermediate:
 *   OUTDIR/sets/<name>/privkey.pem   PKCS#8, mode 0600
 *   OUTDIR/sets/<name>/pubcert.pem   leaf + intermediate
 * OUTDIR/manifest.tsv lists "<name>\t<serial hex>\t<sha256 of leaf DER>" so
 * that a check can tell which certificate was served. The callers link these
 * files into the layout of each server variant (mod_acme, mod_md, mod_ssl).
 * Uses the OpenSSL 3 EVP APIs only; about 0.7 ms per domain. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define GEN_MAX_COUNT 1000000L

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} gen_ca_t;

static int gen_fail(const char *what)
{
    fprintf(stderr, "gen_certs: %s failed\n", what);
    return -1;
}

static int gen_ext_add(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext) {
        return gen_fail("extension");
    }
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : gen_fail("X509_add_ext");
}

/* A certificate for subject cn with key pub, signed by signer (self when
 * signer is NULL). */
static X509 *gen_cert_make(const char *cn, EVP_PKEY *pub, const gen_ca_t *signer, int is_ca,
                           long days)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    char san[300];
    int ok = 0;

    if (!cert || !name || RAND_bytes(serial, sizeof(serial)) != 1) {
        goto cleanup;
    }
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x10);  /* positive, 16 bytes */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert))
        || !X509_set_version(cert, 2)
        || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                       -1, -1, 0)
        || !X509_set_subject_name(cert, name)
        || !X509_set_issuer_name(cert, signer ? X509_get_subject_name(signer->cert) : name)
        || !X509_gmtime_adj(X509_getm_notBefore(cert), -3600)
        || !X509_gmtime_adj(X509_getm_notAfter(cert), days * 86400L)
        || !X509_set_pubkey(cert, pub)) {
        goto cleanup;
    }
    if (is_ca) {
        if (gen_ext_add(cert, signer ? signer->cert : cert, NID_basic_constraints,
                        "critical,CA:TRUE") != 0
            || gen_ext_add(cert, signer ? signer->cert : cert, NID_key_usage,
                           "critical,keyCertSign,cRLSign") != 0) {
            goto cleanup;
        }
    }
    else {
        snprintf(san, sizeof(san), "DNS:%s", cn);
        if (gen_ext_add(cert, signer->cert, NID_basic_constraints, "critical,CA:FALSE") != 0
            || gen_ext_add(cert, signer->cert, NID_key_usage, "critical,digitalSignature") != 0
            || gen_ext_add(cert, signer->cert, NID_ext_key_usage, "serverAuth") != 0
            || gen_ext_add(cert, signer->cert, NID_subject_alt_name, san) != 0) {
            goto cleanup;
        }
    }
    ok = X509_sign(cert, signer ? signer->key : pub, EVP_sha256()) > 0;
cleanup:
    BN_free(bn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(cert);
        gen_fail("certificate");
        return NULL;
    }
    return cert;
}

static int gen_write_pem(const char *path, EVP_PKEY *key, X509 *cert, X509 *extra)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f) {
        fprintf(stderr, "gen_certs: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (key) {
        fchmod(fileno(f), 0600);
    }
    ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
             : PEM_write_X509(f, cert) && (!extra || PEM_write_X509(f, extra));
    if (fclose(f) != 0 || !ok) {
        return gen_fail(path);
    }
    return 0;
}

static int gen_ca_make(gen_ca_t *ca, const char *cn, const gen_ca_t *signer)
{
    ca->key = EVP_EC_gen("P-256");
    ca->cert = ca->key ? gen_cert_make(cn, ca->key, signer, 1, 3650) : NULL;
    return ca->cert ? 0 : gen_fail(cn);
}

/* One domain: key, leaf, files, manifest line. */
static int gen_domain(FILE *manifest, const char *outdir, const char *name,
                      const gen_ca_t *inter, long days)
{
    char dir[4096], path[4200], *serial_hex = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0, i;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *leaf = key ? gen_cert_make(name, key, inter, 0, days) : NULL;
    BIGNUM *bn = NULL;
    int rc = -1;

    if (!leaf) {
        goto cleanup;
    }
    snprintf(dir, sizeof(dir), "%s/sets/%s", outdir, name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_certs: mkdir %s: %s\n", dir, strerror(errno));
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/privkey.pem", dir);
    if (gen_write_pem(path, key, NULL, NULL) != 0) {
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/pubcert.pem", dir);
    if (gen_write_pem(path, NULL, leaf, inter->cert) != 0
        || !X509_digest(leaf, EVP_sha256(), md, &md_len)
        || !(bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL))
        || !(serial_hex = BN_bn2hex(bn))) {
        goto cleanup;
    }
    fprintf(manifest, "%s\t%s\t", name, serial_hex);
    for (i = 0; i < md_len; ++i) {
        fprintf(manifest, "%02x", md[i]);
    }
    fputc('\n', manifest);
    rc = 0;
cleanup:
    OPENSSL_free(serial_hex);
    BN_free(bn);
    X509_free(leaf);
    EVP_PKEY_free(key);
    return rc;
}

int main(int argc, char **argv)
{
    gen_ca_t root = {NULL, NULL}, inter = {NULL, NULL};
    char path[4200], name[300];
    FILE *manifest = NULL;
    long count, days, i;
    int rc = 1;

    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: gen_certs OUTDIR COUNT SUFFIX [DAYS]\n");
        return 2;
    }
    count = strtol(argv[2], NULL, 10);
    days = argc == 5 ? strtol(argv[4], NULL, 10) : 90;
    if (count < 1 || count > GEN_MAX_COUNT || days < 1 || strlen(argv[3]) > 200) {
        fprintf(stderr, "gen_certs: COUNT 1..%ld, DAYS >= 1, SUFFIX <= 200 chars\n",
                GEN_MAX_COUNT);
        return 2;
    }
    snprintf(path, sizeof(path), "%s/sets", argv[1]);
    if ((mkdir(argv[1], 0755) != 0 && errno != EEXIST)
        || (mkdir(path, 0755) != 0 && errno != EEXIST)) {
        fprintf(stderr, "gen_certs: mkdir %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (gen_ca_make(&root, "gen_certs throwaway root", NULL) != 0
        || gen_ca_make(&inter, "gen_certs throwaway intermediate", &root) != 0) {
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/root.pem", argv[1]);
    if (gen_write_pem(path, NULL, root.cert, NULL) != 0) {
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/inter.pem", argv[1]);
    if (gen_write_pem(path, NULL, inter.cert, NULL) != 0) {
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/manifest.tsv", argv[1]);
    if (!(manifest = fopen(path, "w"))) {
        fprintf(stderr, "gen_certs: %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    for (i = 0; i < count; ++i) {
        snprintf(name, sizeof(name), "d%ld.%s", i, argv[3]);
        if (gen_domain(manifest, argv[1], name, &inter, days) != 0) {
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    if (manifest && fclose(manifest) != 0) {
        rc = 1;
    }
    X509_free(root.cert);
    X509_free(inter.cert);
    EVP_PKEY_free(root.key);
    EVP_PKEY_free(inter.key);
    return rc;
}
