/* The test cases of check_config, one getter per file. */
#ifndef TEST_CONFIG_H
#define TEST_CONFIG_H

#include <check.h>

TCase *test_config_value_tcase(void);
TCase *test_config_names_tcase(void);
TCase *test_config_lists_tcase(void);

#endif /* TEST_CONFIG_H */
