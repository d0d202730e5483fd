/* The ACME directory (RFC 8555 7.1.1) and its meta object.
 *
 * Parsing validates everything the CA sent: the three resources a client
 * cannot work without (newNonce, newAccount, newOrder) must be present, every
 * resource URL must be absolute http(s), and meta members must have their
 * types (the informational links termsOfService and website may be any
 * absolute URI: pebble's is a "data:" URL).
 * Unknown members are ignored, as the RFC asks. Also understood:
 *   - "renewalInfo" (RFC 9773, ARI): the base URL of renewal information;
 *   - meta "profiles" (draft-ietf-acme-profiles): profile name -> description.
 *
 * Everything is allocated in the pool passed; the struct is read-only after
 * parsing. Errors fill the acme_result_t with APR_EINVAL and a reason naming
 * the member ("directory: member 'newOrder' is missing"). */
#ifndef ACME_DIRECTORY_H
#define ACME_DIRECTORY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "acme_result.h"

/* Bounds on what a directory may announce; larger lists are refused, since
 * no real CA comes close and the values end up in status pages. */
#define ACME_DIRECTORY_MAX_PROFILES 64
#define ACME_DIRECTORY_MAX_CAA 64
#define ACME_DIRECTORY_MAX_TEXT 1024

typedef struct acme_directory_profile_t {
    const char *name;         /* e.g. "shortlived" */
    const char *description;  /* the CA's text (may be a URL), never NULL */
} acme_directory_profile_t;

typedef struct acme_directory_t {
    const char *new_nonce;      /* required */
    const char *new_account;    /* required */
    const char *new_order;      /* required */
    const char *new_authz;      /* optional (pre-authorization), else NULL */
    const char *revoke_cert;    /* optional here; revocation fails without it */
    const char *key_change;     /* optional here; rollover fails without it */
    const char *renewal_info;   /* ARI base URL, or NULL */
    /* meta */
    const char *terms_of_service;     /* absolute URI (any scheme) or NULL */
    const char *website;              /* absolute URI (any scheme) or NULL */
    apr_array_header_t *caa_identities;  /* const char *, never NULL */
    int external_account_required;
    apr_array_header_t *profiles;     /* acme_directory_profile_t, never NULL */
} acme_directory_t;

/* Parses a directory document (the body of GET <directory URL>). */
apr_status_t acme_directory_parse(acme_directory_t **pdir, apr_pool_t *p, const char *body,
                                  apr_size_t len, acme_result_t *r);

/* The same from a parsed JSON value (must be an object). */
apr_status_t acme_directory_from_json(acme_directory_t **pdir, apr_pool_t *p,
                                      const json_t *json, acme_result_t *r);

/* The profile called `name`, or NULL when the CA does not offer it. */
const acme_directory_profile_t *acme_directory_get_profile(const acme_directory_t *dir,
                                                           const char *name);

#endif /* ACME_DIRECTORY_H */
