/* Subject alternative names: validation, SAN extension, coverage. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/x509v3.h>

#include "acme_log.h"
#include "acme_names.h"
#include "acme_ossl.h"
#include "acme_san.h"

#define ACME_SAN_CN_MAX 64

static int ip_parse(acme_san_t *san, apr_pool_t *p, const char *name)
{
    char text[INET6_ADDRSTRLEN];
    int family = AF_INET;

    if (inet_pton(AF_INET, name, san->ip) == 1) {
        san->ip_len = 4;
    }
    else if (inet_pton(AF_INET6, name, san->ip) == 1) {
        san->ip_len = 16;
        family = AF_INET6;
    }
    else {
        return 0;
    }
    if (inet_ntop(family, san->ip, text, sizeof(text)) == NULL) {
        return 0;
    }
    san->type = ACME_SAN_IP;
    san->value = apr_pstrdup(p, text);
    return 1;
}

apr_status_t acme_san_parse(acme_san_t *san, apr_pool_t *p, const char *name,
                            int allow_wildcard)
{
    char *lower;
    apr_size_t i;

    memset(san, 0, sizeof(*san));
    if (name == NULL || *name == '\0') {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0300 empty identifier");
        return APR_EINVAL;
    }
    if (ip_parse(san, p, name)) {
        return APR_SUCCESS;
    }
    if (acme_names_dns_check(name, ACME_NAMES_ANYCASE
                                   | (allow_wildcard ? ACME_NAMES_WILDCARD : 0), NULL)
        != APR_SUCCESS) {
        acme_log(ACME_LOG_ERR, APR_EINVAL,
                 "ACME0301 invalid identifier '%.300s': neither an IP address nor a DNS "
                 "name%s", name, allow_wildcard ? "" : " (wildcards not allowed here)");
        return APR_EINVAL;
    }
    lower = apr_pstrdup(p, name);
    for (i = 0; lower[i]; ++i) {
        lower[i] = (char)apr_tolower((unsigned char)lower[i]);
    }
    san->type = ACME_SAN_DNS;
    san->value = lower;
    return APR_SUCCESS;
}

static int san_equal(const acme_san_t *a, const acme_san_t *b)
{
    if (a->type != b->type) {
        return 0;
    }
    if (a->type == ACME_SAN_IP) {
        return a->ip_len == b->ip_len && memcmp(a->ip, b->ip, a->ip_len) == 0;
    }
    return strcasecmp(a->value, b->value) == 0;
}

apr_status_t acme_san_parse_list(apr_array_header_t **psans, apr_pool_t *p,
                                 const apr_array_header_t *names,
                                 int allow_wildcard)
{
    apr_array_header_t *sans;
    int i, j;

    if (names == NULL || names->nelts == 0) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0302 no identifiers given");
        return APR_EINVAL;
    }
    sans = apr_array_make(p, names->nelts, sizeof(acme_san_t));
    for (i = 0; i < names->nelts; ++i) {
        acme_san_t *san = apr_array_push(sans);
        apr_status_t rv = acme_san_parse(san, p, APR_ARRAY_IDX(names, i, const char *),
                                         allow_wildcard);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        for (j = 0; j < i; ++j) {
            if (san_equal(&APR_ARRAY_IDX(sans, j, acme_san_t), san)) {
                acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0303 identifier '%s' given twice",
                         san->value);
                return APR_EINVAL;
            }
        }
    }
    *psans = sans;
    return APR_SUCCESS;
}

static GENERAL_NAME *general_name_create(const acme_san_t *san)
{
    GENERAL_NAME *gen = GENERAL_NAME_new();
    ASN1_STRING *str = NULL;
    int type;

    if (gen == NULL) {
        return NULL;
    }
    if (san->type == ACME_SAN_IP) {
        type = GEN_IPADD;
        str = ASN1_OCTET_STRING_new();
        if (str && !ASN1_OCTET_STRING_set(str, san->ip, (int)san->ip_len)) {
            goto fail;
        }
    }
    else {
        type = GEN_DNS;
        str = ASN1_IA5STRING_new();
        if (str && !ASN1_STRING_set(str, san->value, (int)strlen(san->value))) {
            goto fail;
        }
    }
    if (str == NULL) {
        goto fail;
    }
    GENERAL_NAME_set0_value(gen, type, str);
    return gen;
fail:
    ASN1_STRING_free(str);
    GENERAL_NAME_free(gen);
    return NULL;
}

apr_status_t acme_san_extension_create(X509_EXTENSION **pext,
                                       const apr_array_header_t *sans,
                                       int critical)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    X509_EXTENSION *ext = NULL;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (gens == NULL) {
        rv = acme_ossl_fail("ACME0304 allocating SAN");
        goto cleanup;
    }
    for (i = 0; i < sans->nelts; ++i) {
        GENERAL_NAME *gen = general_name_create(&APR_ARRAY_IDX(sans, i, acme_san_t));
        if (gen == NULL || !sk_GENERAL_NAME_push(gens, gen)) {
            GENERAL_NAME_free(gen);
            rv = acme_ossl_fail("ACME0304 building SAN");
            goto cleanup;
        }
    }
    ext = X509V3_EXT_i2d(NID_subject_alt_name, critical, gens);
    if (ext == NULL) {
        rv = acme_ossl_fail("ACME0304 encoding SAN");
        goto cleanup;
    }
    *pext = ext;
cleanup:
    sk_GENERAL_NAME_pop_free(gens, GENERAL_NAME_free);
    return rv;
}

const char *acme_san_common_name(const apr_array_header_t *sans)
{
    int i;

    for (i = 0; i < sans->nelts; ++i) {
        const acme_san_t *san = &APR_ARRAY_IDX(sans, i, acme_san_t);
        if (san->type == ACME_SAN_DNS) {
            return strlen(san->value) <= ACME_SAN_CN_MAX ? san->value : NULL;
        }
    }
    return NULL;
}

int acme_san_covers(const acme_san_t *cert_name, const acme_san_t *requested)
{
    const char *rest;

    if (san_equal(cert_name, requested)) {
        return 1;
    }
    if (cert_name->type != ACME_SAN_DNS || requested->type != ACME_SAN_DNS
        || strncmp(cert_name->value, "*.", 2) != 0
        || strncmp(requested->value, "*.", 2) == 0) {
        return 0;
    }
    /* "*.example.org" covers "x.example.org": one non-empty label, then the
     * wildcard's base exactly. */
    rest = strchr(requested->value, '.');
    return rest != NULL && rest != requested->value
        && strcasecmp(rest, cert_name->value + 1) == 0;
}
