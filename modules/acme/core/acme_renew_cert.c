/* Renewal job steps from a ready order to a staged set: finalize,
 * poll-order, download, save; and the check of a staged set. See
 * acme_renew_int.h for the step contract. */
#include <string.h>

#include <apr_strings.h>

#include "acme_cert.h"
#include "acme_certset.h"
#include "acme_csr.h"
#include "acme_json.h"
#include "acme_layout.h"
#include "acme_log.h"
#include "acme_renew_int.h"
#include "acme_store_pkey.h"

static apr_status_t store_fail(acme_renew_ctx_t *ctx, apr_status_t rv, const char *what)
{
    acme_result_fail(ctx->r, rv, "%s STAGING/%s", what, ctx->spec->md_name);
    ctx->r->action = ACME_ACTION_RETRY;
    return rv;
}

/* Remembers the staged key for the rest of the run: decoding it again
 * costs more than a request to a nearby CA. */
static apr_status_t staged_key_keep(acme_pkey_t **pkey, acme_renew_ctx_t *ctx,
                                    acme_pkey_t *key, const char *pem, apr_size_t len)
{
    ctx->staged_key = key;
    ctx->staged_key_index = ctx->job->key_index;
    ctx->staged_key_pem = pem;
    ctx->staged_key_len = len;
    *pkey = key;
    return APR_SUCCESS;
}

/* The kept staged key when `pem` is the very file it came from (an RSA key
 * check costs tens of milliseconds), else NULL. */
static acme_pkey_t *staged_key_known(const acme_renew_ctx_t *ctx, const char *spec_name,
                                     const char *pem, apr_size_t len)
{
    if (ctx->staged_key == NULL || ctx->staged_key_pem == NULL
        || ctx->staged_key_index >= ctx->spec->pkey_specs->nelts
        || strcmp(spec_name, acme_pkey_spec_name(ctx->p, &APR_ARRAY_IDX(
                      ctx->spec->pkey_specs, ctx->staged_key_index, acme_pkey_spec_t)))
        || len != ctx->staged_key_len || memcmp(pem, ctx->staged_key_pem, len) != 0) {
        return NULL;
    }
    return ctx->staged_key;
}

/* The staged key of the current key spec; made and saved when absent, so
 * that it is never lost between finalizing and downloading. */
static apr_status_t staged_key(acme_pkey_t **pkey, acme_renew_ctx_t *ctx)
{
    const char *aspect = acme_layout_privkey(ctx->p, acme_renew_key_name(ctx));
    const char *pem, *why = NULL;
    acme_pkey_t *key = NULL;
    apr_size_t len;
    apr_status_t rv;

    if (ctx->staged_key && ctx->staged_key_index == ctx->job->key_index) {
        *pkey = ctx->staged_key;
        return APR_SUCCESS;
    }
    acme_result_set_activity(ctx->r, "preparing the %s key", acme_renew_key_name(ctx));
    rv = acme_store_load(&pem, &len, ctx->p, ctx->store, ACME_STORE_STAGING,
                         ctx->spec->md_name, aspect);
    if (rv == APR_SUCCESS
        && acme_store_pkey_from_pem(&key, ctx->p, ctx->store, pem, len, &why) == APR_SUCCESS
        && acme_pkey_spec_eq(acme_pkey_get_spec(key), acme_renew_key_spec(ctx))) {
        return staged_key_keep(pkey, ctx, key, pem, len);
    }
    if (rv != APR_SUCCESS && rv != APR_ENOENT) {
        return store_fail(ctx, rv, "reading the key in");
    }
    if (rv == APR_SUCCESS) {
        acme_log(ACME_LOG_WARNING, 0, "ACME0950 acme[md=%s]: staged %s unusable (%s),"
                 " making a new key", ctx->spec->md_name, aspect, why ? why : "other spec");
    }
    if ((rv = acme_pkey_generate(&key, ctx->p, acme_renew_key_spec(ctx), &why))
        || (rv = acme_store_pkey_to_pem(&pem, &len, ctx->p, ctx->store, ACME_STORE_STAGING,
                                        key, &why))) {
        return acme_result_fail(ctx->r, rv, "making a %s key: %s", acme_renew_key_name(ctx),
                                why);
    }
    rv = acme_store_save(ctx->store, ctx->p, ACME_STORE_STAGING, ctx->spec->md_name, aspect,
                         pem, len, ACME_STORE_SECRET);
    if (rv != APR_SUCCESS) {
        return store_fail(ctx, rv, "saving the key in");
    }
    return staged_key_keep(pkey, ctx, key, pem, len);
}

apr_status_t acme_renew_step_finalize(acme_renew_ctx_t *ctx)
{
    const unsigned char *der;
    acme_pkey_t *key;
    acme_order_t *order;
    apr_size_t len;
    apr_status_t rv;
    int moved;

    if ((rv = acme_renew_order_sync(ctx, ACME_ORDER_READY, &moved)) || moved
        || (rv = staged_key(&key, ctx))) {
        return rv;
    }
    rv = acme_csr_create(&der, &len, ctx->p, acme_pkey_get_evp(key), ctx->spec->names,
                         ctx->spec->must_staple ? ACME_CSR_MUST_STAPLE : 0);
    if (rv != APR_SUCCESS) {
        rv = acme_result_fail(ctx->r, rv, "cannot make a CSR for the names of %s",
                              ctx->spec->md_name);
        ctx->r->action = ACME_ACTION_FIX_CONFIG;
        return rv;
    }
    acme_result_set_activity(ctx->r, "finalizing order %s", ctx->job->order_url);
    rv = acme_order_finalize(&order, ctx->p, ctx->client, ctx->order, der, len, ctx->r);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ctx->order = order;
    ctx->job->step = order->status == ACME_ORDER_VALID ? ACME_JOB_DOWNLOAD
                                                       : ACME_JOB_POLL_ORDER;
    return APR_SUCCESS;
}

apr_status_t acme_renew_step_poll_order(acme_renew_ctx_t *ctx)
{
    acme_order_t *order = NULL;
    apr_time_t retry_at = 0;
    apr_status_t rv;

    acme_result_set_activity(ctx->r, "waiting for order %s", ctx->job->order_url);
    rv = acme_order_look(&order, &retry_at, ctx->p, ctx->client, ctx->job->order_url,
                         ctx->now, ctx->r);
    if (rv == ACME_EPROBLEM && order && order->status == ACME_ORDER_INVALID) {
        acme_renew_restart_order(ctx);
        return rv;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ctx->order = order;
    if (order->status == ACME_ORDER_PENDING || order->status == ACME_ORDER_PROCESSING) {
        ctx->wait_at = acme_renew_poll_at(ctx, retry_at);
    }
    else {
        ctx->job->step = acme_renew_step_for_order(ctx->job->step, order->status);
    }
    return APR_SUCCESS;
}

/* The leaf must certify the staged key and cover every name. */
static apr_status_t chain_check(const acme_cert_chain_t *chain, const acme_pkey_t *key,
                                const apr_array_header_t *names, apr_pool_t *p,
                                const char **pwhy)
{
    X509 *leaf = acme_chain_get(chain, 0);
    const char *missing = NULL;

    if (leaf == NULL) {
        *pwhy = "the chain is empty";
        return APR_EINVAL;
    }
    if (acme_cert_check_key(leaf, acme_pkey_get_evp(key)) != APR_SUCCESS) {
        *pwhy = "the certificate is not for the staged key";
        return APR_EINVAL;
    }
    if (acme_cert_check_names(&missing, p, leaf, names) != APR_SUCCESS) {
        *pwhy = apr_psprintf(p, "the certificate does not cover %s",
                             missing ? missing : "every name");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Moves on to the next key spec's order, or to "save". */
static void next_key(acme_renew_ctx_t *ctx)
{
    acme_job_t *job = ctx->job;

    acme_job_set_order(job, NULL);
    ctx->order = NULL;
    if (job->key_index + 1 < job->key_count) {
        ++job->key_index;
        job->step = ACME_JOB_ORDER;
    }
    else {
        job->step = ACME_JOB_SAVE;
    }
}

apr_status_t acme_renew_step_download(acme_renew_ctx_t *ctx)
{
    const char *pem, *why = NULL, *serial = "?";
    acme_cert_chain_t *chain;
    acme_pkey_t *key;
    apr_status_t rv;
    int moved;

    if ((rv = acme_renew_order_sync(ctx, ACME_ORDER_VALID, &moved)) || moved
        || (rv = staged_key(&key, ctx))) {
        return rv;
    }
    acme_result_set_activity(ctx->r, "downloading %s", ctx->order->certificate);
    if ((rv = acme_order_download(&chain, ctx->p, ctx->client, ctx->order->certificate,
                                  ctx->spec->preferred_chain, ctx->r))) {
        return rv;
    }
    if ((rv = chain_check(chain, key, ctx->spec->names, ctx->p, &why)) != APR_SUCCESS) {
        rv = acme_result_fail(ctx->r, rv, "%s", why);
        acme_renew_restart_order(ctx);
        return rv;
    }
    if ((rv = acme_chain_to_pem(&pem, ctx->p, chain)) != APR_SUCCESS) {
        return acme_result_fail(ctx->r, rv, "encoding the chain");
    }
    rv = acme_store_save(ctx->store, ctx->p, ACME_STORE_STAGING, ctx->spec->md_name,
                         acme_layout_pubcert(ctx->p, acme_renew_key_name(ctx)), pem,
                         strlen(pem), 0);
    if (rv != APR_SUCCESS) {
        return store_fail(ctx, rv, "saving the certificate in");
    }
    acme_cert_get_serial_hex(&serial, ctx->p, acme_chain_get(chain, 0));
    acme_log(ACME_LOG_INFO, 0, "ACME0951 acme[md=%s order=%s]: %s certificate %s staged",
             ctx->spec->md_name, ctx->job->order_url, acme_renew_key_name(ctx), serial);
    next_key(ctx);
    return APR_SUCCESS;
}

static json_t *key_names_json(const acme_renew_ctx_t *ctx)
{
    json_t *out = json_array();
    int i;

    for (i = 0; i < ctx->spec->pkey_specs->nelts; ++i) {
        const acme_pkey_spec_t *ks = &APR_ARRAY_IDX(ctx->spec->pkey_specs, i,
                                                    acme_pkey_spec_t);
        json_array_append_new(out, json_string(acme_pkey_spec_name(ctx->p, ks)));
    }
    return out;
}

/* Checks the finished staged set fully here, in a worker, and stamps it:
 * the activation in httpd's parent then only hashes the files (a set
 * changed after this is checked fully there). Without a stamp (a failing
 * check or write, logged by the store) the activation checks fully. */
static void staged_stamp(acme_renew_ctx_t *ctx)
{
    acme_certset_check_t *check;

    acme_certset_check_stamped(&check, ctx->p, ctx->store, ACME_STORE_STAGING,
                               ctx->spec->md_name, ctx->spec->pkey_specs, ctx->spec->names,
                               ctx->now, ACME_CERTSET_RESTAMP);
}

apr_status_t acme_renew_step_save(acme_renew_ctx_t *ctx)
{
    json_t *md = acme_json_pool_adopt(ctx->p, json_object());
    const char *text;
    apr_size_t len;
    apr_status_t rv;

    json_object_set_new(md, "name", json_string(ctx->spec->md_name));
    json_object_set_new(md, "names", acme_json_strings(ctx->spec->names));
    json_object_set_new(md, "pkey-specs", key_names_json(ctx));
    json_object_set_new(md, "ca-url", json_string(ctx->spec->ca_url));
    json_object_set_new(md, "issued", json_string(acme_job_time_format(ctx->p, ctx->now)));
    if ((rv = acme_json_dump(&text, &len, ctx->p, md)) != APR_SUCCESS) {
        return acme_result_fail(ctx->r, rv, "encoding md.json");
    }
    rv = acme_store_save(ctx->store, ctx->p, ACME_STORE_STAGING, ctx->spec->md_name,
                         ACME_ASPECT_MD, text, len, 0);
    if (rv != APR_SUCCESS) {
        return store_fail(ctx, rv, "saving md.json in");
    }
    staged_stamp(ctx);
    acme_renew_answers_remove(ctx);
    ctx->job->step = ACME_JOB_DONE;
    return APR_SUCCESS;
}

/* md.json must describe this spec's names and key specs. */
static apr_status_t md_json_verify(acme_renew_ctx_t *ctx, const char **pwhy)
{
    const char *text;
    apr_size_t len;
    json_t *md;
    apr_status_t rv;

    rv = acme_store_load(&text, &len, ctx->p, ctx->store, ACME_STORE_STAGING,
                         ctx->spec->md_name, ACME_ASPECT_MD);
    if (rv != APR_SUCCESS) {
        *pwhy = "md.json is missing";
        return rv;
    }
    if (acme_json_parse(&md, ctx->p, text, len, ACME_JSON_OBJECT, pwhy) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (!json_equal(json_object_get(md, "names"),
                    acme_json_pool_adopt(ctx->p, acme_json_strings(ctx->spec->names)))
        || !json_equal(json_object_get(md, "pkey-specs"),
                       acme_json_pool_adopt(ctx->p, key_names_json(ctx)))) {
        *pwhy = "md.json is for other names or keys";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* The key and chain of the key spec called `spec_name`. */
static apr_status_t pair_verify(acme_renew_ctx_t *ctx, const char *spec_name,
                                const char **pwhy)
{
    const char *key_pem, *chain_pem, *why = NULL;
    apr_size_t key_len, chain_len;
    acme_cert_chain_t *chain;
    acme_pkey_t *key;
    apr_status_t rv;

    rv = acme_store_load(&key_pem, &key_len, ctx->p, ctx->store, ACME_STORE_STAGING,
                         ctx->spec->md_name, acme_layout_privkey(ctx->p, spec_name));
    if (rv == APR_SUCCESS) {
        rv = acme_store_load(&chain_pem, &chain_len, ctx->p, ctx->store, ACME_STORE_STAGING,
                             ctx->spec->md_name, acme_layout_pubcert(ctx->p, spec_name));
    }
    if (rv != APR_SUCCESS) {
        *pwhy = apr_psprintf(ctx->p, "the %s key or certificate is missing", spec_name);
        return rv;
    }
    key = staged_key_known(ctx, spec_name, key_pem, key_len);
    if ((key == NULL && acme_store_pkey_from_pem(&key, ctx->p, ctx->store, key_pem, key_len,
                                                 &why) != APR_SUCCESS)
        || acme_chain_from_pem(&chain, ctx->p, chain_pem, chain_len) != APR_SUCCESS
        || chain_check(chain, key, ctx->spec->names, ctx->p, &why) != APR_SUCCESS) {
        *pwhy = apr_psprintf(ctx->p, "%s: %s", spec_name, why ? why : "unreadable chain");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t acme_renew_staging_verify(acme_renew_ctx_t *ctx, const char **pwhy)
{
    apr_status_t rv = md_json_verify(ctx, pwhy);
    int i;

    for (i = 0; rv == APR_SUCCESS && i < ctx->spec->pkey_specs->nelts; ++i) {
        const acme_pkey_spec_t *ks = &APR_ARRAY_IDX(ctx->spec->pkey_specs, i,
                                                    acme_pkey_spec_t);
        rv = pair_verify(ctx, acme_pkey_spec_name(ctx->p, ks), pwhy);
    }
    return rv;
}
