/* Named locks between processes, and group ownership for the httpd worker. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_store_fs.h"
#include "test_store.h"

#define NOBODY 65534

/* In a forked child: try the lock with `timeout`, exit with 0 when the
 * result is `expect`. Hold it for `hold` before exiting. */
static pid_t lock_in_child(acme_store_group_e group, const char *name,
                           apr_interval_time_t timeout, apr_status_t expect,
                           apr_interval_time_t hold, int notify_fd)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        acme_store_lock_t *lock;
        apr_pool_t *p;
        apr_status_t rv;
        apr_pool_create(&p, NULL);
        rv = acme_store_lock(&lock, p, test_store, group, name, timeout);
        if (notify_fd >= 0 && write(notify_fd, "x", 1) != 1) {
            _exit(3);
        }
        apr_sleep(hold);
        _exit(rv == expect ? 0 : 2);
    }
    return pid;
}

static int child_status(pid_t pid)
{
    int status = -1;

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

START_TEST(lock_excludes_other_process_until_released)
{
    acme_store_lock_t *lock;
    apr_time_t start;

    ck_assert_int_eq(acme_store_lock(&lock, test_pool, test_store, ACME_STORE_JOBS, "a.example",
                                     0), APR_SUCCESS);
    start = apr_time_now();
    ck_assert_int_eq(child_status(lock_in_child(ACME_STORE_JOBS, "a.example",
                                                apr_time_from_msec(200), APR_TIMEUP, 0, -1)),
                     0);
    ck_assert(apr_time_now() - start >= apr_time_from_msec(190)); /* it did wait */
    /* Another name is independent. */
    ck_assert_int_eq(child_status(lock_in_child(ACME_STORE_JOBS, "b.example", 0, APR_SUCCESS,
                                                0, -1)), 0);
    ck_assert_int_eq(acme_store_unlock(lock), APR_SUCCESS);
    ck_assert_int_eq(acme_store_unlock(lock), APR_SUCCESS); /* second call: no-op */
    ck_assert_int_eq(child_status(lock_in_child(ACME_STORE_JOBS, "a.example", 0, APR_SUCCESS,
                                                0, -1)), 0);
}
END_TEST

START_TEST(lock_waits_for_holder_within_timeout)
{
    acme_store_lock_t *lock;
    int fds[2];
    char c;
    pid_t pid;

    ck_assert_int_eq(pipe(fds), 0);
    pid = lock_in_child(ACME_STORE_LIVE, "a.example", 0, APR_SUCCESS, apr_time_from_msec(300),
                        fds[1]);
    ck_assert_int_eq(read(fds[0], &c, 1), 1); /* the child holds it now */
    ck_assert_int_eq(acme_store_lock(&lock, test_pool, test_store, ACME_STORE_LIVE,
                                     "a.example", 0), APR_TIMEUP);
    ck_assert_int_eq(acme_store_lock(&lock, test_pool, test_store, ACME_STORE_LIVE,
                                     "a.example", apr_time_from_sec(10)), APR_SUCCESS);
    ck_assert_int_eq(child_status(pid), 0);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

START_TEST(lock_excludes_within_one_process_and_dies_with_pool)
{
    acme_store_lock_t *l1, *l2;
    apr_pool_t *p;

    apr_pool_create(&p, test_pool);
    ck_assert_int_eq(acme_store_lock(&l1, p, test_store, ACME_STORE_ACCOUNTS, "ACME-x-1", 0),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_store_lock(&l2, test_pool, test_store, ACME_STORE_ACCOUNTS,
                                     "ACME-x-1", apr_time_from_msec(20)), APR_TIMEUP);
    apr_pool_destroy(p);
    ck_assert_int_eq(acme_store_lock(&l2, test_pool, test_store, ACME_STORE_ACCOUNTS,
                                     "ACME-x-1", 0), APR_SUCCESS);
    ck_assert_int_eq(acme_store_lock(&l1, test_pool, test_store, ACME_STORE_ACCOUNTS, "../x",
                                     0), APR_EINVAL);
}
END_TEST

static void owner_of(const char *rel, uid_t *uid, int *mode)
{
    struct stat st;

    ck_assert_msg(lstat(test_store_path(rel), &st) == 0, "%s missing", rel);
    *uid = st.st_uid;
    *mode = (int)(st.st_mode & 07777);
}

START_TEST(set_owner_gives_group_and_new_entries_away)
{
    uid_t worker = geteuid() == 0 ? NOBODY : geteuid();
    gid_t wgroup = geteuid() == 0 ? NOBODY : getegid();
    acme_store_lock_t *lock;
    uid_t uid;
    int mode;

    test_store_save_str(ACME_STORE_STAGING, "a.example", "old.pem", "x", ACME_STORE_SECRET);
    ck_assert_int_eq(acme_store_fs_set_owner(test_store, test_pool, ACME_STORE_STAGING, worker,
                                             wgroup), APR_SUCCESS);
    owner_of("staging", &uid, &mode);
    ck_assert_int_eq(uid, worker);
    owner_of("staging/a.example/old.pem", &uid, &mode);
    ck_assert_int_eq(uid, worker);
    ck_assert_int_eq(mode, 0600);
    owner_of("locks/staging", &uid, &mode);
    ck_assert_int_eq(uid, worker);
    ck_assert_int_eq(mode, 0700);
    /* Created later by root: still the worker's. */
    test_store_save_str(ACME_STORE_STAGING, "b.example", "new.pem", "x", ACME_STORE_SECRET);
    owner_of("staging/b.example", &uid, &mode);
    ck_assert_int_eq(uid, worker);
    owner_of("staging/b.example/new.pem", &uid, &mode);
    ck_assert_int_eq(uid, worker);
    ck_assert_int_eq(acme_store_lock(&lock, test_pool, test_store, ACME_STORE_STAGING,
                                     "b.example", 0), APR_SUCCESS);
    owner_of("locks/staging/b.example", &uid, &mode);
    ck_assert_int_eq(uid, worker);
    ck_assert(acme_store_fs_group_for_worker(ACME_STORE_STAGING));
    ck_assert(acme_store_fs_group_for_worker(ACME_STORE_ACCOUNTS));
    ck_assert(!acme_store_fs_group_for_worker(ACME_STORE_LIVE));
    ck_assert(!acme_store_fs_group_for_worker(ACME_STORE_ARCHIVE));
}
END_TEST

static const acme_store_take_t key_item = {"privkey.pem", ACME_STORE_SECRET};

START_TEST(activated_set_leaves_worker_ownership)
{
    const char *archived;
    uid_t uid;
    int mode;

    if (geteuid() != 0) {
        return; /* needs root to give files away */
    }
    ck_assert_int_eq(acme_store_fs_set_owner(test_store, test_pool, ACME_STORE_STAGING, NOBODY,
                                             NOBODY), APR_SUCCESS);
    test_store_save_str(ACME_STORE_STAGING, "a.example", "privkey.pem", "k", ACME_STORE_SECRET);
    ck_assert_int_eq(acme_store_take(&archived, test_pool, test_store, "a.example", &key_item,
                                     1), APR_SUCCESS);
    ck_assert_int_eq(acme_store_activate(&archived, test_pool, test_store, "a.example"),
                     APR_SUCCESS);
    owner_of("domains/a.example", &uid, &mode);
    ck_assert_int_eq(uid, 0);
    owner_of("domains/a.example/privkey.pem", &uid, &mode);
    ck_assert_int_eq(uid, 0);
    ck_assert_int_eq(mode, 0600);
}
END_TEST

/* In a child that became the worker user: exit 0 when every expectation of
 * the ownership policy holds. */
static int worker_checks(void)
{
    const char *data;
    apr_size_t len;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
        return 10;
    }
    if (acme_store_load(&data, &len, p, test_store, ACME_STORE_LIVE, "a.example",
                        "privkey.pem") != APR_FROM_OS_ERROR(EACCES)) {
        return 11; /* live keys are not the worker's */
    }
    if (acme_store_save(test_store, p, ACME_STORE_LIVE, "a.example", "pubcert.pem", "x", 1, 0)
        == APR_SUCCESS) {
        return 12; /* nor is what gets served */
    }
    if (acme_store_load(&data, &len, p, test_store, ACME_STORE_ACCOUNTS, "ACME-x-1",
                        "account.pem") != APR_FROM_OS_ERROR(EACCES)) {
        return 13; /* the key holder signs with the account key, not the worker */
    }
    if (acme_store_save(test_store, p, ACME_STORE_STAGING, "a.example", "privkey.pem", "n", 1,
                        ACME_STORE_SECRET) != APR_SUCCESS
        || acme_store_save(test_store, p, ACME_STORE_CHALLENGES, "a.example", "http-01.t", "t",
                           1, 0) != APR_SUCCESS) {
        return 14;
    }
    return 0;
}

START_TEST(worker_user_reaches_only_its_groups)
{
    int g;
    pid_t pid;

    if (geteuid() != 0) {
        return; /* needs root to become another user */
    }
    test_store_save_str(ACME_STORE_LIVE, "a.example", "privkey.pem", "k", ACME_STORE_SECRET);
    test_store_save_str(ACME_STORE_ACCOUNTS, "ACME-x-1", "account.pem", "k",
                        ACME_STORE_SECRET);
    for (g = 0; g < ACME_STORE_GROUP_COUNT; ++g) {
        if (acme_store_fs_group_for_worker((acme_store_group_e)g)) {
            ck_assert_int_eq(acme_store_fs_set_owner(test_store, test_pool,
                                                     (acme_store_group_e)g, NOBODY, NOBODY),
                             APR_SUCCESS);
        }
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(worker_checks());
    }
    ck_assert_int_eq(child_status(pid), 0);
}
END_TEST

TCase *test_store_lock_tcase(void)
{
    TCase *tc = tcase_create("lock");

    tcase_add_checked_fixture(tc, test_store_setup, test_store_teardown);
    tcase_add_test(tc, lock_excludes_other_process_until_released);
    tcase_add_test(tc, lock_waits_for_holder_within_timeout);
    tcase_add_test(tc, lock_excludes_within_one_process_and_dies_with_pool);
    return tc;
}

TCase *test_store_owner_tcase(void)
{
    TCase *tc = tcase_create("owner");

    tcase_add_checked_fixture(tc, test_store_setup, test_store_teardown);
    tcase_add_test(tc, set_owner_gives_group_and_new_entries_away);
    tcase_add_test(tc, activated_set_leaves_worker_ownership);
    tcase_add_test(tc, worker_user_reaches_only_its_groups);
    return tc;
}
