/* acmectl: the text form of a domain, for people (the --json form is for
 * programs: this one may change). */
#include <string.h>

#include <apr_strings.h>

#include "acmectl.h"

static const char *day_time(apr_pool_t *p, apr_time_t t)
{
    char *s = apr_pstrdup(p, acmectl_time_text(p, t));

    s[10] = ' ';                    /* "2026-01-02 03:04:05 UTC" */
    s[19] = '\0';
    return apr_pstrcat(p, s, " UTC", NULL);
}

static void certs_print(FILE *out, apr_pool_t *p, const acme_certset_check_t *set,
                        const char *indent)
{
    int i;

    for (i = 0; i < set->pairs->nelts; ++i) {
        const acme_certset_pair_t *pair = &APR_ARRAY_IDX(set->pairs, i, acme_certset_pair_t);
        if (pair->status == APR_SUCCESS) {
            fprintf(out, "%s%s: valid until %s%s, serial %s\n", indent, pair->spec_name,
                    day_time(p, pair->not_after), pair->expired ? " (EXPIRED)" : "",
                    pair->serial ? pair->serial : "?");
        }
        else {
            fprintf(out, "%s%s: %s%s%s\n", indent, pair->spec_name, acmectl_pair_status(pair),
                    pair->problem ? ": " : "", pair->problem ? pair->problem : "");
        }
    }
}

static void renewal_print(FILE *out, apr_pool_t *p, const acmectl_domain_t *dom,
                          apr_time_t now)
{
    if (!dom->renew_planned) {
        fprintf(out, "  renewal: none (%s)\n", dom->renew_none
                && !strcmp(dom->renew_none, "manual") ? "MDRenewMode manual"
                                                       : "MDCertificateFile");
    }
    else if (dom->renew_at <= now) {
        fprintf(out, "  renewal: due now (%s)\n", dom->renew_reason);
    }
    else {
        fprintf(out, "  renewal: at %s (%s)\n", day_time(p, dom->renew_at), dom->renew_reason);
    }
}

static void job_print(FILE *out, apr_pool_t *p, const acmectl_domain_t *dom)
{
    const acme_job_t *job = dom->job;
    const acme_result_t *err;
    int i;

    if (dom->job_invalid) {
        fprintf(out, "  job: unreadable (%s); the next run starts a new one\n",
                dom->job_invalid);
    }
    if (job == NULL) {
        return;
    }
    fprintf(out, "  job: step %s, key %d of %d, started %s, updated %s\n",
            acme_job_step_name(job->step), job->key_index + 1, job->key_count,
            day_time(p, job->started), day_time(p, job->updated));
    if (job->order_url) {
        fprintf(out, "  order: %s\n", job->order_url);
    }
    if (job->next_at > 0) {
        fprintf(out, "  next run: %s%s\n", day_time(p, job->next_at),
                job->backoff ? " (backing off after an error)" : "");
    }
    if ((err = job->last_error) != NULL) {
        fprintf(out, "  problem: %s\n", err->problem_type ? err->problem_type : "(local)");
        fprintf(out, "    detail: %s\n", err->detail ? err->detail
                                         : acme_result_status_text(p, err->status));
        for (i = 0; i < err->subproblems->nelts; ++i) {
            const acme_subproblem_t *s = APR_ARRAY_IDX(err->subproblems, i,
                                                       acme_subproblem_t *);
            fprintf(out, "    %s: %s %s\n", s->id_value ? s->id_value : "-",
                    s->type ? s->type : "", s->detail ? s->detail : "");
        }
    }
}

void acmectl_domain_print(FILE *out, apr_pool_t *p, const acmectl_domain_t *dom, int full,
                          apr_time_t now)
{
    const acmectl_md_t *md = dom->md;
    const acme_result_t *err = dom->job ? dom->job->last_error : NULL;
    int i;

    fprintf(out, "%s: %s\n", md->name, dom->state);
    fputs("  names:", out);
    for (i = 0; i < md->names->nelts; ++i) {
        fprintf(out, " %s", APR_ARRAY_IDX(md->names, i, const char *));
    }
    fputc('\n', out);
    certs_print(out, p, dom->live, "  ");
    renewal_print(out, p, dom, now);
    if (dom->staged) {
        fprintf(out, "  staged: %s\n", dom->staged_complete
                ? "waiting for activation at the next graceful restart"
                : "incomplete (a renewal is writing it, or it will be rejected)");
        certs_print(out, p, dom->staged, "    ");
    }
    if (err && dom->job->errors > 0) {
        fprintf(out, "  last error: %s: %s%s%s\n",
                dom->error_at ? day_time(p, dom->error_at) : "?",
                err->activity ? err->activity : "renewal",
                ": ", err->detail ? err->detail : acme_result_status_text(p, err->status));
    }
    if (full) {
        fprintf(out, "  CA: %s\n", APR_ARRAY_IDX(md->ca_urls, 0, const char *));
        fprintf(out, "  defined at: %s:%d\n", md->file, md->line);
        if (dom->ari) {
            fprintf(out, "  ARI: window %s .. %s\n",
                    dom->ari->has_window ? day_time(p, dom->ari->start) : "-",
                    dom->ari->has_window ? day_time(p, dom->ari->end) : "-");
        }
        job_print(out, p, dom);
    }
}
