/* Problem documents (RFC 9457, formerly 7807) as ACME uses them (RFC 8555
 * 6.7), and the one table that says what each ACME error type means for us.
 *
 * Parsed text is sanitized: control characters become spaces and long values
 * are cut (ACME_PROBLEM_MAX_TEXT bytes, at a UTF-8 boundary, marked "..."),
 * so problem fields can go into logs and status pages as they are. */
#ifndef ACME_PROBLEM_H
#define ACME_PROBLEM_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#define ACME_PROBLEM_NS "urn:ietf:params:acme:error:"
/* The pre-RFC namespace some CAs still send; understood by the table. */
#define ACME_PROBLEM_NS_LEGACY "urn:acme:error:"
/* Longest detail/title kept; longer text is cut. */
#define ACME_PROBLEM_MAX_TEXT 1024
/* Subproblems kept from one document (an order holds at most a few hundred
 * identifiers; more are dropped and counted in `subproblems_dropped`). */
#define ACME_PROBLEM_MAX_SUBPROBLEMS 100

/* What a failure means for the job that ran into it:
 *   RETRY       transient: try again later (at retry_at if the CA said so).
 *   GIVE_UP     repeating this request cannot succeed (it is moot or was
 *               malformed); abandon the operation, start afresh later.
 *   FIX_CONFIG  an admin must change something (names, DNS, CAA, contact,
 *               EAB, keys, trust roots, firewall); tell them. */
typedef enum {
    ACME_ACTION_RETRY,
    ACME_ACTION_GIVE_UP,
    ACME_ACTION_FIX_CONFIG
} acme_problem_action_e;

typedef struct acme_subproblem_t {
    const char *type;      /* full URN, or NULL if absent */
    const char *detail;    /* or NULL */
    const char *id_type;   /* identifier, e.g. "dns", or NULL */
    const char *id_value;  /* e.g. "a.example", or NULL */
} acme_subproblem_t;

typedef struct acme_problem_t {
    const char *type;      /* full URN; "about:blank" when absent (RFC 9457) */
    const char *title;     /* or NULL */
    const char *detail;    /* or NULL */
    int status;            /* the document's "status", 0 if absent */
    apr_array_header_t *subproblems;  /* of acme_subproblem_t *, never NULL */
    int subproblems_dropped;          /* malformed or over the cap */
} acme_problem_t;

/* Parses a problem document body into *pprob (allocated in `p`).
 * APR_EINVAL when it is not JSON, not an object, or "type"/"detail"/"title"
 * have the wrong type (callers then fall back to the HTTP status);
 * APR_ENOSPC when over ACME_JSON_MAX_BYTES. Malformed subproblems are
 * skipped, a non-integer "status" is ignored. */
apr_status_t acme_problem_parse(acme_problem_t **pprob, apr_pool_t *p, const char *body,
                                apr_size_t len, const char **perr);

/* The same from a JSON object, e.g. the "error" member of a challenge,
 * authorization or order. */
apr_status_t acme_problem_from_json(acme_problem_t **pprob, apr_pool_t *p,
                                    const json_t *json, const char **perr);

/* "rateLimited" for ACME_PROBLEM_NS "rateLimited" (or the legacy namespace);
 * NULL for other types and NULL. Points into `type`. */
const char *acme_problem_short_name(const char *type);

/* True when `type` is the ACME error `short_name` (e.g. "badNonce"). */
int acme_problem_type_is(const char *type, const char *short_name);

/* The table: the action for an error type. Types not in the table (other
 * namespaces, "about:blank", NULL) are classified by HTTP status: 408, 429
 * and 5xx retry, other 4xx give up, anything else (0, unexpected 2xx/3xx)
 * retries. */
acme_problem_action_e acme_problem_type_action(const char *type, int http_status);

/* Classifies a whole document: like acme_problem_type_action(), except that
 * a "compound" problem takes the most severe action of its subproblems
 * (FIX_CONFIG over GIVE_UP over RETRY), or, without subproblems, the action
 * of its HTTP status. */
acme_problem_action_e acme_problem_action(const acme_problem_t *prob, int http_status);

/* RFC 8555's one-line description of a known type, NULL for unknown ones. */
const char *acme_problem_describe(const char *type);

/* "retry", "give up", "fix config". */
const char *acme_problem_action_name(acme_problem_action_e action);

#endif /* ACME_PROBLEM_H */
