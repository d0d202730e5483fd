/* The root/User boundary of the fs store (issue 16, findings 3 and 4): a
 * staged set is taken over by copying it into fresh files of the taking
 * process, refusing anything but plain files with a single link, and the
 * ownership walk over the worker's groups never hands over a file that has
 * other names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_store_fs.h"
#include "test_store.h"

#define MD "a.example"
#define NOBODY 65534

static const acme_store_take_t items[] = {
    {"privkey.pem", ACME_STORE_SECRET}, {"pubcert.pem", 0},
};

static void stage_plain_set(void)
{
    test_store_save_str(ACME_STORE_STAGING, MD, "privkey.pem", "key-v1", ACME_STORE_SECRET);
    test_store_save_str(ACME_STORE_STAGING, MD, "pubcert.pem", "cert-v1", 0);
}

/* acme_store_take() refuses the set with a reason naming `what`; nothing
 * is copied. */
static void assert_refused(const char *what)
{
    const char *why = NULL;

    ck_assert_int_eq(acme_store_take(&why, test_pool, test_store, MD, items, 2), APR_EINVAL);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, what) != NULL, "'%s' does not say '%s'", why, what);
    ck_assert(!test_store_raw_exists("pending/" MD));
}

START_TEST(take_copies_plain_files_into_fresh_ones)
{
    struct stat sst, pst;
    const char *why = "unset";

    stage_plain_set();
    test_store_save_str(ACME_STORE_STAGING, MD, "verified.json", "{\"forged\": 1}", 0);
    ck_assert_int_eq(acme_store_take(&why, test_pool, test_store, MD, items, 2), APR_SUCCESS);
    ck_assert_ptr_null(why);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_PENDING, MD, "privkey.pem"), "key-v1");
    ck_assert_str_eq(test_store_load_str(ACME_STORE_PENDING, MD, "pubcert.pem"), "cert-v1");
    /* only the aspects asked for: the job's stamp stays behind */
    ck_assert(!test_store_raw_exists("pending/" MD "/verified.json"));
    ck_assert_int_eq(test_store_mode("pending/" MD "/privkey.pem"), 0600);
    ck_assert_int_eq(test_store_mode("pending/" MD "/pubcert.pem"), 0644);
    ck_assert_int_eq(test_store_mode("pending"), 0700);
    ck_assert_int_eq(stat(test_store_path("staging/" MD "/privkey.pem"), &sst), 0);
    ck_assert_int_eq(stat(test_store_path("pending/" MD "/privkey.pem"), &pst), 0);
    ck_assert(sst.st_ino != pst.st_ino);
    ck_assert_int_eq(acme_store_take(&why, test_pool, test_store, "b.example", items, 2),
                     APR_ENOENT);
}
END_TEST

START_TEST(take_refuses_a_symlink)
{
    stage_plain_set();
    ck_assert_int_eq(unlink(test_store_path("staging/" MD "/privkey.pem")), 0);
    ck_assert_int_eq(symlink("/etc/shadow", test_store_path("staging/" MD "/privkey.pem")), 0);
    assert_refused("symbolic link (privkey.pem)");
}
END_TEST

START_TEST(take_refuses_a_symlinked_set_directory)
{
    stage_plain_set();
    ck_assert_int_eq(rename(test_store_path("staging/" MD), test_store_path("elsewhere")), 0);
    ck_assert_int_eq(symlink(test_store_path("elsewhere"), test_store_path("staging/" MD)), 0);
    assert_refused("not a directory");
}
END_TEST

START_TEST(take_refuses_a_hard_link)
{
    stage_plain_set();
    test_store_put_raw("outside", "a file of someone else");
    ck_assert_int_eq(link(test_store_path("outside"), test_store_path("staging/" MD "/x")), 0);
    assert_refused("hard-linked file (x has 2 links)");
}
END_TEST

START_TEST(take_refuses_a_subdirectory_and_other_files)
{
    stage_plain_set();
    ck_assert_int_eq(mkdir(test_store_path("staging/" MD "/deep"), 0755), 0);
    assert_refused("subdirectory (deep)");
    ck_assert_int_eq(rmdir(test_store_path("staging/" MD "/deep")), 0);
    ck_assert_int_eq(mkfifo(test_store_path("staging/" MD "/fifo"), 0644), 0);
    assert_refused("fifo, which is not a regular file");
}
END_TEST

START_TEST(take_replaces_an_old_copy)
{
    const char *why;

    stage_plain_set();
    test_store_save_str(ACME_STORE_PENDING, MD, "privkey.pem", "old", ACME_STORE_SECRET);
    test_store_save_str(ACME_STORE_PENDING, MD, "stale.pem", "old", 0);
    ck_assert_int_eq(acme_store_take(&why, test_pool, test_store, MD, items, 2), APR_SUCCESS);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_PENDING, MD, "privkey.pem"), "key-v1");
    ck_assert(!test_store_raw_exists("pending/" MD "/stale.pem"));
}
END_TEST

/* Finding 4: a hard link to a root file planted in a worker's group is not
 * handed over by the ownership walk at start (where
 * fs.protected_hardlinks=0 lets the User make one). Fails on 0d56a80. */
START_TEST(owner_walk_never_hands_over_a_hard_link)
{
    struct stat st;

    if (geteuid() != 0) {
        return; /* needs root to give files away */
    }
    test_store_save_str(ACME_STORE_STAGING, MD, "pubcert.pem", "c", 0);
    test_store_put_raw("rootfile", "root's");
    ck_assert_int_eq(chmod(test_store_path("rootfile"), 0600), 0);
    ck_assert_int_eq(link(test_store_path("rootfile"), test_store_path("staging/" MD "/x")), 0);
    ck_assert_int_eq(acme_store_fs_set_owner(test_store, test_pool, ACME_STORE_STAGING, NOBODY,
                                             NOBODY), APR_SUCCESS);
    ck_assert_int_eq(stat(test_store_path("rootfile"), &st), 0);
    ck_assert_int_eq(st.st_uid, 0);
    ck_assert_int_eq(st.st_gid, 0);
    ck_assert_int_eq(stat(test_store_path("staging/" MD "/pubcert.pem"), &st), 0);
    ck_assert_int_eq(st.st_uid, NOBODY);    /* the rest is given as before */
}
END_TEST

/* Finding 3: a descriptor the worker opened on a staged key before the
 * activation does not reach the live key, which is a fresh file of root's;
 * a staged tree with a subdirectory is refused rather than moved. */
START_TEST(worker_descriptor_does_not_reach_the_live_key)
{
    const char *why, *archived;
    struct stat st;
    int wfd, up[2], down[2], status;
    pid_t pid;
    char c = 0;

    if (geteuid() != 0) {
        return; /* needs root to become another user */
    }
    ck_assert_int_eq(acme_store_fs_set_owner(test_store, test_pool, ACME_STORE_STAGING, NOBODY,
                                             NOBODY), APR_SUCCESS);
    stage_plain_set();
    ck_assert_int_eq(pipe(up), 0);
    ck_assert_int_eq(pipe(down), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
            _exit(10);
        }
        wfd = open(test_store_path("staging/" MD "/privkey.pem"), O_WRONLY);
        if (wfd < 0 || write(up[1], "o", 1) != 1 || read(down[0], &c, 1) != 1) {
            _exit(11);
        }
        /* after the activation: overwrite what the descriptor reaches */
        _exit(pwrite(wfd, "EVIL!!", 6, 0) == 6 ? 0 : 12);
    }
    ck_assert_int_eq(read(up[0], &c, 1), 1);
    ck_assert_int_eq(acme_store_take(&why, test_pool, test_store, MD, items, 2), APR_SUCCESS);
    ck_assert_int_eq(acme_store_activate(&archived, test_pool, test_store, MD), APR_SUCCESS);
    ck_assert_int_eq(write(down[1], "g", 1), 1);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_LIVE, MD, "privkey.pem"), "key-v1");
    ck_assert_int_eq(stat(test_store_path("domains/" MD "/privkey.pem"), &st), 0);
    ck_assert_int_eq(st.st_uid, 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert_int_eq(st.st_nlink, 1);
    ck_assert_int_eq(stat(test_store_path("domains/" MD), &st), 0);
    ck_assert_int_eq(st.st_uid, 0);
    ck_assert(!test_store_raw_exists("staging/" MD));
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
}
END_TEST

TCase *test_store_take_tcase(void)
{
    TCase *tc = tcase_create("take");

    tcase_add_checked_fixture(tc, test_store_setup, test_store_teardown);
    tcase_add_test(tc, take_copies_plain_files_into_fresh_ones);
    tcase_add_test(tc, take_refuses_a_symlink);
    tcase_add_test(tc, take_refuses_a_symlinked_set_directory);
    tcase_add_test(tc, take_refuses_a_hard_link);
    tcase_add_test(tc, take_refuses_a_subdirectory_and_other_files);
    tcase_add_test(tc, take_replaces_an_old_copy);
    tcase_add_test(tc, owner_walk_never_hands_over_a_hard_link);
    tcase_add_test(tc, worker_descriptor_does_not_reach_the_live_key);
    return tc;
}
