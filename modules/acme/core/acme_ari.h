/* ACME Renewal Information (ARI, RFC 9773): the certificate identifier, the
 * renewalInfo request and its answer, and the little state a client keeps
 * between two checks.
 *
 * The CA's answer is validated as everything from outside: a suggestedWindow
 * with RFC 3339 "start" and "end", start < end, both within the scheduler's
 * time range; an optional explanationURL that must be an absolute http(s)
 * URL (it ends up in logs and status pages). Anything else is APR_EINVAL
 * with a reason, and the caller falls back to its renew window.
 *
 * When to ask again (RFC 9773 4.3): the answer's Retry-After, clamped to
 * [min_wait, ACME_ARI_WAIT_MAX]; without one ACME_ARI_WAIT_DEFAULT. The
 * lower bound is the caller's (a production minimum of ACME_ARI_WAIT_MIN,
 * shorter in tests), so a CA cannot make us poll in a loop.
 *
 * Nothing here sleeps or logs secrets; allocations come from the pool
 * passed. Log numbers ACME0600-0619. */
#ifndef ACME_ARI_H
#define ACME_ARI_H

#include <stdint.h>

#include <apr_pools.h>
#include <apr_time.h>
#include <openssl/x509.h>

#include "acme_client.h"
#include "acme_config_value.h"
#include "acme_result.h"

/* Bounds of the time to the next check (see above). */
#define ACME_ARI_WAIT_MIN (apr_time_from_sec(60))
#define ACME_ARI_WAIT_DEFAULT (apr_time_from_sec(6 * 3600))
#define ACME_ARI_WAIT_MAX (apr_time_from_sec(24 * 3600))
/* First checks after a start are spread over this much time per domain. */
#define ACME_ARI_SPREAD_PER_DOMAIN (apr_time_from_sec(1))
/* The wait after a failed check (bounded by the check interval, below). */
#define ACME_ARI_ERROR_WAIT (apr_time_from_sec(3600))
/* Longest certificate id accepted (a 64-byte key id and a 20-byte serial
 * need 115 characters; ACME_ORDER_MAX_REPLACES allows more). */
#define ACME_ARI_MAX_CERT_ID 256
/* Longest explanationURL kept. */
#define ACME_ARI_MAX_EXPLANATION 1024

/* What the CA said about one certificate. */
typedef struct acme_ari_info_t {
    apr_time_t start;           /* suggestedWindow, start < end */
    apr_time_t end;
    const char *explanation;    /* explanationURL, or NULL */
    apr_time_t next_check;      /* when to ask again (see above) */
} acme_ari_info_t;

/* The certificate's ARI identifier (RFC 9773 4.1): base64url of the
 * Authority Key Identifier's keyIdentifier, ".", base64url of the serial
 * number's DER content octets (with the leading zero a positive number may
 * need). APR_ENOENT when the certificate has no AKI keyIdentifier (ARI
 * cannot name it); APR_EINVAL for a zero-length key id or serial. */
apr_status_t acme_ari_cert_id(const char **pid, apr_pool_t *p, const X509 *cert);

/* True when `id` looks like a certificate id: two non-empty base64url parts
 * joined by one ".", at most ACME_ARI_MAX_CERT_ID long. */
int acme_ari_cert_id_is_valid(const char *id);

/* Parses the renewalInfo body (a JSON object). `retry_after` is the
 * answer's Retry-After header value (NULL when absent); `min_wait` the
 * caller's lower bound of the time to the next check (<= 0: none). The
 * info is written only on success. */
apr_status_t acme_ari_parse(acme_ari_info_t **pinfo, apr_pool_t *p, const char *body,
                            apr_size_t len, const char *retry_after, apr_time_t now,
                            apr_interval_time_t min_wait, acme_result_t *r);

/* GET <renewalInfo>/<cert_id> through `c` (the directory is loaded when not
 * yet) and acme_ari_parse() of the answer. APR_ENOTIMPL when the CA has no
 * renewalInfo; the CA's errors, transport errors and invalid answers as in
 * acme_client.h (r->retry_at is set when the CA sent a Retry-After). */
apr_status_t acme_ari_fetch(acme_ari_info_t **pinfo, apr_pool_t *p, acme_client_t *c,
                            const char *cert_id, apr_time_t now,
                            apr_interval_time_t min_wait, acme_result_t *r);

/* The lower bound of the time to the next check of a watchdog that runs
 * every `check_interval`: ACME_ARI_WAIT_MIN, or the interval when that is
 * shorter and > 0 (tests run with seconds). */
apr_interval_time_t acme_ari_min_wait(apr_interval_time_t check_interval);

/* When a certificate without a stored answer is first asked about after a
 * start with `n_domains` domains: now + floor(spread x random / 2^32), with
 * spread = min(n_domains x ACME_ARI_SPREAD_PER_DOMAIN, check_interval), so
 * in [now, now + spread) for any `random` (now when spread <= 0). Uniform
 * random values spread the domains evenly, however long the spread. */
apr_time_t acme_ari_first_check_at(apr_time_t now, int n_domains,
                                   apr_interval_time_t check_interval, uint32_t random);

/* When to ask again after a failed check: not before `retry_at` (the CA's
 * Retry-After, 0: none) nor before now + ACME_ARI_ERROR_WAIT, or now +
 * check_interval when that is shorter and > 0; never later than now +
 * ACME_ARI_WAIT_MAX. */
apr_time_t acme_ari_retry_at(apr_time_t now, apr_time_t retry_at,
                             apr_interval_time_t check_interval);

/* What a client remembers between checks of one certificate, e.g. in
 * JOBS/<md>/ari.json. Strings live in the pool it was read into. */
typedef struct acme_ari_state_t {
    const char *cert_id;        /* the certificate it is about */
    apr_time_t not_before;      /* its validity: a reader matches the state to a */
    apr_time_t not_after;       /* certificate without parsing it (0: unknown) */
    uint32_t random;            /* the stable pick inside the window (acme_schedule.h) */
    int has_window;             /* 1: start/end/explanation hold the last good answer */
    apr_time_t start;
    apr_time_t end;
    const char *explanation;    /* or NULL */
    apr_time_t fetched;         /* last good answer, 0: never */
    apr_time_t next_check;      /* when to ask (again) */
    const char *error;          /* the last check's failure, NULL after a success */
} acme_ari_state_t;

/* The renewal time a state gives the certificate it is about (validity,
 * window and random point from `st`; MDRenewWindow and MDWarnWindow as
 * given): the window's (acme_schedule_compute) when the state has one that
 * is usable, else `base`, the time by MDRenewWindow. A failed check keeps
 * the window of the last good answer, so the time stays. Returns 1 when the
 * window decided, 0 when `base` applies. */
int acme_ari_renew_at(apr_time_t *pat, const acme_ari_state_t *st,
                      const acme_config_window_t *renew_window,
                      const acme_config_window_t *warn_window, apr_time_t base,
                      apr_time_t now);

/* Serializes / parses the state. acme_ari_state_parse() validates every
 * member (times, cert id, window order) and gives APR_EINVAL for anything
 * off: a caller then starts afresh, which costs one extra request. */
apr_status_t acme_ari_state_dump(const char **ptext, apr_size_t *plen, apr_pool_t *p,
                                 const acme_ari_state_t *st);
apr_status_t acme_ari_state_parse(acme_ari_state_t **pst, apr_pool_t *p, const char *data,
                                  apr_size_t len, const char **perr);

#endif /* ACME_ARI_H */
