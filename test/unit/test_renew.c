/* The check_renew program: suite assembly, the store fixture, specs and
 * assertions on what a job left in the store (see test_renew.h). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acme_cert.h"
#include "acme_chain.h"
#include "acme_json.h"
#include "acme_store_pkey.h"
#include "acme_layout.h"
#include "acme_pkey.h"
#include "acme_store_fs.h"
#include "test_renew.h"

acme_store_t *renew_store;
static char tmp_root[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

void renew_setup(void)
{
    test_pool_setup();
    strcpy(tmp_root, "/tmp/check_renew.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
    ck_assert_int_eq(acme_store_fs_open(&renew_store, test_pool, tmp_root), APR_SUCCESS);
    renew_ca_reset();
}

const char *renew_store_dir(void)
{
    return tmp_root;
}

void renew_teardown(void)
{
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    test_pool_teardown();
}

acme_renew_spec_t *renew_spec(const char *md, const char *name1, const char *name2)
{
    acme_renew_spec_t *spec = apr_pcalloc(test_pool, sizeof(*spec));

    spec->md_name = md;
    spec->names = apr_array_make(test_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(spec->names, const char *) = name1;
    APR_ARRAY_PUSH(spec->names, const char *) = name2;
    spec->pkey_specs = apr_array_make(test_pool, 2, sizeof(acme_pkey_spec_t));
    spec->challenges = apr_array_make(test_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(spec->challenges, const char *) = "http-01";
    spec->ca_url = DIR_URL;
    spec->contact = "admin@a.test";
    spec->tos_agreed = 1;
    renew_spec_add_key(spec, "P-256");
    return spec;
}

void renew_spec_add_key(acme_renew_spec_t *spec, const char *word)
{
    acme_pkey_spec_t ks;

    ck_assert_int_eq(acme_pkey_spec_parse(&ks, test_pool, word, NULL), APR_SUCCESS);
    APR_ARRAY_PUSH(spec->pkey_specs, acme_pkey_spec_t) = ks;
}

const char *renew_second_key(void)
{
    return test_under_valgrind() ? "P-384" : "rsa2048";
}

acme_renew_outcome_t *renew_run(renew_ca_t *ca, const acme_renew_spec_t *spec,
                                apr_time_t now)
{
    acme_renew_outcome_t *out = apr_pcalloc(test_pool, sizeof(*out));

    ck_assert_int_eq(acme_renew_run(out, test_pool, renew_store, renew_ca_client(ca), spec,
                                    now), APR_SUCCESS);
    ck_assert_ptr_nonnull(out->step);
    /* The client must not keep the run's account key. */
    ck_assert_ptr_null(acme_client_get_key(renew_ca_client(ca)));
    return out;
}

acme_job_t *renew_job(const char *md)
{
    acme_job_t *job = NULL;
    const char *why = NULL;

    ck_assert_msg(acme_job_load(&job, test_pool, renew_store, md, &why) == APR_SUCCESS,
                  "job.json: %s", why ? why : "absent");
    return job;
}

acme_pkey_t *renew_account_key(const char *id)
{
    acme_pkey_t *key = NULL;
    const char *why = NULL;

    ck_assert_msg(acme_keys_account_key(&key, test_pool, acme_keys_local(test_pool, renew_store),
                                        id, 0, &why) == APR_SUCCESS,
                  "account key of %s: %s", id, why ? why : "?");
    return key;
}

const char *renew_item(acme_store_group_e group, const char *name, const char *aspect)
{
    const char *data;
    apr_size_t len;
    apr_status_t rv = acme_store_load(&data, &len, test_pool, renew_store, group, name,
                                      aspect);

    if (rv == APR_ENOENT) {
        return NULL;
    }
    ck_assert_int_eq(rv, APR_SUCCESS);
    return data;
}

void renew_assert_staged(const acme_renew_spec_t *spec)
{
    const char *md = renew_item(ACME_STORE_STAGING, spec->md_name, ACME_ASPECT_MD);
    json_t *json;
    int i;

    ck_assert_ptr_nonnull(md);
    ck_assert_int_eq(acme_json_parse(&json, test_pool, md, strlen(md), ACME_JSON_OBJECT,
                                     NULL), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(json, "name")), spec->md_name);
    ck_assert_str_eq(json_string_value(json_object_get(json, "ca-url")), spec->ca_url);
    ck_assert_int_eq(json_array_size(json_object_get(json, "names")), spec->names->nelts);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(json, "issued")));
    for (i = 0; i < spec->pkey_specs->nelts; ++i) {
        const char *name = acme_pkey_spec_name(test_pool, &APR_ARRAY_IDX(spec->pkey_specs, i,
                                                                          acme_pkey_spec_t));
        const char *key_pem = renew_item(ACME_STORE_STAGING, spec->md_name,
                                         acme_layout_privkey(test_pool, name));
        const char *chain_pem = renew_item(ACME_STORE_STAGING, spec->md_name,
                                           acme_layout_pubcert(test_pool, name));
        acme_cert_chain_t *chain;
        acme_pkey_t *key;

        ck_assert_ptr_nonnull(key_pem);
        ck_assert_ptr_nonnull(chain_pem);
        /* encrypted with the store key (httpd's User can read STAGING) */
        ck_assert_ptr_nonnull(strstr(key_pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        ck_assert_int_ne(acme_pkey_from_pem(&key, test_pool, key_pem, strlen(key_pem), NULL),
                         APR_SUCCESS);
        ck_assert_int_eq(acme_store_pkey_from_pem(&key, test_pool, renew_store, key_pem,
                                                  strlen(key_pem), NULL), APR_SUCCESS);
        ck_assert(acme_pkey_spec_eq(acme_pkey_get_spec(key),
                                    &APR_ARRAY_IDX(spec->pkey_specs, i, acme_pkey_spec_t)));
        ck_assert_int_eq(acme_chain_from_pem(&chain, test_pool, chain_pem, strlen(chain_pem)),
                         APR_SUCCESS);
        ck_assert_int_eq(acme_chain_count(chain), 2);
        ck_assert_int_eq(acme_cert_check_key(acme_chain_get(chain, 0), acme_pkey_get_evp(key)),
                         APR_SUCCESS);
        ck_assert_int_eq(acme_cert_check_names(NULL, test_pool, acme_chain_get(chain, 0),
                                               spec->names), APR_SUCCESS);
    }
}

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("renew");

    suite_add_tcase(s, test_renew_job_tcase());
    suite_add_tcase(s, test_renew_flow_tcase());
    suite_add_tcase(s, test_renew_resume_tcase());
    suite_add_tcase(s, test_renew_errors_tcase());
    suite_add_tcase(s, test_renew_dns01_tcase());
    suite_add_tcase(s, test_renew_account_tcase());
    suite_add_tcase(s, test_renew_ari_tcase());
    suite_add_tcase(s, test_renew_keys_tcase());
    suite_add_tcase(s, test_renew_custody_tcase());
    return s;
}
