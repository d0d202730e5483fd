/* Inside the key holder and its client: framing and policy checks
 * (acme_keyholder.h describes the protocol). */
#ifndef ACME_KEYHOLDER_INT_H
#define ACME_KEYHOLDER_INT_H

#include <sys/un.h>

#include "acme_keyholder.h"

/* ---- framing (acme_keyholder_proto.c) ----
 * Both take an absolute `deadline` and work on blocking or non-blocking
 * sockets (poll, then MSG_DONTWAIT; never SIGPIPE). APR_TIMEUP past the
 * deadline, APR_EOF when the peer closed first, APR_EINVAL for a length
 * outside 1..ACME_KEYHOLDER_FRAME_MAX, else the errno. */
/* The address of the socket at `path`. sun_path holds 107 bytes; a longer
 * path (a deep DefaultRuntimeDir) is reached through its directory,
 * "/proc/self/fd/<dirfd>/<name>" (Linux), with *pdirfd open until the caller
 * closes it after bind() or connect() (-1 when none was needed). */
apr_status_t acme_keyholder_addr(struct sockaddr_un *addr, int *pdirfd, const char *path);

apr_status_t acme_keyholder_frame_write(int fd, const char *data, apr_size_t len,
                                        apr_time_t deadline);
/* *pdata is NUL-terminated (from `p`); *plen excludes the NUL. */
apr_status_t acme_keyholder_frame_read(char **pdata, apr_size_t *plen, apr_pool_t *p, int fd,
                                       apr_time_t deadline);

/* ---- policy (acme_keyholder_policy.c) ----
 * Checks answer APR_SUCCESS or APR_EINVAL with *pwhy, a one-line reason from
 * `p` that quotes untrusted input only through acme_names_printable(). */

/* "scheme://host:port" of `url` (lowercase, default port written out), or
 * NULL when it is not an http(s) URL we would send anything to. */
const char *acme_keyholder_origin(apr_pool_t *p, const char *url);

/* Whether `url`'s origin is the origin of one of policy->ca_urls. */
apr_status_t acme_keyholder_check_url(apr_pool_t *p, const acme_keyholder_policy_t *policy,
                                      const char *what, const char *url, const char **pwhy);

/* The JWS signing input of a `sign` request, for `account_key`. */
apr_status_t acme_keyholder_check_sign_input(apr_pool_t *p,
                                             const acme_keyholder_policy_t *policy,
                                             const acme_pkey_t *account_key,
                                             const char *input, apr_size_t len,
                                             const char **pwhy);

/* The configured md named `md` and the spec parsed from `spec_word`, which
 * must be one of its key specs. */
apr_status_t acme_keyholder_check_md(const acme_keyholder_md_t **pmd, acme_pkey_spec_t *pspec,
                                     apr_pool_t *p, const acme_keyholder_policy_t *policy,
                                     const char *md, const char *spec_word,
                                     const char **pwhy);

/* `names` (const char *) are the md's configured names as a set,
 * case-insensitive, without duplicates. */
apr_status_t acme_keyholder_check_names(apr_pool_t *p, const acme_keyholder_md_t *md,
                                        const apr_array_header_t *names, const char **pwhy);

/* The name a sealed key is bound to (the "aad" of seal and unseal): for an
 * account key (md NULL) "account/<name>", <name> passing
 * acme_names_check_id(); for a staged key, acme_keys_seal_aad_domain() of md
 * and spec. */
apr_status_t acme_keyholder_check_seal_aad(apr_pool_t *p, const char *md,
                                           const acme_pkey_spec_t *spec, const char *aad,
                                           const char **pwhy);

/* The HMAC configured for `kid`, or NULL. */
const char *acme_keyholder_eab_hmac(const acme_keyholder_policy_t *policy, const char *kid);

#endif /* ACME_KEYHOLDER_INT_H */
