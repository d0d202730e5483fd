/* A renewal with a custody that, like the key holder, hands out only public
 * keys that sign JWS through it (acme_pkey_set_signer): the renewal code
 * never needs a private half. The test custody wraps the local one. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/x509.h>

#include "acme_jws.h"
#include "acme_keys.h"
#include "test_renew.h"

typedef struct {
    acme_keys_t *local;
    int keys_given;         /* public keys handed out */
    int signs;              /* JWS signatures made for them */
    int eabs, csrs;
} public_custody_t;

typedef struct {
    public_custody_t *pc;
    acme_pkey_t *private_key;   /* stays "in the custody" */
} signer_t;

static apr_status_t custody_sign(const char **psig, apr_pool_t *p, void *baton,
                                 const char *input, apr_size_t len, const char **perr)
{
    signer_t *signer = baton;

    ++signer->pc->signs;
    return acme_jws_sign_input(psig, p, signer->private_key, input, len, perr);
}

/* The public half of `key`, signing through custody_sign. */
static acme_pkey_t *public_half(apr_pool_t *p, public_custody_t *pc, acme_pkey_t *key)
{
    signer_t *signer = apr_pcalloc(p, sizeof(*signer));
    unsigned char *der = NULL;
    const unsigned char *in;
    acme_pkey_t *pub = NULL;
    EVP_PKEY *evp;
    int n = i2d_PUBKEY(acme_pkey_get_evp(key), &der);

    ck_assert_int_gt(n, 0);
    in = der;
    evp = d2i_PUBKEY(NULL, &in, n);
    OPENSSL_free(der);
    ck_assert_ptr_nonnull(evp);
    ck_assert_int_eq(acme_pkey_wrap(&pub, p, evp, NULL), APR_SUCCESS);
    ck_assert(!acme_pkey_has_private(pub));
    signer->pc = pc;
    signer->private_key = key;
    acme_pkey_set_signer(pub, custody_sign, signer);
    ++pc->keys_given;
    return pub;
}

static apr_status_t public_account_key(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                       const char *account_id, int create, const char **perr)
{
    public_custody_t *pc = baton;
    acme_pkey_t *key;
    apr_status_t rv = acme_keys_account_key(&key, p, pc->local, account_id, create, perr);

    if (rv == APR_SUCCESS) {
        *pkey = public_half(p, pc, key);
    }
    return rv;
}

static apr_status_t public_eab(json_t **pjws, apr_pool_t *p, void *baton,
                               const char *account_id, const char *eab_kid,
                               const char *eab_hmac, const char *url, const char **perr)
{
    public_custody_t *pc = baton;

    ++pc->eabs;
    return acme_keys_eab(pjws, p, pc->local, account_id, eab_kid, eab_hmac, url, perr);
}

static apr_status_t public_domain_key(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                      const char *md, const acme_pkey_spec_t *spec,
                                      int create, const char **perr)
{
    public_custody_t *pc = baton;
    acme_pkey_t *key;
    apr_status_t rv = acme_keys_domain_key(&key, p, pc->local, md, spec, create, perr);

    if (rv == APR_SUCCESS) {
        *pkey = public_half(p, pc, key);
    }
    return rv;
}

static apr_status_t public_csr(const unsigned char **pder, apr_size_t *plen, apr_pool_t *p,
                               void *baton, const char *md, const acme_pkey_spec_t *spec,
                               const apr_array_header_t *names, unsigned int flags,
                               const char **perr)
{
    public_custody_t *pc = baton;

    ++pc->csrs;
    return acme_keys_csr(pder, plen, p, pc->local, md, spec, names, flags, perr);
}

static const acme_keys_ops_t public_ops = {
    "test-public", public_account_key, public_eab, public_domain_key, public_csr
};

static acme_keys_t *public_custody(public_custody_t *pc)
{
    memset(pc, 0, sizeof(*pc));
    pc->local = acme_keys_local(test_pool, renew_store);
    return acme_keys_create(test_pool, &public_ops, pc);
}

START_TEST(renewal_runs_with_public_keys_only)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    public_custody_t pc;
    renew_ca_t *ca;
    acme_renew_outcome_t *out;

    spec->keys = public_custody(&pc);
    spec->eab_kid = EAB_KID;
    spec->eab_hmac = EAB_HMAC;
    renew_spec_add_key(spec, renew_second_key());
    ca = renew_ca_create(spec, 1);
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 2);
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    renew_assert_staged(spec);
    /* everything signed went through the custody */
    ck_assert_int_gt(pc.keys_given, 0);
    ck_assert_int_gt(pc.signs, 0);
    ck_assert_int_eq(pc.eabs, 1);
    ck_assert_int_eq(pc.csrs, 2);
    /* a later run checks the staged set against the public keys: still done */
    ca = renew_ca_create(spec, 1);
    out = renew_run(ca, spec, apr_time_now());
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
}
END_TEST

/* A job resumed after the account step gets its account key from the
 * custody too, and a custody that cannot answer leaves the job where it is
 * (RETRY), without abandoning its order. */
static int custody_down;

static apr_status_t flaky_account_key(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                      const char *account_id, int create, const char **perr)
{
    if (custody_down) {
        *perr = "the key holder does not answer";
        return APR_ECONNREFUSED;
    }
    return public_account_key(pkey, p, baton, account_id, create, perr);
}

static const acme_keys_ops_t flaky_ops = {
    "test-flaky", flaky_account_key, public_eab, public_domain_key, public_csr
};

START_TEST(unreachable_custody_is_a_retry_at_the_same_step)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create_crashing(spec, 0, 11);   /* the finalize request */
    acme_renew_outcome_t *out;
    public_custody_t pc;

    public_custody(&pc);
    spec->keys = acme_keys_create(test_pool, &flaky_ops, &pc);
    custody_down = 0;
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    out = renew_run(ca, spec, apr_time_now());
    ck_assert_str_eq(out->step, "finalize");
    /* resumed while the custody is down: nothing sent, the order kept */
    custody_down = 1;
    out = renew_run(renew_ca_create(spec, 0), spec, out->next_at);
    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    ck_assert_str_eq(out->step, "finalize");
    ck_assert_ptr_nonnull(out->result);
    ck_assert_int_eq(out->result->action, ACME_ACTION_RETRY);
    ck_assert_ptr_nonnull(strstr(acme_result_render(out->result, test_pool),
                                 "does not answer"));
    ck_assert_ptr_nonnull(renew_job("a.test")->order_url);
    ck_assert_ptr_nonnull(renew_job("a.test")->account_id);
    /* back: the job goes on from there */
    custody_down = 0;
    ca = renew_ca_create(spec, 0);
    renew_ca_flow(ca, ACME_JOB_FINALIZE, 0, 1);
    out = renew_run(ca, spec, out->next_at);
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    renew_assert_staged(spec);
}
END_TEST

TCase *test_renew_custody_tcase(void)
{
    TCase *tc = tcase_create("custody");

    tcase_add_checked_fixture(tc, renew_setup, renew_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, renewal_runs_with_public_keys_only);
    tcase_add_test(tc, unreachable_custody_is_a_retry_at_the_same_step);
    return tc;
}
