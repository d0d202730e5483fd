/* base64url without padding, see acme_b64.h. */
#include <string.h>

#include "acme_b64.h"

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of a base64url character, -1 for anything else. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

const char *acme_b64url_encode(apr_pool_t *p, const void *data, apr_size_t len)
{
    const unsigned char *in = data;
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1);
    char *o = out;
    apr_size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        *o++ = b64url_chars[in[i] >> 2];
        *o++ = b64url_chars[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *o++ = b64url_chars[((in[i + 1] & 0x0f) << 2) | (in[i + 2] >> 6)];
        *o++ = b64url_chars[in[i + 2] & 0x3f];
    }
    if (len - i == 1) {
        *o++ = b64url_chars[in[i] >> 2];
        *o++ = b64url_chars[(in[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        *o++ = b64url_chars[in[i] >> 2];
        *o++ = b64url_chars[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *o++ = b64url_chars[(in[i + 1] & 0x0f) << 2];
    }
    *o = '\0';
    return out;
}

apr_status_t acme_b64url_decode(unsigned char **pdata, apr_size_t *plen, apr_pool_t *p,
                                const char *s, apr_size_t slen)
{
    unsigned char *out, *o;
    apr_uint32_t acc = 0;
    apr_size_t i;
    int bits = 0;

    if (slen % 4 == 1) {
        return APR_EINVAL; /* one character carries only 6 bits: no whole byte */
    }
    for (i = 0; i < slen; ++i) {
        if (b64url_value((unsigned char)s[i]) < 0) {
            return APR_EINVAL;
        }
    }
    out = apr_palloc(p, slen / 4 * 3 + 3);
    o = out;
    for (i = 0; i < slen; ++i) {
        acc = (acc << 6) | (apr_uint32_t)b64url_value((unsigned char)s[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *o = '\0';
    *pdata = out;
    *plen = (apr_size_t)(o - out);
    return APR_SUCCESS;
}

apr_status_t acme_b64url_decode_str(unsigned char **pdata, apr_size_t *plen,
                                    apr_pool_t *p, const char *s)
{
    return acme_b64url_decode(pdata, plen, p, s, strlen(s));
}

int acme_b64url_is_alphabet(const char *s, apr_size_t len)
{
    apr_size_t i;

    if (len == 0) {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        if (b64url_value((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}
