/* check_serve: certificate sets as the activation and the mod_ssl hand-over
 * see them (acme_certset.h), and the one path the fs store hands out
 * (acme_store_fs_live_path). Each test gets a fresh fs store under /tmp and
 * a CA (root + intermediate, P-256) made with OpenSSL. */
#ifndef TEST_SERVE_H
#define TEST_SERVE_H

#include <apr_tables.h>
#include <apr_time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acme_pkey.h"
#include "acme_store.h"
#include "check_main.h"

#define SERVE_DAY apr_time_from_sec(86400)

extern acme_store_t *serve_store;
extern const char *serve_store_dir;

void serve_setup(void);
void serve_teardown(void);

/* A fresh key: "P-256", "rsa2048", ... */
acme_pkey_t *serve_key(const char *spec);

/* A leaf for `names` (comma separated) with `key`, issued by the test
 * intermediate, valid [now + from, now + until]. */
X509 *serve_leaf(acme_pkey_t *key, const char *names, apr_interval_time_t from,
                 apr_interval_time_t until);

/* PEM of the leaf followed by the given number of issuers (0: leaf only,
 * 1: + intermediate, 2: + root); with `swap` the issuers come root first. */
const char *serve_chain_pem(X509 *leaf, int issuers, int swap);

const char *serve_key_pem(acme_pkey_t *key);

/* Saves privkey/pubcert of `spec` into (group, name); NULL skips one. */
void serve_put_pair(acme_store_group_e group, const char *name, const char *spec,
                    const char *key_pem, const char *chain_pem);

/* An array of acme_pkey_spec_t from spec words ("P-256", "rsa2048", NULL). */
apr_array_header_t *serve_specs(const char *first, ...);

/* An array of const char * from words, NULL terminated. */
apr_array_header_t *serve_names(const char *first, ...);

TCase *test_serve_certset_tcase(void);
TCase *test_serve_path_tcase(void);

#endif /* TEST_SERVE_H */
