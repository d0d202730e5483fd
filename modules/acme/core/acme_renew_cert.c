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

static apr_status_t store_fail(acme_renew_ctx_t *ctx, apr_status_t rv, const char *what)
{
    acme_result_fail(ctx->r, rv, "%s STAGING/%s", what, ctx->spec->md_name);
    ctx->r->action = ACME_ACTION_RETRY;
    return rv;
}

/* The staged key of the current key spec from the custody; with `create`
 * made and saved when absent or unusable (at finalize), so that it is never
 * lost between finalizing and downloading. Kept for the rest of the run. */
static apr_status_t staged_key(acme_pkey_t **pkey, acme_renew_ctx_t *ctx, int create)
{
    const char *why = NULL;
    acme_pkey_t *key = NULL;
    apr_status_t rv;

    if (ctx->staged_key && ctx->staged_key_index == ctx->job->key_index) {
        *pkey = ctx->staged_key;
        return APR_SUCCESS;
    }
    acme_result_set_activity(ctx->r, "preparing the %s key", acme_renew_key_name(ctx));
    rv = acme_keys_domain_key(&key, ctx->p, ctx->keys, ctx->spec->md_name,
                              acme_renew_key_spec(ctx), create, &why);
    if (rv != APR_SUCCESS) {
        rv = acme_result_fail(ctx->r, rv, "the %s key of STAGING/%s (%s custody): %s",
                              acme_renew_key_name(ctx), ctx->spec->md_name,
                              acme_keys_kind(ctx->keys), why ? why : "?");
        ctx->r->action = ACME_ACTION_RETRY;
        return rv;
    }
    ctx->staged_key = key;
    ctx->staged_key_index = ctx->job->key_index;
    *pkey = key;
    return APR_SUCCESS;
}

apr_status_t acme_renew_step_finalize(acme_renew_ctx_t *ctx)
{
    const unsigned char *der;
    const char *why = NULL;
    acme_pkey_t *key;
    acme_order_t *order;
    apr_size_t len;
    apr_status_t rv;
    int moved;

    if ((rv = acme_renew_order_sync(ctx, ACME_ORDER_READY, &moved)) || moved
        || (rv = staged_key(&key, ctx, 1))) {
        return rv;
    }
    rv = acme_keys_csr(&der, &len, ctx->p, ctx->keys, ctx->spec->md_name,
                       acme_renew_key_spec(ctx), ctx->spec->names,
                       ctx->spec->must_staple ? ACME_CSR_MUST_STAPLE : 0, &why);
    if (rv != APR_SUCCESS) {
        rv = acme_result_fail(ctx->r, rv, "cannot make a CSR for the names of %s: %s",
                              ctx->spec->md_name, why ? why : "?");
        /* names no CSR can hold need an admin; a custody out of reach, a retry */
        ctx->r->action = rv == APR_EINVAL ? ACME_ACTION_FIX_CONFIG : ACME_ACTION_RETRY;
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

/* The leaf must certify the staged key (compared by its public half: a
 * remote custody gives no more) and cover every name. */
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

    if ((rv = acme_renew_order_sync(ctx, ACME_ORDER_VALID, &moved)) || moved) {
        return rv;
    }
    if ((rv = staged_key(&key, ctx, 0)) != APR_SUCCESS) {
        if (acme_account_store_key_unusable(rv)) {
            acme_renew_restart_order(ctx);  /* the certificate is of no use without it */
        }
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

/* The key (from the custody) and chain of key spec `ks`. */
static apr_status_t pair_verify(acme_renew_ctx_t *ctx, const acme_pkey_spec_t *ks,
                                const char **pwhy)
{
    const char *spec_name = acme_pkey_spec_name(ctx->p, ks), *chain_pem, *why = NULL;
    acme_cert_chain_t *chain;
    apr_size_t chain_len;
    acme_pkey_t *key;
    apr_status_t rv;

    rv = acme_keys_domain_key(&key, ctx->p, ctx->keys, ctx->spec->md_name, ks, 0, &why);
    if (rv == APR_SUCCESS) {
        rv = acme_store_load(&chain_pem, &chain_len, ctx->p, ctx->store, ACME_STORE_STAGING,
                             ctx->spec->md_name, acme_layout_pubcert(ctx->p, spec_name));
    }
    else if (acme_account_store_key_unusable(rv)) {
        /* a damaged or not private key is as good as none: the set is redone */
        rv = APR_STATUS_IS_ENOENT(rv) ? rv : APR_EINVAL;
    }
    if (rv != APR_SUCCESS) {
        *pwhy = apr_psprintf(ctx->p, "the %s key or certificate is missing or unusable%s%s",
                             spec_name, why ? ": " : "", why ? why : "");
        return rv;
    }
    if (acme_chain_from_pem(&chain, ctx->p, chain_pem, chain_len) != APR_SUCCESS
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
        rv = pair_verify(ctx, &APR_ARRAY_IDX(ctx->spec->pkey_specs, i, acme_pkey_spec_t),
                         pwhy);
    }
    return rv;
}
