/* The test cases of check_sched, one getter per file. */
#ifndef TEST_SCHED_H
#define TEST_SCHED_H

#include <check.h>

TCase *test_sched_window_tcase(void);
TCase *test_sched_ari_tcase(void);
TCase *test_sched_backoff_tcase(void);
TCase *test_sched_queue_tcase(void);
TCase *test_sched_loop_tcase(void);

#endif /* TEST_SCHED_H */
