/* check_redis: the cluster's records (acme_cluster.h) against a real
 * server: sets, accounts and jobs round trip through a lease; a server that
 * lost its lease writes nothing; and a record that is not one (anything
 * httpd's User could have written) is refused with a reason. */
#include <string.h>

#include <apr_strings.h>

#include "acme_cluster.h"
#include "acme_cluster_chal.h"
#include "acme_seal.h"
#include "test_redis.h"

#define NS "ct"
#define CHAIN "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

static acme_redis_t *conn;
static acme_seal_key_t *seal_key;

static void cluster_setup(void)
{
    static const unsigned char bytes[ACME_SEAL_KEY_LEN] = { 7, 1, 2, 3 };

    test_pool_setup();
    conn = tr_connect(test_pool, tr_url(test_pool, tr_main.port, NULL), NULL);
    ck_assert_int_eq(acme_seal_key_from_bytes(&seal_key, test_pool, bytes, sizeof(bytes)),
                     APR_SUCCESS);
}

static void cluster_teardown(void)
{
    conn = NULL;
    test_pool_teardown();
}

static const char *sealed(const char *aad, const char *plain)
{
    const char *blob;
    apr_size_t len;

    ck_assert_int_eq(acme_seal(&blob, &len, test_pool, seal_key, aad,
                               (const unsigned char *)plain, strlen(plain)), APR_SUCCESS);
    return blob;
}

static void file_put(apr_hash_t *files, const char *name, const char *data)
{
    acme_cluster_text_t *t = apr_pcalloc(test_pool, sizeof(*t));

    t->data = data;
    t->len = strlen(data);
    apr_hash_set(files, name, APR_HASH_KEY_STRING, t);
}

/* md.json, an RSA and a P-256 chain with their sealed keys. */
static apr_hash_t *good_files(const char *chain_rsa)
{
    apr_hash_t *files = apr_hash_make(test_pool);

    file_put(files, "md.json", "{\"name\": \"a.test\"}");
    file_put(files, "pubcert.pem", chain_rsa);
    file_put(files, "privkey.pem", sealed("set/a.test/privkey.pem", "rsa key"));
    file_put(files, "pubcert.secp256r1.pem", CHAIN);
    file_put(files, "privkey.secp256r1.pem", sealed("set/a.test/privkey.secp256r1.pem", "ec"));
    return files;
}

static acme_lease_t *take(const char *name)
{
    acme_lease_t *lse;
    const char *err = NULL;

    ck_assert_msg(acme_lease_acquire(&lse, test_pool, conn, NS, name, "test:1",
                                     apr_time_from_sec(30), NULL, &err) == APR_SUCCESS,
                  "%s", err ? err : "");
    return lse;
}

static const char *text_of(const acme_cluster_set_t *set, const char *name)
{
    const acme_cluster_text_t *t = apr_hash_get(set->files, name, APR_HASH_KEY_STRING);

    return t ? t->data : NULL;
}

START_TEST(set_round_trips_through_the_lease)
{
    acme_cluster_set_t *set, *back, *again;
    acme_lease_t *lse = take("a.test");
    const char *err = NULL;

    ck_assert_int_eq(acme_cluster_set_get(&back, test_pool, conn, NS, "a.test", &err),
                     APR_ENOENT);
    ck_assert_int_eq(acme_cluster_set_make(&set, test_pool, good_files(CHAIN), &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(strlen(set->id), 64);
    ck_assert_int_eq(acme_cluster_set_put(lse, test_pool, conn, NS, "a.test", set, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_set_get(&back, test_pool, conn, NS, "a.test", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(back->id, set->id);
    ck_assert(back->token == acme_lease_token(lse));
    ck_assert_uint_eq(apr_hash_count(back->files), 5);
    ck_assert_str_eq(text_of(back, "pubcert.secp256r1.pem"), CHAIN);
    ck_assert_str_eq(text_of(back, "privkey.pem"), text_of(set, "privkey.pem"));
    /* the id names the chains, not how the keys were sealed */
    ck_assert_int_eq(acme_cluster_set_make(&again, test_pool, good_files(CHAIN), &err),
                     APR_SUCCESS);
    ck_assert_str_ne(text_of(again, "privkey.pem"), text_of(set, "privkey.pem"));
    ck_assert_str_eq(again->id, set->id);
    ck_assert_int_eq(acme_cluster_set_make(&again, test_pool,
                                           good_files(CHAIN "-----BEGIN CERTIFICATE-----\n"),
                                           &err), APR_SUCCESS);
    ck_assert_str_ne(again->id, set->id);
}
END_TEST

/* A server whose lease expired and was taken writes nothing: the next
 * holder's set stays. */
START_TEST(lost_lease_writes_no_set)
{
    acme_cluster_set_t *mine, *theirs, *back;
    acme_lease_t *old, *next;
    const char *err = NULL;

    ck_assert_int_eq(acme_lease_acquire(&old, test_pool, conn, NS, "b.test", "web1:1",
                                        apr_time_from_msec(100), NULL, &err), APR_SUCCESS);
    apr_sleep(apr_time_from_msec(250));
    next = take("b.test");
    ck_assert_int_eq(acme_cluster_set_make(&theirs, test_pool, good_files(CHAIN), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_set_put(next, test_pool, conn, NS, "b.test", theirs, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_set_make(&mine, test_pool,
                                           good_files(CHAIN "-----BEGIN CERTIFICATE-----\n"),
                                           &err), APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_set_put(old, test_pool, conn, NS, "b.test", mine, &err),
                     ACME_LEASE_ELOST);
    ck_assert_int_eq(acme_cluster_set_get(&back, test_pool, conn, NS, "b.test", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(back->id, theirs->id);
    ck_assert(back->token == acme_lease_token(next));
}
END_TEST

/* Each change makes a set that is refused, with a reason. */
START_TEST(sets_that_are_not_sets_are_refused)
{
    static const struct { const char *name, *data, *why; } bad[] = {
        { "privkey.pem", "-----BEGIN PRIVATE KEY-----\n", "not sealed" },
        { "pubcert.pem", "hello", "not a PEM certificate chain" },
        { "../pubcert.pem", CHAIN, "not a file of a certificate set" },
        { "pubcert.PEM", CHAIN, "not a file of a certificate set" },
        { "privkey.secp-256.pem", "x", "not a file of a certificate set" },
        { "verified.json", "{}", "not a file of a certificate set" },
        { "pubcert.secp384r1.pem", CHAIN, "has no 'privkey.secp384r1.pem'" },
        { "md.json", "", "empty, too large or not text" },
    };
    acme_cluster_set_t *set;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        apr_hash_t *files = good_files(CHAIN);

        file_put(files, bad[i].name, bad[i].data);
        err = NULL;
        ck_assert_int_eq(acme_cluster_set_make(&set, test_pool, files, &err), APR_EINVAL);
        ck_assert_ptr_null(set);
        ck_assert_msg(err && strstr(err, bad[i].why), "%s: %s", bad[i].name, err);
    }
    {
        apr_hash_t *files = good_files(CHAIN);

        apr_hash_set(files, "md.json", APR_HASH_KEY_STRING, NULL);
        ck_assert_int_eq(acme_cluster_set_make(&set, test_pool, files, &err), APR_EINVAL);
        ck_assert_str_eq(err, "no md.json");
    }
}
END_TEST

/* Records as anyone with access to Redis could write them. */
START_TEST(records_that_are_not_records_are_refused)
{
    acme_cluster_set_t *set, *back;
    acme_cluster_account_t *acct;
    const char *err, *text, *forged;

    ck_assert_int_eq(acme_cluster_set_make(&set, test_pool, good_files(CHAIN), &err),
                     APR_SUCCESS);
    text = acme_cluster_set_encode(test_pool, set, 5);
    ck_assert_int_eq(acme_cluster_set_decode(&back, test_pool, text, strlen(text), &err),
                     APR_SUCCESS);
    /* another id than its chains' */
    forged = apr_pstrdup(test_pool, text);
    ((char *)strstr(forged, set->id))[0] = set->id[0] == 'a' ? 'b' : 'a';
    ck_assert_int_eq(acme_cluster_set_decode(&back, test_pool, forged, strlen(forged), &err),
                     APR_EINVAL);
    ck_assert_str_eq(err, "the set's id does not match its chains");
    ck_assert_int_eq(acme_cluster_set_decode(&back, test_pool, "{", 1, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not JSON"));
    text = "{\"v\":2,\"token\":1,\"id\":\"x\",\"files\":{}}";
    ck_assert_int_eq(acme_cluster_set_decode(&back, test_pool, text, strlen(text), &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "another version"));
    text = "{\"v\":1,\"token\":0,\"id\":\"x\",\"files\":{}}";
    ck_assert_int_eq(acme_cluster_set_decode(&back, test_pool, text, strlen(text), &err),
                     APR_EINVAL);
    text = "{\"v\":1,\"v\":1,\"token\":1}";
    ck_assert_int_eq(acme_cluster_set_decode(&back, test_pool, text, strlen(text), &err),
                     APR_EINVAL);
    text = "{\"v\":1,\"token\":1,\"id\":\"a\",\"json\":\"{}\","
           "\"key\":\"-----BEGIN PRIVATE KEY-----\"}";
    ck_assert_int_eq(acme_cluster_account_decode(&acct, test_pool, text, strlen(text), &err),
                     APR_EINVAL);
    ck_assert_ptr_null(acct);
    text = apr_pstrcat(test_pool, "{\"v\":1,\"token\":1,\"id\":\"../x\",\"json\":\"{}\","
                       "\"key\":\"", sealed("account/x", "k"), "\"}", NULL);
    ck_assert_int_eq(acme_cluster_account_decode(&acct, test_pool, text, strlen(text), &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "without an id"));
    ck_assert_ptr_null(acme_cluster_key(test_pool, NS, "set", "a b"));
    ck_assert_ptr_null(acme_cluster_key(test_pool, "n:s", "set", "a"));
    ck_assert_ptr_null(acme_cluster_key(test_pool, NS, "set", ""));
    ck_assert_str_eq(acme_cluster_key(test_pool, NS, "set", "a.test"), NS ":set:a.test");
}
END_TEST

START_TEST(account_and_job_round_trip)
{
    acme_cluster_account_t acct = { 0, "ACME-ca-0001", "{\"url\": \"https://ca/acct/1\"}", NULL },
                           *back;
    acme_lease_t *lse = take("c.test");
    const char *ca = acme_cluster_ca_name(test_pool, "https://ca/dir", NULL);
    const char *job, *err = NULL;
    apr_int64_t token = 0;

    ck_assert_uint_eq(strlen(ca), 64);
    ck_assert_str_ne(ca, acme_cluster_ca_name(test_pool, "https://ca/dir", "kid-1"));
    ck_assert_str_ne(ca, acme_cluster_ca_name(test_pool, "https://other/dir", NULL));
    acct.sealed_key = sealed("account", "account key");
    ck_assert_int_eq(acme_cluster_account_put(lse, test_pool, conn, NS, ca, &acct, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_account_get(&back, test_pool, conn, NS, ca, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(back->id, "ACME-ca-0001");
    ck_assert_str_eq(back->json, acct.json);
    ck_assert_str_eq(back->sealed_key, acct.sealed_key);
    ck_assert(back->token == acme_lease_token(lse));

    ck_assert_int_eq(acme_cluster_job_get(&job, &token, test_pool, conn, NS, "c.test", &err),
                     APR_ENOENT);
    ck_assert_int_eq(acme_cluster_job_put(lse, test_pool, conn, NS, "c.test",
                                          "{\"step\": \"authz\", \"orders\": 1}", &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_job_get(&job, &token, test_pool, conn, NS, "c.test", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(job, "{\"step\":\"authz\",\"orders\":1}");
    ck_assert(token == acme_lease_token(lse));
    ck_assert_int_eq(acme_cluster_job_put(lse, test_pool, conn, NS, "c.test", "[1]", &err),
                     APR_EINVAL);
}
END_TEST

#define TOKEN "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define THUMB "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"

static int has(const apr_array_header_t *ids, const char *id)
{
    int i;

    for (i = 0; ids && i < ids->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(ids, i, const char *), id)) {
            return 1;
        }
    }
    return 0;
}

START_TEST(members_expire_and_are_pruned)
{
    apr_array_header_t *live;
    const char *err = NULL;
    acme_redis_reply_t *reply;
    const char *argv[] = { "SMEMBERS", NS ":servers" };
    apr_size_t lens[] = { 8, strlen(NS ":servers") };

    ck_assert_int_eq(acme_cluster_server_announce(conn, test_pool, NS, "web1:10",
                                                  apr_time_from_msec(150), &err), APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_server_announce(conn, test_pool, NS, "web2:20",
                                                  apr_time_from_sec(30), &err), APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_servers_live(&live, test_pool, conn, NS, &err), APR_SUCCESS);
    ck_assert(has(live, "web1:10") && has(live, "web2:20"));
    apr_sleep(apr_time_from_msec(300));
    ck_assert_int_eq(acme_cluster_servers_live(&live, test_pool, conn, NS, &err), APR_SUCCESS);
    ck_assert(!has(live, "web1:10") && has(live, "web2:20"));
    ck_assert_int_eq(acme_redis_command(&reply, test_pool, conn, 2, argv, lens, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(reply->elements, 1);      /* the expired member was pruned */
    ck_assert_int_eq(acme_cluster_server_announce(conn, test_pool, NS, "web 3",
                                                  apr_time_from_sec(1), &err), APR_EINVAL);
}
END_TEST

START_TEST(answers_are_published_listed_and_acknowledged)
{
    acme_cluster_chal_t chal = { "a.test", TOKEN, "web1:10", TOKEN "." THUMB, 0 }, bad;
    apr_array_header_t *list, *acks;
    const acme_cluster_chal_t *got;
    const char *err = NULL;
    const char *argv[] = { "SET", NS ":chal:b.test:" TOKEN, "{\"by\":\"x\",\"keyauth\":\"y\"}" };
    const char *zargv[] = { "ZADD", NS ":chals", "99999999999999", "b.test " TOKEN };
    apr_size_t lens[3], zlens[4];
    acme_redis_reply_t *reply;
    int i;

    chal.expires = apr_time_now() + apr_time_from_sec(60);
    ck_assert_int_eq(acme_cluster_chal_publish(conn, test_pool, NS, &chal, &err), APR_SUCCESS);
    /* what anyone with access could plant: refused when read */
    for (i = 0; i < 3; ++i) {
        lens[i] = strlen(argv[i]);
    }
    for (i = 0; i < 4; ++i) {
        zlens[i] = strlen(zargv[i]);
    }
    ck_assert_int_eq(acme_redis_command(&reply, test_pool, conn, 3, argv, lens, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_command(&reply, test_pool, conn, 4, zargv, zlens, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_chal_list(&list, test_pool, conn, NS, apr_time_now(), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    got = &APR_ARRAY_IDX(list, 0, acme_cluster_chal_t);
    ck_assert_str_eq(got->domain, "a.test");
    ck_assert_str_eq(got->token, TOKEN);
    ck_assert_str_eq(got->by, "web1:10");
    ck_assert_str_eq(got->keyauth, TOKEN "." THUMB);
    /* not listed once expired */
    ck_assert_int_eq(acme_cluster_chal_list(&list, test_pool, conn, NS,
                                            chal.expires + apr_time_from_sec(1), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);

    ck_assert_int_eq(acme_cluster_chal_ack(conn, test_pool, NS, &chal, "web2:20", &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_cluster_chal_acks(&acks, test_pool, conn, NS, &chal, &err),
                     APR_SUCCESS);
    ck_assert(acks->nelts == 1 && has(acks, "web2:20"));

    bad = chal;
    bad.keyauth = "other." THUMB;
    ck_assert_int_eq(acme_cluster_chal_publish(conn, test_pool, NS, &bad, &err), APR_EINVAL);
    bad = chal;
    bad.domain = "*.a.test";
    ck_assert_int_eq(acme_cluster_chal_publish(conn, test_pool, NS, &bad, &err), APR_EINVAL);
    bad = chal;
    bad.token = "a/b";
    ck_assert_int_eq(acme_cluster_chal_publish(conn, test_pool, NS, &bad, &err), APR_EINVAL);
    bad = chal;
    bad.expires = apr_time_now() - 1;
    ck_assert_int_eq(acme_cluster_chal_publish(conn, test_pool, NS, &bad, &err), APR_EINVAL);
}
END_TEST

TCase *tr_cluster_tcase(void)
{
    TCase *tc = tcase_create("cluster");

    tcase_add_unchecked_fixture(tc, tr_main_setup, NULL);
    tcase_add_checked_fixture(tc, cluster_setup, cluster_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, set_round_trips_through_the_lease);
    tcase_add_test(tc, lost_lease_writes_no_set);
    tcase_add_test(tc, sets_that_are_not_sets_are_refused);
    tcase_add_test(tc, records_that_are_not_records_are_refused);
    tcase_add_test(tc, account_and_job_round_trip);
    tcase_add_test(tc, members_expire_and_are_pruned);
    tcase_add_test(tc, answers_are_published_listed_and_acknowledged);
    return tc;
}
