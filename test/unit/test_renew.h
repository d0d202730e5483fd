/* Shared fixtures of the check_renew program: a store in a fresh temporary
 * directory per test, a renewal spec, and a fake CA played by the scripted
 * transport that issues real certificates for the CSRs it receives.
 *
 * The fake CA appends the requests a job is expected to make; every step
 * checks on arrival that job.json has been saved at the step the request
 * belongs to, so "the job is persisted after every transition" is checked
 * throughout. Everything is allocated from test_pool. */
#ifndef TEST_RENEW_H
#define TEST_RENEW_H

#include <check.h>
#include <jansson.h>

#include "acme_http_script.h"
#include "acme_job.h"
#include "acme_renew.h"
#include "acme_store.h"
#include "check_main.h"

#define CA "https://ca.test"
#define DIR_URL CA "/dir"
#define NONCE_URL CA "/new-nonce"
#define NEWACCT_URL CA "/new-acct"
#define NEWORDER_URL CA "/new-order"
#define ACCT_URL CA "/acct/1"
#define RENEWALINFO_URL CA "/renewal-info"

#define EAB_KID "kid-1"
#define EAB_HMAC "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"

#define PROBLEM(type, detail) \
    "{\"type\": \"urn:ietf:params:acme:error:" type "\", \"detail\": \"" detail "\"}"

extern acme_store_t *renew_store;
/* The base directory of renew_store, for tests that look at its files. */
const char *renew_store_dir(void);

void renew_setup(void);
void renew_teardown(void);

/* A spec for md "a.test" with names a.test and www.a.test, one P-256 key,
 * http-01, contact admin@a.test, CA DIR_URL. */
acme_renew_spec_t *renew_spec(const char *md, const char *name1, const char *name2);
/* Adds a key spec ("rsa2048", ...) to `spec`. */
void renew_spec_add_key(acme_renew_spec_t *spec, const char *word);
/* The second key spec of the two-key tests: "rsa2048", or "P-384" under
 * valgrind (test_under_valgrind()), where RSA keys take too long. */
const char *renew_second_key(void);

typedef struct renew_ca_t renew_ca_t;

/* Forgets what the CA issued (called by renew_setup). */
void renew_ca_reset(void);

/* A "process": a new client with a new script that starts with GET
 * directory (EAB required when `eab`) and HEAD newNonce. The CA certifies
 * the names of `spec` (2 names). */
renew_ca_t *renew_ca_create(const acme_renew_spec_t *spec, int eab);
acme_client_t *renew_ca_client(renew_ca_t *ca);
acme_http_script_t *renew_ca_script(renew_ca_t *ca);

/* The same for a process that dies at request number `k` (0-based, from the
 * directory GET on): that request fails with a connection error and every
 * request the script appends after it is dropped. */
renew_ca_t *renew_ca_create_crashing(const acme_renew_spec_t *spec, int eab, int k);

/* A "process" (as renew_ca_create, no EAB) whose directory has renewalInfo
 * (when `ari`) and meta.profiles `profiles` (JSON object text, or NULL). */
renew_ca_t *renew_ca_create_dir(const acme_renew_spec_t *spec, int ari, const char *profiles);
/* The decoded JWS payload of the k-th (0-based) request to `url`, or NULL
 * (no such request, or not a JWS with a JSON object payload). */
json_t *renew_ca_payload(renew_ca_t *ca, const char *url, int k);

/* Appends a POST to `url` answering `status` with a JSON body (a problem
 * document for status >= 400) and a fresh nonce; `job_step` (or NULL) is
 * the step job.json must be at when the request arrives. Returns NULL when
 * the step was dropped by a crash. */
acme_http_script_step_t *renew_ca_post(renew_ca_t *ca, const char *url, int status,
                                       const char *body, const char *job_step);

/* Single exchanges. `n` numbers orders (1, 2, ...), `i` the names. */
void renew_ca_new_account(renew_ca_t *ca, const char *url);
void renew_ca_new_order(renew_ca_t *ca, int n, const char *status);
void renew_ca_order(renew_ca_t *ca, int n, const char *status, const char *job_step);
void renew_ca_authz(renew_ca_t *ca, int n, int i, const char *status, const char *job_step);
void renew_ca_challenge(renew_ca_t *ca, int n, int i, const char *type);
void renew_ca_finalize(renew_ca_t *ca, int n, int key_index);
void renew_ca_cert(renew_ca_t *ca, int n);

/* The whole conversation of a quick CA for key spec `key_index` (order n =
 * key_index + 1, and the following key specs up to `keys`) from the job
 * step `from` on: authorizations turn valid at the first poll. */
void renew_ca_flow(renew_ca_t *ca, acme_job_step_e from, int key_index, int keys);

/* Asserts that the script played completely without mismatch. */
void renew_ca_done(renew_ca_t *ca);
/* How many requests went to `url`. */
int renew_ca_count(renew_ca_t *ca, const char *url);

/* URLs and tokens of the fake CA. */
const char *renew_order_url(int n);
const char *renew_authz_url(int n, int i);
const char *renew_token(int n, int i, const char *type);

/* Runs the job and asserts APR_SUCCESS. */
acme_renew_outcome_t *renew_run(renew_ca_t *ca, const acme_renew_spec_t *spec,
                                apr_time_t now);

/* The persisted job (asserting it exists). */
acme_job_t *renew_job(const char *md);
/* The key of account `id`, from a local custody of renew_store. */
acme_pkey_t *renew_account_key(const char *id);

TCase *test_renew_keys_tcase(void);
TCase *test_renew_custody_tcase(void);
/* A store item as a string, or NULL when absent. */
const char *renew_item(acme_store_group_e group, const char *name, const char *aspect);
/* Asserts STAGING/<md> holds md.json and a key + verified chain per key spec. */
void renew_assert_staged(const acme_renew_spec_t *spec);

TCase *test_renew_job_tcase(void);
TCase *test_renew_flow_tcase(void);
TCase *test_renew_resume_tcase(void);
TCase *test_renew_errors_tcase(void);
TCase *test_renew_account_tcase(void);
TCase *test_renew_dns01_tcase(void);
TCase *test_renew_ari_tcase(void);

#endif /* TEST_RENEW_H */
