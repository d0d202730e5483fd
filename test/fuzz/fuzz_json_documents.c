/* Fuzz target: the CA's JSON documents. The input is parsed as JSON (as the
 * transport's body would be) and handed to every document parser: directory,
 * account, order, authorization, challenge. A top-level array is taken as
 * [order, authz, ...]: each element goes through the parsers, and an order
 * and authorization that both parse are checked against each other as a
 * client does before it publishes anything. A top-level string goes
 * through the RFC 3339 time parser (orders' and authorizations' "expires").
 * The raw body also goes to the ARI parsers (renewalInfo answers, and the
 * state mod_acme keeps of them). */
#include <string.h>

#include <apr_tables.h>

#include "acme_account.h"
#include "acme_ari.h"
#include "acme_directory.h"
#include "acme_json.h"
#include "acme_order.h"
#include "acme_result.h"
#include "fuzz_common.h"

/* Elements of a top-level array looked at: enough for [order, authz]. */
#define FUZZ_JSON_MAX_ELEMENTS 4

static void fuzz_check_challenge(const acme_challenge_t *chal)
{
    FUZZ_CHECK(chal->type != NULL);
    FUZZ_CHECK(acme_challenge_status_name(chal->status) != NULL);
}

static acme_order_t *fuzz_order(apr_pool_t *p, const json_t *json)
{
    acme_order_t *order = NULL;
    int i;

    if (acme_order_from_json(&order, p, json, "https://ca.example/order/1",
                             acme_result_create(p)) != APR_SUCCESS) {
        return NULL;
    }
    FUZZ_CHECK(order && order->identifiers && order->authorizations);
    FUZZ_CHECK(acme_order_status_name(order->status) != NULL);
    for (i = 0; i < order->identifiers->nelts; i++) {
        const acme_identifier_t *id = &APR_ARRAY_IDX(order->identifiers, i, acme_identifier_t);
        FUZZ_CHECK(id->type && id->value);
    }
    return order;
}

static acme_authz_t *fuzz_authz(apr_pool_t *p, const json_t *json)
{
    acme_authz_t *authz = NULL;
    int i;

    if (acme_authz_from_json(&authz, p, json, NULL, acme_result_create(p)) != APR_SUCCESS) {
        return NULL;
    }
    FUZZ_CHECK(authz && authz->challenges && authz->identifier.value);
    FUZZ_CHECK(acme_authz_status_name(authz->status) != NULL);
    for (i = 0; i < authz->challenges->nelts; i++) {
        fuzz_check_challenge(APR_ARRAY_IDX(authz->challenges, i, const acme_challenge_t *));
    }
    return authz;
}

static void fuzz_other_documents(apr_pool_t *p, const json_t *json)
{
    acme_directory_t *dir = NULL;
    acme_account_t *acct = NULL;
    acme_challenge_t *chal = NULL;

    if (acme_directory_from_json(&dir, p, json, acme_result_create(p)) == APR_SUCCESS) {
        FUZZ_CHECK(dir->new_nonce && dir->new_account && dir->new_order);
        FUZZ_CHECK(dir->caa_identities && dir->profiles);
        acme_directory_get_profile(dir, "shortlived");
    }
    if (acme_account_from_json(&acct, p, json, "https://ca.example/acct/1",
                               acme_result_create(p)) == APR_SUCCESS) {
        FUZZ_CHECK(acct->contacts != NULL);
        FUZZ_CHECK(acme_account_status_name(acct->status) != NULL);
    }
    if (acme_challenge_from_json(&chal, p, json, acme_result_create(p)) == APR_SUCCESS) {
        fuzz_check_challenge(chal);
    }
}

/* An order and an authorization that both parsed: what a client asks of
 * them before answering a challenge. */
static void fuzz_order_with_authz(apr_pool_t *p, const acme_order_t *order,
                                  const acme_authz_t *authz)
{
    apr_array_header_t *prefs = apr_array_make(p, 3, sizeof(const char *));
    const acme_challenge_t *chal;

    APR_ARRAY_PUSH(prefs, const char *) = "tls-alpn-01";
    APR_ARRAY_PUSH(prefs, const char *) = "http-01";
    APR_ARRAY_PUSH(prefs, const char *) = "dns-01";
    acme_order_covers_authz(order, authz);
    chal = acme_authz_select_challenge(authz, prefs);
    if (chal) {
        fuzz_check_challenge(chal);
    }
}

static void fuzz_array(apr_pool_t *p, const json_t *json)
{
    acme_order_t *order = NULL;
    acme_authz_t *authz = NULL;
    size_t i;

    for (i = 0; i < json_array_size(json) && i < FUZZ_JSON_MAX_ELEMENTS; i++) {
        const json_t *elem = json_array_get(json, i);
        acme_order_t *o = fuzz_order(p, elem);
        acme_authz_t *a = fuzz_authz(p, elem);
        fuzz_other_documents(p, elem);
        if (i == 0) {
            order = o;
        }
        else if (i == 1) {
            authz = a;
        }
    }
    if (order && authz) {
        fuzz_order_with_authz(p, order, authz);
    }
}

/* renewalInfo answers (RFC 9773) and ari.json. */
static void fuzz_ari(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const apr_time_t now = apr_time_from_sec(1767225600LL);
    acme_ari_info_t *info = NULL;
    acme_ari_state_t *st = NULL;
    const char *err = NULL;

    if (acme_ari_parse(&info, p, (const char *)data, size, "3600", now, 0,
                       acme_result_create(p)) == APR_SUCCESS) {
        FUZZ_CHECK(info->start < info->end);
        FUZZ_CHECK(info->next_check >= now && info->next_check <= now + ACME_ARI_WAIT_MAX);
    }
    if (acme_ari_state_parse(&st, p, (const char *)data, size, &err) == APR_SUCCESS) {
        FUZZ_CHECK(acme_ari_cert_id_is_valid(st->cert_id));
        FUZZ_CHECK(!st->has_window || st->start < st->end);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    acme_directory_t *dir = NULL;
    json_t *json = NULL;
    const char *err = NULL;
    apr_time_t t;

    /* The raw-body entry point of the directory, then the generic parse. */
    acme_directory_parse(&dir, p, (const char *)data, size, acme_result_create(p));
    fuzz_ari(p, data, size);
    if (acme_json_parse(&json, p, (const char *)data, size, ACME_JSON_ANY, &err)
        != APR_SUCCESS) {
        FUZZ_CHECK(err != NULL);
        goto cleanup;
    }
    if (json_is_object(json)) {
        acme_order_t *order = fuzz_order(p, json);
        acme_authz_t *authz = fuzz_authz(p, json);
        fuzz_other_documents(p, json);
        if (order && authz) {
            fuzz_order_with_authz(p, order, authz);
        }
    }
    else if (json_is_array(json)) {
        fuzz_array(p, json);
    }
    else if (json_is_string(json)) {
        acme_order_parse_time(&t, json_string_value(json));
    }
cleanup:
    apr_pool_destroy(p);
    return 0;
}
