/* Shared main() of the unit test programs: each program provides its suite. */
#ifndef CHECK_MAIN_H
#define CHECK_MAIN_H

#include <check.h>
#include <apr_pools.h>

/* Defined by each test program: the suite it runs. */
Suite *acme_test_suite(void);

/* A pool that lives for one test: created in a fixture, destroyed after. */
extern apr_pool_t *test_pool;
void test_pool_setup(void);
void test_pool_teardown(void);

/* 1 when ACME_TEST_VALGRIND is set (test/unit/run-valgrind.sh sets it).
 * Under valgrind one RSA key generation or key check takes tens of seconds:
 * tests that make RSA keys without needing RSA then use EC keys, and the
 * larger RSA sizes (same code, more bits) are left out. */
int test_under_valgrind(void);

#endif /* CHECK_MAIN_H */
