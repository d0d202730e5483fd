/* One X.509 certificate: parsing, accessors and checks (see acme_cert.h). */
#include <arpa/inet.h>
#include <limits.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme_cert.h"
#include "acme_log.h"
#include "acme_ossl.h"

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

void acme_cert_pool_own(apr_pool_t *p, X509 *cert)
{
    apr_pool_cleanup_register(p, cert, x509_cleanup, apr_pool_cleanup_null);
}

const EVP_MD *acme_cert_sign_digest(EVP_PKEY *pkey)
{
    char name[80];

    /* Return value 2 means "this digest is mandatory"; "UNDEF" then means the
     * algorithm hashes internally (EdDSA) and takes no digest. */
    if (EVP_PKEY_get_default_digest_name(pkey, name, sizeof(name)) == 2
        && strcmp(name, "UNDEF") == 0) {
        return NULL;
    }
    ERR_clear_error();
    return EVP_sha256();
}

apr_status_t acme_cert_from_der(X509 **pcert, apr_pool_t *p,
                                const unsigned char *der, apr_size_t len)
{
    const unsigned char *ptr = der;
    X509 *cert;

    if (der == NULL || len == 0 || len > LONG_MAX) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0310 no DER certificate data");
        return APR_EINVAL;
    }
    cert = d2i_X509(NULL, &ptr, (long)len);
    if (cert == NULL || ptr != der + len) {
        X509_free(cert);
        ERR_clear_error();
        acme_log(ACME_LOG_ERR, APR_EINVAL,
                 "ACME0311 not one DER certificate (%" APR_SIZE_T_FMT " bytes)", len);
        return APR_EINVAL;
    }
    acme_cert_pool_own(p, cert);
    *pcert = cert;
    return APR_SUCCESS;
}

apr_status_t acme_cert_to_pem(const char **ppem, apr_pool_t *p, const X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    apr_status_t rv = APR_SUCCESS;

    if (bio == NULL || !PEM_write_bio_X509(bio, cert)) {
        rv = acme_ossl_fail("ACME0312 writing certificate PEM");
        goto cleanup;
    }
    len = BIO_get_mem_data(bio, &data);
    *ppem = apr_pstrmemdup(p, data, (apr_size_t)len);
cleanup:
    BIO_free(bio);
    return rv;
}

apr_status_t acme_cert_asn1_time_get(apr_time_t *pt, const ASN1_TIME *at)
{
    struct tm tm;
    apr_time_exp_t exp;

    memset(&exp, 0, sizeof(exp));
    if (at == NULL || !ASN1_TIME_to_tm(at, &tm)) {
        ERR_clear_error();
        return APR_EINVAL;
    }
    exp.tm_sec = tm.tm_sec;
    exp.tm_min = tm.tm_min;
    exp.tm_hour = tm.tm_hour;
    exp.tm_mday = tm.tm_mday;
    exp.tm_mon = tm.tm_mon;
    exp.tm_year = tm.tm_year;
    return apr_time_exp_gmt_get(pt, &exp);
}

static apr_status_t cert_time_get(apr_time_t *pt, const ASN1_TIME *at)
{
    apr_status_t rv = acme_cert_asn1_time_get(pt, at);

    if (rv != APR_SUCCESS) {
        acme_log(ACME_LOG_ERR, rv, "ACME0313 unreadable certificate time");
    }
    return rv;
}

apr_status_t acme_cert_get_not_before(apr_time_t *pt, const X509 *cert)
{
    return cert_time_get(pt, X509_get0_notBefore(cert));
}

apr_status_t acme_cert_get_not_after(apr_time_t *pt, const X509 *cert)
{
    return cert_time_get(pt, X509_get0_notAfter(cert));
}

int acme_cert_is_valid_at(const X509 *cert, apr_time_t t)
{
    apr_time_t from, until;

    return acme_cert_get_not_before(&from, cert) == APR_SUCCESS
        && acme_cert_get_not_after(&until, cert) == APR_SUCCESS
        && from <= t && t <= until;
}

/* Fills `san` from one GENERAL_NAME; 0 for entries we do not use. */
static int san_from_general_name(acme_san_t *san, apr_pool_t *p, const GENERAL_NAME *gen)
{
    char text[INET6_ADDRSTRLEN];
    const unsigned char *data;
    char *lower;
    int i, len;

    memset(san, 0, sizeof(*san));
    if (gen->type == GEN_DNS) {
        data = ASN1_STRING_get0_data(gen->d.dNSName);
        len = ASN1_STRING_length(gen->d.dNSName);
        if (len <= 0 || memchr(data, '\0', (size_t)len) != NULL) {
            return 0;
        }
        lower = apr_pstrmemdup(p, (const char *)data, (apr_size_t)len);
        for (i = 0; i < len; ++i) {
            lower[i] = (char)apr_tolower((unsigned char)lower[i]);
        }
        san->type = ACME_SAN_DNS;
        san->value = lower;
        return 1;
    }
    if (gen->type == GEN_IPADD) {
        len = ASN1_STRING_length(gen->d.iPAddress);
        if (len != 4 && len != 16) {
            return 0;
        }
        memcpy(san->ip, ASN1_STRING_get0_data(gen->d.iPAddress), (size_t)len);
        san->ip_len = (apr_size_t)len;
        if (!inet_ntop(len == 4 ? AF_INET : AF_INET6, san->ip, text, sizeof(text))) {
            return 0;
        }
        san->type = ACME_SAN_IP;
        san->value = apr_pstrdup(p, text);
        return 1;
    }
    return 0;
}

apr_status_t acme_cert_get_sans(apr_array_header_t **psans, apr_pool_t *p,
                                const X509 *cert)
{
    apr_array_header_t *sans = apr_array_make(p, 4, sizeof(acme_san_t));
    GENERAL_NAMES *gens;
    int crit = -1, i;

    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (gens == NULL && crit != -1) {
        ERR_clear_error();
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0314 certificate has %s SAN extension",
                 crit == -2 ? "more than one" : "an undecodable");
        return APR_EINVAL;
    }
    for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); ++i) {
        acme_san_t san;
        if (san_from_general_name(&san, p, sk_GENERAL_NAME_value(gens, i))) {
            APR_ARRAY_PUSH(sans, acme_san_t) = san;
        }
    }
    GENERAL_NAMES_free(gens);
    *psans = sans;
    return APR_SUCCESS;
}

apr_status_t acme_cert_get_names(apr_array_header_t **pnames, apr_pool_t *p,
                                 const X509 *cert, acme_san_type_e type)
{
    apr_array_header_t *sans, *names;
    apr_status_t rv;
    int i;

    if ((rv = acme_cert_get_sans(&sans, p, cert)) != APR_SUCCESS) {
        return rv;
    }
    names = apr_array_make(p, sans->nelts, sizeof(const char *));
    for (i = 0; i < sans->nelts; ++i) {
        const acme_san_t *san = &APR_ARRAY_IDX(sans, i, acme_san_t);
        if (san->type == type) {
            APR_ARRAY_PUSH(names, const char *) = san->value;
        }
    }
    *pnames = names;
    return APR_SUCCESS;
}

apr_status_t acme_cert_get_serial_hex(const char **pserial, apr_pool_t *p,
                                      const X509 *cert)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    apr_status_t rv = APR_SUCCESS;

    if (hex == NULL) {
        rv = acme_ossl_fail("ACME0315 reading serial number");
        goto cleanup;
    }
    *pserial = apr_pstrdup(p, hex);
cleanup:
    OPENSSL_free(hex);
    BN_free(bn);
    return rv;
}

static apr_status_t name_oneline(const char **pstr, apr_pool_t *p, const X509_NAME *name)
{
    /* OpenSSL's "oneline" form, but UTF-8 kept readable instead of escaped. */
    const unsigned long flags = (XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB)
                                | ASN1_STRFLGS_UTF8_CONVERT;
    BIO *bio = BIO_new(BIO_s_mem());
    apr_status_t rv = APR_SUCCESS;
    char *data;
    long len;

    if (bio == NULL || name == NULL || X509_NAME_print_ex(bio, name, 0, flags) < 0) {
        rv = acme_ossl_fail("ACME0316 printing name");
        goto cleanup;
    }
    len = BIO_get_mem_data(bio, &data);
    *pstr = apr_pstrmemdup(p, data, (apr_size_t)len);
cleanup:
    BIO_free(bio);
    return rv;
}

apr_status_t acme_cert_get_issuer(const char **pissuer, apr_pool_t *p, const X509 *cert)
{
    return name_oneline(pissuer, p, X509_get_issuer_name(cert));
}

apr_status_t acme_cert_get_subject(const char **psubject, apr_pool_t *p, const X509 *cert)
{
    return name_oneline(psubject, p, X509_get_subject_name(cert));
}

apr_status_t acme_cert_get_issuer_slashed(const char **pissuer, apr_pool_t *p,
                                          const X509 *cert)
{
    const X509_NAME *name = X509_get_issuer_name(cert);
    char *text = name ? X509_NAME_oneline(name, NULL, 0) : NULL;

    if (text == NULL) {
        return acme_ossl_fail("ACME0316 printing name");
    }
    *pissuer = apr_pstrdup(p, text);
    OPENSSL_free(text);
    return APR_SUCCESS;
}

apr_status_t acme_cert_get_sha256_hex(const char **phex, apr_pool_t *p, const X509 *cert)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    char *hex;

    if (!X509_digest(cert, EVP_sha256(), md, &len)) {
        return acme_ossl_fail("ACME0317 hashing certificate");
    }
    hex = apr_palloc(p, 2 * len + 1);
    for (i = 0; i < len; ++i) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0x0f];
    }
    hex[2 * len] = '\0';
    *phex = hex;
    return APR_SUCCESS;
}

EVP_PKEY *acme_cert_get0_pubkey(const X509 *cert)
{
    EVP_PKEY *pkey = X509_get0_pubkey(cert);

    if (pkey == NULL) {
        ERR_clear_error();
    }
    return pkey;
}

apr_status_t acme_cert_check_key(const X509 *cert, EVP_PKEY *pkey)
{
    EVP_PKEY *certkey = acme_cert_get0_pubkey(cert);
    int eq;

    if (certkey == NULL || pkey == NULL) {
        return APR_EMISMATCH;
    }
    /* 1 equal, 0 different, -1/-2 different types: all but 1 is a mismatch. */
    eq = EVP_PKEY_eq(certkey, pkey);
    ERR_clear_error();
    return eq == 1 ? APR_SUCCESS : APR_EMISMATCH;
}

apr_status_t acme_cert_check_names(const char **pmissing, apr_pool_t *p,
                                   const X509 *cert, const apr_array_header_t *names)
{
    apr_array_header_t *sans;
    apr_status_t rv;
    int i, j;

    if ((rv = acme_cert_get_sans(&sans, p, cert)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        acme_san_t want;
        int covered = 0;

        if ((rv = acme_san_parse(&want, p, name, 1)) != APR_SUCCESS) {
            return rv;
        }
        for (j = 0; j < sans->nelts && !covered; ++j) {
            covered = acme_san_covers(&APR_ARRAY_IDX(sans, j, acme_san_t), &want);
        }
        if (!covered) {
            acme_log(ACME_LOG_DEBUG, APR_EMISMATCH,
                     "ACME0318 certificate does not cover '%s'", want.value);
            if (pmissing) {
                *pmissing = name;
            }
            return APR_EMISMATCH;
        }
    }
    return APR_SUCCESS;
}
