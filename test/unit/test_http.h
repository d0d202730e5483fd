/* Shared helpers of the check_http program (JSON, headers, problems and
 * results, the scripted transport, the libcurl transport). */
#ifndef TEST_HTTP_H
#define TEST_HTTP_H

#include <apr_pools.h>
#include <check.h>

TCase *test_http_json_tcase(void);
TCase *test_http_headers_tcase(void);
TCase *test_http_problem_tcase(void);
TCase *test_http_result_tcase(void);
TCase *test_http_script_tcase(void);
TCase *test_http_curl_tcase(void);

/* Path of test/unit/data/http/<file>, in test_pool. */
const char *http_test_path(const char *file);

/* Contents of test/unit/data/http/<file>, NUL-terminated, in test_pool;
 * fails the test when unreadable. *plen may be NULL. */
const char *http_test_read(apr_size_t *plen, const char *file);

#endif /* TEST_HTTP_H */
