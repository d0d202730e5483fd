/* acme_problem: problem documents and the error type table. */
#include <string.h>

#include <apr_strings.h>

#include "acme_json.h"
#include "acme_problem.h"
#include "check_main.h"
#include "test_http.h"

static acme_problem_t *parse_file(const char *file)
{
    acme_problem_t *prob = NULL;
    const char *body, *err = NULL;
    apr_size_t len;

    body = http_test_read(&len, file);
    ck_assert_int_eq(acme_problem_parse(&prob, test_pool, body, len, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(prob);
    return prob;
}

#define SUB(prob, i) APR_ARRAY_IDX((prob)->subproblems, i, const acme_subproblem_t *)

START_TEST(problem_rfc8555_example_with_subproblems)
{
    acme_problem_t *prob = parse_file("problem-rfc8555-subproblems.json");

    ck_assert_str_eq(prob->type, "urn:ietf:params:acme:error:malformed");
    ck_assert_str_eq(prob->detail, "Some of the identifiers requested were rejected");
    ck_assert_ptr_null(prob->title);
    ck_assert_int_eq(prob->status, 0);
    ck_assert_int_eq(prob->subproblems->nelts, 2);
    ck_assert_int_eq(prob->subproblems_dropped, 0);
    ck_assert_str_eq(SUB(prob, 0)->type, "urn:ietf:params:acme:error:malformed");
    ck_assert_str_eq(SUB(prob, 0)->detail, "Invalid underscore in DNS name \"_example.org\"");
    ck_assert_str_eq(SUB(prob, 0)->id_type, "dns");
    ck_assert_str_eq(SUB(prob, 0)->id_value, "_example.org");
    ck_assert_str_eq(SUB(prob, 1)->type, "urn:ietf:params:acme:error:rejectedIdentifier");
    ck_assert_str_eq(SUB(prob, 1)->id_value, "example.net");
}
END_TEST

START_TEST(problem_status_and_defaults)
{
    acme_problem_t *prob = parse_file("problem-ratelimited.json");
    acme_problem_t *blank;

    ck_assert_str_eq(prob->type, "urn:ietf:params:acme:error:rateLimited");
    ck_assert_int_eq(prob->status, 429);
    ck_assert_int_eq(prob->subproblems->nelts, 0);
    /* RFC 9457: an absent type means about:blank; a silly status is ignored. */
    ck_assert_int_eq(acme_problem_parse(&blank, test_pool, "{\"status\": 7000}", 16, NULL),
                     APR_SUCCESS);
    ck_assert_str_eq(blank->type, "about:blank");
    ck_assert_int_eq(blank->status, 0);
    ck_assert_int_eq(acme_problem_parse(&blank, test_pool, "{\"status\": \"500\"}", 17,
                                        NULL), APR_SUCCESS);
    ck_assert_int_eq(blank->status, 0);
}
END_TEST

START_TEST(problem_malformed_subproblems_are_dropped)
{
    acme_problem_t *prob = parse_file("problem-bad-subproblems.json");

    /* 42 and the numeric type are dropped; a broken identifier only loses
     * the identifier. */
    ck_assert_int_eq(prob->subproblems_dropped, 2);
    ck_assert_int_eq(prob->subproblems->nelts, 2);
    ck_assert_str_eq(SUB(prob, 0)->detail, "identifier is malformed");
    ck_assert_ptr_null(SUB(prob, 0)->id_type);
    ck_assert_ptr_null(SUB(prob, 0)->id_value);
    ck_assert_str_eq(SUB(prob, 1)->id_value, "c.example");
}
END_TEST

START_TEST(problem_subproblems_are_capped)
{
    char *doc = "{\"type\": \"urn:ietf:params:acme:error:compound\", \"subproblems\": [";
    acme_problem_t *prob;
    int i;

    for (i = 0; i < ACME_PROBLEM_MAX_SUBPROBLEMS + 5; ++i) {
        doc = apr_pstrcat(test_pool, doc, i ? "," : "",
                          "{\"type\": \"urn:ietf:params:acme:error:dns\"}", NULL);
    }
    doc = apr_pstrcat(test_pool, doc, "]}", NULL);
    ck_assert_int_eq(acme_problem_parse(&prob, test_pool, doc, strlen(doc), NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(prob->subproblems->nelts, ACME_PROBLEM_MAX_SUBPROBLEMS);
    ck_assert_int_eq(prob->subproblems_dropped, 5);
}
END_TEST

START_TEST(problem_malformed_documents)
{
    acme_problem_t *prob = (acme_problem_t *)1;
    const char *body, *err;
    apr_size_t len;

    body = http_test_read(&len, "problem-truncated.json");
    ck_assert_int_eq(acme_problem_parse(&prob, test_pool, body, len, &err), APR_EINVAL);
    ck_assert_ptr_null(prob);
    body = http_test_read(&len, "problem-wrong-types.json");
    err = NULL;
    ck_assert_int_eq(acme_problem_parse(&prob, test_pool, body, len, &err), APR_EINVAL);
    ck_assert_str_eq(err, "member 'detail': expected a string, got an integer");
    ck_assert_int_eq(acme_problem_parse(&prob, test_pool, "[1]", 3, &err), APR_EINVAL);
    ck_assert_int_eq(acme_problem_parse(&prob, test_pool, "<html>", 6, &err), APR_EINVAL);
    ck_assert_int_eq(acme_problem_parse(&prob, test_pool, "", 0, &err), APR_EINVAL);
    ck_assert_int_eq(acme_problem_from_json(&prob, test_pool,
                                            acme_json_pool_adopt(test_pool, json_integer(1)), &err),
                     APR_EINVAL);
}
END_TEST

START_TEST(problem_text_is_sanitized)
{
    acme_problem_t *prob = parse_file("problem-control-chars.json");
    char *doc, *detail;
    size_t i;

    ck_assert_str_eq(prob->detail, "line one ACME9999 forged line  end");
    /* A long detail is cut, at a character boundary: 'e' then 2-byte 'é's. */
    detail = apr_palloc(test_pool, 3000);
    detail[0] = 'e';
    for (i = 1; i < 2999; i += 2) {
        detail[i] = '\xc3';
        detail[i + 1] = '\xa9';
    }
    detail[2999] = '\0';
    doc = apr_psprintf(test_pool, "{\"detail\": \"%s\"}", detail);
    ck_assert_int_eq(acme_problem_parse(&prob, test_pool, doc, strlen(doc), NULL),
                     APR_SUCCESS);
    ck_assert_uint_eq(strlen(prob->detail), ACME_PROBLEM_MAX_TEXT - 1 + 3);
    ck_assert_str_eq(prob->detail + ACME_PROBLEM_MAX_TEXT - 1, "...");
    ck_assert_int_eq(memcmp(prob->detail, detail, ACME_PROBLEM_MAX_TEXT - 1), 0);
}
END_TEST

/* The specification of the table: every RFC 8555 6.7 type plus ARI's. */
static const struct {
    const char *name;
    acme_problem_action_e action;
} expected_actions[] = {
    { "accountDoesNotExist", ACME_ACTION_RETRY },
    { "alreadyReplaced", ACME_ACTION_GIVE_UP },
    { "alreadyRevoked", ACME_ACTION_GIVE_UP },
    { "badCSR", ACME_ACTION_FIX_CONFIG },
    { "badNonce", ACME_ACTION_RETRY },
    { "badPublicKey", ACME_ACTION_FIX_CONFIG },
    { "badRevocationReason", ACME_ACTION_GIVE_UP },
    { "badSignatureAlgorithm", ACME_ACTION_FIX_CONFIG },
    { "caa", ACME_ACTION_FIX_CONFIG },
    { "compound", ACME_ACTION_RETRY },
    { "connection", ACME_ACTION_FIX_CONFIG },
    { "dns", ACME_ACTION_FIX_CONFIG },
    { "externalAccountRequired", ACME_ACTION_FIX_CONFIG },
    { "incorrectResponse", ACME_ACTION_FIX_CONFIG },
    { "invalidContact", ACME_ACTION_FIX_CONFIG },
    { "malformed", ACME_ACTION_GIVE_UP },
    { "orderNotReady", ACME_ACTION_RETRY },
    { "rateLimited", ACME_ACTION_RETRY },
    { "rejectedIdentifier", ACME_ACTION_FIX_CONFIG },
    { "serverInternal", ACME_ACTION_RETRY },
    { "tls", ACME_ACTION_FIX_CONFIG },
    { "unauthorized", ACME_ACTION_FIX_CONFIG },
    { "unsupportedContact", ACME_ACTION_FIX_CONFIG },
    { "unsupportedIdentifier", ACME_ACTION_FIX_CONFIG },
    { "userActionRequired", ACME_ACTION_FIX_CONFIG },
};

START_TEST(table_classifies_every_acme_type)
{
    apr_size_t i;

    for (i = 0; i < sizeof(expected_actions) / sizeof(expected_actions[0]); ++i) {
        const char *type = apr_pstrcat(test_pool, ACME_PROBLEM_NS,
                                       expected_actions[i].name, NULL);
        /* The HTTP status must not matter for a known type: 400 would give
         * up, 503 would retry. */
        ck_assert_msg(acme_problem_type_action(type, 400) == expected_actions[i].action,
                      "%s", type);
        ck_assert_msg(acme_problem_type_action(type, 503) == expected_actions[i].action,
                      "%s", type);
        ck_assert_msg(acme_problem_describe(type) != NULL, "%s has no description", type);
        ck_assert_str_eq(acme_problem_short_name(type), expected_actions[i].name);
        ck_assert(acme_problem_type_is(type, expected_actions[i].name));
    }
}
END_TEST

START_TEST(table_unknown_types_by_http_status)
{
    static const char *unknown[] = {
        NULL, "about:blank", "urn:ietf:params:acme:error:somethingNew",
        "https://ca.example/problems/custom",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); ++i) {
        ck_assert(acme_problem_type_action(unknown[i], 500) == ACME_ACTION_RETRY);
        ck_assert(acme_problem_type_action(unknown[i], 503) == ACME_ACTION_RETRY);
        ck_assert(acme_problem_type_action(unknown[i], 429) == ACME_ACTION_RETRY);
        ck_assert(acme_problem_type_action(unknown[i], 408) == ACME_ACTION_RETRY);
        ck_assert(acme_problem_type_action(unknown[i], 400) == ACME_ACTION_GIVE_UP);
        ck_assert(acme_problem_type_action(unknown[i], 404) == ACME_ACTION_GIVE_UP);
        ck_assert(acme_problem_type_action(unknown[i], 0) == ACME_ACTION_RETRY);
        ck_assert_ptr_null(acme_problem_describe(unknown[i]));
    }
    /* The pre-RFC namespace is understood, other namespaces are not. */
    ck_assert(acme_problem_type_action("urn:acme:error:caa", 500) == ACME_ACTION_FIX_CONFIG);
    ck_assert_ptr_null(acme_problem_short_name("urn:other:error:caa"));
    ck_assert(!acme_problem_type_is("urn:ietf:params:acme:error:badNonceX", "badNonce"));
    ck_assert(!acme_problem_type_is(NULL, "badNonce"));
}
END_TEST

START_TEST(table_compound_takes_worst_subproblem)
{
    acme_problem_t *prob = parse_file("problem-compound.json");
    acme_problem_t *retry_only;
    const char *doc = "{\"type\": \"urn:ietf:params:acme:error:compound\", \"subproblems\":"
                      " [{\"type\": \"urn:ietf:params:acme:error:serverInternal\"},"
                      "  {\"type\": \"urn:ietf:params:acme:error:badNonce\"}]}";

    /* serverInternal (retry) + caa (fix config) */
    ck_assert(acme_problem_action(prob, 400) == ACME_ACTION_FIX_CONFIG);
    ck_assert_int_eq(acme_problem_parse(&retry_only, test_pool, doc, strlen(doc), NULL),
                     APR_SUCCESS);
    ck_assert(acme_problem_action(retry_only, 400) == ACME_ACTION_RETRY);
    /* A compound without subproblems falls back to the HTTP status. */
    apr_array_clear(retry_only->subproblems);
    ck_assert(acme_problem_action(retry_only, 403) == ACME_ACTION_GIVE_UP);
    /* Non-compound documents do not look at their subproblems. */
    prob = parse_file("problem-rfc8555-subproblems.json");
    ck_assert(acme_problem_action(prob, 400) == ACME_ACTION_GIVE_UP);
    ck_assert_str_eq(acme_problem_action_name(ACME_ACTION_FIX_CONFIG), "fix config");
}
END_TEST

TCase *test_http_problem_tcase(void)
{
    TCase *tc = tcase_create("problem");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, problem_rfc8555_example_with_subproblems);
    tcase_add_test(tc, problem_status_and_defaults);
    tcase_add_test(tc, problem_malformed_subproblems_are_dropped);
    tcase_add_test(tc, problem_subproblems_are_capped);
    tcase_add_test(tc, problem_malformed_documents);
    tcase_add_test(tc, problem_text_is_sanitized);
    tcase_add_test(tc, table_classifies_every_acme_type);
    tcase_add_test(tc, table_unknown_types_by_http_status);
    tcase_add_test(tc, table_compound_takes_worst_subproblem);
    return tc;
}
