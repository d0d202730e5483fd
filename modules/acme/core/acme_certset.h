/* Checking a certificate set in the store (layout in acme_layout.h) before
 * it is served: one privkey/pubcert pair per key spec.
 *
 * Two users with different bars:
 *  - activation: a STAGING set goes live only when acme_certset_is_complete()
 *    (every pair usable, every name covered, nothing expired);
 *  - the mod_ssl hand-over: of a LIVE set, the usable pairs are served (an
 *    expired one or one missing a new name is still better than nothing), a
 *    broken pair is not handed to mod_ssl, which would refuse to start.
 * No httpd header: the admin tool can check sets the same way.
 *
 * Ownership: everything returned is allocated from the pool passed; parsed
 * keys and certificates are released by cleanups on that pool. Nothing
 * secret (no key material) ever goes into `problem` texts. */
#ifndef ACME_CERTSET_H
#define ACME_CERTSET_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "acme_store.h"

/* One key spec's pair. */
typedef struct {
    const char *spec_name;   /* canonical ("rsa2048", "P-256"): the aspects are
                              * privkey.<spec_name>.pem / pubcert.<spec_name>.pem */
    apr_status_t status;     /* APR_SUCCESS: usable (key of the spec, chain of leaf
                              * plus issuers in order, the key is the leaf's);
                              * APR_ENOENT: privkey or pubcert absent;
                              * APR_EINVAL: present but unusable (see problem) */
    int has_key;             /* privkey.<spec_name>.pem exists */
    int has_cert;            /* pubcert.<spec_name>.pem exists */
    const char *problem;     /* why the pair should not go live, or NULL; also set
                              * for a usable pair that misses a name or expired */
    int names_ok;            /* the leaf covers every name asked for */
    const char *name_missing;/* the first name asked for that the leaf does not
                              * cover; NULL when names_ok or the names are invalid */
    int expired;             /* notAfter is before `now` */
    apr_time_t not_before;   /* of the leaf; 0 when there is no readable leaf */
    apr_time_t not_after;
    const char *serial;      /* leaf serial in hex, for log lines; NULL if none */
    const char *leaf_sha256; /* SHA-256 of the leaf's DER (hex); NULL if no usable leaf */
    const char *issuer;      /* the leaf's issuer, one line; NULL if no usable leaf */
    const char *issuer_name; /* the same, "/CN=..." (mod_md's issuer-name); NULL ditto */
    const char *ari_cert_id; /* the leaf's ARI certificate id; NULL if none (no AKI) */
    const char *key_sha256;  /* SHA-256 (hex) of the privkey file's bytes; NULL if absent */
    const char *cert_sha256; /* SHA-256 (hex) of the pubcert file's bytes; NULL if absent */
} acme_certset_pair_t;

typedef struct {
    const char *name;               /* the set's name (the domain's name) */
    apr_array_header_t *pairs;      /* acme_certset_pair_t, one per spec, in spec order */
    const char *problem;            /* "<spec>: <why>" of the first pair with one, or NULL */
    int usable;                     /* number of pairs with status APR_SUCCESS */
    apr_time_t not_before;          /* latest notBefore of the usable pairs, 0 if none */
    apr_time_t not_after;           /* earliest notAfter of the usable pairs, 0 if none */
    int stamped;                    /* the verdict came from the set's stamp (below),
                                     * nothing was decoded */
} acme_certset_check_t;

/* The stamp of a set: the verdict of a full check of a set whose every pair
 * was usable, with the SHA-256 of each file's bytes it was made on. Once the
 * files are read again and hash the same, the verdict holds without decoding
 * a key or a certificate (the costly part: OpenSSL's decoders). Any change of
 * a file, a damaged or foreign stamp, other specs or other names: the stamp
 * does not apply and the set is checked fully. Nothing secret is in it (a
 * hash of the key file, no key material). */
#define ACME_CERTSET_STAMP "verified.json"

/* Checks the set (group, name) for `specs` (acme_pkey_spec_t, at least one)
 * against the identifiers `names` (const char *, wildcards allowed) at time
 * `now`. APR_SUCCESS when the check ran: the verdict is in *pcheck, also
 * when the set does not exist (every pair APR_ENOENT). Other errors are the
 * store's (I/O): no verdict, since a failing disk says nothing about the
 * set. APR_EINVAL for an empty `specs`. */
apr_status_t acme_certset_check(acme_certset_check_t **pcheck, apr_pool_t *p,
                                acme_store_t *store, acme_store_group_e group,
                                const char *name, const apr_array_header_t *specs,
                                const apr_array_header_t *names, apr_time_t now);

/* True when every pair is usable, covers every name and has not expired:
 * the bar a staged set must pass to go live. */
int acme_certset_is_complete(const acme_certset_check_t *check);

/* True when every pair has its certificate file: whoever builds the set
 * (the renewal job saves a key first, its certificate when the CA delivers
 * it) is done with it. A set that is not issued is work in progress, not a
 * bad set. */
int acme_certset_is_issued(const acme_certset_check_t *check);

/* Flags of acme_certset_check_stamped(). */
#define ACME_CERTSET_RESTAMP 0x01   /* after a full check of a set whose every pair is
                                     * usable, save its stamp */

/* Like acme_certset_check(), but when the set's stamp applies (same specs
 * and names, every file present with the bytes it was verified with, the
 * stamp itself where only this process's user can have written it: see
 * acme_store_load_trusted(); a stamp anywhere else is ignored) the
 * verdict is rebuilt from it (check->stamped, `expired` and the problems
 * as of `now`). Otherwise the full check; with ACME_CERTSET_RESTAMP its
 * stamp is saved when it qualifies (a failing save is logged and only
 * costs the next pass a full check). Errors as acme_certset_check(). */
apr_status_t acme_certset_check_stamped(acme_certset_check_t **pcheck, apr_pool_t *p,
                                        acme_store_t *store, acme_store_group_e group,
                                        const char *name, const apr_array_header_t *specs,
                                        const apr_array_header_t *names, apr_time_t now,
                                        int flags);

/* Saves the stamp of `check` (a full check, not a stamped one, made for
 * `names`) into (group, check->name), atomically. APR_EINVAL when a pair
 * is not usable: only sets fit to serve are stamped. Store errors else. */
apr_status_t acme_certset_stamp_save(const acme_certset_check_t *check, apr_pool_t *p,
                                     acme_store_t *store, acme_store_group_e group,
                                     const apr_array_header_t *names);

#endif /* ACME_CERTSET_H */
