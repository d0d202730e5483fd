/* Shared fixture of the key holder tests (check_keyholder): a temp dir with
 * an fs store, a key holder serving its local custody on a real socket from
 * a thread, and a remote custody asking it. */
#ifndef TEST_KEYHOLDER_H
#define TEST_KEYHOLDER_H

#include <signal.h>

#include "acme_keyholder.h"
#include "acme_keys_remote.h"
#include "check_main.h"

#define TKH_CA "https://ca.example:14000"     /* the CA's origin in the policy */
#define TKH_MD "example.org"                  /* names example.org, www.example.org; P-256 */
#define TKH_MD_RSA "rsa.example.org"          /* names rsa.example.org; rsa2048 */
#define TKH_ACCOUNT "ACME-ca.example-0001"
#define TKH_EAB_KID "kid-1"
#define TKH_EAB_HMAC "c2VjcmV0LWhtYWMta2V5LW9mLTMyLWJ5dGVzLTAxMjM" /* base64url */

extern const char *tkh_dir;              /* the temp dir */
extern const char *tkh_socket;           /* its socket path */
extern const char *tkh_store_dir;        /* the key holder's store */
extern acme_seal_key_t *tkh_seal_key;    /* the policy's and tkh_local's seal key */
extern acme_keys_t *tkh_local;           /* the key holder's custody */
extern acme_keys_t *tkh_remote;          /* asking the key holder */
extern acme_keyholder_policy_t *tkh_policy;
extern volatile int tkh_peer_allow;      /* what the fixture's peer_ok answers */
extern volatile int tkh_peer_calls;      /* how often it was asked */

void tkh_setup(void);      /* store, policy, socket, server thread */
void tkh_teardown(void);   /* stops the server, removes the dir */
void tkh_server_stop(void);
void tkh_server_start(void); /* again, after a stop: on the same socket path */

/* One raw frame of `len` bytes (the length word says `claimed`) to the key
 * holder; the answer (NULL when it closed without one). */
const char *tkh_raw_call(const char *data, apr_size_t len, apr_size_t claimed);

/* ---- sealing (test_keyholder_seal.c): a second server B of the cluster,
 * a store and a local custody of its own with the same seal key */
#define B_ACCOUNT "ACME-b-0001"
#define CA_NAME "ca-1"          /* the account record's name in the cluster */
extern const char *tkh_b_dir;
extern acme_keys_t *tkh_b;

void tkh_seal_setup(void);  /* tkh_setup() and B */
/* Keys made in `keys`, their plaintext remembered for tkh_assert_no_secret(). */
acme_pkey_t *tkh_staged_make(acme_keys_t *keys, const char *md, const acme_pkey_spec_t *spec);
acme_pkey_t *tkh_account_make(acme_keys_t *keys, const char *id);
void tkh_secret_remember(const acme_pkey_t *key);
/* `text` (NULL passes) holds no PEM private key and no remembered plaintext. */
void tkh_assert_no_secret(const char *text);
const char *tkh_staged_path(const char *store_dir, const char *md,
                            const acme_pkey_spec_t *spec);
const char *tkh_account_path(const char *store_dir, const char *id);
/* The file's text, NULL when there is none. */
const char *tkh_file_text(const char *path);
/* Kept as the custody keeps the keys it makes: encrypted with the store key,
 * mode 0600, one link, no plaintext. */
void tkh_assert_stored_as_custody_keys(const char *path);

TCase *test_keyholder_serve_tcase(void);
TCase *test_keyholder_ops_tcase(void);
TCase *test_keyholder_refuse_tcase(void);
TCase *test_keyholder_seal_tcase(void);
TCase *test_keyholder_seal_ops_tcase(void);

#endif /* TEST_KEYHOLDER_H */
