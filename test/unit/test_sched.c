/* check_sched: renewal timing, ARI, backoff and the due queue of the watchdog. */
#include "check_main.h"
#include "test_sched.h"

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("sched");

    suite_add_tcase(s, test_sched_window_tcase());
    suite_add_tcase(s, test_sched_ari_tcase());
    suite_add_tcase(s, test_sched_backoff_tcase());
    suite_add_tcase(s, test_sched_queue_tcase());
    suite_add_tcase(s, test_sched_loop_tcase());
    return s;
}
