/* The job's log, see acme_job_log.h. */
#include <string.h>

#include <apr_strings.h>

#include "acme_job_log.h"
#include "acme_json.h"
#include "acme_problem.h"

/* Longest member accepted back: what we write is bounded by the problem
 * text plus our own words; "when" and "type" are short. */
#define LOG_TEXT_MAX (4 * ACME_PROBLEM_MAX_TEXT)
#define LOG_WORD_MAX 64

void acme_job_log_add(json_t **plog, apr_pool_t *p, apr_time_t when, const char *type,
                      const char *status, const char *detail)
{
    char date[APR_RFC822_DATE_LEN];
    json_t *entries, *entry;

    if (*plog == NULL) {
        *plog = acme_json_pool_adopt(p, json_pack("{s:[]}", "entries"));
    }
    entries = json_object_get(*plog, "entries");
    apr_rfc822_date(date, when);
    entry = json_pack("{s:s, s:s}", "when", date, "type", type);
    if (status != NULL) {
        json_object_set_new(entry, "status", json_string(status));
    }
    if (detail != NULL) {
        /* a detail that is not valid UTF-8 (a CA's) is kept as far as it is */
        json_t *text = json_string(detail);

        json_object_set_new(entry, "detail", text ? text : json_string("(not UTF-8)"));
    }
    json_array_insert_new(entries, 0, entry);
    while (json_array_size(entries) > ACME_JOB_LOG_MAX) {
        json_array_remove(entries, json_array_size(entries) - 1);
    }
}

static apr_status_t entry_check(apr_pool_t *p, const json_t *entry, size_t i,
                                const char **perr)
{
    const char *key;
    json_t *value;
    size_t max;

    if (!json_is_object(entry) || json_object_get(entry, "when") == NULL
        || json_object_get(entry, "type") == NULL) {
        *perr = apr_psprintf(p, "log entry %u is not an object with when and type",
                             (unsigned)i);
        return APR_EINVAL;
    }
    json_object_foreach((json_t *)entry, key, value) {
        if (strcmp(key, "when") == 0 || strcmp(key, "type") == 0) {
            max = LOG_WORD_MAX;
        }
        else if (strcmp(key, "status") == 0 || strcmp(key, "detail") == 0) {
            max = LOG_TEXT_MAX;
        }
        else {
            *perr = apr_psprintf(p, "log entry %u has an unknown member", (unsigned)i);
            return APR_EINVAL;
        }
        if (!json_is_string(value) || json_string_length(value) > max) {
            *perr = apr_psprintf(p, "log entry %u: '%s' is not a string of at most %u "
                                 "characters", (unsigned)i, key, (unsigned)max);
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_job_log_from_json(json_t **plog, apr_pool_t *p, const json_t *log,
                                    const char **perr)
{
    const json_t *entries = json_is_object(log) ? json_object_get(log, "entries") : NULL;
    apr_status_t rv;
    size_t i;

    if (!json_is_array(entries) || json_object_size(log) != 1
        || json_array_size(entries) > ACME_JOB_LOG_MAX) {
        *perr = apr_psprintf(p, "'log' is not {\"entries\": [...]} of at most %d entries",
                             ACME_JOB_LOG_MAX);
        return APR_EINVAL;
    }
    for (i = 0; i < json_array_size(entries); ++i) {
        if ((rv = entry_check(p, json_array_get(entries, i), i, perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    *plog = acme_json_pool_adopt(p, json_deep_copy(log));
    return APR_SUCCESS;
}
