/* Fuzz target: the HTTP header values the client interprets. The input is
 * split on '\n' into: Retry-After value, Link value, link relation, base URL
 * for relative links, Content-Type value, media type to compare with.
 * Missing parts are empty. Each goes through the single-value parser and,
 * as a header of an apr_table_t, through the table-level one. */
#include <string.h>

#include <apr_tables.h>

#include "acme_headers.h"
#include "fuzz_common.h"

enum { PART_RETRY, PART_LINK, PART_REL, PART_BASE, PART_CTYPE, PART_MEDIA, PART_COUNT };

static void fuzz_retry_after(apr_pool_t *p, const char *value)
{
    apr_time_t now = apr_time_from_sec(1700000000), at = -1;
    apr_table_t *headers = apr_table_make(p, 2);

    if (acme_headers_parse_retry_after(&at, value, now) == APR_SUCCESS) {
        FUZZ_CHECK(at >= now && at <= now + ACME_RETRY_AFTER_MAX);
    }
    else {
        FUZZ_CHECK(at == 0);
    }
    apr_table_add(headers, "Retry-After", value);
    at = acme_headers_retry_at(headers, now);
    FUZZ_CHECK(at == 0 || (at >= now && at <= now + ACME_RETRY_AFTER_MAX));
}

static void fuzz_links(apr_pool_t *p, char **parts)
{
    apr_array_header_t *urls = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *from_table = NULL;
    apr_table_t *headers = apr_table_make(p, 2);
    const char *rel = *parts[PART_REL] ? parts[PART_REL] : "alternate";
    const char *base = *parts[PART_BASE] ? parts[PART_BASE] : NULL;
    int i;

    acme_headers_parse_links(urls, p, parts[PART_LINK], rel, base);
    for (i = 0; i < urls->nelts; i++) {
        FUZZ_CHECK(APR_ARRAY_IDX(urls, i, const char *) != NULL);
    }
    /* Two headers: each value must give what it gave alone. */
    apr_table_add(headers, "Link", parts[PART_LINK]);
    apr_table_add(headers, "link", parts[PART_LINK]);
    acme_headers_links(&from_table, p, headers, rel, base);
    FUZZ_CHECK(from_table != NULL && from_table->nelts == 2 * urls->nelts);
    for (i = 0; i < from_table->nelts; i++) {
        FUZZ_CHECK(strcmp(APR_ARRAY_IDX(from_table, i, const char *),
                          APR_ARRAY_IDX(urls, i % urls->nelts, const char *)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    char *parts[PART_COUNT];

    fuzz_split(parts, PART_COUNT, p, data, size, '\n');
    fuzz_retry_after(p, parts[PART_RETRY]);
    fuzz_links(p, parts);
    acme_headers_media_type_is(parts[PART_CTYPE],
                               *parts[PART_MEDIA] ? parts[PART_MEDIA] : "application/json");
    acme_headers_media_type_is(parts[PART_CTYPE], "application/problem+json");
    acme_headers_media_type_is(NULL, parts[PART_CTYPE]);
    acme_headers_media_type_is(parts[PART_MEDIA], parts[PART_MEDIA]);
    apr_pool_destroy(p);
    return 0;
}
