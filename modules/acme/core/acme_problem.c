/* Problem documents and the ACME error type table, see acme_problem.h. */
#include <string.h>

#include <apr_strings.h>

#include "acme_json.h"
#include "acme_log.h"
#include "acme_problem.h"

/* ------------------------------------------------------------ the table */

typedef struct {
    const char *name;               /* short name in ACME_PROBLEM_NS */
    acme_problem_action_e action;
    const char *description;        /* RFC 8555 6.7 wording */
} problem_type_t;

/* Every error type of RFC 8555 6.7, plus ARI (RFC 9773) and profiles. The
 * challenge errors (caa, connection, dns, incorrectResponse, tls,
 * unauthorized) are FIX_CONFIG: they almost always mean DNS, a firewall or a
 * load balancer sends the CA somewhere else. The scheduler still retries
 * them slowly, since the fix may happen outside httpd. */
static const problem_type_t problem_types[] = {
    { "accountDoesNotExist", ACME_ACTION_RETRY,
      "the account does not exist (the client registers anew)" },
    { "alreadyReplaced", ACME_ACTION_GIVE_UP,
      "the predecessor certificate has already been marked as replaced" },
    { "alreadyRevoked", ACME_ACTION_GIVE_UP,
      "the certificate to be revoked has already been revoked" },
    { "badCSR", ACME_ACTION_FIX_CONFIG,
      "the CSR is unacceptable (e.g. due to a short key)" },
    { "badNonce", ACME_ACTION_RETRY,
      "the client sent an unacceptable anti-replay nonce" },
    { "badPublicKey", ACME_ACTION_FIX_CONFIG,
      "the JWS was signed by a public key the server does not support" },
    { "badRevocationReason", ACME_ACTION_GIVE_UP,
      "the revocation reason provided is not allowed by the server" },
    { "badSignatureAlgorithm", ACME_ACTION_FIX_CONFIG,
      "the JWS was signed with an algorithm the server does not support" },
    { "caa", ACME_ACTION_FIX_CONFIG,
      "CAA records forbid the CA from issuing a certificate" },
    { "compound", ACME_ACTION_RETRY,
      "specific error conditions are indicated in the subproblems" },
    { "connection", ACME_ACTION_FIX_CONFIG,
      "the server could not connect to the validation target" },
    { "dns", ACME_ACTION_FIX_CONFIG,
      "there was a problem with a DNS query during identifier validation" },
    { "externalAccountRequired", ACME_ACTION_FIX_CONFIG,
      "the request must include an external account binding" },
    { "incorrectResponse", ACME_ACTION_FIX_CONFIG,
      "the response received did not match the challenge's requirements" },
    { "invalidContact", ACME_ACTION_FIX_CONFIG,
      "a contact URL for the account was invalid" },
    { "invalidProfile", ACME_ACTION_FIX_CONFIG,
      "the requested certificate profile is not offered" },
    { "malformed", ACME_ACTION_GIVE_UP,
      "the request message was malformed" },
    { "orderNotReady", ACME_ACTION_RETRY,
      "the order is not ready to be finalized" },
    { "rateLimited", ACME_ACTION_RETRY,
      "the request exceeds a rate limit" },
    { "rejectedIdentifier", ACME_ACTION_FIX_CONFIG,
      "the server will not issue certificates for the identifier" },
    { "serverInternal", ACME_ACTION_RETRY,
      "the server experienced an internal error" },
    { "tls", ACME_ACTION_FIX_CONFIG,
      "the server received a TLS error during validation" },
    { "unauthorized", ACME_ACTION_FIX_CONFIG,
      "the client lacks sufficient authorization" },
    { "unsupportedContact", ACME_ACTION_FIX_CONFIG,
      "a contact URL for the account used an unsupported protocol scheme" },
    { "unsupportedIdentifier", ACME_ACTION_FIX_CONFIG,
      "an identifier is of an unsupported type" },
    { "userActionRequired", ACME_ACTION_FIX_CONFIG,
      "visit the \"instance\" URL and take the actions specified there" },
};

#define PROBLEM_TYPE_COUNT (sizeof(problem_types) / sizeof(problem_types[0]))

const char *acme_problem_short_name(const char *type)
{
    if (type == NULL) {
        return NULL;
    }
    if (strncmp(type, ACME_PROBLEM_NS, sizeof(ACME_PROBLEM_NS) - 1) == 0) {
        return type + sizeof(ACME_PROBLEM_NS) - 1;
    }
    if (strncmp(type, ACME_PROBLEM_NS_LEGACY, sizeof(ACME_PROBLEM_NS_LEGACY) - 1) == 0) {
        return type + sizeof(ACME_PROBLEM_NS_LEGACY) - 1;
    }
    return NULL;
}

int acme_problem_type_is(const char *type, const char *short_name)
{
    const char *name = acme_problem_short_name(type);

    return name != NULL && strcmp(name, short_name) == 0;
}

static const problem_type_t *problem_type_find(const char *type)
{
    const char *name = acme_problem_short_name(type);
    apr_size_t i;

    if (name == NULL) {
        return NULL;
    }
    for (i = 0; i < PROBLEM_TYPE_COUNT; ++i) {
        if (strcmp(problem_types[i].name, name) == 0) {
            return &problem_types[i];
        }
    }
    return NULL;
}

acme_problem_action_e acme_problem_type_action(const char *type, int http_status)
{
    const problem_type_t *pt = problem_type_find(type);

    if (pt != NULL) {
        return pt->action;
    }
    if (http_status == 408 || http_status == 429 || http_status >= 500) {
        return ACME_ACTION_RETRY;
    }
    if (http_status >= 400) {
        return ACME_ACTION_GIVE_UP;
    }
    return ACME_ACTION_RETRY;
}

/* FIX_CONFIG > GIVE_UP > RETRY: the admin needs to hear about the worst. */
static int action_severity(acme_problem_action_e action)
{
    switch (action) {
    case ACME_ACTION_RETRY:      return 0;
    case ACME_ACTION_GIVE_UP:    return 1;
    case ACME_ACTION_FIX_CONFIG: return 2;
    }
    return 0;
}

acme_problem_action_e acme_problem_action(const acme_problem_t *prob, int http_status)
{
    acme_problem_action_e worst = ACME_ACTION_RETRY, a;
    int i;

    if (!acme_problem_type_is(prob->type, "compound")) {
        return acme_problem_type_action(prob->type, http_status);
    }
    if (prob->subproblems->nelts == 0) {
        /* "see the subproblems" without any: only the status says anything */
        return acme_problem_type_action(NULL, http_status);
    }
    for (i = 0; i < prob->subproblems->nelts; ++i) {
        const acme_subproblem_t *sub = APR_ARRAY_IDX(prob->subproblems, i,
                                                     const acme_subproblem_t *);
        a = acme_problem_type_action(sub->type, http_status);
        if (action_severity(a) > action_severity(worst)) {
            worst = a;
        }
    }
    return worst;
}

const char *acme_problem_describe(const char *type)
{
    const problem_type_t *pt = problem_type_find(type);

    return pt ? pt->description : NULL;
}

const char *acme_problem_action_name(acme_problem_action_e action)
{
    switch (action) {
    case ACME_ACTION_RETRY:      return "retry";
    case ACME_ACTION_GIVE_UP:    return "give up";
    case ACME_ACTION_FIX_CONFIG: return "fix config";
    }
    return "?";
}

/* ------------------------------------------------------------ parsing */

/* Text from the CA goes into logs and status pages: no control characters
 * (no forged log lines) and bounded length, cut at a UTF-8 boundary. */
static const char *problem_text(apr_pool_t *p, const char *s)
{
    apr_size_t len, cut, i;
    char *out;

    if (s == NULL) {
        return NULL;
    }
    len = cut = strlen(s);
    if (len > ACME_PROBLEM_MAX_TEXT) {
        cut = ACME_PROBLEM_MAX_TEXT;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) {
            --cut;
        }
    }
    out = apr_palloc(p, cut + 4);
    for (i = 0; i < cut; ++i) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    memcpy(out + cut, cut < len ? "..." : "", cut < len ? 4 : 1);
    return out;
}

/* Subproblems are diagnostics: a malformed one is dropped, not fatal. */
static acme_subproblem_t *subproblem_parse(apr_pool_t *p, const json_t *json)
{
    acme_subproblem_t *sub;
    const json_t *id;
    const char *type, *detail, *id_type = NULL, *id_value = NULL;

    if (!json_is_object(json)
        || acme_json_get_string_opt(&type, p, json, "type", NULL) != APR_SUCCESS
        || acme_json_get_string_opt(&detail, p, json, "detail", NULL) != APR_SUCCESS) {
        return NULL;
    }
    id = json_object_get(json, "identifier");
    if (id != NULL
        && (acme_json_get_string(&id_type, p, id, "type", NULL) != APR_SUCCESS
            || acme_json_get_string(&id_value, p, id, "value", NULL) != APR_SUCCESS)) {
        id_type = id_value = NULL;
    }
    sub = apr_pcalloc(p, sizeof(*sub));
    sub->type = problem_text(p, type);
    sub->detail = problem_text(p, detail);
    sub->id_type = problem_text(p, id_type);
    sub->id_value = problem_text(p, id_value);
    return sub;
}

static void subproblems_parse(acme_problem_t *prob, apr_pool_t *p, const json_t *json)
{
    const json_t *subs = json_object_get(json, "subproblems"), *item;
    acme_subproblem_t *sub;
    size_t i;

    if (subs == NULL || json_is_null(subs)) {
        return;
    }
    if (!json_is_array(subs)) {
        prob->subproblems_dropped = 1;
        return;
    }
    json_array_foreach(subs, i, item) {
        sub = NULL;
        if (prob->subproblems->nelts < ACME_PROBLEM_MAX_SUBPROBLEMS) {
            sub = subproblem_parse(p, item);
        }
        if (sub == NULL) {
            ++prob->subproblems_dropped;
            continue;
        }
        APR_ARRAY_PUSH(prob->subproblems, acme_subproblem_t *) = sub;
    }
    if (prob->subproblems_dropped > 0) {
        acme_log(ACME_LOG_DEBUG, APR_EINVAL, "ACME0430 problem document: %d subproblems"
                 " dropped (malformed or over the limit)", prob->subproblems_dropped);
    }
}

apr_status_t acme_problem_from_json(acme_problem_t **pprob, apr_pool_t *p,
                                    const json_t *json, const char **perr)
{
    acme_problem_t *prob;
    const char *type, *title, *detail;
    apr_int64_t status;
    apr_status_t rv;

    *pprob = NULL;
    if (!json_is_object(json)) {
        if (perr) *perr = "problem document is not a JSON object";
        return APR_EINVAL;
    }
    if ((rv = acme_json_get_string_opt(&type, p, json, "type", perr)) != APR_SUCCESS
        || (rv = acme_json_get_string_opt(&title, p, json, "title", perr)) != APR_SUCCESS
        || (rv = acme_json_get_string_opt(&detail, p, json, "detail", perr)) != APR_SUCCESS) {
        return rv;
    }
    prob = apr_pcalloc(p, sizeof(*prob));
    prob->type = type ? problem_text(p, type) : "about:blank";
    prob->title = problem_text(p, title);
    prob->detail = problem_text(p, detail);
    if (acme_json_get_int(&status, p, json, "status", NULL) == APR_SUCCESS
        && status >= 100 && status <= 599) {
        prob->status = (int)status;
    }
    prob->subproblems = apr_array_make(p, 0, sizeof(acme_subproblem_t *));
    subproblems_parse(prob, p, json);
    *pprob = prob;
    return APR_SUCCESS;
}

apr_status_t acme_problem_parse(acme_problem_t **pprob, apr_pool_t *p, const char *body,
                                apr_size_t len, const char **perr)
{
    json_t *json;
    apr_status_t rv;

    *pprob = NULL;
    rv = acme_json_parse(&json, p, body, len, ACME_JSON_OBJECT, perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return acme_problem_from_json(pprob, p, json, perr);
}
