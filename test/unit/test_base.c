/* Unit tests of the core's base: logging callback and level filter. */
#include <stdio.h>
#include <string.h>

#include "acme_log.h"
#include "check_main.h"

static int seen_count;
static char seen_msg[256];

static void capture_cb(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    ++seen_count;
    snprintf(seen_msg, sizeof(seen_msg), "%s", msg);
}

START_TEST(log_delivers_formatted_message_within_level)
{
    seen_count = 0;
    acme_log_set(capture_cb, NULL, ACME_LOG_INFO);
    acme_log(ACME_LOG_NOTICE, 0, "ACME9999 hello %s %d", "world", 42);
    ck_assert_int_eq(seen_count, 1);
    ck_assert_str_eq(seen_msg, "ACME9999 hello world 42");
}
END_TEST

START_TEST(log_drops_messages_above_level)
{
    seen_count = 0;
    acme_log_set(capture_cb, NULL, ACME_LOG_NOTICE);
    acme_log(ACME_LOG_DEBUG, 0, "ACME9999 too verbose");
    ck_assert_int_eq(seen_count, 0);
    ck_assert(!acme_log_is_level(ACME_LOG_DEBUG));
    ck_assert(acme_log_is_level(ACME_LOG_ERR));
}
END_TEST

START_TEST(log_without_callback_is_silent)
{
    acme_log_set(NULL, NULL, ACME_LOG_TRACE);
    ck_assert(!acme_log_is_level(ACME_LOG_ERR));
    acme_log(ACME_LOG_ERR, 0, "ACME9999 nobody listens");
}
END_TEST

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, log_delivers_formatted_message_within_level);
    tcase_add_test(tc, log_drops_messages_above_level);
    tcase_add_test(tc, log_without_callback_is_silent);
    suite_add_tcase(s, tc);
    return s;
}
