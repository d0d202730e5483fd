/* Runs the suite of one unit test program and prints Check's summary line.
 * Log messages of the core go to stderr at debug level, so a failing test
 * shows what the core said. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "acme_log.h"
#include "check_main.h"

apr_pool_t *test_pool;

void test_pool_setup(void)
{
    apr_pool_create(&test_pool, NULL);
}

void test_pool_teardown(void)
{
    apr_pool_destroy(test_pool);
    test_pool = NULL;
}

int test_under_valgrind(void)
{
    const char *v = getenv("ACME_TEST_VALGRIND");

    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

static void log_to_stderr(void *baton, acme_log_level_e level, apr_status_t rv,
                          const char *msg)
{
    fprintf(stderr, "[%d] %s (rv=%d)\n", (int)level, msg, rv);
}

int main(void)
{
    SRunner *runner;
    int failed;

    apr_initialize();
    atexit(apr_terminate);
    acme_log_set(log_to_stderr, NULL,
                 getenv("ACME_TEST_VERBOSE") ? ACME_LOG_TRACE : ACME_LOG_WARNING);
    runner = srunner_create(acme_test_suite());
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
