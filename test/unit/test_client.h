/* Shared fixtures of the check_client program: a fake CA played by the
 * scripted transport, and helpers to look inside the JWS requests the client
 * sent. Everything is allocated from test_pool. */
#ifndef TEST_CLIENT_H
#define TEST_CLIENT_H

#include <check.h>
#include <jansson.h>

#include "acme_client.h"
#include "acme_http_script.h"
#include "acme_pkey.h"
#include "acme_result.h"

#define CA "https://ca.test"
#define DIR_URL CA "/dir"
#define NONCE_URL CA "/new-nonce"
#define NEWACCT_URL CA "/new-acct"
#define NEWORDER_URL CA "/new-order"
#define REVOKE_URL CA "/revoke-cert"
#define KEYCHANGE_URL CA "/key-change"
#define ACCT_URL CA "/acct/1"
#define ORDER_URL CA "/order/1"
#define AUTHZ_URL CA "/authz/1"
#define CHALL_URL CA "/chall/1"
#define FINALIZE_URL CA "/finalize/1"
#define CERT_URL CA "/cert/1"

TCase *test_client_directory_tcase(void);
TCase *test_client_nonce_tcase(void);
TCase *test_client_account_tcase(void);
TCase *test_client_order_tcase(void);
TCase *test_client_poll_tcase(void);
TCase *test_client_cert_tcase(void);

/* A directory with every resource and a meta object requiring EAB when
 * `eab` is set. */
const char *client_test_directory(int eab);

typedef struct client_fixture_t {
    acme_http_script_t *script;
    acme_http_transport_t *transport;
    acme_client_t *client;
    acme_pkey_t *key;       /* the account key (P-256) */
    acme_result_t *r;
} client_fixture_t;

/* A client whose script starts with GET directory (`dir_json`, NULL: the
 * default without EAB) and HEAD newNonce. With `account`, the client has
 * the key and kid ACCT_URL set. */
client_fixture_t *client_test_fixture(const char *dir_json, int account);

/* Appends a POST step to `url` answering `status` with a JSON body (or a
 * problem document when status >= 400) and a fresh Replay-Nonce. */
acme_http_script_step_t *client_test_post(client_fixture_t *fx, const char *url, int status,
                                          const char *body);

/* Asserts that the script ran completely without mismatch. */
void client_test_script_done(client_fixture_t *fx);

/* The decoded "protected" header / payload (NULL when the payload is empty)
 * of the i-th request of the script. */
json_t *client_test_jws_protected(client_fixture_t *fx, int i);
json_t *client_test_jws_payload(client_fixture_t *fx, int i);
/* The same for a JWS object held in a JSON value (e.g. an inner JWS). */
json_t *client_test_decode_part(const json_t *jws, const char *part);

/* Contents of test/unit/data/client/<file>, NUL-terminated. */
const char *client_test_read(apr_size_t *plen, const char *file);

/* An array of const char * from a NULL-terminated argument list. */
apr_array_header_t *client_test_strings(const char *first, ...);

#endif /* TEST_CLIENT_H */
