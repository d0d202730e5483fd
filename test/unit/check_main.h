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

#endif /* CHECK_MAIN_H */
