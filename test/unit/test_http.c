/* The check_http program: the HTTP and problem layer of the core. */
#include <apr_file_io.h>
#include <apr_strings.h>

#include "check_main.h"
#include "test_http.h"

const char *http_test_path(const char *file)
{
    return apr_pstrcat(test_pool, ACME_TEST_DATA, "/http/", file, NULL);
}

const char *http_test_read(apr_size_t *plen, const char *file)
{
    apr_file_t *f;
    apr_finfo_t finfo;
    apr_size_t len = 0;
    char *buf;

    ck_assert_int_eq(apr_file_open(&f, http_test_path(file), APR_FOPEN_READ, 0, test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_info_get(&finfo, APR_FINFO_SIZE, f), APR_SUCCESS);
    buf = apr_palloc(test_pool, (apr_size_t)finfo.size + 1);
    ck_assert_int_eq(apr_file_read_full(f, buf, (apr_size_t)finfo.size, &len), APR_SUCCESS);
    apr_file_close(f);
    buf[len] = '\0';
    if (plen) *plen = len;
    return buf;
}

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("http");

    suite_add_tcase(s, test_http_json_tcase());
    suite_add_tcase(s, test_http_headers_tcase());
    suite_add_tcase(s, test_http_problem_tcase());
    suite_add_tcase(s, test_http_result_tcase());
    suite_add_tcase(s, test_http_script_tcase());
    suite_add_tcase(s, test_http_curl_tcase());
    return s;
}
