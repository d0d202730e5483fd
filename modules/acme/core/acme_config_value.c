/* Numbers, durations, windows, flags and port maps of directive values.
 * Names, URLs and lists are in acme_config_names.c / acme_config_lists.c. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <strings.h>

#include "acme_config_value.h"

#define WHY(text) do { if (pwhy) { *pwhy = (text); } } while (0)

typedef struct {
    const char *suffix;
    apr_interval_time_t unit;
} duration_unit_t;

static const duration_unit_t duration_units[] = {
    { "d", apr_time_from_sec(86400) },
    { "day", apr_time_from_sec(86400) },    /* mod_md reads any unit starting with d */
    { "days", apr_time_from_sec(86400) },
    { "h", apr_time_from_sec(3600) },
    { "mi", apr_time_from_sec(60) },
    { "s", apr_time_from_sec(1) },
    { "ms", 1000 },
    { NULL, 0 },
};

/* Reads the leading digits of s into *pn; *pend points after them. Returns
 * ACME_CONFIG_ERANGE when the number does not fit `max`. */
static apr_status_t digits_read(apr_int64_t *pn, const char **pend, const char *s,
                                apr_int64_t max)
{
    apr_int64_t n = 0;
    const char *c = s;

    for (; apr_isdigit(*c); ++c) {
        if (n > (max - (*c - '0')) / 10) {
            return ACME_CONFIG_ERANGE;
        }
        n = n * 10 + (*c - '0');
    }
    if (c == s) {
        return APR_EINVAL;
    }
    *pn = n;
    *pend = c;
    return APR_SUCCESS;
}

static const char *const DURATION_HINT =
    "is not a duration; use a whole number and a unit, e.g. 30d, 12h, 10mi, 30s or 500ms";
static const char *const DURATION_TOO_LONG = "is too long; at most 100 years (36500d) are allowed";

apr_status_t acme_config_duration_parse(apr_interval_time_t *pduration, const char *s,
                                        apr_interval_time_t bare_unit, const char **pwhy)
{
    apr_int64_t n;
    apr_interval_time_t unit = 0;
    const char *end;
    apr_status_t rv;
    int i;

    if (!s || !*s) {
        WHY("is empty; use e.g. 30d, 12h, 10mi, 30s or 500ms");
        return APR_EINVAL;
    }
    if (*s == '-') {
        WHY("is negative; durations are 0 or more, e.g. 30d");
        return APR_EINVAL;
    }
    rv = digits_read(&n, &end, s, ACME_CONFIG_DURATION_MAX);
    if (rv == ACME_CONFIG_ERANGE) {
        WHY(DURATION_TOO_LONG);
        return rv;
    }
    if (rv != APR_SUCCESS) {
        WHY(DURATION_HINT);
        return rv;
    }
    if (*end == '.' || *end == ',') {
        WHY("is not a whole number; use a smaller unit instead, e.g. 36h for 1.5d");
        return APR_EINVAL;
    }
    if (!*end) {
        unit = bare_unit;
    }
    for (i = 0; !unit && duration_units[i].suffix; ++i) {
        if (!strcasecmp(end, duration_units[i].suffix)) {
            unit = duration_units[i].unit;
        }
    }
    if (!unit) {
        WHY(DURATION_HINT);
        return APR_EINVAL;
    }
    if (n > ACME_CONFIG_DURATION_MAX / unit) {
        WHY(DURATION_TOO_LONG);
        return ACME_CONFIG_ERANGE;
    }
    *pduration = (apr_interval_time_t)n * unit;
    return APR_SUCCESS;
}

apr_status_t acme_config_window_parse(acme_config_window_t *pwindow, const char *s,
                                      apr_interval_time_t bare_unit, const char **pwhy)
{
    acme_config_window_t w = { 0, 0, 0 };
    const char *end;
    apr_int64_t n;
    apr_status_t rv;
    size_t len = s ? strlen(s) : 0;

    if (len > 0 && s[len - 1] == '%') {
        if (*s == '-') {
            WHY("is negative; use a percentage from 0% to 99%, e.g. 33%");
            return APR_EINVAL;
        }
        rv = digits_read(&n, &end, s, 1000000);
        if (rv == APR_EINVAL || (rv == APR_SUCCESS && end != s + len - 1)) {
            WHY("is not a whole percentage; use e.g. 33%");
            return APR_EINVAL;
        }
        if (rv != APR_SUCCESS || n >= 100) {
            WHY("is not a percentage below 100%; use e.g. 33%");
            return ACME_CONFIG_ERANGE;
        }
        w.is_percent = 1;
        w.percent = (int)n;
        *pwindow = w;
        return APR_SUCCESS;
    }
    rv = acme_config_duration_parse(&w.duration, s, bare_unit, pwhy);
    if (rv == APR_EINVAL && pwhy && *pwhy == DURATION_HINT) {
        WHY("is not a duration or percentage; use e.g. 30d, 12h or 33%");
    }
    if (rv == APR_SUCCESS) {
        *pwindow = w;
    }
    return rv;
}

apr_status_t acme_config_flag_parse(int *pon, const char *s, const char **pwhy)
{
    if (s && !strcasecmp(s, "on")) {
        *pon = 1;
        return APR_SUCCESS;
    }
    if (s && !strcasecmp(s, "off")) {
        *pon = 0;
        return APR_SUCCESS;
    }
    WHY("is not a flag; use on or off");
    return APR_EINVAL;
}

apr_status_t acme_config_int_parse(int *pn, const char *s, int min, int max,
                                   const char **pwhy)
{
    apr_int64_t n = 0;
    const char *end;
    apr_status_t rv = APR_EINVAL;
    int negative = (s && *s == '-');

    if (s) {
        rv = digits_read(&n, &end, s + negative, (apr_int64_t)1 << 40);
    }
    if (rv == APR_SUCCESS && *end) {
        rv = APR_EINVAL;
    }
    if (rv == APR_EINVAL) {
        WHY("is not a whole number");
        return rv;
    }
    if (negative) {
        n = -n;
    }
    if (rv != APR_SUCCESS || n < min || n > max) {
        WHY("is out of the accepted range");
        return ACME_CONFIG_ERANGE;
    }
    *pn = (int)n;
    return APR_SUCCESS;
}

apr_status_t acme_config_portmap_parse(int *ppublic, int *plocal, const char *s,
                                       const char **pwhy)
{
    static const struct { const char *prefix; int port; } names[] = {
        { "http:", 80 }, { "https:", 443 }, { "80:", 80 }, { "443:", 443 }, { NULL, 0 }
    };
    const char *rest = NULL;
    int public_port = 0, local;
    int i;

    for (i = 0; s && names[i].prefix && !rest; ++i) {
        size_t len = strlen(names[i].prefix);
        if (!strncasecmp(s, names[i].prefix, len)) {
            public_port = names[i].port;
            rest = s + len;
        }
    }
    if (!rest) {
        WHY("is not a port mapping; use http:N or https:N (N a port, or - for none)");
        return APR_EINVAL;
    }
    if (!strcmp(rest, "-")) {
        local = 0;
    }
    else if (acme_config_int_parse(&local, rest, 1, 65535, NULL) != APR_SUCCESS) {
        WHY("does not map to a port from 1 to 65535 (or - for none)");
        return ACME_CONFIG_ERANGE;
    }
    *ppublic = public_port;
    *plocal = local;
    return APR_SUCCESS;
}
