/* The persisted record of a renewal job (JOBS/<md>/job.json) and its JSON
 * form. The step machine that drives it is in acme_renew.c.
 *
 * job.json is read back after crashes and by status pages, possibly written
 * by another version of mod_acme or damaged on disk, so everything in it is
 * validated on load: the step name, URLs (absolute http(s)), the account id
 * (id rule), challenge identifiers (domain rule) and tokens (base64url),
 * times (RFC 3339), counts and indexes in range. A record that fails is
 * APR_EINVAL with the reason in *perr; the caller starts a new job.
 *
 * Nothing secret is ever part of a job: no keys, no EAB HMAC.
 *
 * Ownership: a job and everything it points to live in the pool it was
 * created or loaded in (acme_job_t.pool); setters copy their arguments. */
#ifndef ACME_JOB_H
#define ACME_JOB_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>

#include "acme_result.h"
#include "acme_store.h"

/* The format written; loading refuses other formats. */
#define ACME_JOB_FORMAT 1
/* Bounds on what a job may hold (an order has at most 100 identifiers). */
#define ACME_JOB_MAX_ANSWERS 200
#define ACME_JOB_MAX_KEYS 16

typedef enum {
    ACME_JOB_ACCOUNT,     /* "account": find or register the account */
    ACME_JOB_ORDER,       /* "order": create the order of the current key */
    ACME_JOB_AUTHZ,       /* "authz": answer the pending authorizations */
    ACME_JOB_POLL_AUTHZ,  /* "poll-authz": wait for them and the order */
    ACME_JOB_FINALIZE,    /* "finalize": key, CSR, finalize */
    ACME_JOB_POLL_ORDER,  /* "poll-order": wait for the certificate */
    ACME_JOB_DOWNLOAD,    /* "download": fetch, verify, stage the chain */
    ACME_JOB_SAVE,        /* "save": md.json, remove challenge answers */
    ACME_JOB_DONE         /* "done": the set is staged */
} acme_job_step_e;

/* A challenge answer the job put into the store, to be removed later. */
typedef struct acme_job_answer_t {
    const char *identifier;  /* CHALLENGES name: the identifier (domain rule) */
    const char *type;        /* "http-01", "tls-alpn-01", "dns-01" */
    const char *token;       /* base64url */
    const char *value;       /* dns-01: the TXT value set up (base64url); else NULL */
} acme_job_answer_t;

typedef struct acme_job_t {
    apr_pool_t *pool;
    const char *md_name;
    acme_job_step_e step;
    json_t *spec;               /* what the job is for (acme_renew.c builds it;
                                 * no secrets); owned by `pool` */
    int key_index;              /* the key spec being worked on: index into the
                                 * spec's key list, one order per key spec */
    int key_count;              /* how many key specs the job obtains */
    const char *account_id;     /* ACCOUNTS name, or NULL before "account" */
    const char *order_url;      /* the current order, or NULL */
    apr_array_header_t *answers;  /* acme_job_answer_t */
    long answered_by;           /* pid of the process that asked the CA to validate
                                 * the current order's answers; 0: none or unknown */
    int failed;                 /* waiting for a configuration fix */
    int backoff;                /* next_at is a wait after an error: the CA is
                                 * not contacted before (polling waits are not) */
    unsigned int errors;        /* failed attempts since the job began */
    apr_time_t started;
    apr_time_t updated;         /* set by acme_job_save() */
    apr_time_t next_at;         /* 0: run whenever */
    acme_result_t *last_error;  /* or NULL */
    json_t *log;                /* what happened, newest first (acme_job_log.h);
                                 * NULL until the first entry; owned by `pool` */
} acme_job_t;

/* "account", "poll-authz", ...; NULL for an invalid value. */
const char *acme_job_step_name(acme_job_step_e step);

/* The reverse; APR_EINVAL for an unknown name. */
apr_status_t acme_job_step_parse(acme_job_step_e *pstep, const char *name);

/* A new job at step "account" for `spec` (copied, must be an object) with
 * `key_count` key specs (1..ACME_JOB_MAX_KEYS), started at `now`. */
acme_job_t *acme_job_create(apr_pool_t *p, const char *md_name, const json_t *spec,
                            int key_count, apr_time_t now);

/* Records an answer (copied; value NULL except for dns-01) unless it is
 * recorded already. APR_ENOSPC past ACME_JOB_MAX_ANSWERS. */
apr_status_t acme_job_add_answer(acme_job_t *job, const char *identifier, const char *type,
                                 const char *token, const char *value);

/* Sets or clears (r NULL) the last error; a copy is kept. */
void acme_job_set_error(acme_job_t *job, const acme_result_t *r);

/* Sets the order URL (copied; NULL forgets it). */
void acme_job_set_order(acme_job_t *job, const char *url);

/* JSON text of the job, NUL-terminated, allocated from p. */
apr_status_t acme_job_to_json(const char **ptext, apr_size_t *plen, apr_pool_t *p,
                              const acme_job_t *job);

/* Parses and validates job.json (see above). `md_name` is the name the job
 * was loaded for: a record naming another domain is APR_EINVAL. */
apr_status_t acme_job_from_json(acme_job_t **pjob, apr_pool_t *p, const char *md_name,
                                const char *text, apr_size_t len, const char **perr);

/* Loads JOBS/<md_name>/job.json. APR_ENOENT when there is none, APR_EINVAL
 * (with *perr) when it is invalid, store errors otherwise. */
apr_status_t acme_job_load(acme_job_t **pjob, apr_pool_t *p, acme_store_t *store,
                           const char *md_name, const char **perr);

/* Sets job->updated = now and saves job.json atomically. */
apr_status_t acme_job_save(acme_job_t *job, apr_pool_t *p, acme_store_t *store,
                           apr_time_t now);

/* RFC 3339 UTC with microseconds ("2025-01-02T03:04:05.000006Z"), from p:
 * the form job.json and md.json use for times. */
const char *acme_job_time_format(apr_pool_t *p, apr_time_t t);

#endif /* ACME_JOB_H */
