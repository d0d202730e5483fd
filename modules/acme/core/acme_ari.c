/* ARI (RFC 9773): see acme_ari.h. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include "acme_ari.h"
#include "acme_b64.h"
#include "acme_headers.h"
#include "acme_job.h"
#include "acme_json.h"
#include "acme_log.h"
#include "acme_order.h"
#include "acme_schedule.h"

/* The content octets of the serial's DER INTEGER: i2d gives tag, length
 * and content; the header is skipped with ASN1_get_object. */
static apr_status_t serial_der(const unsigned char **pbytes, long *plen, apr_pool_t *p,
                               const ASN1_INTEGER *serial)
{
    unsigned char *der, *w;
    const unsigned char *c;
    long clen;
    int n, tag, xclass;

    n = i2d_ASN1_INTEGER(serial, NULL);
    if (n <= 0) {
        return APR_EINVAL;
    }
    der = w = apr_palloc(p, (apr_size_t)n);
    if (i2d_ASN1_INTEGER(serial, &w) != n) {
        return APR_EINVAL;
    }
    c = der;
    if (ASN1_get_object(&c, &clen, &tag, &xclass, n) & 0x80 || tag != V_ASN1_INTEGER
        || clen <= 0 || c + clen != der + n) {
        return APR_EINVAL;
    }
    *pbytes = c;
    *plen = clen;
    return APR_SUCCESS;
}

apr_status_t acme_ari_cert_id(const char **pid, apr_pool_t *p, const X509 *cert)
{
    const ASN1_OCTET_STRING *kid;
    const ASN1_INTEGER *serial;
    const unsigned char *sbytes = NULL;
    long slen = 0;
    apr_status_t rv;

    /* the cast: OpenSSL 3 caches extensions on a const X509 internally */
    kid = X509_get0_authority_key_id((X509 *)cert);
    if (kid == NULL) {
        return APR_ENOENT;
    }
    serial = X509_get0_serialNumber(cert);
    if (ASN1_STRING_length(kid) <= 0 || serial == NULL) {
        return APR_EINVAL;
    }
    if ((rv = serial_der(&sbytes, &slen, p, serial)) != APR_SUCCESS) {
        return rv;
    }
    *pid = apr_pstrcat(p, acme_b64url_encode(p, ASN1_STRING_get0_data(kid),
                                             (apr_size_t)ASN1_STRING_length(kid)),
                       ".", acme_b64url_encode(p, sbytes, (apr_size_t)slen), NULL);
    return APR_SUCCESS;
}

int acme_ari_cert_id_is_valid(const char *id)
{
    const char *dot;

    if (id == NULL || strlen(id) > ACME_ARI_MAX_CERT_ID || (dot = strchr(id, '.')) == NULL) {
        return 0;
    }
    return acme_b64url_is_alphabet(id, (apr_size_t)(dot - id))
           && acme_b64url_is_alphabet(dot + 1, strlen(dot + 1));
}

static apr_status_t get_time(apr_time_t *pt, apr_pool_t *p, const json_t *obj,
                             const char *key, const char **pwhy)
{
    const char *s;

    if (acme_json_get_string(&s, p, obj, key, pwhy) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (strlen(s) > 64 || acme_order_parse_time(pt, s) != APR_SUCCESS
        || *pt < -ACME_SCHEDULE_TIME_MAX || *pt > ACME_SCHEDULE_TIME_MAX) {
        *pwhy = apr_psprintf(p, "suggestedWindow '%s' is not an RFC 3339 time", key);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* RFC 9773 4.3: Retry-After, bounded; a default without one. */
static apr_time_t next_check(const char *retry_after, apr_time_t now,
                             apr_interval_time_t min_wait)
{
    apr_time_t at;

    if (retry_after == NULL
        || acme_headers_parse_retry_after(&at, retry_after, now) != APR_SUCCESS) {
        at = now + ACME_ARI_WAIT_DEFAULT;
    }
    if (min_wait > 0 && at < now + min_wait) {
        at = now + min_wait;
    }
    return at > now + ACME_ARI_WAIT_MAX ? now + ACME_ARI_WAIT_MAX : at;
}

apr_interval_time_t acme_ari_min_wait(apr_interval_time_t check_interval)
{
    return check_interval > 0 && check_interval < ACME_ARI_WAIT_MIN ? check_interval
                                                                   : ACME_ARI_WAIT_MIN;
}

apr_time_t acme_ari_first_check_at(apr_time_t now, int n_domains,
                                   apr_interval_time_t check_interval, uint32_t random)
{
    apr_interval_time_t spread = (apr_interval_time_t)n_domains * ACME_ARI_SPREAD_PER_DOMAIN;
    apr_time_t at;

    spread = spread < check_interval ? spread : check_interval;
    /* spread x random / 2^32, not `random % spread`: that never reaches
     * past 2^32 us (72 min), however many domains there are */
    if (spread <= 0 || acme_schedule_ari_pick(&at, now, now + spread, random)) {
        return now;
    }
    return at;
}

apr_time_t acme_ari_retry_at(apr_time_t now, apr_time_t retry_at,
                             apr_interval_time_t check_interval)
{
    apr_interval_time_t wait = ACME_ARI_ERROR_WAIT;
    apr_time_t at;

    if (check_interval > 0 && check_interval < wait) {
        wait = check_interval;
    }
    at = retry_at > now + wait ? retry_at : now + wait;
    return at < now + ACME_ARI_WAIT_MAX ? at : now + ACME_ARI_WAIT_MAX;
}

int acme_ari_renew_at(apr_time_t *pat, const acme_ari_state_t *st,
                      const acme_config_window_t *renew_window,
                      const acme_config_window_t *warn_window, apr_time_t base,
                      apr_time_t now)
{
    acme_schedule_input_t in;
    acme_schedule_t sched;

    memset(&in, 0, sizeof(in));
    in.has_cert = 1;
    in.not_before = st->not_before;
    in.not_after = st->not_after;
    in.renew_window = *renew_window;
    in.warn_window = *warn_window;
    in.has_ari = st->has_window;
    in.ari_start = st->start;
    in.ari_end = st->end;
    in.ari_random = st->random;
    if (!st->has_window || acme_schedule_compute(&sched, &in, now) != APR_SUCCESS
        || sched.reason != ACME_SCHEDULE_BY_ARI) {
        *pat = base;
        return 0;
    }
    *pat = sched.renew_at;
    return 1;
}

apr_status_t acme_ari_parse(acme_ari_info_t **pinfo, apr_pool_t *p, const char *body,
                            apr_size_t len, const char *retry_after, apr_time_t now,
                            apr_interval_time_t min_wait, acme_result_t *r)
{
    acme_ari_info_t *info = apr_pcalloc(p, sizeof(*info));
    const json_t *json = NULL, *window = NULL;
    const char *why = NULL;

    if (acme_json_parse((json_t **)&json, p, body, len, ACME_JSON_OBJECT, &why)
        || acme_json_get_object(&window, p, json, "suggestedWindow", &why)
        || get_time(&info->start, p, window, "start", &why)
        || get_time(&info->end, p, window, "end", &why)
        || acme_json_get_string_opt(&info->explanation, p, json, "explanationURL", &why)) {
        return acme_result_fail(r, APR_EINVAL, "renewalInfo: %s", why ? why : "invalid");
    }
    if (info->end <= info->start) {
        return acme_result_fail(r, APR_EINVAL, "renewalInfo: suggestedWindow ends before "
                                "it starts");
    }
    if (info->explanation
        && (strlen(info->explanation) > ACME_ARI_MAX_EXPLANATION
            || acme_json_check_url(info->explanation, &why) != APR_SUCCESS)) {
        return acme_result_fail(r, APR_EINVAL, "renewalInfo: explanationURL: %s",
                                why ? why : "too long");
    }
    info->next_check = next_check(retry_after, now, min_wait);
    *pinfo = info;
    return APR_SUCCESS;
}

apr_status_t acme_ari_fetch(acme_ari_info_t **pinfo, apr_pool_t *p, acme_client_t *c,
                            const char *cert_id, apr_time_t now,
                            apr_interval_time_t min_wait, acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    const acme_directory_t *dir;
    const char *base, *url;
    apr_size_t blen;
    apr_status_t rv;

    if (!acme_ari_cert_id_is_valid(cert_id)) {
        return acme_result_fail(r, APR_EINVAL, "invalid ARI certificate id");
    }
    if (!acme_client_get_directory(c) && (rv = acme_client_load_directory(c, p, r))) {
        return rv;
    }
    dir = acme_client_get_directory(c);
    if (dir->renewal_info == NULL) {
        return acme_result_fail(r, APR_ENOTIMPL, "the CA offers no renewalInfo (ARI)");
    }
    base = dir->renewal_info;
    blen = strlen(base);
    url = apr_pstrcat(p, base, (blen && base[blen - 1] == '/') ? "" : "/", cert_id, NULL);
    if ((rv = acme_client_get(&resp, p, c, url, r)) != APR_SUCCESS) {
        return rv;
    }
    rv = acme_ari_parse(pinfo, p, resp->body, resp->body_len,
                        acme_http_response_header(resp, "Retry-After"), now, min_wait, r);
    if (rv == APR_SUCCESS) {
        acme_log(ACME_LOG_DEBUG, 0, "ACME0600 acme[ari=%s]: window %" APR_TIME_T_FMT
                 "..%" APR_TIME_T_FMT, cert_id, apr_time_sec((*pinfo)->start),
                 apr_time_sec((*pinfo)->end));
    }
    return rv;
}

/* ------------------------------------------------------------ state */

static void set_time(json_t *obj, apr_pool_t *p, const char *key, apr_time_t t)
{
    json_object_set_new(obj, key, json_string(acme_job_time_format(p, t)));
}

apr_status_t acme_ari_state_dump(const char **ptext, apr_size_t *plen, apr_pool_t *p,
                                 const acme_ari_state_t *st)
{
    json_t *obj = acme_json_pool_adopt(p, json_object());

    if (obj == NULL) {
        return APR_ENOMEM;
    }
    json_object_set_new(obj, "cert-id", json_string(st->cert_id));
    json_object_set_new(obj, "random", json_integer((json_int_t)st->random));
    if (st->not_after) {
        set_time(obj, p, "not-before", st->not_before);
        set_time(obj, p, "not-after", st->not_after);
    }
    if (st->has_window) {
        set_time(obj, p, "start", st->start);
        set_time(obj, p, "end", st->end);
        if (st->explanation) {
            json_object_set_new(obj, "explanation", json_string(st->explanation));
        }
    }
    if (st->fetched) {
        set_time(obj, p, "fetched", st->fetched);
    }
    set_time(obj, p, "next-check", st->next_check);
    if (st->error) {
        json_object_set_new(obj, "error", json_string(st->error));
    }
    return acme_json_dump(ptext, plen, p, obj);
}

static apr_status_t state_time_opt(apr_time_t *pt, apr_pool_t *p, const json_t *obj,
                                   const char *key, const char **perr)
{
    const char *s = NULL;

    *pt = 0;
    if (acme_json_get_string_opt(&s, p, obj, key, perr) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (s && (acme_order_parse_time(pt, s) != APR_SUCCESS || *pt < 0
              || *pt > ACME_SCHEDULE_TIME_MAX)) {
        *perr = apr_psprintf(p, "member '%s' is not a time", key);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t acme_ari_state_parse(acme_ari_state_t **pst, apr_pool_t *p, const char *data,
                                  apr_size_t len, const char **perr)
{
    acme_ari_state_t *st = apr_pcalloc(p, sizeof(*st));
    json_t *json = NULL;
    apr_int64_t random = 0;

    if (acme_json_parse(&json, p, data, len, ACME_JSON_OBJECT, perr)
        || acme_json_get_string(&st->cert_id, p, json, "cert-id", perr)
        || acme_json_get_int(&random, p, json, "random", perr)
        || state_time_opt(&st->not_before, p, json, "not-before", perr)
        || state_time_opt(&st->not_after, p, json, "not-after", perr)
        || state_time_opt(&st->start, p, json, "start", perr)
        || state_time_opt(&st->end, p, json, "end", perr)
        || state_time_opt(&st->fetched, p, json, "fetched", perr)
        || state_time_opt(&st->next_check, p, json, "next-check", perr)
        || acme_json_get_string_opt(&st->explanation, p, json, "explanation", perr)
        || acme_json_get_string_opt(&st->error, p, json, "error", perr)) {
        return APR_EINVAL;
    }
    if (!acme_ari_cert_id_is_valid(st->cert_id) || random < 0 || random > UINT32_MAX) {
        *perr = "cert-id or random out of range";
        return APR_EINVAL;
    }
    st->random = (uint32_t)random;
    st->has_window = st->start != 0 || st->end != 0;
    if (st->has_window && st->end <= st->start) {
        *perr = "window ends before it starts";
        return APR_EINVAL;
    }
    if (st->not_after && st->not_after <= st->not_before) {
        *perr = "certificate validity ends before it starts";
        return APR_EINVAL;
    }
    if (st->explanation && acme_json_check_url(st->explanation, perr) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *pst = st;
    return APR_SUCCESS;
}
