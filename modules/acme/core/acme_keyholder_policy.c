/* The key holder's policy checks: what a child may have signed, for which
 * origin, domain, key spec and names (acme_keyholder.h). Everything here
 * reads input from httpd's User: refuse what is not exactly expected. */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "acme_b64.h"
#include "acme_jwk.h"
#include "acme_keyholder_int.h"
#include "acme_names.h"

static apr_status_t policy_refuse(const char **pwhy, const char *why)
{
    *pwhy = why;
    return APR_EINVAL;
}

const char *acme_keyholder_origin(apr_pool_t *p, const char *url)
{
    const char *scheme, *auth, *host, *host_end, *port_s = NULL, *s;
    apr_size_t auth_len;
    unsigned long port;
    char *end;

    if (url == NULL) {
        return NULL;
    }
    for (s = url; *s; s++) {
        /* no blanks, controls or raw non-ASCII: parsers disagree on them */
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
            return NULL;
        }
    }
    if (strncasecmp(url, "https://", 8) == 0) {
        scheme = "https";
        port = 443;
        auth = url + 8;
    }
    else if (strncasecmp(url, "http://", 7) == 0) {
        scheme = "http";
        port = 80;
        auth = url + 7;
    }
    else {
        return NULL;
    }
    auth_len = strcspn(auth, "/?#");
    if (auth_len == 0 || memchr(auth, '@', auth_len) != NULL
        || memchr(auth, '\\', auth_len) != NULL) {
        return NULL;
    }
    host = auth;
    if (*host == '[') {
        host_end = memchr(host, ']', auth_len);
        if (host_end == NULL) {
            return NULL;
        }
        host_end++;
    }
    else {
        host_end = memchr(host, ':', auth_len);
        if (host_end == NULL) {
            host_end = auth + auth_len;
        }
        for (s = host; s < host_end; s++) {
            if (!apr_isalnum(*s) && *s != '-' && *s != '.' && *s != '_') {
                return NULL;
            }
        }
    }
    if (host_end == host) {
        return NULL;
    }
    if (host_end < auth + auth_len) {
        if (*host_end != ':') {
            return NULL;
        }
        port_s = host_end + 1;
        if ((apr_size_t)(auth + auth_len - port_s) < 1
            || (apr_size_t)(auth + auth_len - port_s) > 5 || !apr_isdigit(*port_s)
            || *port_s == '0') {  /* one spelling of a port: no leading zero */
            return NULL;
        }
        port = strtoul(port_s, &end, 10);
        if (end != auth + auth_len || port == 0 || port > 65535) {
            return NULL;
        }
    }
    {
        char *lower = apr_pstrmemdup(p, host, (apr_size_t)(host_end - host)), *c;

        for (c = lower; *c; c++) {
            *c = (char)apr_tolower(*c);
        }
        return apr_psprintf(p, "%s://%s:%lu", scheme, lower, port);
    }
}

apr_status_t acme_keyholder_check_url(apr_pool_t *p, const acme_keyholder_policy_t *policy,
                                      const char *what, const char *url, const char **pwhy)
{
    const char *origin = acme_keyholder_origin(p, url);
    int i;

    if (origin == NULL) {
        *pwhy = apr_psprintf(p, "%s is not an http(s) URL: %s", what,
                             acme_names_printable(p, url));
        return APR_EINVAL;
    }
    for (i = 0; policy->ca_urls && i < policy->ca_urls->nelts; i++) {
        const char *ca = acme_keyholder_origin(p, APR_ARRAY_IDX(policy->ca_urls, i,
                                                                const char *));

        if (ca != NULL && strcmp(ca, origin) == 0) {
            return APR_SUCCESS;
        }
    }
    *pwhy = apr_psprintf(p, "%s is not at a configured CA: %s", what,
                         acme_names_printable(p, url));
    return APR_EINVAL;
}

/* Decodes one base64url part of the signing input and parses it as a JSON
 * object (duplicate members refused: the CA might read the other one). */
static apr_status_t policy_json_part(json_t **pobj, apr_pool_t *p, const char *s,
                                     apr_size_t len)
{
    unsigned char *data;
    apr_size_t n;
    json_t *obj;

    if (acme_b64url_decode(&data, &n, p, s, len) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    obj = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return APR_EINVAL;
    }
    *pobj = obj;
    return APR_SUCCESS;
}

/* The protected header of an ACME request by the account key. */
static apr_status_t policy_check_header(apr_pool_t *p, const acme_keyholder_policy_t *policy,
                                        const acme_pkey_t *account_key, json_t *hdr,
                                        const char **pwhy)
{
    json_t *alg = json_object_get(hdr, "alg"), *url = json_object_get(hdr, "url");
    json_t *nonce = json_object_get(hdr, "nonce"), *kid = json_object_get(hdr, "kid");
    json_t *jwk = json_object_get(hdr, "jwk"), *account_jwk = NULL;
    const char *member;
    json_t *value;
    apr_status_t rv;
    int same;

    json_object_foreach(hdr, member, value) {
        if (strcmp(member, "alg") && strcmp(member, "url") && strcmp(member, "nonce")
            && strcmp(member, "kid") && strcmp(member, "jwk")) {
            *pwhy = apr_psprintf(p, "the protected header has a member '%s'",
                                 acme_names_printable(p, member));
            return APR_EINVAL;
        }
    }
    if (!json_is_string(alg) || strcmp(json_string_value(alg), acme_jwk_alg(account_key))) {
        return policy_refuse(pwhy, "alg is not the account key's");
    }
    if (!json_is_string(url)) {
        return policy_refuse(pwhy, "no url in the protected header");
    }
    if ((rv = acme_keyholder_check_url(p, policy, "url", json_string_value(url), pwhy))
        != APR_SUCCESS) {
        return rv;
    }
    if (!json_is_string(nonce)
        || !acme_b64url_is_alphabet(json_string_value(nonce), json_string_length(nonce))) {
        return policy_refuse(pwhy, "no nonce (a non-empty base64url string)");
    }
    if ((kid == NULL) == (jwk == NULL)) {
        return policy_refuse(pwhy, "not exactly one of kid and jwk");
    }
    if (kid != NULL) {
        if (!json_is_string(kid)) {
            return policy_refuse(pwhy, "kid is not a string");
        }
        return acme_keyholder_check_url(p, policy, "kid", json_string_value(kid), pwhy);
    }
    if ((rv = acme_jwk_from_pkey(&account_jwk, p, account_key, pwhy)) != APR_SUCCESS) {
        return rv;
    }
    same = json_equal(jwk, account_jwk);
    json_decref(account_jwk);
    return same ? APR_SUCCESS : policy_refuse(pwhy, "jwk is not the account key's");
}

/* {"status": "deactivated"} posted to the account's own URL (its kid). */
static int account_deactivation(const json_t *hdr, const json_t *payload)
{
    const char *status = json_string_value(json_object_get(payload, "status"));
    const char *url = json_string_value(json_object_get(hdr, "url"));
    const char *kid = json_string_value(json_object_get(hdr, "kid"));

    return status && !strcmp(status, "deactivated") && url && kid && !strcmp(url, kid);
}

apr_status_t acme_keyholder_check_sign_input(apr_pool_t *p,
                                             const acme_keyholder_policy_t *policy,
                                             const acme_pkey_t *account_key,
                                             const char *input, apr_size_t len,
                                             const char **pwhy)
{
    const char *dot = memchr(input, '.', len);
    apr_size_t payload_len;
    json_t *hdr = NULL, *payload = NULL;
    apr_status_t rv;

    if (dot == NULL || memchr(dot + 1, '.', len - (apr_size_t)(dot + 1 - input)) != NULL
        || memchr(input, '\0', len) != NULL) {
        return policy_refuse(pwhy, "input is not '<protected>.<payload>'");
    }
    if (policy_json_part(&hdr, p, input, (apr_size_t)(dot - input)) != APR_SUCCESS) {
        return policy_refuse(pwhy, "the protected header is not base64url of a JSON object");
    }
    if ((rv = policy_check_header(p, policy, account_key, hdr, pwhy)) != APR_SUCCESS) {
        goto cleanup;
    }
    payload_len = len - (apr_size_t)(dot + 1 - input);
    if (payload_len == 0) {
        goto cleanup;  /* POST-as-GET */
    }
    if (policy_json_part(&payload, p, dot + 1, payload_len) != APR_SUCCESS) {
        rv = policy_refuse(pwhy, "the payload is not base64url of a JSON object");
        goto cleanup;
    }
    /* a keyChange's payload is the inner JWS: the new key would take the
     * account over, so only the root-only admin tool does it */
    if (json_object_get(payload, "protected") || json_object_get(payload, "signature")) {
        rv = policy_refuse(pwhy, "the payload is a JWS (keyChange)");
    }
    /* revoking a certificate or ending the account would let a compromised
     * child take the server's certificates or account away: the admin's */
    else if (json_object_get(payload, "certificate")) {
        rv = policy_refuse(pwhy, "the payload revokes a certificate");
    }
    else if (account_deactivation(hdr, payload)) {
        rv = policy_refuse(pwhy, "the payload deactivates the account");
    }
cleanup:
    json_decref(payload);
    json_decref(hdr);
    return rv;
}

apr_status_t acme_keyholder_check_md(const acme_keyholder_md_t **pmd, acme_pkey_spec_t *pspec,
                                     apr_pool_t *p, const acme_keyholder_policy_t *policy,
                                     const char *md, const char *spec_word,
                                     const char **pwhy)
{
    const acme_keyholder_md_t *entry;
    acme_pkey_spec_t spec;
    int i;

    entry = policy->mds ? apr_hash_get(policy->mds, md, APR_HASH_KEY_STRING) : NULL;
    if (entry == NULL) {
        *pwhy = apr_psprintf(p, "md %s is not configured", acme_names_printable(p, md));
        return APR_EINVAL;
    }
    if (acme_pkey_spec_parse(&spec, p, spec_word, NULL) != APR_SUCCESS) {
        *pwhy = apr_psprintf(p, "key spec %s is not valid", acme_names_printable(p, spec_word));
        return APR_EINVAL;
    }
    for (i = 0; entry->pkey_specs && i < entry->pkey_specs->nelts; i++) {
        if (acme_pkey_spec_eq(&APR_ARRAY_IDX(entry->pkey_specs, i, acme_pkey_spec_t), &spec)) {
            *pmd = entry;
            *pspec = spec;
            return APR_SUCCESS;
        }
    }
    *pwhy = apr_psprintf(p, "key spec %s is not configured for md %s",
                         acme_pkey_spec_name(p, &spec), acme_names_printable(p, md));
    return APR_EINVAL;
}

static int policy_names_find(const apr_array_header_t *names, const char *name, int upto)
{
    int i;

    for (i = 0; i < upto; i++) {
        if (strcasecmp(APR_ARRAY_IDX(names, i, const char *), name) == 0) {
            return 1;
        }
    }
    return 0;
}

apr_status_t acme_keyholder_check_names(apr_pool_t *p, const acme_keyholder_md_t *md,
                                        const apr_array_header_t *names, const char **pwhy)
{
    const char *name;
    int i;

    for (i = 0; i < names->nelts; i++) {
        name = APR_ARRAY_IDX(names, i, const char *);
        if (policy_names_find(names, name, i)) {
            *pwhy = apr_psprintf(p, "name %s is given twice", acme_names_printable(p, name));
            return APR_EINVAL;
        }
        if (!policy_names_find(md->names, name, md->names->nelts)) {
            *pwhy = apr_psprintf(p, "name %s is not configured for md %s",
                                 acme_names_printable(p, name),
                                 acme_names_printable(p, md->name));
            return APR_EINVAL;
        }
    }
    /* no duplicate and each one configured: the same set when as many */
    for (i = 0; i < md->names->nelts; i++) {
        name = APR_ARRAY_IDX(md->names, i, const char *);
        if (!policy_names_find(names, name, names->nelts)) {
            *pwhy = apr_psprintf(p, "configured name %s of md %s is missing",
                                 acme_names_printable(p, name),
                                 acme_names_printable(p, md->name));
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acme_keyholder_check_seal_aad(apr_pool_t *p, const char *md,
                                           const acme_pkey_spec_t *spec, const char *aad,
                                           const char **pwhy)
{
    const apr_size_t prefix = sizeof(ACME_KEYS_SEAL_AAD_ACCOUNT) - 1;
    const char *want;

    if (md == NULL) {
        if (strncmp(aad, ACME_KEYS_SEAL_AAD_ACCOUNT, prefix) == 0
            && acme_names_check_id(aad + prefix) == APR_SUCCESS) {
            return APR_SUCCESS;
        }
        *pwhy = apr_psprintf(p, "aad %s is not an account key's name ("
                             ACME_KEYS_SEAL_AAD_ACCOUNT "<name>)",
                             acme_names_printable(p, aad));
        return APR_EINVAL;
    }
    want = acme_keys_seal_aad_domain(p, md, spec);
    if (strcmp(aad, want) == 0) {
        return APR_SUCCESS;
    }
    *pwhy = apr_psprintf(p, "aad %s is not the name of this staged key (%s)",
                         acme_names_printable(p, aad), want);
    return APR_EINVAL;
}

const char *acme_keyholder_eab_hmac(const acme_keyholder_policy_t *policy, const char *kid)
{
    int i;

    for (i = 0; policy->eabs && i < policy->eabs->nelts; i++) {
        const acme_keyholder_eab_t *eab = &APR_ARRAY_IDX(policy->eabs, i,
                                                         acme_keyholder_eab_t);

        if (eab->kid != NULL && strcmp(eab->kid, kid) == 0) {
            return eab->hmac;
        }
    }
    return NULL;
}
