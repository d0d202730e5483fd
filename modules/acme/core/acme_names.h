/* Validation of the names that become store keys, file names or arguments.
 *
 * Every string that comes from the configuration, the CA or a request is
 * checked against its alphabet here before the store (or anything else) turns
 * it into a path, a Redis key or a command argument. The checks are pure: no
 * logging, no allocation; callers log with their own context.
 *
 * Rules (all checks return APR_SUCCESS or APR_EINVAL; NULL is invalid):
 * - domain: lowercase LDH labels of 1..63 characters, no leading or trailing
 *   '-', separated by single dots, at most 253 characters, no trailing dot.
 *   Uppercase is rejected, not folded: a key has exactly one spelling, and
 *   acme_names_domain_normalize() is the one place that folds input from
 *   configuration or the CA. With ACME_NAMES_WILDCARD a leading "*." is
 *   allowed. IPv4 literals pass (they are LDH). IPv6 literals (RFC 8738 IP
 *   identifiers) pass in their one canonical spelling only, RFC 5952's as
 *   inet_ntop writes it ("::1", "2001:db8::1"): no brackets, no zone, no
 *   uppercase, no leading zeros. Their ':' is the only character outside LDH
 *   that a name may have; it is harmless in a path or key, and the checked
 *   round trip through inet_pton keeps anything else out.
 * - id (account ids, lock names): [A-Za-z0-9._-], 1..64 characters, not
 *   starting with '.' or '-', no "..". Mixed case is kept: mod_md account ids
 *   look like "ACME-pebble-0001".
 * - aspect (the item inside a name, e.g. "privkey.rsa2048.pem"):
 *   [A-Za-z0-9._-], 1..160 characters, not starting with '.', no "..".
 *   A leading dot is reserved for the store's own temporary files.
 * - token (ACME challenge tokens, RFC 8555 section 8.1): base64url alphabet
 *   [A-Za-z0-9_-], 1..128 characters, no padding. */
#ifndef ACME_NAMES_H
#define ACME_NAMES_H

#include <apr_errno.h>
#include <apr_hash.h>
#include <apr_pools.h>

#define ACME_NAMES_DOMAIN_MAX 253
#define ACME_NAMES_LABEL_MAX 63
#define ACME_NAMES_ID_MAX 64
#define ACME_NAMES_ASPECT_MAX 160
#define ACME_NAMES_TOKEN_MAX 128

/* On-disk/key form of a wildcard's "*." prefix. Domain names never contain
 * '_', so the mapping cannot collide with a real name and is reversible. */

/* Flags of acme_names_check_domain() and acme_names_dns_check(). */
#define ACME_NAMES_WILDCARD 0x01 /* accept a leading "*." (before two labels at least) */
#define ACME_NAMES_ANYCASE 0x02  /* accept uppercase: input the caller folds afterwards */
#define ACME_NAMES_KEY 0x04      /* a store key: archive keys end in ".<n>", so a last
                                  * label of digits only is fine */

/* The one DNS-name rule of mod_acme (store keys, directive values, CSR and
 * certificate names all use it): LDH labels of 1..63 characters, no '-' at
 * either end of a label, at most 253 characters, ASCII only (IDNs in their
 * xn-- form), lowercase unless ACME_NAMES_ANYCASE, no top-level label of
 * digits only unless the whole name is a dotted IPv4 address (which is LDH
 * too: IP identifiers are stored under their text) or ACME_NAMES_KEY. On APR_EINVAL, *pwhy
 * (if pwhy) says what is wrong, in words fit for a directive error. */
apr_status_t acme_names_dns_check(const char *name, int flags, const char **pwhy);

/* A store key for a domain: acme_names_dns_check() with ACME_NAMES_KEY, or an
 * IPv6 address in its RFC 5952 text (see the rules above). */
apr_status_t acme_names_check_domain(const char *name, int flags);
apr_status_t acme_names_check_id(const char *id);
apr_status_t acme_names_check_aspect(const char *aspect);
apr_status_t acme_names_check_token(const char *token);

/* Folds `in` to the canonical form (ASCII lowercase, one trailing dot
 * dropped; an IPv6 literal, also in brackets as in a Host header, to its
 * RFC 5952 text) and checks it as a domain with `flags`. An IPv6 literal
 * with a zone ("fe80::1%eth0") is invalid. *pout is allocated from p and set
 * only on success. */
apr_status_t acme_names_domain_normalize(const char **pout, apr_pool_t *p, const char *in,
                                         int flags);

/* The one mapping of a host a request or handshake names (Host header, SNI,
 * ServerName) to the value filed under it in `names` (keys: canonical names,
 * wildcards as "*.example.org"): `host` is normalized by
 * acme_names_domain_normalize() (no wildcard: a host never is one), then
 * looked up as it is, then as the wildcard one label up ("*.example.org"
 * covers "a.example.org", not "example.org" nor "a.b.example.org"). Anything
 * that is not a valid name (empty, ".", "..", ".example.org", "a..b", longer
 * than ACME_NAMES_DOMAIN_MAX, bytes outside LDH) is APR_EINVAL without a
 * lookup; a valid name filed nowhere is APR_NOTFOUND. On APR_SUCCESS *pvalue
 * is the value and *pname (if pname) the canonical name, from p. */
apr_status_t acme_names_host_lookup(void **pvalue, const char **pname, apr_pool_t *p,
                                    apr_hash_t *names, const char *host);

/* The key form (a store directory's name) of a valid, possibly wildcard,
 * domain: the name itself, "*.example.org" too, as mod_md names its store
 * directories (mod_acme's first layout wrote "_wildcard_.example.org"; the
 * store converts it). One place says it, so a backend never guesses. The
 * caller has checked `domain` already. */
const char *acme_names_domain_to_key(apr_pool_t *p, const char *domain);

/* Reverse of acme_names_domain_to_key(): NULL when `key` is not the key of a
 * valid domain (callers skip such entries, e.g. foreign files in a listing). */
const char *acme_names_domain_from_key(apr_pool_t *p, const char *key, int flags);

/* A copy of an untrusted string that is safe to put into a log line: non
 * printable bytes are escaped as \xNN and the result is cut after 80 input
 * bytes ("..." appended). NULL becomes "(null)". */
const char *acme_names_printable(apr_pool_t *p, const char *s);

#endif /* ACME_NAMES_H */
