/* Shared pieces of the fuzz targets: process set-up, input splitting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "acme_log.h"
#include "fuzz_common.h"

static apr_pool_t *fuzz_root;

/* Formats nothing more: acme_log already built `msg`; touching every byte
 * lets ASan see a message assembled from freed or unterminated memory. */
static void fuzz_log_sink(void *baton, acme_log_level_e level, apr_status_t rv,
                          const char *msg)
{
    volatile size_t n = strlen(msg);
    (void)n;
}

apr_pool_t *fuzz_pool_create(void)
{
    apr_pool_t *p = NULL;

    if (!fuzz_root) {
        if (apr_initialize() != APR_SUCCESS
            || apr_pool_create(&fuzz_root, NULL) != APR_SUCCESS) {
            fuzz_abort("APR initialization failed");
        }
        acme_log_set(fuzz_log_sink, NULL, ACME_LOG_TRACE);
    }
    if (apr_pool_create(&p, fuzz_root) != APR_SUCCESS) {
        fuzz_abort("apr_pool_create failed");
    }
    return p;
}

char *fuzz_strdup(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *s = apr_palloc(p, size + 1);

    if (size) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

int fuzz_split(char **parts, int max, apr_pool_t *p, const uint8_t *data, size_t size,
               char sep)
{
    size_t start = 0, i;
    int n = 0;

    for (i = 0; i <= size && n < max; i++) {
        if (i == size || (char)data[i] == sep) {
            /* the last part takes the rest, separators included */
            size_t end = (n == max - 1) ? size : i;
            parts[n++] = fuzz_strdup(p, data + start, end - start);
            if (end == size) {
                break;
            }
            start = i + 1;
        }
    }
    for (i = (size_t)n; i < (size_t)max; i++) {
        parts[i] = "";
    }
    return n;
}

void fuzz_abort(const char *what)
{
    fprintf(stderr, "fuzz: property violated: %s\n", what);
    abort();
}
