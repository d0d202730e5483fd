/* check_keyholder: the fixture (a key holder serving on a real socket from a
 * thread), the suite, and the tests of the socket itself: who may connect,
 * framing, a key holder that is not there, several clients at once. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_jws.h"
#include "acme_keyholder_int.h"
#include "acme_store_fs.h"
#include "test_keyholder.h"

const char *tkh_dir;
const char *tkh_socket;
const char *tkh_store_dir;
acme_seal_key_t *tkh_seal_key;
acme_keys_t *tkh_local;
acme_keys_t *tkh_remote;
acme_keyholder_policy_t *tkh_policy;
volatile int tkh_peer_allow;
volatile int tkh_peer_calls;

static char tmp_root[64];
static int listen_fd = -1;
static pthread_t server_thread;
static int server_running;
static volatile sig_atomic_t server_stop;
static int server_wake[2] = { -1, -1 };     /* the stop wakes the server at once */
static apr_status_t server_rv;

static int peer_ok(void *baton, pid_t pid, uid_t uid, gid_t gid)
{
    (void)baton;
    (void)gid;
    tkh_peer_calls++;
    return tkh_peer_allow && pid == getpid() && uid == getuid();
}

static void *server_main(void *arg)
{
    apr_pool_t *p;

    (void)arg;
    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    server_rv = acme_keyholder_run(listen_fd, p, tkh_local, tkh_policy, peer_ok, NULL,
                                   &server_stop, server_wake[0]);
    apr_pool_destroy(p);
    return NULL;
}

static acme_keyholder_policy_t *policy_make(apr_pool_t *p)
{
    acme_keyholder_policy_t *policy = apr_pcalloc(p, sizeof(*policy));
    apr_array_header_t *urls = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *eabs = apr_array_make(p, 1, sizeof(acme_keyholder_eab_t));
    apr_array_header_t *names = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *specs = apr_array_make(p, 1, sizeof(acme_pkey_spec_t));
    acme_keyholder_md_t *md = apr_pcalloc(p, sizeof(*md));
    acme_keyholder_eab_t *eab;
    acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
    acme_pkey_spec_t rsa2048 = { ACME_PKEY_RSA, 2048, ACME_PKEY_CURVE_NONE };

    APR_ARRAY_PUSH(urls, const char *) = TKH_CA "/dir";
    APR_ARRAY_PUSH(urls, const char *) = "https://other-ca.example/directory";
    eab = apr_array_push(eabs);
    eab->kid = TKH_EAB_KID;
    eab->hmac = TKH_EAB_HMAC;
    APR_ARRAY_PUSH(names, const char *) = "example.org";
    APR_ARRAY_PUSH(names, const char *) = "www.example.org";
    APR_ARRAY_PUSH(specs, acme_pkey_spec_t) = p256;
    md->name = TKH_MD;
    md->names = names;
    md->pkey_specs = specs;
    policy->ca_urls = urls;
    policy->eabs = eabs;
    policy->mds = apr_hash_make(p);
    apr_hash_set(policy->mds, md->name, APR_HASH_KEY_STRING, md);
    /* a second domain, with an RSA key */
    md = apr_pcalloc(p, sizeof(*md));
    names = apr_array_make(p, 1, sizeof(const char *));
    specs = apr_array_make(p, 1, sizeof(acme_pkey_spec_t));
    APR_ARRAY_PUSH(names, const char *) = TKH_MD_RSA;
    APR_ARRAY_PUSH(specs, acme_pkey_spec_t) = rsa2048;
    md->name = TKH_MD_RSA;
    md->names = names;
    md->pkey_specs = specs;
    apr_hash_set(policy->mds, md->name, APR_HASH_KEY_STRING, md);
    policy->seal_key = tkh_seal_key;
    return policy;
}

void tkh_setup(void)
{
    unsigned char seal_bytes[ACME_SEAL_KEY_LEN];
    acme_store_t *store;
    int i;

    test_pool_setup();
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/acme-kh-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
    tkh_dir = apr_pstrdup(test_pool, tmp_root);
    tkh_socket = apr_pstrcat(test_pool, tkh_dir, "/kh.sock", NULL);
    tkh_store_dir = apr_pstrcat(test_pool, tkh_dir, "/store", NULL);
    ck_assert_int_eq(acme_store_fs_open(&store, test_pool, tkh_store_dir), APR_SUCCESS);
    for (i = 0; i < ACME_SEAL_KEY_LEN; i++) {
        seal_bytes[i] = (unsigned char)(0x11 + i);
    }
    ck_assert_int_eq(acme_seal_key_from_bytes(&tkh_seal_key, test_pool, seal_bytes,
                                              sizeof(seal_bytes)), APR_SUCCESS);
    tkh_local = acme_keys_local_sealing(test_pool, store, tkh_seal_key);
    tkh_policy = policy_make(test_pool);
    tkh_remote = acme_keys_remote(test_pool, tkh_socket, apr_time_from_sec(5));
    tkh_peer_allow = 1;
    tkh_peer_calls = 0;
    tkh_server_start();
}

void tkh_server_start(void)
{
    ck_assert_int_eq(acme_keyholder_listen(&listen_fd, tkh_socket, getuid(), getgid()),
                     APR_SUCCESS);
    server_stop = 0;
    ck_assert_int_eq(pipe(server_wake), 0);
    ck_assert_int_eq(pthread_create(&server_thread, NULL, server_main, NULL), 0);
    server_running = 1;
}

void tkh_server_stop(void)
{
    if (server_running) {
        server_stop = 1;
        ck_assert_int_eq(write(server_wake[1], "x", 1), 1);
        pthread_join(server_thread, NULL);
        server_running = 0;
        close(server_wake[0]);
        close(server_wake[1]);
        ck_assert_int_eq(server_rv, APR_SUCCESS);
    }
    if (listen_fd >= 0) {
        close(listen_fd);
        listen_fd = -1;
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tkh_teardown(void)
{
    tkh_server_stop();
    test_pool_teardown();
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tkh_raw_call(const char *data, apr_size_t len, apr_size_t claimed)
{
    struct sockaddr_un addr;
    unsigned char head[4] = { (unsigned char)(claimed >> 24), (unsigned char)(claimed >> 16),
                              (unsigned char)(claimed >> 8), (unsigned char)claimed };
    char buf[4096];
    apr_size_t got = 0;
    ssize_t n;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, tkh_socket);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(send(fd, head, 4, MSG_NOSIGNAL), 4);
    if (len > 0) {
        /* the key holder may close before it read everything: that is fine */
        (void)send(fd, data, len, MSG_NOSIGNAL);
    }
    shutdown(fd, SHUT_WR);
    while ((n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0) {
        got += (apr_size_t)n;
    }
    close(fd);
    if (got < 4) {
        return NULL;
    }
    buf[got] = '\0';
    return apr_pstrdup(test_pool, buf + 4);
}

/* ------------------------------------------------------------------ tests */

START_TEST(peer_refused_fails_fast)
{
    acme_pkey_t *key;
    const char *why = NULL;
    apr_time_t start = apr_time_now();
    apr_status_t rv;

    tkh_peer_allow = 0;
    rv = acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 1, &why);
    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_ge(tkh_peer_calls, 1);
    ck_assert_int_lt(apr_time_now() - start, apr_time_from_sec(1));
    /* and the refused peer made no key */
    tkh_peer_allow = 1;
    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 0, NULL),
                     APR_ENOENT);
}
END_TEST

/* A socket path longer than sun_path's 107 bytes (a deep DefaultRuntimeDir)
 * is bound and reached through its directory. */
START_TEST(long_socket_path)
{
    const char *dir = tkh_dir, *path;
    struct sockaddr_un addr;
    struct stat st;
    int i, fd, cfd, dirfd;

    for (i = 0; i < 4; ++i) {
        dir = apr_pstrcat(test_pool, dir, "/a-directory-name-of-forty-characters-xx", NULL);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
    }
    path = apr_pstrcat(test_pool, dir, "/mod_acme-keys.1.sock", NULL);
    ck_assert_uint_gt(strlen(path), sizeof(addr.sun_path));
    ck_assert_int_eq(acme_keyholder_listen(&fd, path, getuid(), getgid()), APR_SUCCESS);
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(acme_keyholder_addr(&addr, &dirfd, path), APR_SUCCESS);
    ck_assert_int_ge(dirfd, 0);
    cfd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    close(cfd);
    close(dirfd);
    close(fd);
}
END_TEST

START_TEST(not_running_fails_fast)
{
    acme_keys_t *nowhere = acme_keys_remote(test_pool,
                                            apr_pstrcat(test_pool, tkh_dir, "/none.sock",
                                                        NULL), apr_time_from_sec(5));
    acme_pkey_t *key;
    const char *why = NULL;
    apr_time_t start = apr_time_now();
    apr_status_t rv;

    rv = acme_keys_account_key(&key, test_pool, nowhere, TKH_ACCOUNT, 0, &why);
    ck_assert_msg(APR_STATUS_IS_ENOENT(rv), "rv %d", rv);
    ck_assert_ptr_nonnull(why);
    /* the socket file is there, nobody listens: refused */
    tkh_server_stop();
    rv = acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 0, &why);
    ck_assert_msg(APR_STATUS_IS_ECONNREFUSED(rv), "rv %d", rv);
    ck_assert_int_lt(apr_time_now() - start, apr_time_from_sec(1));
}
END_TEST

START_TEST(bad_frames_keep_serving)
{
    static char big[ACME_KEYHOLDER_FRAME_MAX + 1];
    acme_pkey_t *key;
    const char *answer;

    memset(big, ' ', sizeof(big));
    /* too large: closed without an answer, before the body is read */
    ck_assert_ptr_null(tkh_raw_call(big, sizeof(big), sizeof(big)));
    /* empty */
    ck_assert_ptr_null(tkh_raw_call("", 0, 0));
    /* shorter than it says, then closed: no answer (after the peer's close) */
    ck_assert_ptr_null(tkh_raw_call("{}", 2, 10));
    /* garbage JSON and other shapes: an answer that refuses */
    answer = tkh_raw_call("{\"op\":", 6, 6);
    ck_assert_ptr_nonnull(answer);
    ck_assert_ptr_nonnull(strstr(answer, "\"ok\":false"));
    ck_assert_ptr_nonnull(strstr(answer, "\"status\":22"));  /* APR_EINVAL */
    answer = tkh_raw_call("[1,2]", 5, 5);
    ck_assert_ptr_nonnull(strstr(answer, "\"ok\":false"));
    answer = tkh_raw_call("{\"op\":\"sign\",\"op\":\"csr\"}", 24, 24);
    ck_assert_ptr_nonnull(strstr(answer, "\"ok\":false"));
    answer = tkh_raw_call("{\"op\":\"delete-everything\"}", 26, 26);
    ck_assert_ptr_nonnull(strstr(answer, "unknown op"));
    /* still serving */
    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 1, NULL),
                     APR_SUCCESS);
}
END_TEST

START_TEST(listen_replaces_only_sockets)
{
    const char *file = apr_pstrcat(test_pool, tkh_dir, "/plain", NULL);
    struct stat st;
    FILE *f;
    int fd;

    ck_assert_int_eq(stat(tkh_socket, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    /* a stale socket (the fixture's server is stopped) is replaced */
    tkh_server_stop();
    ck_assert_int_eq(acme_keyholder_listen(&fd, tkh_socket, getuid(), getgid()), APR_SUCCESS);
    close(fd);
    /* a file is not unlinked */
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(acme_keyholder_listen(&fd, file, getuid(), getgid()), APR_EEXIST);
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
}
END_TEST

/* Several clients at once: every one gets its own signatures. */
#define CLIENTS 8
#define ROUNDS 5

typedef struct {
    acme_pkey_t *key;
    int failures;
} client_t;

static void *client_main(void *arg)
{
    client_t *c = arg;
    apr_pool_t *p;
    acme_jws_hdr_t hdr = { TKH_CA "/acme/order/1", "bm9uY2U", TKH_CA "/acme/acct/1" };
    acme_jws_parts_t *parts;
    json_t *jws, *payload;
    int i;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < ROUNDS; i++) {
        payload = json_pack("{s:i}", "round", i);
        if (acme_jws_sign(&jws, p, c->key, &hdr, payload, NULL) != APR_SUCCESS) {
            c->failures++;
        }
        else {
            if (acme_jws_verify(&parts, p, jws, c->key, NULL) != APR_SUCCESS) {
                c->failures++;
            }
            json_decref(jws);
        }
        json_decref(payload);
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(several_clients_at_once)
{
    pthread_t threads[CLIENTS];
    client_t clients[CLIENTS];
    acme_pkey_t *key;
    int i;

    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 1, NULL),
                     APR_SUCCESS);
    for (i = 0; i < CLIENTS; i++) {
        clients[i].key = key;
        clients[i].failures = 0;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, client_main, &clients[i]), 0);
    }
    for (i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(clients[i].failures, 0);
    }
    /* connections are kept: at most one per client at once, each checked once */
    ck_assert_int_le(tkh_peer_calls, 1 + CLIENTS);
}
END_TEST

/* A kept connection the key holder closed (here: it was restarted, as httpd's
 * parent does when it dies) is noticed at the next request, which goes
 * again on a new connection: the caller sees no failure. */
START_TEST(kept_connection_closed_by_a_restart_is_replaced)
{
    acme_pkey_t *key;
    int calls;

    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 1, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 0, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(tkh_peer_calls, 1);       /* the second went on the kept one */
    tkh_server_stop();
    tkh_server_start();
    calls = tkh_peer_calls;
    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 0, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(tkh_peer_calls, calls + 1);
}
END_TEST

TCase *test_keyholder_serve_tcase(void)
{
    TCase *tc = tcase_create("serve");

    tcase_add_checked_fixture(tc, tkh_setup, tkh_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, peer_refused_fails_fast);
    tcase_add_test(tc, not_running_fails_fast);
    tcase_add_test(tc, long_socket_path);
    tcase_add_test(tc, bad_frames_keep_serving);
    tcase_add_test(tc, listen_replaces_only_sockets);
    tcase_add_test(tc, several_clients_at_once);
    tcase_add_test(tc, kept_connection_closed_by_a_restart_is_replaced);
    return tc;
}

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("keyholder");

    suite_add_tcase(s, test_keyholder_serve_tcase());
    suite_add_tcase(s, test_keyholder_ops_tcase());
    suite_add_tcase(s, test_keyholder_refuse_tcase());
    suite_add_tcase(s, test_keyholder_seal_tcase());
    suite_add_tcase(s, test_keyholder_seal_ops_tcase());
    return s;
}
