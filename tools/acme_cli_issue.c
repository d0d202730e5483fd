/* acme-cli issue: order, answer http-01 / dns-01 challenges, finalize,
 * download. The core never sleeps; this driver does, between poll steps. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "acme_cert.h"
#include "acme_chain.h"
#include "acme_csr.h"
#include "acme_keyauth.h"
#include "acme_order.h"
#include "acme_cli.h"

/* How long a dns-01 hook may run before it is killed. */
#define HOOK_TIMEOUT apr_time_from_sec(60)

/* A challenge that was set up and must be torn down again. */
typedef struct cli_challenge_t {
    const char *name;   /* identifier (without "*.") */
    const char *value;  /* dns-01: TXT value */
    const char *path;   /* http-01: file written */
} cli_challenge_t;

/* Runs `dns01_cmd verb name value` without a shell, bounded in time; its
 * output goes to our stderr. */
static int run_hook(acme_cli_t *cli, const char *verb, const char *name, const char *value)
{
    const char *argv[] = { cli->dns01_cmd, verb, name, value, NULL };
    apr_time_t until = apr_time_now() + HOOK_TIMEOUT;
    apr_procattr_t *attr;
    apr_file_t *err;
    apr_proc_t proc;
    apr_exit_why_e why;
    apr_status_t rv;
    int code = 0;

    if ((rv = apr_procattr_create(&attr, cli->pool))
        || (rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM_PATH))
        || (rv = apr_procattr_error_check_set(attr, 1))
        || (rv = apr_file_open_stderr(&err, cli->pool))
        || (rv = apr_procattr_child_out_set(attr, err, NULL))
        || (rv = apr_proc_create(&proc, cli->dns01_cmd, argv, NULL, attr, cli->pool))) {
        return acme_cli_error(cli, "cannot run %s", cli->dns01_cmd);
    }
    while ((rv = apr_proc_wait(&proc, &code, &why, APR_NOWAIT)) == APR_CHILD_NOTDONE) {
        if (apr_time_now() > until) {
            apr_proc_kill(&proc, SIGKILL);
            apr_proc_wait(&proc, &code, &why, APR_WAIT);
            return acme_cli_error(cli, "%s %s %s: timed out", cli->dns01_cmd, verb, name);
        }
        apr_sleep(apr_time_from_msec(50));
    }
    if (rv != APR_CHILD_DONE || why != APR_PROC_EXIT || code != 0) {
        return acme_cli_error(cli, "%s %s %s failed (exit %d)", cli->dns01_cmd, verb, name,
                              code);
    }
    return CLI_EXIT_OK;
}

/* Publishes what `ch` asks for `az`; records it in `done` for teardown. */
static int challenge_setup(acme_cli_t *cli, const acme_authz_t *az,
                           const acme_challenge_t *ch, apr_array_header_t *done)
{
    cli_challenge_t *cc = apr_pcalloc(cli->pool, sizeof(*cc));
    const char *keyauth, *why = NULL;
    apr_status_t rv;
    int rc;

    cc->name = az->identifier.value;
    if (acme_keyauth_make(&keyauth, cli->pool, ch->token, cli->account_key, &why)) {
        return acme_cli_error(cli, "challenge for %s: %s", cc->name, why);
    }
    if (!strcmp(ch->type, "http-01")) {
        cc->path = apr_pstrcat(cli->pool, cli->http01_dir, "/", ch->token, NULL);
        rv = acme_cli_write_file(cli, cc->path, keyauth, strlen(keyauth), CLI_PERMS_PUBLIC);
        if (rv != APR_SUCCESS) {
            return acme_cli_error(cli, "cannot write %s", cc->path);
        }
    }
    else {
        if (acme_keyauth_dns01(&cc->value, cli->pool, keyauth, &why)) {
            return acme_cli_error(cli, "challenge for %s: %s", cc->name, why);
        }
        if ((rc = run_hook(cli, "setup", cc->name, cc->value)) != CLI_EXIT_OK) {
            return rc;
        }
    }
    APR_ARRAY_PUSH(done, cli_challenge_t *) = cc;
    return CLI_EXIT_OK;
}

static void challenges_teardown(acme_cli_t *cli, apr_array_header_t *done)
{
    int i;

    for (i = 0; i < done->nelts; ++i) {
        cli_challenge_t *cc = APR_ARRAY_IDX(done, i, cli_challenge_t *);
        if (cc->path) {
            apr_file_remove(cc->path, cli->pool);
        }
        else {
            run_hook(cli, "teardown", cc->name, cc->value);
        }
    }
}

/* Sleeps until `at`; an error when that is past the deadline. */
static int sleep_until(acme_cli_t *cli, apr_time_t at, apr_time_t deadline, const char *what)
{
    apr_time_t now = apr_time_now();

    if (at > deadline) {
        return acme_cli_error(cli, "timed out waiting for %s (--timeout %d)", what,
                              cli->timeout_sec);
    }
    if (at > now) {
        apr_sleep(at - now);
    }
    return CLI_EXIT_OK;
}

static int wait_authz(acme_cli_t *cli, const char *url, apr_time_t deadline)
{
    acme_authz_t *az;
    apr_time_t next = 0;
    apr_pool_t *iter;
    apr_status_t rv;
    int rc = CLI_EXIT_OK;

    do {
        apr_pool_create(&iter, cli->pool);
        rv = acme_authz_poll(&az, &next, iter, cli->client, url, apr_time_now(), cli->r);
        apr_pool_destroy(iter);
        if (rv != APR_SUCCESS) {
            return acme_cli_fail(cli, rv);
        }
    } while (next && (rc = sleep_until(cli, next, deadline, url)) == CLI_EXIT_OK);
    return rc;
}

/* Sets up and answers a challenge for every pending authorization, then
 * waits until all are valid. */
static int authorize(acme_cli_t *cli, const acme_order_t *order, apr_array_header_t *done,
                     apr_time_t deadline)
{
    apr_array_header_t *prefs = apr_array_make(cli->pool, 1, sizeof(const char *));
    const acme_challenge_t *ch;
    acme_challenge_t *answered;
    acme_authz_t *az;
    apr_status_t rv;
    int i, rc;

    APR_ARRAY_PUSH(prefs, const char *) = cli->challenge;
    for (i = 0; i < order->authorizations->nelts; ++i) {
        const char *url = APR_ARRAY_IDX(order->authorizations, i, const char *);
        acme_result_set_activity(cli->r, "authorizing (%s)", url);
        if ((rv = acme_authz_fetch(&az, cli->pool, cli->client, url, cli->r))) {
            return acme_cli_fail(cli, rv);
        }
        if (!acme_order_covers_authz(order, az)) {
            return acme_cli_error(cli, "authorization %s is for %s, which was not ordered",
                                  url, az->identifier.value);
        }
        if (az->status != ACME_AUTHZ_PENDING) {
            continue;   /* valid already, or invalid: wait_authz reports it */
        }
        acme_result_set_activity(cli->r, "authorizing %s", az->identifier.value);
        if ((ch = acme_authz_select_challenge(az, prefs)) == NULL) {
            return acme_cli_error(cli, "the CA offers no %s challenge for %s", cli->challenge,
                                  az->identifier.value);
        }
        if (ch->status == ACME_CHALLENGE_PENDING) {
            if ((rc = challenge_setup(cli, az, ch, done))) {
                return rc;
            }
            if ((rv = acme_challenge_respond(&answered, cli->pool, cli->client, ch, cli->r))) {
                return acme_cli_fail(cli, rv);
            }
        }
    }
    for (i = 0; i < order->authorizations->nelts; ++i) {
        const char *url = APR_ARRAY_IDX(order->authorizations, i, const char *);
        acme_result_set_activity(cli->r, "waiting for authorization %s", url);
        if ((rc = wait_authz(cli, url, deadline))) {
            return rc;
        }
    }
    return CLI_EXIT_OK;
}

/* Polls the order until it leaves pending/processing; *porder lives in a
 * child pool of cli->pool. */
static int wait_order(acme_order_t **porder, acme_cli_t *cli, const char *url,
                      apr_time_t deadline)
{
    apr_time_t next;
    apr_pool_t *iter;
    apr_status_t rv;
    int rc;

    acme_result_set_activity(cli->r, "waiting for order %s", url);
    for (;;) {
        apr_pool_create(&iter, cli->pool);
        rv = acme_order_poll(porder, &next, iter, cli->client, url, apr_time_now(), cli->r);
        if (rv != APR_SUCCESS) {
            return acme_cli_fail(cli, rv);
        }
        if (!next) {
            return CLI_EXIT_OK;
        }
        apr_pool_destroy(iter);
        if ((rc = sleep_until(cli, next, deadline, url))) {
            return rc;
        }
    }
}

static int make_csr(acme_pkey_t **pkey, const unsigned char **pder, apr_size_t *plen,
                    acme_cli_t *cli)
{
    acme_pkey_spec_t spec;
    const char *why = NULL;

    if (acme_pkey_spec_parse(&spec, cli->pool, cli->key_type, &why)
        || acme_pkey_generate(pkey, cli->pool, &spec, &why)) {
        return acme_cli_error(cli, "key type '%s': %s", cli->key_type, why);
    }
    if (acme_csr_create(pder, plen, cli->pool, acme_pkey_get_evp(*pkey), cli->names, 0)) {
        return acme_cli_error(cli, "cannot make a CSR for these names");
    }
    return CLI_EXIT_OK;
}

/* Writes privkey.pem (0600) first, then cert.pem: a reader that sees the
 * new certificate also finds its key. */
static int save_outputs(acme_cli_t *cli, const acme_pkey_t *key,
                        const acme_cert_chain_t *chain)
{
    const char *key_pem, *chain_pem, *serial = "?", *why = NULL;
    const char *key_path = acme_cli_out_path(cli, "privkey.pem");
    const char *cert_path = acme_cli_out_path(cli, "cert.pem");
    apr_size_t key_len;

    if (acme_pkey_to_pem(&key_pem, &key_len, cli->pool, key, &why)
        || acme_chain_to_pem(&chain_pem, cli->pool, chain)) {
        return acme_cli_error(cli, "cannot encode the key or the chain");
    }
    if (acme_cli_write_file(cli, key_path, key_pem, key_len, CLI_PERMS_SECRET)
        || acme_cli_write_file(cli, cert_path, chain_pem, strlen(chain_pem), CLI_PERMS_PUBLIC)) {
        return acme_cli_error(cli, "cannot write %s / %s", key_path, cert_path);
    }
    acme_cert_get_serial_hex(&serial, cli->pool, acme_chain_get(chain, 0));
    printf("certificate: %s\nkey: %s\nserial: %s\n", cert_path, key_path, serial);
    return CLI_EXIT_OK;
}

static int finalize(acme_cli_t *cli, acme_order_t *order, apr_time_t deadline)
{
    acme_cert_chain_t *chain;
    acme_pkey_t *key;
    const unsigned char *der;
    apr_size_t len;
    apr_status_t rv;
    int rc;

    if ((rc = make_csr(&key, &der, &len, cli))) {
        return rc;
    }
    acme_result_set_activity(cli->r, "finalizing order %s", order->url);
    if ((rv = acme_order_finalize(&order, cli->pool, cli->client, order, der, len, cli->r))) {
        return acme_cli_fail(cli, rv);
    }
    if (order->status != ACME_ORDER_VALID
        && (rc = wait_order(&order, cli, order->url, deadline))) {
        return rc;
    }
    if (order->status != ACME_ORDER_VALID) {
        return acme_cli_error(cli, "order %s is %s after finalizing", order->url,
                              acme_order_status_name(order->status));
    }
    acme_result_set_activity(cli->r, "downloading %s", order->certificate);
    rv = acme_order_download(&chain, cli->pool, cli->client, order->certificate,
                             cli->preferred_chain, cli->r);
    if (rv != APR_SUCCESS) {
        return acme_cli_fail(cli, rv);
    }
    return save_outputs(cli, key, chain);
}

int acme_cli_issue(acme_cli_t *cli)
{
    apr_array_header_t *done = apr_array_make(cli->pool, 4, sizeof(cli_challenge_t *));
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(cli->timeout_sec);
    acme_order_params_t params = { 0 };
    acme_order_t *order;
    apr_status_t rv;
    int rc;

    if ((rc = acme_cli_account_ensure(cli))) {
        return rc;
    }
    params.names = cli->names;
    params.profile = cli->profile;
    acme_result_set_activity(cli->r, "creating order for %s",
                             apr_array_pstrcat(cli->pool, cli->names, ' '));
    if ((rv = acme_order_create(&order, cli->pool, cli->client, &params, cli->r))) {
        return acme_cli_fail(cli, rv);
    }
    rc = authorize(cli, order, done, deadline);
    challenges_teardown(cli, done);
    if (rc == CLI_EXIT_OK) {
        rc = wait_order(&order, cli, order->url, deadline);
    }
    if (rc == CLI_EXIT_OK && order->status != ACME_ORDER_READY) {
        rc = acme_cli_error(cli, "order %s is %s, not ready", order->url,
                            acme_order_status_name(order->status));
    }
    return rc == CLI_EXIT_OK ? finalize(cli, order, deadline) : rc;
}
