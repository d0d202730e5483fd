/* base64url without padding (RFC 7515 §2 and Appendix C, RFC 4648 §5).
 *
 * Everything JOSE and ACME put on the wire (JWS parts, JWK coordinates,
 * thumbprints, challenge tokens, EAB keys) uses this encoding. */
#ifndef ACME_B64_H
#define ACME_B64_H

#include <apr_pools.h>

/* Encodes `len` bytes of `data` (NULL is fine when len is 0) without padding.
 * The result is NUL-terminated and allocated from `p`. */
const char *acme_b64url_encode(apr_pool_t *p, const void *data, apr_size_t len);

/* Decodes `slen` characters of `s` into *pdata / *plen (allocated from `p`,
 * with one extra NUL byte after the data so that decoded text can be used as
 * a C string). The empty string decodes to zero bytes.
 *
 * Returns APR_SUCCESS, or APR_EINVAL for a character outside [A-Za-z0-9_-]
 * (including '=' padding, '+', '/' and white space) or a length that no
 * encoding produces (slen % 4 == 1). Non-zero unused bits in the last
 * character are tolerated, as Go's and OpenSSL's decoders do, so that keys
 * handed out by any CA are read. Outputs are untouched on error. */
apr_status_t acme_b64url_decode(unsigned char **pdata, apr_size_t *plen, apr_pool_t *p,
                                const char *s, apr_size_t slen);

/* Convenience for a NUL-terminated `s`. */
apr_status_t acme_b64url_decode_str(unsigned char **pdata, apr_size_t *plen,
                                    apr_pool_t *p, const char *s);

/* True when `s` is non-empty and consists of base64url characters only. */
int acme_b64url_is_alphabet(const char *s, apr_size_t len);

#endif /* ACME_B64_H */
