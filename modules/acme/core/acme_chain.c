/* Certificate chains: strict PEM reading, writing, order check. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme_cert.h"
#include "acme_chain.h"
#include "acme_log.h"
#include "acme_ossl.h"

#define PEM_DASHES "-----"
#define PEM_BEGIN "-----BEGIN "
#define PEM_BEGIN_CERT "-----BEGIN CERTIFICATE-----"
#define PEM_END_CERT "-----END CERTIFICATE-----"

acme_cert_chain_t *acme_chain_create(apr_pool_t *p)
{
    acme_cert_chain_t *chain = apr_pcalloc(p, sizeof(*chain));

    chain->certs = apr_array_make(p, 4, sizeof(X509 *));
    return chain;
}

void acme_chain_add(acme_cert_chain_t *chain, apr_pool_t *p, X509 *cert)
{
    X509_up_ref(cert);
    acme_cert_pool_own(p, cert);
    APR_ARRAY_PUSH(chain->certs, X509 *) = cert;
}

int acme_chain_count(const acme_cert_chain_t *chain)
{
    return chain->certs->nelts;
}

X509 *acme_chain_get(const acme_cert_chain_t *chain, int i)
{
    if (i < 0 || i >= chain->certs->nelts) {
        return NULL;
    }
    return APR_ARRAY_IDX(chain->certs, i, X509 *);
}

static int is_pem_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int starts_with(const char *s, apr_size_t len, const char *prefix)
{
    apr_size_t plen = strlen(prefix);
    return len >= plen && memcmp(s, prefix, plen) == 0;
}

/* Offset of the first `needle` in s[0..len), or len when absent. */
static apr_size_t find(const char *s, apr_size_t len, const char *needle)
{
    apr_size_t nlen = strlen(needle), i;

    for (i = 0; i + nlen <= len; ++i) {
        if (memcmp(s + i, needle, nlen) == 0) {
            return i;
        }
    }
    return len;
}

/* Decodes one "-----BEGIN CERTIFICATE-----" .. "-----END CERTIFICATE-----"
 * block through OpenSSL's PEM decoder, then insists on exactly one DER cert. */
static apr_status_t block_decode(X509 **pcert, const char *block, apr_size_t len)
{
    BIO *bio = BIO_new_mem_buf(block, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    const unsigned char *ptr;
    long der_len = 0;
    X509 *cert = NULL;
    apr_status_t rv = APR_EINVAL;

    if (bio == NULL) {
        return acme_ossl_fail("ACME0320 allocating BIO");
    }
    if (!PEM_read_bio(bio, &name, &header, &der, &der_len)) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0321 certificate PEM block does not decode");
        goto cleanup;
    }
    if (strcmp(name, "CERTIFICATE") != 0 || header[0] != '\0') {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0322 certificate PEM block has headers");
        goto cleanup;
    }
    ptr = der;
    cert = d2i_X509(NULL, &ptr, der_len);
    if (cert == NULL || ptr != der + der_len) {
        acme_log(ACME_LOG_ERR, APR_EINVAL,
                 "ACME0323 certificate PEM block is not one DER certificate");
        X509_free(cert);
        goto cleanup;
    }
    *pcert = cert;
    rv = APR_SUCCESS;
cleanup:
    ERR_clear_error();
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    return rv;
}

/* Length of the certificate block at the start of s[0..len), which begins
 * with PEM_BEGIN; 0 (logged) when it is not a complete certificate block. */
static apr_size_t block_measure(const char *s, apr_size_t len)
{
    apr_size_t line_len, end, total;

    if (!starts_with(s, len, PEM_BEGIN_CERT)) {
        line_len = find(s, len, "\n");
        acme_log(ACME_LOG_ERR, APR_EINVAL,
                 "ACME0324 PEM block '%.*s' is not a certificate",
                 (int)(line_len > 80 ? 80 : line_len), s);
        return 0;
    }
    end = find(s, len, PEM_END_CERT);
    total = end + strlen(PEM_END_CERT);
    /* Another BEGIN (or any "-----") before our END means this block was cut
     * off; text glued to the END line is junk. A NUL would cut BIO_gets. */
    if (end == len
        || find(s + strlen(PEM_BEGIN_CERT), end - strlen(PEM_BEGIN_CERT), PEM_DASHES)
               != end - strlen(PEM_BEGIN_CERT)
        || memchr(s, '\0', total) != NULL
        || (total < len && !is_pem_space(s[total]))) {
        acme_log(ACME_LOG_ERR, APR_EINVAL,
                 "ACME0325 certificate PEM block is truncated or malformed");
        return 0;
    }
    return total;
}

apr_status_t acme_chain_from_pem(acme_cert_chain_t **pchain, apr_pool_t *p,
                                 const char *pem, apr_size_t len)
{
    acme_cert_chain_t *chain = acme_chain_create(p);
    apr_size_t pos = 0, block_len;
    apr_status_t rv;

    if (len > ACME_CHAIN_PEM_MAX) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0326 certificate chain too large (%"
                 APR_SIZE_T_FMT " bytes, limit %d)", len, ACME_CHAIN_PEM_MAX);
        return APR_EINVAL;
    }
    for (;;) {
        X509 *cert = NULL;

        while (pos < len && is_pem_space(pem[pos])) {
            ++pos;
        }
        if (pos == len) {
            break;
        }
        if (!starts_with(pem + pos, len - pos, PEM_BEGIN)) {
            acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0327 certificate chain has text "
                     "outside PEM blocks at offset %" APR_SIZE_T_FMT, pos);
            return APR_EINVAL;
        }
        if (acme_chain_count(chain) == ACME_CHAIN_CERTS_MAX) {
            acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0328 certificate chain has more "
                     "than %d certificates", ACME_CHAIN_CERTS_MAX);
            return APR_EINVAL;
        }
        if ((block_len = block_measure(pem + pos, len - pos)) == 0) {
            return APR_EINVAL;
        }
        if ((rv = block_decode(&cert, pem + pos, block_len)) != APR_SUCCESS) {
            return rv;
        }
        acme_cert_pool_own(p, cert);
        APR_ARRAY_PUSH(chain->certs, X509 *) = cert;
        pos += block_len;
    }
    if (acme_chain_count(chain) == 0) {
        acme_log(ACME_LOG_ERR, APR_EINVAL, "ACME0329 no certificate in PEM data");
        return APR_EINVAL;
    }
    *pchain = chain;
    return APR_SUCCESS;
}

apr_status_t acme_chain_to_pem(const char **ppem, apr_pool_t *p,
                               const acme_cert_chain_t *chain)
{
    BIO *bio = BIO_new(BIO_s_mem());
    apr_status_t rv = APR_SUCCESS;
    char *data;
    long len;
    int i;

    if (bio == NULL) {
        rv = acme_ossl_fail("ACME0330 allocating BIO");
        goto cleanup;
    }
    for (i = 0; i < acme_chain_count(chain); ++i) {
        if (!PEM_write_bio_X509(bio, acme_chain_get(chain, i))) {
            rv = acme_ossl_fail("ACME0330 writing chain PEM");
            goto cleanup;
        }
    }
    len = BIO_get_mem_data(bio, &data);
    *ppem = apr_pstrmemdup(p, data, (apr_size_t)len);
cleanup:
    BIO_free(bio);
    return rv;
}

apr_status_t acme_chain_check_order(int *pbad, const acme_cert_chain_t *chain)
{
    int i, n = acme_chain_count(chain);

    if (n == 0) {
        return APR_EINVAL;
    }
    for (i = 0; i + 1 < n; ++i) {
        X509 *cert = acme_chain_get(chain, i);
        X509 *issuer = acme_chain_get(chain, i + 1);
        EVP_PKEY *key = X509_get0_pubkey(issuer);

        if (X509_check_issued(issuer, cert) != X509_V_OK
            || key == NULL || X509_verify(cert, key) != 1) {
            ERR_clear_error();
            acme_log(ACME_LOG_DEBUG, APR_EMISMATCH, "ACME0331 certificate %d of the "
                     "chain is not issued by certificate %d", i, i + 1);
            if (pbad) {
                *pbad = i;
            }
            return APR_EMISMATCH;
        }
    }
    return APR_SUCCESS;
}
