/* Self-signed certificates: fallback certificate and tls-alpn-01 base. */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "acme_assert.h"
#include "acme_cert.h"
#include "acme_log.h"
#include "acme_ossl.h"
#include "acme_san.h"
#include "acme_selfsigned.h"

#define SERIAL_BYTES 16

static int serial_set(X509 *x)
{
    unsigned char buf[SERIAL_BYTES];
    BIGNUM *bn;
    int ok;

    if (RAND_bytes(buf, sizeof(buf)) != 1) {
        return 0;
    }
    /* Positive (DER INTEGER sign bit clear) and never zero. */
    buf[0] = (unsigned char)((buf[0] & 0x7f) | 0x01);
    bn = BN_bin2bn(buf, sizeof(buf), NULL);
    ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static int name_add(X509_NAME *name, int nid, const char *value)
{
    return value == NULL
        || X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                      (const unsigned char *)value, -1, -1, 0);
}

static int subject_set(X509 *x, const char *org, const char *cn)
{
    X509_NAME *name = X509_NAME_new();
    int ok = name != NULL
        && name_add(name, NID_organizationName, org)
        && name_add(name, NID_commonName, cn)
        && X509_set_subject_name(x, name)
        && X509_set_issuer_name(x, name);

    X509_NAME_free(name);
    return ok;
}

static int times_set(X509 *x, apr_time_t not_before, apr_time_t not_after)
{
    return ASN1_TIME_set(X509_getm_notBefore(x), (time_t)apr_time_sec(not_before)) != NULL
        && ASN1_TIME_set(X509_getm_notAfter(x), (time_t)apr_time_sec(not_after)) != NULL;
}

/* Adds an extension given in OpenSSL's config syntax ("critical,CA:FALSE"). */
static int ext_add_conf(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    ok = ext != NULL && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int extensions_add(X509 *x, const acme_selfsigned_spec_t *spec,
                          const apr_array_header_t *sans, int empty_subject)
{
    X509_EXTENSION *san = NULL;
    int ok;

    if (acme_san_extension_create(&san, sans, empty_subject) != APR_SUCCESS) {
        return 0;
    }
    ok = X509_add_ext(x, san, -1)
        && ext_add_conf(x, NID_basic_constraints, "critical,CA:FALSE")
        && ext_add_conf(x, NID_key_usage, EVP_PKEY_is_a(spec->pkey, "RSA")
                        ? "critical,digitalSignature,keyEncipherment"
                        : "critical,digitalSignature")
        && ext_add_conf(x, NID_ext_key_usage, "serverAuth")
        && (spec->extra == NULL || X509_add_ext(x, spec->extra, -1));
    X509_EXTENSION_free(san);
    return ok;
}

apr_status_t acme_selfsigned_build(X509 **pcert, apr_pool_t *p,
                                   const acme_selfsigned_spec_t *spec)
{
    apr_array_header_t *sans;
    const char *cn;
    X509 *x = NULL;
    apr_status_t rv;

    ACME_ASSERT(spec->pkey != NULL);
    if (spec->not_after < spec->not_before) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0340 certificate would end before it starts");
        return APR_EINVAL;
    }
    rv = acme_san_parse_list(&sans, p, spec->names, spec->allow_wildcard);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    cn = acme_san_common_name(sans);
    x = X509_new();
    if (x == NULL
        || !X509_set_version(x, X509_VERSION_3)
        || !serial_set(x)
        || !subject_set(x, spec->org, cn)
        || !times_set(x, spec->not_before, spec->not_after)
        || !X509_set_pubkey(x, spec->pkey)
        || !extensions_add(x, spec, sans, spec->org == NULL && cn == NULL)
        || X509_sign(x, spec->pkey, acme_cert_sign_digest(spec->pkey)) <= 0) {
        rv = acme_ossl_fail("ACME0341 building self-signed certificate");
        X509_free(x);
        return rv;
    }
    acme_cert_pool_own(p, x);
    *pcert = x;
    return APR_SUCCESS;
}

apr_status_t acme_selfsigned_fallback_create(X509 **pcert, apr_pool_t *p,
                                             EVP_PKEY *pkey,
                                             const apr_array_header_t *names,
                                             apr_interval_time_t validity)
{
    acme_selfsigned_spec_t spec = { 0 };
    apr_time_t now = apr_time_now();

    if (validity <= 0) {
        acme_log(ACME_LOG_ERR, APR_EINVAL,
                 "ACME0342 fallback certificate validity must be positive");
        return APR_EINVAL;
    }
    spec.pkey = pkey;
    spec.names = names;
    spec.allow_wildcard = 1;
    spec.org = ACME_SELFSIGNED_FALLBACK_ORG;
    spec.not_before = now - apr_time_from_sec(3600);
    spec.not_after = now + validity;
    return acme_selfsigned_build(pcert, p, &spec);
}
