/* Order, authorization and challenge objects: the one place where their
 * statuses become enums and their members are validated (acme_order.h). */
#include <string.h>

#include <apr_strings.h>

#include "acme_json.h"
#include "acme_keyauth.h"
#include "acme_order.h"
#include "acme_san.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const order_names[] = {
    "pending", "ready", "processing", "valid", "invalid"
};
static const char *const authz_names[] = {
    "pending", "valid", "invalid", "deactivated", "expired", "revoked"
};
static const char *const challenge_names[] = {
    "pending", "processing", "valid", "invalid"
};

static const char *name_of(const char *const *names, unsigned n, unsigned i)
{
    return i < n ? names[i] : "unknown";
}

const char *acme_order_status_name(acme_order_status_e status)
{
    return name_of(order_names, N_ELEMS(order_names), (unsigned)status);
}

const char *acme_authz_status_name(acme_authz_status_e status)
{
    return name_of(authz_names, N_ELEMS(authz_names), (unsigned)status);
}

const char *acme_challenge_status_name(acme_challenge_status_e status)
{
    return name_of(challenge_names, N_ELEMS(challenge_names), (unsigned)status);
}

/* Reads member "status" and maps it to its index in `names`. */
static apr_status_t get_status(int *pstatus, apr_pool_t *p, const json_t *obj,
                               const char *const *names, unsigned n, const char **perr)
{
    const char *s;
    apr_status_t rv;
    unsigned i;

    if ((rv = acme_json_get_string(&s, p, obj, "status", perr)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < n; ++i) {
        if (strcmp(s, names[i]) == 0) {
            *pstatus = (int)i;
            return APR_SUCCESS;
        }
    }
    *perr = apr_psprintf(p, "unknown status '%.32s'", s);
    return APR_EINVAL;
}

/* Reads exactly `n` digits. */
static int read_digits(const char **ps, int n, int *pval)
{
    int v = 0;

    while (n-- > 0) {
        if (**ps < '0' || **ps > '9') {
            return 0;
        }
        v = v * 10 + (*(*ps)++ - '0');
    }
    *pval = v;
    return 1;
}

static int expect(const char **ps, const char *chars)
{
    if (**ps && strchr(chars, **ps)) {
        ++*ps;
        return 1;
    }
    return 0;
}

/* "Z" or "+hh:mm" / "-hh:mm" as seconds east of UTC. */
static int read_offset(const char **ps, int *poff)
{
    int sign, hh, mm;

    if (expect(ps, "Zz")) {
        *poff = 0;
        return 1;
    }
    sign = **ps == '-' ? -1 : 1;
    if (!expect(ps, "+-") || !read_digits(ps, 2, &hh) || !expect(ps, ":")
        || !read_digits(ps, 2, &mm) || hh > 23 || mm > 59) {
        return 0;
    }
    *poff = sign * (hh * 3600 + mm * 60);
    return 1;
}

apr_status_t acme_order_parse_time(apr_time_t *pt, const char *s)
{
    apr_time_exp_t tm;
    apr_time_t t;
    int y, mo, d, h, mi, sec, off, usec = 0, scale = 100000;

    memset(&tm, 0, sizeof(tm));
    if (!read_digits(&s, 4, &y) || !expect(&s, "-") || !read_digits(&s, 2, &mo)
        || !expect(&s, "-") || !read_digits(&s, 2, &d) || !expect(&s, "Tt")
        || !read_digits(&s, 2, &h) || !expect(&s, ":") || !read_digits(&s, 2, &mi)
        || !expect(&s, ":") || !read_digits(&s, 2, &sec)) {
        return APR_EINVAL;
    }
    if (expect(&s, ".")) {
        if (*s < '0' || *s > '9') {
            return APR_EINVAL;
        }
        for (; *s >= '0' && *s <= '9'; ++s, scale /= 10) {
            usec += (*s - '0') * scale;   /* digits past microseconds add 0 */
        }
    }
    if (!read_offset(&s, &off) || *s || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31
        || h > 23 || mi > 59 || sec > 60) {
        return APR_EINVAL;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_usec = usec;
    if (apr_time_exp_gmt_get(&t, &tm) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *pt = t - apr_time_from_sec(off);
    return APR_SUCCESS;
}

static apr_status_t get_time_opt(apr_time_t *pt, apr_pool_t *p, const json_t *obj,
                                 const char *key, const char **perr)
{
    const char *s;
    apr_status_t rv;

    *pt = 0;
    if ((rv = acme_json_get_string_opt(&s, p, obj, key, perr)) != APR_SUCCESS || !s) {
        return rv;
    }
    if (strlen(s) > 64 || acme_order_parse_time(pt, s) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "member '%s' is not an RFC 3339 time", key);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static apr_status_t get_url_opt(const char **purl, apr_pool_t *p, const json_t *obj,
                                const char *key, const char **perr)
{
    apr_status_t rv;

    *purl = NULL;
    if (json_object_get(obj, key) == NULL || json_is_null(json_object_get(obj, key))) {
        return APR_SUCCESS;
    }
    if ((rv = acme_json_get_url(purl, p, obj, key, perr)) != APR_SUCCESS) {
        *purl = NULL;
    }
    return rv;
}

static apr_status_t get_problem_opt(acme_problem_t **pprob, apr_pool_t *p, const json_t *obj,
                                    const char **perr)
{
    const json_t *err = json_object_get(obj, "error");
    const char *why = NULL;

    *pprob = NULL;
    if (err == NULL || json_is_null(err)) {
        return APR_SUCCESS;
    }
    if (acme_problem_from_json(pprob, p, err, &why) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "member 'error': %s", why);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* {"type": "dns"|"ip", "value": ...}, the value checked by acme_san_parse. */
static apr_status_t parse_identifier(acme_identifier_t *id, apr_pool_t *p, const json_t *obj,
                                     int allow_wildcard, const char **perr)
{
    const char *type, *value;
    acme_san_t san;
    apr_status_t rv;

    if ((rv = acme_json_get_string(&type, p, obj, "type", perr))
        || (rv = acme_json_get_string(&value, p, obj, "value", perr))) {
        return rv;
    }
    if ((strcmp(type, "dns") && strcmp(type, "ip")) || strlen(value) > ACME_SAN_DNS_MAX
        || acme_san_parse(&san, p, value, allow_wildcard) != APR_SUCCESS
        || (san.type == ACME_SAN_IP) != (strcmp(type, "ip") == 0)) {
        *perr = apr_psprintf(p, "invalid identifier %.16s:%.256s", type, value);
        return APR_EINVAL;
    }
    id->type = type;
    id->value = san.value;
    return APR_SUCCESS;
}

static apr_status_t parse_identifiers(apr_array_header_t **pids, apr_pool_t *p,
                                      const json_t *obj, const char **perr)
{
    const json_t *arr;
    apr_array_header_t *ids;
    apr_status_t rv;
    size_t i;

    if ((rv = acme_json_get_array(&arr, p, obj, "identifiers", perr)) != APR_SUCCESS) {
        return rv;
    }
    if (json_array_size(arr) == 0 || json_array_size(arr) > ACME_ORDER_MAX_IDENTIFIERS) {
        *perr = "member 'identifiers' is empty or too long";
        return APR_EINVAL;
    }
    ids = apr_array_make(p, (int)json_array_size(arr), sizeof(acme_identifier_t));
    for (i = 0; i < json_array_size(arr); ++i) {
        rv = parse_identifier(apr_array_push(ids), p, json_array_get(arr, i), 1, perr);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    *pids = ids;
    return APR_SUCCESS;
}

static apr_status_t parse_authz_urls(apr_array_header_t **purls, apr_pool_t *p,
                                     const json_t *obj, const char **perr)
{
    apr_array_header_t *urls;
    const char *why;
    apr_status_t rv;
    int i;

    if ((rv = acme_json_get_strings(&urls, p, obj, "authorizations", perr)) != APR_SUCCESS) {
        return rv;
    }
    if (urls->nelts > ACME_ORDER_MAX_IDENTIFIERS) {
        *perr = "member 'authorizations' is too long";
        return APR_EINVAL;
    }
    for (i = 0; i < urls->nelts; ++i) {
        if (acme_json_check_url(APR_ARRAY_IDX(urls, i, const char *), &why)) {
            *perr = apr_psprintf(p, "member 'authorizations': %s", why);
            return APR_EINVAL;
        }
    }
    *purls = urls;
    return APR_SUCCESS;
}

apr_status_t acme_order_from_json(acme_order_t **porder, apr_pool_t *p, const json_t *json,
                                  const char *url, acme_result_t *r)
{
    acme_order_t *o = apr_pcalloc(p, sizeof(*o));
    const char *why = NULL;
    apr_time_t nb, na;
    int status = 0;
    apr_status_t rv;

    if ((rv = get_status(&status, p, json, order_names, N_ELEMS(order_names), &why))
        || (rv = get_time_opt(&o->expires, p, json, "expires", &why))
        || (rv = get_time_opt(&nb, p, json, "notBefore", &why))
        || (rv = get_time_opt(&na, p, json, "notAfter", &why))
        || (rv = parse_identifiers(&o->identifiers, p, json, &why))
        || (rv = parse_authz_urls(&o->authorizations, p, json, &why))
        || (rv = acme_json_get_url(&o->finalize, p, json, "finalize", &why))
        || (rv = get_url_opt(&o->certificate, p, json, "certificate", &why))
        || (rv = acme_json_get_string_opt(&o->profile, p, json, "profile", &why))
        || (rv = acme_json_get_string_opt(&o->replaces, p, json, "replaces", &why))
        || (rv = get_problem_opt(&o->error, p, json, &why))) {
        return acme_result_fail(r, rv, "order %s: %s", url ? url : "", why);
    }
    o->status = (acme_order_status_e)status;
    if ((o->profile && strlen(o->profile) > ACME_ORDER_MAX_PROFILE)
        || (o->replaces && strlen(o->replaces) > ACME_ORDER_MAX_REPLACES)) {
        return acme_result_fail(r, APR_EINVAL, "order %s: 'profile' or 'replaces' too long",
                                url ? url : "");
    }
    if (o->status == ACME_ORDER_VALID && o->certificate == NULL) {
        return acme_result_fail(r, APR_EINVAL, "order %s: valid but without a certificate",
                                url ? url : "");
    }
    o->url = url ? apr_pstrdup(p, url) : NULL;
    *porder = o;
    return APR_SUCCESS;
}

/* Challenge types are short lowercase words ("http-01"). */
static int type_is_valid(const char *type)
{
    apr_size_t n = strlen(type);

    return n > 0 && n <= 32 && strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

apr_status_t acme_challenge_from_json(acme_challenge_t **pchal, apr_pool_t *p,
                                      const json_t *json, acme_result_t *r)
{
    acme_challenge_t *ch = apr_pcalloc(p, sizeof(*ch));
    const char *why = NULL;
    int status = 0;
    apr_status_t rv;

    if ((rv = acme_json_get_string(&ch->type, p, json, "type", &why))
        || (rv = acme_json_get_url(&ch->url, p, json, "url", &why))
        || (rv = get_status(&status, p, json, challenge_names, N_ELEMS(challenge_names),
                            &why))
        || (rv = acme_json_get_string_opt(&ch->token, p, json, "token", &why))
        || (rv = get_problem_opt(&ch->error, p, json, &why))) {
        return acme_result_fail(r, rv, "challenge: %s", why);
    }
    if (!type_is_valid(ch->type)) {
        return acme_result_fail(r, APR_EINVAL, "challenge: invalid type");
    }
    /* tokens become file names and DNS record contents: check them now */
    if ((ch->token && !acme_keyauth_token_is_valid(ch->token))
        || (!ch->token && (!strcmp(ch->type, "http-01") || !strcmp(ch->type, "dns-01")
                           || !strcmp(ch->type, "tls-alpn-01")))) {
        return acme_result_fail(r, APR_EINVAL, "challenge %s: missing or invalid token",
                                ch->type);
    }
    ch->status = (acme_challenge_status_e)status;
    *pchal = ch;
    return APR_SUCCESS;
}

static apr_status_t parse_challenges(acme_authz_t *az, apr_pool_t *p, const json_t *json,
                                     acme_result_t *r)
{
    const json_t *arr;
    const char *why = NULL;
    apr_status_t rv;
    size_t i;

    if ((rv = acme_json_get_array(&arr, p, json, "challenges", &why)) != APR_SUCCESS) {
        return acme_result_fail(r, rv, "authorization %s: %s", az->url, why);
    }
    if (json_array_size(arr) > ACME_ORDER_MAX_CHALLENGES) {
        return acme_result_fail(r, APR_EINVAL, "authorization %s: too many challenges",
                                az->url);
    }
    az->challenges = apr_array_make(p, (int)json_array_size(arr), sizeof(acme_challenge_t *));
    for (i = 0; i < json_array_size(arr); ++i) {
        rv = acme_challenge_from_json(apr_array_push(az->challenges), p,
                                      json_array_get(arr, i), r);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_authz_from_json(acme_authz_t **pauthz, apr_pool_t *p, const json_t *json,
                                  const char *url, acme_result_t *r)
{
    acme_authz_t *az = apr_pcalloc(p, sizeof(*az));
    const json_t *id = NULL;
    const char *why = NULL;
    int status = 0;
    apr_status_t rv;

    az->url = url ? apr_pstrdup(p, url) : "";
    if (json_object_get(json, "wildcard") && !json_is_null(json_object_get(json, "wildcard"))
        && (rv = acme_json_get_bool(&az->wildcard, p, json, "wildcard", &why))) {
        return acme_result_fail(r, rv, "authorization %s: %s", az->url, why);
    }
    if ((rv = get_status(&status, p, json, authz_names, N_ELEMS(authz_names), &why))
        || (rv = get_time_opt(&az->expires, p, json, "expires", &why))
        || (rv = acme_json_get_object(&id, p, json, "identifier", &why))
        || (rv = parse_identifier(&az->identifier, p, id, 0, &why))) {
        return acme_result_fail(r, rv, "authorization %s: %s", az->url, why);
    }
    az->status = (acme_authz_status_e)status;
    if ((rv = parse_challenges(az, p, json, r)) != APR_SUCCESS) {
        return rv;
    }
    *pauthz = az;
    return APR_SUCCESS;
}

const acme_challenge_t *acme_authz_select_challenge(const acme_authz_t *authz,
                                                    const apr_array_header_t *prefs)
{
    int i, j;

    for (i = 0; prefs && i < prefs->nelts; ++i) {
        const char *want = APR_ARRAY_IDX(prefs, i, const char *);
        for (j = 0; j < authz->challenges->nelts; ++j) {
            const acme_challenge_t *ch = APR_ARRAY_IDX(authz->challenges, j,
                                                       const acme_challenge_t *);
            if (strcmp(ch->type, want) == 0 && ch->status != ACME_CHALLENGE_INVALID) {
                return ch;
            }
        }
    }
    return NULL;
}

int acme_order_covers_authz(const acme_order_t *order, const acme_authz_t *authz)
{
    const char *want = authz->identifier.value;
    int i;

    for (i = 0; i < order->identifiers->nelts; ++i) {
        const acme_identifier_t *id = &APR_ARRAY_IDX(order->identifiers, i, acme_identifier_t);
        const char *value = id->value;
        if (authz->wildcard && strncmp(value, "*.", 2) != 0) {
            continue;
        }
        if (authz->wildcard) {
            value += 2;
        }
        if (!strcmp(id->type, authz->identifier.type) && !strcmp(value, want)) {
            return 1;
        }
    }
    return 0;
}
