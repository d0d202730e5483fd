/* Sealing secrets for the shared store (issue 18): private keys go into
 * Redis encrypted and authenticated (AES-256-GCM) under a key that every
 * server of the cluster reads from the same root-only file.
 *
 * A sealed blob is text, safe for any store and any log excerpt:
 *
 *     acme-seal:v1:<key id>:<base64url(nonce || ciphertext || tag)>
 *
 * key id: 16 lowercase hex characters naming the key (acme_seal_key_id()),
 * so that a blob sealed under another key is reported as such; nonce: 12
 * random bytes, fresh for every seal; tag: 16 bytes. The authenticated data
 * is the header "acme-seal:v1:<key id>:" followed by the caller's `aad`, the
 * item's name in the store ("domains/example.org/privkey.pem"): a blob copied
 * to another name, or with its header edited, does not open. Random nonces
 * bound one key to 2^32 seals (NIST SP 800-38D 8.3); a cluster seals a few
 * keys a day.
 *
 * The key file holds the 32 key bytes as base64 (standard alphabet, with its
 * '=' padding), what `openssl rand -base64 32 > file` writes; white space
 * around the text is ignored. A file of 32 raw bytes is refused: a 32-character
 * passphrase typed into the file would pass as a key.
 *
 * Key bytes and plaintexts live in pool memory that a cleanup of that pool
 * wipes (OPENSSL_cleanse); no message ever holds them. Messages (*perr) are
 * one line, allocated from the pool passed; the caller prefixes the item's
 * name. */
#ifndef ACME_SEAL_H
#define ACME_SEAL_H

#include <apr_errno.h>
#include <apr_pools.h>

#include "acme_store.h"

/* Codes of acme_seal_open(): offsets 750-753 of APR's user range (740-743 are the leases'). */
#define ACME_SEAL_ENOTSEALED (APR_OS_START_USERERR + 750) /* no "acme-seal:" prefix:
                                      * e.g. a plaintext PEM left from before */
#define ACME_SEAL_EVERSION   (APR_OS_START_USERERR + 751) /* a format this code does
                                      * not read (a newer mod_acme wrote it) */
#define ACME_SEAL_EKEY       (APR_OS_START_USERERR + 752) /* sealed under another
                                      * key: *perr names both key ids */
#define ACME_SEAL_EAUTH      (APR_OS_START_USERERR + 753) /* does not authenticate:
                                      * damaged, tampered with, or sealed for
                                      * another name (aad) */

#define ACME_SEAL_KEY_LEN    32  /* AES-256 */
#define ACME_SEAL_KEY_ID_LEN 16  /* hex characters */
#define ACME_SEAL_NONCE_LEN  12
#define ACME_SEAL_TAG_LEN    16
#define ACME_SEAL_PREFIX     "acme-seal:"
/* "acme-seal:v1:<key id>:" */
#define ACME_SEAL_HEADER_LEN (sizeof(ACME_SEAL_PREFIX) - 1 + 3 + ACME_SEAL_KEY_ID_LEN + 1)

/* Largest blob acme_seal_open() takes: what the store holds at most. */
#define ACME_SEAL_BLOB_MAX   ACME_STORE_ITEM_MAX
/* Largest plaintext acme_seal() takes: the one whose blob is
 * ACME_SEAL_BLOB_MAX long at most (786381 bytes; a private key PEM is a
 * few KB). */
#define ACME_SEAL_PLAIN_MAX \
    ((ACME_SEAL_BLOB_MAX - ACME_SEAL_HEADER_LEN) * 3 / 4 - ACME_SEAL_NONCE_LEN \
     - ACME_SEAL_TAG_LEN)

typedef struct acme_seal_key_t acme_seal_key_t;

/* Reads the key file at `path` into *pkey (allocated from `p`; its bytes are
 * wiped when `p` is cleared). The file is opened without following a
 * symbolic link and checked on that open descriptor: it must be a regular
 * file, owned by root or by this process's effective uid, with no
 * permission for group or others (0600 or 0400), and hold the key as
 * described above. APR_EINVAL for a file refused, the OS error for one that
 * cannot be opened or read; *perr (when not NULL) is then a message naming
 * the path and the fix ("seal key file /etc/k: mode 0644 lets group or others
 * in: chmod 600 /etc/k"). Only the last path component is checked for being
 * a link: the directories on the way are the administrator's. */
apr_status_t acme_seal_key_load(acme_seal_key_t **pkey, apr_pool_t *p, const char *path,
                                const char **perr);

/* A key from `len` bytes that the caller holds (and wipes): APR_EINVAL unless
 * len is ACME_SEAL_KEY_LEN. For keys that do not come from a file (tests). */
apr_status_t acme_seal_key_from_bytes(acme_seal_key_t **pkey, apr_pool_t *p,
                                      const unsigned char *bytes, apr_size_t len);

/* Wipes the key's bytes now, not when its pool goes: for a process that
 * inherited a key it must not keep (httpd's children get the parent's
 * memory). A wiped key must not be used again (acme_seal() and
 * acme_seal_open() assert it); its id is wiped too. */
void acme_seal_key_wipe(acme_seal_key_t *key);

/* The key's id: the first 8 bytes of SHA-256 over a fixed label and the key,
 * as 16 lowercase hex characters (NUL-terminated, lives as long as the key).
 * Says which key sealed a blob without saying anything about the key. */
const char *acme_seal_key_id(const acme_seal_key_t *key);

/* Seals `len` bytes of `plain` (NULL is fine when len is 0) for the store
 * item named `aad` (not NULL). *pout is the NUL-terminated blob, *plen its
 * length, both from `p`. APR_FROM_OS_ERROR(EFBIG) when len is over
 * ACME_SEAL_PLAIN_MAX; APR_EGENERAL (logged) when OpenSSL fails. Outputs are
 * untouched on error. */
apr_status_t acme_seal(const char **pout, apr_size_t *plen, apr_pool_t *p,
                       const acme_seal_key_t *key, const char *aad,
                       const unsigned char *plain, apr_size_t len);

/* Opens `bloblen` bytes of `blob` sealed for the item named `aad` (not NULL).
 * *pplain is the plaintext with a NUL byte after it (for PEM text), *plen its
 * length; the buffer is in `p` and wiped by a cleanup of `p`. Errors:
 * APR_FROM_OS_ERROR(EFBIG) for a blob over ACME_SEAL_BLOB_MAX, the
 * ACME_SEAL_E* codes above, APR_EGENERAL (logged) when OpenSSL fails; *perr
 * (when not NULL) says which. Outputs other than *perr are untouched on
 * error, and no byte of a plaintext that did not authenticate is left
 * anywhere. */
apr_status_t acme_seal_open(const unsigned char **pplain, apr_size_t *plen, apr_pool_t *p,
                            const acme_seal_key_t *key, const char *aad, const char *blob,
                            apr_size_t bloblen, const char **perr);

/* True when `len` bytes of `data` start like a sealed blob (any version);
 * only acme_seal_open() says whether it is one. */
int acme_seal_is_sealed(const char *data, apr_size_t len);

#endif /* ACME_SEAL_H */
