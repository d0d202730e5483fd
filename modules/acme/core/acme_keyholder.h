/* The key holder (issue 16): a small root process, forked by httpd's parent
 * before the children, that owns every private key and the EAB HMACs. The
 * renewals in httpd's children (which run as the User that also runs CGI and
 * PHP) never hold a private key: they ask the key holder over a Unix socket
 * (acme_keys_remote.h), and it answers from a local custody
 * (acme_keys_local()) within a policy: the CA origins, the managed domains
 * with their names and key specs, the EAB credentials. Modelled on OpenBSD
 * acme-client's keyproc/acctproc. The protocol is narrow on purpose: a
 * compromised child can get JWS signatures for its CA's origins and CSRs for
 * the configured names, nothing else (no key, no HMAC, no keyChange).
 *
 * Protocol. A connection carries requests one after another, each answered
 * before the next is read; each is a frame: a 4-byte big-endian length, then
 * that many bytes of JSON text (an object; duplicate members are refused). A
 * frame is 1..ACME_KEYHOLDER_FRAME_MAX bytes; anything else (or a request
 * not complete within ACME_KEYHOLDER_IO_TIMEOUT once begun) closes the
 * connection without an answer. The key holder closes a connection that
 * stays idle for ACME_KEYHOLDER_IDLE_TIMEOUT, and any at its stop; the
 * peer may close one between requests.
 * Requests name their operation in "op" and carry exactly the members listed
 * (unknown members are refused):
 *
 *   {"op":"account-key","account":ID,"create":BOOL}
 *       -> {"ok":true,"jwk":JWK}    the account key's public JWK (acme_jwk.h)
 *   {"op":"sign","account":ID,"input":"<b64url protected>.<b64url payload>"}
 *       -> {"ok":true,"signature":B64URL}
 *       The protected header (duplicate members refused) must hold exactly
 *       alg (the account key's, acme_jwk_alg()), url (a string whose origin
 *       is the origin of one of policy->ca_urls), nonce (a non-empty
 *       string), and exactly one of kid (a string with an allowed origin) or
 *       jwk (equal to the account key's public JWK). The payload must be
 *       empty (POST-as-GET) or a JSON object that is not a JWS (a keyChange
 *       carries the inner JWS as payload: refused, like revocation by a
 *       certificate key, which the root-only admin tool does).
 *   {"op":"eab","account":ID,"eab-kid":KID,"url":URL}
 *       -> {"ok":true,"jws":{"protected","payload","signature"}}
 *       The externalAccountBinding JWS (RFC 8555 7.3.4) over the account
 *       key's JWK, MAC'd (HS256) with the HMAC policy->eabs has for KID
 *       (unknown KID: refused); URL's origin must be allowed.
 *   {"op":"domain-key","md":MD,"spec":SPEC,"create":BOOL}
 *       -> {"ok":true,"jwk":JWK}    the staged key's public JWK
 *   {"op":"csr","md":MD,"spec":SPEC,"names":[NAME...],"must-staple":BOOL}
 *       -> {"ok":true,"csr":B64URL}  DER, names in the order given
 *       MD must be in policy->mds and SPEC (acme_pkey_spec_parse() words,
 *       e.g. "P-256", "rsa2048") one of its pkey_specs; for a CSR, NAMES must
 *       be the md's configured names (as a set, case-insensitive, no
 *       duplicate).
 *   {"op":"seal-account-key","account":ID,"aad":AAD}
 *   {"op":"seal-domain-key","md":MD,"spec":SPEC,"aad":AAD}
 *       -> {"ok":true,"sealed":TEXT}  the key sealed for AAD (acme_seal.h)
 *   {"op":"unseal-account-key","account":ID,"sealed":TEXT,"aad":AAD}
 *   {"op":"unseal-domain-key","md":MD,"spec":SPEC,"sealed":TEXT,"aad":AAD}
 *       -> {"ok":true,"jwk":JWK}    the public JWK of the key installed
 *       The shared store's keys (issue 18; acme_keys.h says what each does:
 *       unseal-account-key makes a new account's key, APR_EEXIST when ID has
 *       one; unseal-domain-key replaces the staged key of SPEC). MD and SPEC
 *       as above. AAD must be the key's own name in the cluster,
 *       acme_keys_seal_aad_domain() of MD and SPEC, or "account/<name>" with
 *       a name that passes acme_names_check_id(): no key is sealed, or
 *       taken, under another key's name. Without policy->seal_key both
 *       fail with APR_ENOTIMPL. No answer holds a plaintext key; a sealed
 *       text that does not open answers its ACME_SEAL_E* code.
 *
 * IDs are checked with acme_names_check_id(). Origins are scheme "http" or
 * "https", host and port, compared exactly (scheme and host
 * case-insensitive; the default port 80/443 written or not); URLs with
 * userinfo, blanks or control characters are refused.
 * A failure answers {"ok":false,"status":N,"error":"<one line>"}: N is the
 * apr_status_t (never 0), the line never holds key material. APR_EINVAL: a
 * malformed or refused request (every refusal is logged once, ACME0260,
 * naming the op and why); otherwise the local custody's status (acme_keys.h:
 * APR_ENOENT, APR_EEXIST, APR_EACCES, ...).
 *
 * Threads: acme_keyholder_handle() may run in several threads at once (the
 * local custody is thread-safe, the policy only read). */
#ifndef ACME_KEYHOLDER_H
#define ACME_KEYHOLDER_H

#include <signal.h>
#include <sys/types.h>

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "acme_keys.h"

/* Largest request or answer (bytes of JSON after the 4-byte length). */
#define ACME_KEYHOLDER_FRAME_MAX (64 * 1024)
/* Connections served at once; more wait to be accepted. Room for the kept
 * connections of two generations of children during a graceful restart. */
#define ACME_KEYHOLDER_CONN_MAX 64
/* How long the key holder waits for the rest of a request once it began,
 * and for its answer to be written. */
#define ACME_KEYHOLDER_IO_TIMEOUT apr_time_from_sec(5)
/* How long a connection may wait for its next request. A client reuses an
 * idle connection for at most half of that (acme_keys_remote.c). */
#define ACME_KEYHOLDER_IDLE_TIMEOUT apr_time_from_sec(20)

typedef struct acme_keyholder_md_t {
    const char *name;                        /* the managed domain */
    const apr_array_header_t *names;         /* const char *: its configured names */
    const apr_array_header_t *pkey_specs;    /* acme_pkey_spec_t: its key specs */
} acme_keyholder_md_t;

typedef struct acme_keyholder_eab_t {
    const char *kid;
    const char *hmac;    /* SECRET: base64url, never logged or answered */
} acme_keyholder_eab_t;

typedef struct acme_keyholder_policy_t {
    const apr_array_header_t *ca_urls;  /* const char *: CA directory URLs; JWS may
                                         * only go to their origins (scheme://host:port) */
    apr_hash_t *mds;                    /* name -> const acme_keyholder_md_t * */
    const apr_array_header_t *eabs;     /* acme_keyholder_eab_t (SECRET hmac) */
    const acme_seal_key_t *seal_key;    /* SECRET: MDSharedStoreKeyFile's key, the one
                                         * the local custody seals with
                                         * (acme_keys_local_sealing()); NULL: no
                                         * seal and unseal */
} acme_keyholder_policy_t;

/* Who may connect: called with the peer's credentials (SO_PEERCRED); non-zero
 * lets it in. */
typedef int acme_keyholder_peer_fn(void *baton, pid_t pid, uid_t uid, gid_t gid);

/* One request (JSON text, `len` bytes, need not be NUL-terminated) -> one
 * answer (JSON text from `p`, *plen bytes, NUL-terminated), using `local` (a
 * local custody) within `policy`. Pure apart from the custody's store: the
 * unit of fuzzing. A refusal is an answer too: APR_SUCCESS unless the answer
 * cannot be made (APR_ENOMEM-like failures of jansson). */
apr_status_t acme_keyholder_handle(const char **panswer, apr_size_t *plen, apr_pool_t *p,
                                   acme_keys_t *local, const acme_keyholder_policy_t *policy,
                                   const char *request, apr_size_t len);

/* A listening Unix stream socket at `path` (close-on-exec, non-blocking), owned
 * by uid:gid, mode 0600. A stale socket file there is replaced; anything else
 * at `path` is APR_EEXIST (never unlinked). The directory of `path` must not
 * be writable by others (the caller's business). Nobody can connect before
 * the owner and mode are set: listen() comes last. */
apr_status_t acme_keyholder_listen(int *pfd, const char *path, uid_t uid, gid_t gid);

/* Serves connections on `listen_fd` until *stop becomes non-zero (checked
 * at least every 200 ms, and at once when `wake_fd` becomes readable: a
 * stop's signal handler writes to a pipe; -1 for none) or a fatal error:
 * each accepted connection whose peer passes `peer_ok` (NULL: every peer the
 * socket's mode lets in) gets its own thread (at most
 * ACME_KEYHOLDER_CONN_MAX at once; more wait), which answers its framed
 * requests until the peer closes it, it is idle for
 * ACME_KEYHOLDER_IDLE_TIMEOUT, or the stop. Returns
 * after every connection thread has ended: APR_SUCCESS on stop, else the
 * error of accept(). `p` is only used by the calling thread. Does not close
 * `listen_fd`. */
apr_status_t acme_keyholder_run(int listen_fd, apr_pool_t *p, acme_keys_t *local,
                                const acme_keyholder_policy_t *policy,
                                acme_keyholder_peer_fn *peer_ok, void *baton,
                                volatile sig_atomic_t *stop, int wake_fd);

#endif /* ACME_KEYHOLDER_H */
