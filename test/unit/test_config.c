/* check_config: the directive value parsers of the core (acme_config_value.h). */
#include "check_main.h"
#include "test_config.h"

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("config");

    suite_add_tcase(s, test_config_value_tcase());
    suite_add_tcase(s, test_config_names_tcase());
    suite_add_tcase(s, test_config_lists_tcase());
    return s;
}
