/* Orders, authorizations and challenges (RFC 8555 7.1.3-7.1.5, 7.4-7.5, 8).
 *
 * The objects' statuses are parsed to enums here and only here; every other
 * member is validated as it is read (URLs absolute http(s), identifiers
 * checked against their alphabets, tokens base64url, RFC 3339 times, list
 * sizes bounded), so that the rest of mod_acme can use them as they are.
 *
 * Nothing here sleeps: the poll functions fetch an object once and say
 * whether the caller can act now or when to look again (honouring the CA's
 * Retry-After). Objects are allocated in the pool passed.
 *
 * Errors as in acme_client.h. An order, authorization or challenge that the
 * CA declares invalid is ACME_EPROBLEM with the CA's problem (and its
 * subproblems, one per failed identifier) in the result. */
#ifndef ACME_ORDER_H
#define ACME_ORDER_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>

#include "acme_chain.h"
#include "acme_client.h"
#include "acme_problem.h"
#include "acme_result.h"

/* Bounds on CA documents (Let's Encrypt allows 100 names per order). */
#define ACME_ORDER_MAX_IDENTIFIERS 100
#define ACME_ORDER_MAX_CHALLENGES 16
/* Longest "profile" name and "replaces" certificate id accepted. */
#define ACME_ORDER_MAX_PROFILE 64
#define ACME_ORDER_MAX_REPLACES 512
/* How many alternate chains (Link rel="alternate") are looked at. */
#define ACME_ORDER_MAX_ALTERNATES 8
/* Poll interval when the CA sends no Retry-After. */
#define ACME_ORDER_POLL_INTERVAL apr_time_from_sec(2)

typedef enum {
    ACME_ORDER_PENDING,
    ACME_ORDER_READY,
    ACME_ORDER_PROCESSING,
    ACME_ORDER_VALID,
    ACME_ORDER_INVALID
} acme_order_status_e;

typedef enum {
    ACME_AUTHZ_PENDING,
    ACME_AUTHZ_VALID,
    ACME_AUTHZ_INVALID,
    ACME_AUTHZ_DEACTIVATED,
    ACME_AUTHZ_EXPIRED,
    ACME_AUTHZ_REVOKED
} acme_authz_status_e;

typedef enum {
    ACME_CHALLENGE_PENDING,
    ACME_CHALLENGE_PROCESSING,
    ACME_CHALLENGE_VALID,
    ACME_CHALLENGE_INVALID
} acme_challenge_status_e;

typedef struct acme_identifier_t {
    const char *type;   /* "dns" or "ip" */
    const char *value;  /* DNS name (lowercase, "*." allowed in orders) or IP */
} acme_identifier_t;

typedef struct acme_order_t {
    const char *url;                    /* the order URL */
    acme_order_status_e status;
    apr_time_t expires;                 /* 0 when absent */
    apr_array_header_t *identifiers;    /* acme_identifier_t */
    apr_array_header_t *authorizations; /* const char * URLs */
    const char *finalize;               /* URL */
    const char *certificate;            /* URL once valid, else NULL */
    const char *profile;                /* or NULL */
    const char *replaces;               /* or NULL */
    acme_problem_t *error;              /* or NULL */
} acme_order_t;

typedef struct acme_challenge_t {
    const char *type;                   /* "http-01", "dns-01", ... */
    const char *url;
    acme_challenge_status_e status;
    const char *token;                  /* base64url; NULL for types without */
    acme_problem_t *error;              /* or NULL */
} acme_challenge_t;

typedef struct acme_authz_t {
    const char *url;
    acme_authz_status_e status;
    acme_identifier_t identifier;       /* without "*." */
    int wildcard;
    apr_time_t expires;                 /* 0 when absent */
    apr_array_header_t *challenges;     /* acme_challenge_t * */
} acme_authz_t;

/* What to order. Strings are borrowed for the call. */
typedef struct acme_order_params_t {
    const apr_array_header_t *names;    /* const char *: DNS names, wildcards, IPs */
    const char *profile;                /* draft-ietf-acme-profiles, or NULL */
    const char *replaces;               /* ARI certificate id (RFC 9773), or NULL */
} acme_order_params_t;

/* Status names as the RFC spells them. */
const char *acme_order_status_name(acme_order_status_e status);
const char *acme_authz_status_name(acme_authz_status_e status);
const char *acme_challenge_status_name(acme_challenge_status_e status);

/* Parses an RFC 3339 time ("2025-01-02T03:04:05.5Z", "...+02:00").
 * APR_EINVAL for anything else. */
apr_status_t acme_order_parse_time(apr_time_t *pt, const char *s);

/* Parse CA documents; `url` (may be NULL) is the object's URL. */
apr_status_t acme_order_from_json(acme_order_t **porder, apr_pool_t *p, const json_t *json,
                                  const char *url, acme_result_t *r);
apr_status_t acme_authz_from_json(acme_authz_t **pauthz, apr_pool_t *p, const json_t *json,
                                  const char *url, acme_result_t *r);
apr_status_t acme_challenge_from_json(acme_challenge_t **pchal, apr_pool_t *p,
                                      const json_t *json, acme_result_t *r);

/* True when `authz` is for one of the order's identifiers (for a wildcard
 * authorization: "*." + its value). A client checks this before publishing
 * anything, so that a CA cannot make it prove control of names it did not
 * order. */
int acme_order_covers_authz(const acme_order_t *order, const acme_authz_t *authz);

/* The first challenge of `authz` whose type is in `prefs` (const char *,
 * most preferred first) and that is not invalid; NULL when none matches. */
const acme_challenge_t *acme_authz_select_challenge(const acme_authz_t *authz,
                                                    const apr_array_header_t *prefs);

/* newOrder (RFC 8555 7.4). Names are classified (IP or DNS) and checked
 * first; a profile the directory does not list is refused before sending
 * (APR_EINVAL, FIX_CONFIG). */
apr_status_t acme_order_create(acme_order_t **porder, apr_pool_t *p, acme_client_t *c,
                               const acme_order_params_t *params, acme_result_t *r);

/* POST-as-GET of an order / authorization URL. */
apr_status_t acme_order_fetch(acme_order_t **porder, apr_pool_t *p, acme_client_t *c,
                              const char *url, acme_result_t *r);
apr_status_t acme_authz_fetch(acme_authz_t **pauthz, apr_pool_t *p, acme_client_t *c,
                              const char *url, acme_result_t *r);

/* One polling step. Fetches the object; *pnext_at is 0 when the caller can
 * act (order: not pending/processing; authorization: not pending), else the
 * time to poll again: the CA's Retry-After if it sent one (relative to
 * `now`), otherwise now + ACME_ORDER_POLL_INTERVAL. An invalid object is
 * ACME_EPROBLEM with the CA's problem (for an authorization, the failed
 * challenge's) in r; the object is still returned in *porder / *pauthz. */
apr_status_t acme_order_poll(acme_order_t **porder, apr_time_t *pnext_at, apr_pool_t *p,
                             acme_client_t *c, const char *url, apr_time_t now,
                             acme_result_t *r);
apr_status_t acme_authz_poll(acme_authz_t **pauthz, apr_time_t *pnext_at, apr_pool_t *p,
                             acme_client_t *c, const char *url, apr_time_t now,
                             acme_result_t *r);

/* One look at an order / authorization for a caller that paces its own
 * polling (the renewal job): like acme_order_poll() / acme_authz_poll(), but
 * *pretry_at is only what the CA asked for: its Retry-After time while the
 * object is pending (order: or processing), 0 when it sent none or the object
 * is final. The caller must not poll again before a non-zero *pretry_at. */
apr_status_t acme_order_look(acme_order_t **porder, apr_time_t *pretry_at, apr_pool_t *p,
                             acme_client_t *c, const char *url, apr_time_t now,
                             acme_result_t *r);
apr_status_t acme_authz_look(acme_authz_t **pauthz, apr_time_t *pretry_at, apr_pool_t *p,
                             acme_client_t *c, const char *url, apr_time_t now,
                             acme_result_t *r);

/* Tells the CA the challenge is ready to be validated (POST {} to its URL,
 * RFC 8555 7.5.1); *pchal receives the CA's updated challenge. */
apr_status_t acme_challenge_respond(acme_challenge_t **pchal, apr_pool_t *p, acme_client_t *c,
                                    const acme_challenge_t *chal, acme_result_t *r);

/* Deactivates an authorization (RFC 8555 7.5.2), e.g. after giving up. */
apr_status_t acme_authz_deactivate(acme_authz_t **pauthz, apr_pool_t *p, acme_client_t *c,
                                   const char *url, acme_result_t *r);

/* Finalizes a ready order with a CSR (DER, from acme_csr_create()). The
 * answer is the order, usually processing or already valid. An order that
 * is not ready is APR_EINVAL without a request. */
apr_status_t acme_order_finalize(acme_order_t **porder, apr_pool_t *p, acme_client_t *c,
                                 const acme_order_t *order, const unsigned char *csr_der,
                                 apr_size_t csr_len, acme_result_t *r);

/* Downloads the certificate chain of a valid order (RFC 8555 7.4.2). With
 * `preferred_issuer` (a CN), the default chain and up to
 * ACME_ORDER_MAX_ALTERNATES alternates (Link rel="alternate") are
 * considered and the first one that acme_order_chain_matches() is returned;
 * when none matches, the default chain. The default chain must parse and be
 * in issuing order (else APR_EINVAL); an alternate that cannot be fetched or
 * fails those checks is skipped. */
apr_status_t acme_order_download(acme_cert_chain_t **pchain, apr_pool_t *p, acme_client_t *c,
                                 const char *cert_url, const char *preferred_issuer,
                                 acme_result_t *r);

/* True when `issuer_cn` names the chain's top: the subject CN of a
 * certificate after the leaf, or the issuer CN of the last certificate
 * (the root, usually not sent). Case-sensitive, as certbot compares. */
int acme_order_chain_matches(const acme_cert_chain_t *chain, const char *issuer_cn);

#endif /* ACME_ORDER_H */
