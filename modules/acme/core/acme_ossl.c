/* OpenSSL's error queue in our messages (see acme_ossl.h). */
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>

#include "acme_log.h"
#include "acme_ossl.h"

#define REASONS_MAX 1024

/* Drains the queue into buf ("; "-separated, truncated to fit); returns the
 * length written. */
static apr_size_t reasons_into(char *buf, apr_size_t size)
{
    apr_size_t used = 0;
    unsigned long e;

    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        if (used + 3 < size) {
            if (used > 0) {
                buf[used++] = ';';
                buf[used++] = ' ';
            }
            ERR_error_string_n(e, buf + used, size - used);
            used += strlen(buf + used);
        }
    }
    return used;
}

const char *acme_ossl_err(apr_pool_t *p, const char *what)
{
    unsigned long e, first = 0;
    const char *data = NULL;
    int flags = 0;
    char buf[256];

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        acme_log(ACME_LOG_DEBUG, APR_EGENERAL, "ACME0200 %s: OpenSSL: %s%s%s", what, buf,
                 (flags & ERR_TXT_STRING) && data && *data ? ": " : "",
                 (flags & ERR_TXT_STRING) && data ? data : "");
        if (!first) {
            first = e; /* the innermost cause, queued first */
        }
    }
    if (first && ERR_reason_error_string(first)) {
        return apr_psprintf(p, "%s: %s", what, ERR_reason_error_string(first));
    }
    return apr_psprintf(p, "%s: unknown OpenSSL error", what);
}

apr_status_t acme_ossl_fail(const char *what)
{
    char reasons[REASONS_MAX];

    acme_log(ACME_LOG_ERR, APR_EGENERAL, "%s: %s", what,
             reasons_into(reasons, sizeof(reasons)) ? reasons : "no OpenSSL reason given");
    return APR_EGENERAL;
}

const char *acme_ossl_reasons(apr_pool_t *p)
{
    char reasons[REASONS_MAX];

    return reasons_into(reasons, sizeof(reasons)) ? apr_pstrdup(p, reasons) : NULL;
}
