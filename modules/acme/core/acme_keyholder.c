/* The key holder's requests: one JSON request -> one JSON answer
 * (acme_keyholder.h). The connection handling is in acme_keyholder_serve.c,
 * the checks in acme_keyholder_policy.c. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_csr.h"
#include "acme_jwk.h"
#include "acme_jws.h"
#include "acme_keyholder_int.h"
#include "acme_log.h"
#include "acme_names.h"

/* One request being answered. */
typedef struct {
    apr_pool_t *p;
    acme_keys_t *local;
    const acme_keyholder_policy_t *policy;
    json_t *req;
    const char *op;      /* printable, for log lines */
    json_t *answer;      /* the members of an ok answer */
    const char *why;     /* of a failure */
} kh_request_t;

/* A request the policy does not allow: logged once, answered APR_EINVAL. */
static apr_status_t kh_refuse(kh_request_t *r, const char *why)
{
    r->why = why;
    acme_log(ACME_LOG_WARNING, APR_EINVAL, "ACME0260 acme[keyholder op=%s]: refused: %s",
             r->op, why);
    return APR_EINVAL;
}

/* A failure of the local custody (e.g. no key yet): the caller's business. */
static apr_status_t kh_failed(kh_request_t *r, apr_status_t rv, const char *why)
{
    r->why = why ? why : "the key custody failed";
    acme_log(ACME_LOG_DEBUG, rv, "ACME0261 acme[keyholder op=%s]: %s", r->op, r->why);
    return rv;
}

/* The request has exactly "op" and the members named (NULL-terminated). */
static apr_status_t kh_members(kh_request_t *r, ...)
{
    const char *member, *name;
    json_t *value;
    va_list ap;
    int known;

    json_object_foreach(r->req, member, value) {
        known = strcmp(member, "op") == 0;
        va_start(ap, r);
        while (!known && (name = va_arg(ap, const char *)) != NULL) {
            known = strcmp(member, name) == 0;
        }
        va_end(ap);
        if (!known) {
            return kh_refuse(r, apr_psprintf(r->p, "unknown member '%s'",
                                             acme_names_printable(r->p, member)));
        }
    }
    va_start(ap, r);
    while ((name = va_arg(ap, const char *)) != NULL) {
        if (json_object_get(r->req, name) == NULL) {
            va_end(ap);
            return kh_refuse(r, apr_psprintf(r->p, "member '%s' is missing", name));
        }
    }
    va_end(ap);
    return APR_SUCCESS;
}

static apr_status_t kh_string(kh_request_t *r, const char *name, const char **pvalue)
{
    json_t *v = json_object_get(r->req, name);

    if (!json_is_string(v) || json_string_length(v) == 0
        || strlen(json_string_value(v)) != json_string_length(v)) {
        return kh_refuse(r, apr_psprintf(r->p, "'%s' is not a non-empty string", name));
    }
    *pvalue = json_string_value(v);
    return APR_SUCCESS;
}

static apr_status_t kh_bool(kh_request_t *r, const char *name, int *pvalue)
{
    json_t *v = json_object_get(r->req, name);

    if (!json_is_boolean(v)) {
        return kh_refuse(r, apr_psprintf(r->p, "'%s' is not a boolean", name));
    }
    *pvalue = json_is_true(v);
    return APR_SUCCESS;
}

static apr_status_t kh_account(kh_request_t *r, const char **pid)
{
    apr_status_t rv;

    if ((rv = kh_string(r, "account", pid)) != APR_SUCCESS) {
        return rv;
    }
    if (acme_names_check_id(*pid) != APR_SUCCESS) {
        return kh_refuse(r, apr_psprintf(r->p, "account id %s is not valid",
                                         acme_names_printable(r->p, *pid)));
    }
    return APR_SUCCESS;
}

/* Sets the ok answer's `name` to the public JWK of `key`. */
static apr_status_t kh_answer_jwk(kh_request_t *r, const acme_pkey_t *key)
{
    json_t *jwk;
    apr_status_t rv;

    if ((rv = acme_jwk_from_pkey(&jwk, r->p, key, &r->why)) != APR_SUCCESS) {
        return kh_failed(r, rv, r->why);
    }
    json_object_set_new(r->answer, "jwk", jwk);
    return APR_SUCCESS;
}

static apr_status_t op_account_key(kh_request_t *r)
{
    const char *account, *why = NULL;
    acme_pkey_t *key;
    apr_status_t rv;
    int create;

    if ((rv = kh_members(r, "account", "create", NULL)) != APR_SUCCESS
        || (rv = kh_account(r, &account)) != APR_SUCCESS
        || (rv = kh_bool(r, "create", &create)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = acme_keys_account_key(&key, r->p, r->local, account, create, &why))
        != APR_SUCCESS) {
        return kh_failed(r, rv, why);
    }
    return kh_answer_jwk(r, key);
}

static apr_status_t op_sign(kh_request_t *r)
{
    const char *account, *input, *sig, *why = NULL;
    acme_pkey_t *key;
    apr_status_t rv;

    if ((rv = kh_members(r, "account", "input", NULL)) != APR_SUCCESS
        || (rv = kh_account(r, &account)) != APR_SUCCESS
        || (rv = kh_string(r, "input", &input)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = acme_keys_account_key(&key, r->p, r->local, account, 0, &why))
        != APR_SUCCESS) {
        return kh_failed(r, rv, why);
    }
    if (acme_keyholder_check_sign_input(r->p, r->policy, key, input, strlen(input), &why)
        != APR_SUCCESS) {
        return kh_refuse(r, why);
    }
    if ((rv = acme_jws_sign_input(&sig, r->p, key, input, strlen(input), &why))
        != APR_SUCCESS) {
        return kh_failed(r, rv, why);
    }
    json_object_set_new(r->answer, "signature", json_string(sig));
    return APR_SUCCESS;
}

static apr_status_t op_eab(kh_request_t *r)
{
    const char *account, *kid, *url, *hmac, *why = NULL;
    json_t *jws;
    apr_status_t rv;

    if ((rv = kh_members(r, "account", "eab-kid", "url", NULL)) != APR_SUCCESS
        || (rv = kh_account(r, &account)) != APR_SUCCESS
        || (rv = kh_string(r, "eab-kid", &kid)) != APR_SUCCESS
        || (rv = kh_string(r, "url", &url)) != APR_SUCCESS) {
        return rv;
    }
    if ((hmac = acme_keyholder_eab_hmac(r->policy, kid)) == NULL) {
        return kh_refuse(r, apr_psprintf(r->p, "EAB key id %s is not configured",
                                         acme_names_printable(r->p, kid)));
    }
    if (acme_keyholder_check_url(r->p, r->policy, "url", url, &why) != APR_SUCCESS) {
        return kh_refuse(r, why);
    }
    if ((rv = acme_keys_eab(&jws, r->p, r->local, account, kid, hmac, url, &why))
        != APR_SUCCESS) {
        return kh_failed(r, rv, why);
    }
    json_object_set_new(r->answer, "jws", jws);
    return APR_SUCCESS;
}

/* The md and spec members of domain-key and csr. */
static apr_status_t kh_md_spec(kh_request_t *r, const acme_keyholder_md_t **pmd,
                               acme_pkey_spec_t *pspec)
{
    const char *md, *spec, *why = NULL;
    apr_status_t rv;

    if ((rv = kh_string(r, "md", &md)) != APR_SUCCESS
        || (rv = kh_string(r, "spec", &spec)) != APR_SUCCESS) {
        return rv;
    }
    if (acme_keyholder_check_md(pmd, pspec, r->p, r->policy, md, spec, &why) != APR_SUCCESS) {
        return kh_refuse(r, why);
    }
    return APR_SUCCESS;
}

static apr_status_t op_domain_key(kh_request_t *r)
{
    const acme_keyholder_md_t *md;
    acme_pkey_spec_t spec;
    const char *why = NULL;
    acme_pkey_t *key;
    apr_status_t rv;
    int create;

    if ((rv = kh_members(r, "md", "spec", "create", NULL)) != APR_SUCCESS
        || (rv = kh_md_spec(r, &md, &spec)) != APR_SUCCESS
        || (rv = kh_bool(r, "create", &create)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = acme_keys_domain_key(&key, r->p, r->local, md->name, &spec, create, &why))
        != APR_SUCCESS) {
        return kh_failed(r, rv, why);
    }
    return kh_answer_jwk(r, key);
}

static apr_status_t op_csr(kh_request_t *r)
{
    const acme_keyholder_md_t *md;
    acme_pkey_spec_t spec;
    const unsigned char *der;
    apr_array_header_t *names;
    const char *why = NULL;
    json_t *jnames, *jname;
    apr_size_t len, i;
    apr_status_t rv;
    int must_staple;

    if ((rv = kh_members(r, "md", "spec", "names", "must-staple", NULL)) != APR_SUCCESS
        || (rv = kh_md_spec(r, &md, &spec)) != APR_SUCCESS
        || (rv = kh_bool(r, "must-staple", &must_staple)) != APR_SUCCESS) {
        return rv;
    }
    jnames = json_object_get(r->req, "names");
    if (!json_is_array(jnames)) {
        return kh_refuse(r, "'names' is not an array");
    }
    names = apr_array_make(r->p, (int)json_array_size(jnames) + 1, sizeof(const char *));
    json_array_foreach(jnames, i, jname) {
        if (!json_is_string(jname)) {
            return kh_refuse(r, "'names' holds something else than strings");
        }
        APR_ARRAY_PUSH(names, const char *) = json_string_value(jname);
    }
    if (acme_keyholder_check_names(r->p, md, names, &why) != APR_SUCCESS) {
        return kh_refuse(r, why);
    }
    if ((rv = acme_keys_csr(&der, &len, r->p, r->local, md->name, &spec, names,
                            must_staple ? ACME_CSR_MUST_STAPLE : 0, &why)) != APR_SUCCESS) {
        return kh_failed(r, rv, why);
    }
    json_object_set_new(r->answer, "csr", json_string(acme_b64url_encode(r->p, der, len)));
    return APR_SUCCESS;
}

/* The key a seal or unseal names (the account's, or md's staged key of
 * spec) and the name it is sealed for, each checked. */
static apr_status_t kh_seal_target(kh_request_t *r, int account, acme_keys_which_t *which,
                                   acme_pkey_spec_t *spec, const char **paad)
{
    const acme_keyholder_md_t *md;
    const char *why = NULL;
    apr_status_t rv;

    memset(which, 0, sizeof(*which));
    if (account) {
        rv = kh_account(r, &which->account_id);
    }
    else if ((rv = kh_md_spec(r, &md, spec)) == APR_SUCCESS) {
        which->md = md->name;
        which->spec = spec;
    }
    if (rv != APR_SUCCESS || (rv = kh_string(r, "aad", paad)) != APR_SUCCESS) {
        return rv;
    }
    if (acme_keyholder_check_seal_aad(r->p, which->md, which->spec, *paad, &why)
        != APR_SUCCESS) {
        return kh_refuse(r, why);
    }
    if (r->policy->seal_key == NULL) {
        return kh_failed(r, APR_ENOTIMPL, "no MDSharedStoreKeyFile: keys are not sealed for "
                         "a shared store");
    }
    return APR_SUCCESS;
}

static apr_status_t kh_seal(kh_request_t *r, int account)
{
    acme_keys_which_t which;
    acme_pkey_spec_t spec;
    const char *aad, *sealed, *why = NULL;
    apr_status_t rv;

    rv = account ? kh_members(r, "account", "aad", NULL)
                 : kh_members(r, "md", "spec", "aad", NULL);
    if (rv != APR_SUCCESS || (rv = kh_seal_target(r, account, &which, &spec, &aad))
                             != APR_SUCCESS) {
        return rv;
    }
    rv = account ? acme_keys_seal_account_key(&sealed, r->p, r->local, which.account_id, aad,
                                              &why)
                 : acme_keys_seal_domain_key(&sealed, r->p, r->local, which.md, which.spec,
                                             aad, &why);
    if (rv != APR_SUCCESS) {
        return kh_failed(r, rv, why);
    }
    json_object_set_new(r->answer, "sealed", json_string(sealed));
    return APR_SUCCESS;
}

static apr_status_t kh_unseal(kh_request_t *r, int account)
{
    acme_keys_which_t which;
    acme_pkey_spec_t spec;
    const char *aad, *sealed, *why = NULL;
    acme_pkey_t *key;
    apr_status_t rv;

    rv = account ? kh_members(r, "account", "sealed", "aad", NULL)
                 : kh_members(r, "md", "spec", "sealed", "aad", NULL);
    if (rv != APR_SUCCESS || (rv = kh_string(r, "sealed", &sealed)) != APR_SUCCESS
        || (rv = kh_seal_target(r, account, &which, &spec, &aad)) != APR_SUCCESS) {
        return rv;
    }
    rv = account ? acme_keys_unseal_account_key(&key, r->p, r->local, which.account_id,
                                                sealed, aad, &why)
                 : acme_keys_unseal_domain_key(&key, r->p, r->local, which.md, which.spec,
                                               sealed, aad, &why);
    if (rv != APR_SUCCESS) {
        return kh_failed(r, rv, why);
    }
    return kh_answer_jwk(r, key);
}

static apr_status_t op_seal_account_key(kh_request_t *r)
{
    return kh_seal(r, 1);
}

static apr_status_t op_seal_domain_key(kh_request_t *r)
{
    return kh_seal(r, 0);
}

static apr_status_t op_unseal_account_key(kh_request_t *r)
{
    return kh_unseal(r, 1);
}

static apr_status_t op_unseal_domain_key(kh_request_t *r)
{
    return kh_unseal(r, 0);
}

/* The error line of an answer: one line of printable ASCII, not too long. */
static const char *kh_one_line(apr_pool_t *p, const char *why)
{
    char *line = apr_pstrndup(p, why ? why : "failed", 300), *c;

    for (c = line; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
            *c = '?';
        }
    }
    return line;
}

static const struct {
    const char *name;
    apr_status_t (*fn)(kh_request_t *r);
} kh_ops[] = {
    { "account-key", op_account_key },
    { "sign", op_sign },
    { "eab", op_eab },
    { "domain-key", op_domain_key },
    { "csr", op_csr },
    { "seal-account-key", op_seal_account_key },
    { "seal-domain-key", op_seal_domain_key },
    { "unseal-account-key", op_unseal_account_key },
    { "unseal-domain-key", op_unseal_domain_key },
};

static apr_status_t kh_dispatch(kh_request_t *r, const char *request, apr_size_t len)
{
    json_t *op;
    size_t i;

    r->req = json_loadb(request, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(r->req)) {
        return kh_refuse(r, "the request is not a JSON object");
    }
    op = json_object_get(r->req, "op");
    if (!json_is_string(op)) {
        return kh_refuse(r, "the request has no op");
    }
    r->op = acme_names_printable(r->p, json_string_value(op));
    for (i = 0; i < sizeof(kh_ops) / sizeof(kh_ops[0]); i++) {
        if (strcmp(json_string_value(op), kh_ops[i].name) == 0) {
            return kh_ops[i].fn(r);
        }
    }
    return kh_refuse(r, "unknown op");
}

apr_status_t acme_keyholder_handle(const char **panswer, apr_size_t *plen, apr_pool_t *p,
                                   acme_keys_t *local, const acme_keyholder_policy_t *policy,
                                   const char *request, apr_size_t len)
{
    kh_request_t r;
    apr_status_t status;
    json_t *answer;
    char *text;

    memset(&r, 0, sizeof(r));
    r.p = p;
    r.local = local;
    r.policy = policy;
    r.op = "?";
    r.answer = json_object();
    status = kh_dispatch(&r, request, len);
    if (status == APR_SUCCESS) {
        answer = r.answer;
        json_object_set_new(answer, "ok", json_true());
        r.answer = NULL;
    }
    else {
        answer = json_pack("{s:b, s:i, s:s}", "ok", 0, "status", (json_int_t)status,
                           "error", kh_one_line(p, r.why));
    }
    text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
    json_decref(answer);
    json_decref(r.answer);
    json_decref(r.req);
    if (text == NULL) {
        return APR_ENOMEM;
    }
    *panswer = apr_pstrdup(p, text);
    *plen = strlen(*panswer);
    free(text);
    return APR_SUCCESS;
}
