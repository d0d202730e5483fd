/* acmectl: what the store says about one managed domain, read with the
 * core's readers (certificate sets, job.json, ari.json) and scheduled with
 * the core's scheduler, as the module's watchdog does
 * (mod_acme_drive_state.c). Read only: nothing here writes.
 *
 * Ownership: everything is allocated from the pool passed. */
#ifndef ACMECTL_DOMAIN_H
#define ACMECTL_DOMAIN_H

#include <apr_pools.h>
#include <apr_time.h>

#include "acme_ari.h"
#include "acme_certset.h"
#include "acme_job.h"
#include "acme_schedule.h"
#include "acme_store.h"
#include "acmectl_conf.h"

typedef struct acmectl_domain_t {
    const acmectl_md_t *md;
    const char *state;                  /* the module's status names: "no-cert", "ok",
                                         * "renewing", "staged", "errored", "expiring" */
    acme_certset_check_t *live;         /* LIVE set, one pair per key spec */
    acme_certset_check_t *staged;       /* STAGING set, or NULL when nothing is staged */
    int staged_complete;                /* it passes the activation's checks */
    /* renewal: when and why (NULL reason: not renewed, see renew_none) */
    int renew_planned;
    apr_time_t renew_at;
    apr_time_t warn_at;
    const char *renew_reason;           /* "window", "fallback", "ari", "missing",
                                         * "changed", "expired" */
    const char *renew_none;             /* why no renewal is planned ("manual",
                                         * "static-files"), or NULL */
    acme_ari_state_t *ari;              /* ari.json about the live certificate, or NULL */
    /* the renewal job (job.json) */
    acme_job_t *job;                    /* or NULL */
    const char *job_invalid;            /* job.json present but unreadable: why */
    apr_time_t error_at;                /* when the last error happened (0: unknown) */
} acmectl_domain_t;

/* Gathers everything about `md` from `store` at `now`. Store I/O errors
 * (also APR_EACCES) are returned, with *pwhat naming what was being read. */
apr_status_t acmectl_domain_load(acmectl_domain_t **pdom, apr_pool_t *p, acme_store_t *store,
                                 const acmectl_md_t *md, apr_time_t now, const char **pwhat);

/* Stable names of a schedule reason, as in --json. */
const char *acmectl_domain_reason_name(acme_schedule_reason_e reason);

#endif /* ACMECTL_DOMAIN_H */
