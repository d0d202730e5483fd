/* Parsing of the HTTP response headers ACME relies on: Retry-After (RFC 9110
 * 10.2.3), Link (RFC 8288) and Content-Type media types. All input comes from
 * the network and is treated as hostile: the parsers never fail hard, they
 * skip what they cannot understand. */
#ifndef ACME_HEADERS_H
#define ACME_HEADERS_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/* Retry-After values further in the future are clamped to this: a CA (or a
 * proxy in between) asking for more than a day would otherwise park renewals
 * beyond the point where they can still succeed. */
#define ACME_RETRY_AFTER_MAX apr_time_from_sec(24 * 60 * 60)

/* Parses a Retry-After value: delta-seconds ("120") or an HTTP-date in any of
 * the three RFC 9110 formats. *pretry_at receives the absolute time to retry
 * at, clamped to [now, now + ACME_RETRY_AFTER_MAX] (a date in the past means
 * "now"). APR_EINVAL (and *pretry_at = 0) for NULL or garbage. */
apr_status_t acme_headers_parse_retry_after(apr_time_t *pretry_at, const char *value,
                                            apr_time_t now);

/* The Retry-After of a header table as an absolute time, or 0 when there is
 * none or it is garbage. */
apr_time_t acme_headers_retry_at(const apr_table_t *headers, apr_time_t now);

/* Collects the target URLs of all links with relation `rel` (compared
 * case-insensitively; a rel="a b" link has both relations) from every Link
 * header in `headers`, in order. Comma-separated link values, quoted and
 * unquoted parameters and odd spacing are handled; malformed link values are
 * skipped. Relative references are resolved against `base_url` (the request's
 * effective URL; NULL: relative ones are skipped). The URLs are not otherwise
 * validated: pass them through acme_json_check_url() before use.
 * *purls is an array of `const char *` in `p`, empty when nothing matched. */
void acme_headers_links(apr_array_header_t **purls, apr_pool_t *p,
                        const apr_table_t *headers, const char *rel,
                        const char *base_url);

/* The same for one Link header value; matches are appended to `urls`. */
void acme_headers_parse_links(apr_array_header_t *urls, apr_pool_t *p, const char *value,
                              const char *rel, const char *base_url);

/* True when `content_type` (a Content-Type value, may be NULL) names
 * `media_type`: parameters such as "; charset=utf-8", surrounding whitespace
 * and case are ignored. */
int acme_headers_media_type_is(const char *content_type, const char *media_type);

#endif /* ACME_HEADERS_H */
