/* check_seal: what its test files share. */
#ifndef TEST_SEAL_H
#define TEST_SEAL_H

#include <check.h>

#include "acme_seal.h"

/* A key of the 32 bytes first, first+1, ... in test_pool. */
acme_seal_key_t *seal_test_key(unsigned char first);

/* The key file tests (test_seal_key.c). */
TCase *seal_key_file_tcase(void);

#endif /* TEST_SEAL_H */
