/* Fuzz target: problem documents (RFC 7807/9457 with ACME's subproblems),
 * the body of every error answer of the CA. The input goes through
 * acme_problem_parse() and the classification and rendering built on it,
 * then through acme_result_from_response() as an HTTP 400 answer with the
 * problem media type, which is how the client meets it. */
#include <string.h>

#include <apr_tables.h>

#include "acme_headers.h"
#include "acme_http.h"
#include "acme_problem.h"
#include "acme_result.h"
#include "fuzz_common.h"

/* HTTP statuses whose classification differs (see acme_problem_type_action). */
static const int fuzz_statuses[] = { 0, 400, 403, 404, 429, 500, 503 };

static void fuzz_problem_classify(apr_pool_t *p, const acme_problem_t *prob)
{
    acme_result_t *r = acme_result_create(p);
    size_t i;
    int j;

    FUZZ_CHECK(prob->type != NULL && prob->subproblems != NULL);
    for (i = 0; i < sizeof(fuzz_statuses) / sizeof(fuzz_statuses[0]); i++) {
        FUZZ_CHECK(acme_problem_action_name(acme_problem_action(prob, fuzz_statuses[i]))
                   != NULL);
    }
    acme_problem_describe(prob->type);
    acme_problem_type_is(prob->type, "rateLimited");
    if (acme_problem_short_name(prob->type) != NULL) {
        FUZZ_CHECK(acme_problem_type_is(prob->type, acme_problem_short_name(prob->type)));
    }
    for (j = 0; j < prob->subproblems->nelts; j++) {
        const acme_subproblem_t *sub = APR_ARRAY_IDX(prob->subproblems, j,
                                                     const acme_subproblem_t *);
        FUZZ_CHECK(sub != NULL);
        acme_problem_short_name(sub->type);
    }
    FUZZ_CHECK(acme_result_from_problem(r, prob, 400, 0) == ACME_EPROBLEM);
    FUZZ_CHECK(acme_result_render(r, p) != NULL);
}

static void fuzz_problem_response(apr_pool_t *p, const uint8_t *data, size_t size)
{
    acme_http_response_t resp;
    acme_result_t *r = acme_result_create(p);
    apr_time_t now = apr_time_from_sec(1700000000);

    memset(&resp, 0, sizeof(resp));
    resp.status = 400;
    resp.headers = apr_table_make(p, 2);
    apr_table_set(resp.headers, "Content-Type", "application/problem+json");
    apr_table_set(resp.headers, "Retry-After", "120");
    resp.body = fuzz_strdup(p, data, size);
    resp.body_len = size;
    resp.effective_url = "https://ca.example/acme/new-order";
    acme_result_set_activity(r, "fuzzing");
    FUZZ_CHECK(acme_result_from_response(r, &resp, now) == ACME_EPROBLEM);
    FUZZ_CHECK(r->retry_at >= now && r->retry_at <= now + ACME_RETRY_AFTER_MAX);
    FUZZ_CHECK(acme_result_render(r, p) != NULL);
    FUZZ_CHECK(acme_result_render(acme_result_copy(p, r), p) != NULL);
    acme_result_is(r, "badNonce");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    acme_problem_t *prob = NULL;
    const char *err = NULL;

    if (acme_problem_parse(&prob, p, (const char *)data, size, &err) == APR_SUCCESS) {
        fuzz_problem_classify(p, prob);
    }
    fuzz_problem_response(p, data, size);
    apr_pool_destroy(p);
    return 0;
}
