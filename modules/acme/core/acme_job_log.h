/* The job's log: what happened in a renewal, newest first, in job.json's
 * "log" member and the one-domain md-status as renewal.log. The form is
 * mod_md's (md_status.c md_job_log_append): {"entries": [{"when": RFC 822
 * date, "type": "starting"|"progress"|"renewal-error"|"finished",
 * "status": problem type (optional), "detail": text (optional)}]}, so that
 * tools reading mod_md's status read ours. */
#ifndef ACME_JOB_LOG_H
#define ACME_JOB_LOG_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

/* Entries kept (mod_md keeps as many); older ones are dropped. */
#define ACME_JOB_LOG_MAX 128

/* Adds an entry at the front of *plog ({"entries": [...]}, made in pool p
 * when NULL); status and detail may be NULL. */
void acme_job_log_add(json_t **plog, apr_pool_t *p, apr_time_t when, const char *type,
                      const char *status, const char *detail);

/* Validates a "log" member read back from job.json: an object holding an
 * array "entries" of at most ACME_JOB_LOG_MAX objects, each with string
 * "when" and "type", and optional string "status" and "detail", all of
 * bounded length and nothing else. On success *plog is a copy owned by p. */
apr_status_t acme_job_log_from_json(json_t **plog, apr_pool_t *p, const json_t *log,
                                    const char **perr);

#endif /* ACME_JOB_LOG_H */
