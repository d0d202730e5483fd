/* Fuzz target: CSR building (acme_csr_create). The input's first byte
 * chooses the options (bit 0: must-staple; bit 1: an Ed25519 key instead of
 * P-256; seeds use '0'..'3'), then a newline, then up to 16 identifiers, one
 * per line.
 *
 * Properties:
 * - the CSR is built exactly when the list is valid by an independent
 *   reading of acme_csr.h: not empty, every line an IP address (inet_pton)
 *   or a DNS name (acme_names_dns_check with ANYCASE | WILDCARD), no
 *   identifier twice after normalisation (DNS: ASCII case; IP: the address);
 * - a built CSR parses back (whole DER), is signed by the key and carries
 *   its public half, and its SAN holds exactly the identifiers, in order:
 *   DNS names lowercased, IPs as their address bytes;
 * - the subject is CN = the first DNS name when it is at most 64
 *   characters, empty otherwise, and the SAN is critical exactly when the
 *   subject is empty;
 * - the TLS Feature status_request is present exactly with must-staple, and
 *   nothing else is asked for. */
#include <arpa/inet.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme_csr.h"
#include "acme_names.h"
#include "fuzz_common.h"
#include "fuzz_keys.h"

#define MAX_NAMES 16

typedef struct {
    int is_ip;
    unsigned char ip[16];
    size_t ip_len;
    const char *dns;    /* lowercased */
} expected_t;

static const char *ascii_lower(apr_pool_t *p, const char *s)
{
    char *l = apr_pstrdup(p, s), *c;

    for (c = l; *c; ++c) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    return l;
}

/* The identifier as acme_csr.h describes it; 0 when it is none. */
static int expect_one(expected_t *e, apr_pool_t *p, const char *name)
{
    memset(e, 0, sizeof(*e));
    if (inet_pton(AF_INET, name, e->ip) == 1) {
        e->is_ip = 1;
        e->ip_len = 4;
        return 1;
    }
    if (inet_pton(AF_INET6, name, e->ip) == 1) {
        e->is_ip = 1;
        e->ip_len = 16;
        return 1;
    }
    if (acme_names_dns_check(name, ACME_NAMES_ANYCASE | ACME_NAMES_WILDCARD, NULL)
        != APR_SUCCESS) {
        return 0;
    }
    e->dns = ascii_lower(p, name);
    return 1;
}

static int same(const expected_t *a, const expected_t *b)
{
    if (a->is_ip != b->is_ip) {
        return 0;
    }
    return a->is_ip ? a->ip_len == b->ip_len && memcmp(a->ip, b->ip, a->ip_len) == 0
                    : strcmp(a->dns, b->dns) == 0;
}

static void check_san(GENERAL_NAMES *gens, const expected_t *exp, int n)
{
    int i;

    FUZZ_CHECK(gens != NULL && sk_GENERAL_NAME_num(gens) == n);
    for (i = 0; i < n; ++i) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (exp[i].is_ip) {
            FUZZ_CHECK(g->type == GEN_IPADD);
            FUZZ_CHECK((size_t)ASN1_STRING_length(g->d.iPAddress) == exp[i].ip_len);
            FUZZ_CHECK(memcmp(ASN1_STRING_get0_data(g->d.iPAddress), exp[i].ip,
                              exp[i].ip_len) == 0);
        }
        else {
            FUZZ_CHECK(g->type == GEN_DNS);
            FUZZ_CHECK((size_t)ASN1_STRING_length(g->d.dNSName) == strlen(exp[i].dns));
            FUZZ_CHECK(memcmp(ASN1_STRING_get0_data(g->d.dNSName), exp[i].dns,
                              strlen(exp[i].dns)) == 0);
        }
    }
}

static void check_csr(const unsigned char *der, apr_size_t len, EVP_PKEY *pkey,
                      const expected_t *exp, int n, int must_staple)
{
    static const unsigned char status_request[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
    const unsigned char *in = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &in, (long)len);
    STACK_OF(X509_EXTENSION) *exts;
    const X509_NAME *subject;
    const char *cn = NULL;
    EVP_PKEY *pub;
    int i, found_san = 0, found_staple = 0;

    FUZZ_CHECK(req != NULL && in == der + len);
    FUZZ_CHECK(X509_REQ_get_version(req) == 0);
    FUZZ_CHECK(X509_REQ_verify(req, pkey) == 1);
    pub = X509_REQ_get0_pubkey(req);
    FUZZ_CHECK(pub != NULL && EVP_PKEY_eq(pub, pkey) == 1);
    for (i = 0; i < n && cn == NULL; ++i) {
        if (!exp[i].is_ip) {
            cn = strlen(exp[i].dns) <= 64 ? exp[i].dns : "";
        }
    }
    subject = X509_REQ_get_subject_name(req);
    if (cn && *cn) {
        const X509_NAME_ENTRY *e;
        const ASN1_STRING *v;
        FUZZ_CHECK(X509_NAME_entry_count(subject) == 1);
        e = X509_NAME_get_entry(subject, 0);
        FUZZ_CHECK(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == NID_commonName);
        v = X509_NAME_ENTRY_get_data(e);
        FUZZ_CHECK((size_t)ASN1_STRING_length(v) == strlen(cn)
                   && memcmp(ASN1_STRING_get0_data(v), cn, strlen(cn)) == 0);
    }
    else {
        FUZZ_CHECK(X509_NAME_entry_count(subject) == 0);
    }
    exts = X509_REQ_get_extensions(req);
    FUZZ_CHECK(exts != NULL);
    for (i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        if (nid == NID_subject_alt_name) {
            GENERAL_NAMES *gens = X509V3_EXT_d2i(ext);
            FUZZ_CHECK(!found_san);
            found_san = 1;
            FUZZ_CHECK(X509_EXTENSION_get_critical(ext) == (cn == NULL || *cn == '\0'));
            check_san(gens, exp, n);
            GENERAL_NAMES_free(gens);
        }
        else {
            char oid[64];
            const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
            OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);
            FUZZ_CHECK(strcmp(oid, ACME_CSR_TLSFEATURE_OID) == 0 && !found_staple);
            found_staple = 1;
            FUZZ_CHECK(ASN1_STRING_length(v) == (int)sizeof(status_request)
                       && memcmp(ASN1_STRING_get0_data(v), status_request,
                                 sizeof(status_request)) == 0);
        }
    }
    FUZZ_CHECK(found_san);
    FUZZ_CHECK(found_staple == must_staple);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *lines[MAX_NAMES + 1];
    apr_array_header_t *names;
    expected_t exp[MAX_NAMES];
    const unsigned char *der = NULL;
    apr_size_t len = 0;
    EVP_PKEY *pkey;
    int opts, n, i, j, valid = 1, must_staple;
    apr_status_t rv;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool_create();
    opts = data[0];
    must_staple = opts & 1;
    pkey = (opts & 2) ? fuzz_evp_ed25519() : acme_pkey_get_evp(fuzz_key(FUZZ_KEY_P256_A));
    /* line 0: the options byte and whatever follows it up to the newline */
    n = fuzz_split(lines, MAX_NAMES + 1, p, data, size, '\n') - 1;
    names = apr_array_make(p, MAX_NAMES, sizeof(const char *));
    for (i = 0; i < n; ++i) {
        APR_ARRAY_PUSH(names, const char *) = lines[i + 1];
        if (!expect_one(&exp[i], p, lines[i + 1])) {
            valid = 0;
        }
        for (j = 0; valid && j < i; ++j) {
            if (same(&exp[j], &exp[i])) {
                valid = 0;
            }
        }
    }
    if (n < 1) {
        valid = 0;
    }
    rv = acme_csr_create(&der, &len, p, pkey, names, must_staple ? ACME_CSR_MUST_STAPLE : 0);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_EINVAL);
    FUZZ_CHECK((rv == APR_SUCCESS) == valid);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(der != NULL && len > 0);
        check_csr(der, len, pkey, exp, n, must_staple);
    }
    apr_pool_destroy(p);
    return 0;
}
