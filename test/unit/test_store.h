/* Shared fixture and helpers of the store unit tests (check_store).
 *
 * Each test gets a fresh directory under /tmp with a store in "<dir>/store";
 * tests of the fs backend may look at its files directly (they test that
 * backend), everything else goes through the store interface. */
#ifndef TEST_STORE_H
#define TEST_STORE_H

#include <sys/types.h>

#include "acme_store.h"
#include "check_main.h"

extern const char *test_store_dir; /* the store's base directory */
extern acme_store_t *test_store;

void test_store_setup(void);
void test_store_teardown(void);

/* "<test_store_dir>/<rel>", from the test pool. */
const char *test_store_path(const char *rel);

/* Raw file access below the store directory, bypassing the store. */
void test_store_put_raw(const char *rel, const char *content);
const char *test_store_get_raw(const char *rel); /* NULL when absent */
int test_store_mode(const char *rel);            /* permission bits, -1 if absent */
int test_store_raw_exists(const char *rel);
int test_store_count_tmp(const char *rel_dir);   /* ".tmp.*" entries in a directory */

/* Store access asserting success; load gives NULL for APR_ENOENT. */
void test_store_save_str(acme_store_group_e group, const char *name, const char *aspect,
                         const char *value, int flags);
const char *test_store_load_str(acme_store_group_e group, const char *name,
                                const char *aspect);

/* The content of a fixture file under test/unit/data/store/. */
const char *test_store_fixture(const char *rel);

/* Fault injection through the linker (-Wl,--wrap, see test_store_wrap.c):
 * the n-th renameat() from now fails with EIO (0: off), as a crash between
 * two steps would leave things. */
extern int test_store_fail_renameat_at;
/* Creation modes/flags seen for ".tmp." files, and the widest fchmod mode
 * applied to any file while recording is on. */
extern int test_store_record;
extern int test_store_tmp_creates, test_store_tmp_bad_creates;
extern mode_t test_store_widest_fchmod;
/* fsync() calls so far (counted always; tests reset it). */
extern int test_store_fsyncs;

TCase *test_store_names_tcase(void);
TCase *test_store_items_tcase(void);
TCase *test_store_fs_tcase(void);
TCase *test_store_activate_tcase(void);
TCase *test_store_lock_tcase(void);
TCase *test_store_owner_tcase(void);
TCase *test_store_take_tcase(void);
TCase *test_store_private_tcase(void);

#endif /* TEST_STORE_H */
