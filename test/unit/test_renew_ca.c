/* The fake CA of check_renew, played by the scripted transport: it issues
 * real certificates for the CSRs it receives and checks, as each request
 * arrives, what the job must have saved by then (see test_renew.h). */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme_b64.h"
#include "acme_cert.h"
#include "acme_chain.h"
#include "acme_store_pkey.h"
#include "acme_json.h"
#include "acme_layout.h"
#include "acme_pkey.h"
#include "acme_tlsalpn.h"
#include "test_renew.h"

#define MAX_ORDERS 8

/* Chains issued by finalize, per order: a later "process" downloads them. */
static const char *issued_chain[MAX_ORDERS + 1];
static EVP_PKEY *issuer_key;
static X509 *issuer_cert;

struct renew_ca_t {
    const acme_renew_spec_t *spec;
    acme_http_script_t *script;
    acme_http_transport_t *transport;
    acme_client_t *client;
    int added;        /* requests appended so far */
    int crash_at;     /* -1: off */
    int dead;         /* crashed: drop what follows */
};

/* What a step checks when its request arrives. */
typedef struct step_check_t {
    renew_ca_t *ca;
    acme_http_script_step_t *step;
    const char *job_step;
    int kind;
    int n, i;         /* order, name index */
    int key_index;    /* finalize: the key spec whose staged key the CSR must use */
} step_check_t;

enum { CHECK_PLAIN, CHECK_ANSWER, CHECK_ALPN, CHECK_FINALIZE, CHECK_CERT };

void renew_ca_reset(void)
{
    memset(issued_chain, 0, sizeof(issued_chain));
}

/* ------------------------------------------------------------ issuing */

static void issuer_make(void)
{
    X509_NAME *name;
    X509_EXTENSION *ext;

    if (issuer_cert) {
        return;
    }
    issuer_key = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(issuer_key);
    issuer_cert = X509_new();
    X509_set_version(issuer_cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(issuer_cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(issuer_cert), -86400);
    X509_gmtime_adj(X509_getm_notAfter(issuer_cert), 365 * 86400L);
    name = X509_get_subject_name(issuer_cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Fake CA",
                               -1, -1, 0);
    X509_set_issuer_name(issuer_cert, name);
    X509_set_pubkey(issuer_cert, issuer_key);
    ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(issuer_cert, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_add_ext(issuer_cert, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(issuer_cert, issuer_key, EVP_sha256()), 0);
}

static const char *pem_of(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    const char *pem;

    ck_assert_int_eq(PEM_write_bio_X509(bio, cert), 1);
    len = BIO_get_mem_data(bio, &data);
    pem = apr_pstrmemdup(test_pool, data, (apr_size_t)len);
    BIO_free(bio);
    return pem;
}

/* leaf (key and SAN of the CSR) + issuer, as PEM. */
static const char *issue(X509_REQ *req, int serial)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    EVP_PKEY *pub = X509_REQ_get_pubkey(req);
    X509 *leaf = X509_new();
    const char *pem;
    int i;

    issuer_make();
    X509_set_version(leaf, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(leaf), 1000 + serial);
    X509_gmtime_adj(X509_getm_notBefore(leaf), -3600);
    X509_gmtime_adj(X509_getm_notAfter(leaf), 90 * 86400L);
    X509_set_subject_name(leaf, X509_REQ_get_subject_name(req));
    X509_set_issuer_name(leaf, X509_get_subject_name(issuer_cert));
    X509_set_pubkey(leaf, pub);
    for (i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_subject_alt_name) {
            X509_add_ext(leaf, ext, -1);
        }
    }
    ck_assert_int_gt(X509_sign(leaf, issuer_key, EVP_sha256()), 0);
    pem = apr_pstrcat(test_pool, pem_of(leaf), pem_of(issuer_cert), NULL);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    EVP_PKEY_free(pub);
    X509_free(leaf);
    return pem;
}

/* The decoded payload of a JWS request. */
static json_t *request_payload(const acme_http_request_t *req, apr_pool_t *p)
{
    json_t *jws, *payload;
    unsigned char *data;
    apr_size_t len;

    if (acme_json_parse(&jws, p, req->body, req->body_len, ACME_JSON_OBJECT, NULL)
        || acme_b64url_decode_str(&data, &len, p,
                                  json_string_value(json_object_get(jws, "payload")))
        || acme_json_parse(&payload, p, (const char *)data, len, ACME_JSON_OBJECT, NULL)) {
        return NULL;
    }
    return payload;
}

/* The CSR must be for the key staged before finalizing; issues the chain. */
static const char *check_finalize(step_check_t *sc, const acme_http_request_t *req,
                                  apr_pool_t *p)
{
    json_t *payload = request_payload(req, p);
    const acme_pkey_spec_t *ks = &APR_ARRAY_IDX(sc->ca->spec->pkey_specs, sc->key_index,
                                                acme_pkey_spec_t);
    const unsigned char *der;
    unsigned char *csr;
    const char *pem;
    apr_size_t len;
    acme_pkey_t *staged;
    X509_REQ *x;
    EVP_PKEY *pub;
    int same;

    if (!payload || acme_b64url_decode_str(&csr, &len, p, json_string_value(
                        json_object_get(payload, "csr")))) {
        return "no CSR in the finalize request";
    }
    pem = renew_item(ACME_STORE_STAGING, sc->ca->spec->md_name,
                     acme_layout_privkey(p, acme_pkey_spec_name(p, ks)));
    /* staged keys are encrypted with the store key, as mod_md keeps them */
    if (pem == NULL
        || acme_store_pkey_from_pem(&staged, p, renew_store, pem, strlen(pem), NULL)) {
        return "the key was not staged before finalizing";
    }
    der = csr;
    x = d2i_X509_REQ(NULL, &der, (long)len);
    if (x == NULL) {
        return "the CSR does not parse";
    }
    pub = X509_REQ_get_pubkey(x);
    same = EVP_PKEY_eq(pub, acme_pkey_get_evp(staged)) == 1;
    EVP_PKEY_free(pub);
    if (same) {
        issued_chain[sc->n] = issue(x, sc->n);
    }
    X509_REQ_free(x);
    return same ? NULL : "the CSR is not for the staged key";
}

static const char *check_answer(step_check_t *sc, apr_pool_t *p)
{
    const char *token = renew_token(sc->n, sc->i, "http-01");
    const char *name = APR_ARRAY_IDX(sc->ca->spec->names, sc->i, const char *);
    const char *answer = renew_item(ACME_STORE_CHALLENGES, name,
                                    acme_layout_http01(p, token));

    if (answer == NULL || strncmp(answer, apr_pstrcat(p, token, ".", NULL),
                                  strlen(token) + 1) != 0 || strlen(answer) < 40) {
        return apr_psprintf(p, "no key authorization for %s published", name);
    }
    return NULL;
}

/* The RFC 8737 certificate for the name, and its key, are published. */
static const char *check_alpn(step_check_t *sc, apr_pool_t *p)
{
    const char *name = APR_ARRAY_IDX(sc->ca->spec->names, sc->i, const char *);
    const char *cert = renew_item(ACME_STORE_CHALLENGES, name, ACME_ASPECT_TLSALPN_CERT);
    const char *key = renew_item(ACME_STORE_CHALLENGES, name, ACME_ASPECT_TLSALPN_KEY);
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(const char *));
    acme_cert_chain_t *chain;
    acme_pkey_t *pkey;
    ASN1_OBJECT *oid;
    X509 *x;
    int has_id;

    APR_ARRAY_PUSH(names, const char *) = name;
    if (!cert || !key || acme_chain_from_pem(&chain, p, cert, strlen(cert))
        || acme_pkey_from_pem(&pkey, p, key, strlen(key), NULL)) {
        return apr_psprintf(p, "no tls-alpn-01 certificate and key for %s", name);
    }
    x = acme_chain_get(chain, 0);
    oid = OBJ_txt2obj(ACME_TLSALPN_OID, 1);
    has_id = X509_get_ext_by_OBJ(x, oid, -1) >= 0;
    ASN1_OBJECT_free(oid);
    if (!has_id || acme_cert_check_names(NULL, p, x, names)
        || acme_cert_check_key(x, acme_pkey_get_evp(pkey))) {
        return "the tls-alpn-01 certificate is wrong";
    }
    return NULL;
}

static const char *step_check_cb(void *baton, const acme_http_request_t *req, apr_pool_t *p)
{
    step_check_t *sc = baton;
    acme_job_t *job;

    if (sc->job_step) {
        if (acme_job_load(&job, p, renew_store, sc->ca->spec->md_name, NULL)) {
            return "no job.json";
        }
        if (strcmp(acme_job_step_name(job->step), sc->job_step) != 0) {
            return apr_psprintf(p, "job.json at step %s, expected %s",
                                acme_job_step_name(job->step), sc->job_step);
        }
    }
    switch (sc->kind) {
    case CHECK_ANSWER:
        return check_answer(sc, p);
    case CHECK_ALPN:
        return check_alpn(sc, p);
    case CHECK_FINALIZE:
        return check_finalize(sc, req, p);
    case CHECK_CERT:
        if (issued_chain[sc->n] == NULL) {
            return "nothing was issued for this order";
        }
        acme_http_script_step_body(sc->step, issued_chain[sc->n], strlen(issued_chain[sc->n]));
        return NULL;
    }
    return NULL;
}

/* ------------------------------------------------------------ the CA */

/* Appends a step unless the process crashed before it. */
static acme_http_script_step_t *ca_add(renew_ca_t *ca, acme_http_method_e method,
                                       const char *url, int status, const char *type,
                                       const char *body)
{
    if (ca->dead) {
        return NULL;
    }
    if (ca->added++ == ca->crash_at) {
        ca->dead = 1;
        acme_http_script_add_error(ca->script, method, url, ACME_HTTP_ECONNECT, "crash");
        return NULL;
    }
    return acme_http_script_add(ca->script, method, url, status, type, body);
}

static const char *directory(int eab, int ari, const char *profiles)
{
    return apr_psprintf(test_pool,
        "{\"newNonce\": \"" NONCE_URL "\", \"newAccount\": \"" NEWACCT_URL "\","
        " \"newOrder\": \"" NEWORDER_URL "\"%s,"
        " \"meta\": {\"externalAccountRequired\": %s%s%s}}",
        ari ? ", \"renewalInfo\": \"" RENEWALINFO_URL "\"" : "", eab ? "true" : "false",
        profiles ? ", \"profiles\": " : "", profiles ? profiles : "");
}

renew_ca_t *renew_ca_create(const acme_renew_spec_t *spec, int eab)
{
    return renew_ca_create_crashing(spec, eab, -1);
}

static renew_ca_t *ca_make(const acme_renew_spec_t *spec, int eab, int k, int ari,
                           const char *profiles)
{
    renew_ca_t *ca = apr_pcalloc(test_pool, sizeof(*ca));
    acme_result_t *r = acme_result_create(test_pool);
    acme_http_script_step_t *step;

    ca->spec = spec;
    ca->crash_at = k;
    ca->script = acme_http_script_create(&ca->transport, test_pool);
    ck_assert_int_eq(acme_client_create(&ca->client, test_pool, ca->transport, DIR_URL, r),
                     APR_SUCCESS);
    ca_add(ca, ACME_HTTP_GET, DIR_URL, 200, ACME_MEDIA_JSON, directory(eab, ari, profiles));
    step = ca_add(ca, ACME_HTTP_HEAD, NONCE_URL, 200, NULL, NULL);
    if (step) {
        acme_http_script_step_header(step, "Replay-Nonce", "nonce-0");
    }
    return ca;
}

renew_ca_t *renew_ca_create_crashing(const acme_renew_spec_t *spec, int eab, int k)
{
    return ca_make(spec, eab, k, 0, NULL);
}

renew_ca_t *renew_ca_create_dir(const acme_renew_spec_t *spec, int ari, const char *profiles)
{
    return ca_make(spec, 0, -1, ari, profiles);
}

acme_client_t *renew_ca_client(renew_ca_t *ca)
{
    return ca->client;
}

acme_http_script_t *renew_ca_script(renew_ca_t *ca)
{
    return ca->script;
}

static step_check_t *post_checked(renew_ca_t *ca, const char *url, int status,
                                  const char *type, const char *body, const char *job_step,
                                  int kind, int n, int i)
{
    static int nonce;
    acme_http_script_step_t *step;
    step_check_t *sc;

    step = ca_add(ca, ACME_HTTP_POST, url, status, type, body);
    if (step == NULL) {
        return NULL;
    }
    acme_http_script_step_header(step, "Replay-Nonce", apr_psprintf(test_pool, "n-%d",
                                                                    ++nonce));
    sc = apr_pcalloc(test_pool, sizeof(*sc));
    sc->ca = ca;
    sc->step = step;
    sc->job_step = job_step;
    sc->kind = kind;
    sc->n = n;
    sc->i = i;
    acme_http_script_step_check(step, step_check_cb, sc);
    return sc;
}

acme_http_script_step_t *renew_ca_post(renew_ca_t *ca, const char *url, int status,
                                       const char *body, const char *job_step)
{
    step_check_t *sc = post_checked(ca, url, status,
                                    status >= 400 ? ACME_MEDIA_PROBLEM : ACME_MEDIA_JSON,
                                    body, job_step, CHECK_PLAIN, 0, 0);

    return sc ? sc->step : NULL;
}

const char *renew_order_url(int n)
{
    return apr_psprintf(test_pool, CA "/order/%d", n);
}

const char *renew_authz_url(int n, int i)
{
    return apr_psprintf(test_pool, CA "/authz/%d-%d", n, i);
}

const char *renew_token(int n, int i, const char *type)
{
    return apr_psprintf(test_pool, "tok_%d-%d_%c", n, i, type[0]);
}

static const char *chall_url(int n, int i, const char *type)
{
    return apr_psprintf(test_pool, CA "/chall/%d-%d/%s", n, i, type);
}

void renew_ca_new_account(renew_ca_t *ca, const char *url)
{
    acme_http_script_step_t *step = renew_ca_post(ca, NEWACCT_URL, 201,
        "{\"status\": \"valid\", \"contact\": [\"mailto:admin@a.test\"]}", "account");

    if (step) {
        acme_http_script_step_header(step, "Location", url ? url : ACCT_URL);
    }
}

static const char *order_json(renew_ca_t *ca, int n, const char *status)
{
    const char *n0 = APR_ARRAY_IDX(ca->spec->names, 0, const char *);
    const char *n1 = APR_ARRAY_IDX(ca->spec->names, 1, const char *);

    return apr_psprintf(test_pool,
        "{\"status\": \"%s\", \"expires\": \"2030-01-02T03:04:05Z\","
        " \"identifiers\": [{\"type\": \"dns\", \"value\": \"%s\"},"
        " {\"type\": \"dns\", \"value\": \"%s\"}],"
        " \"authorizations\": [\"%s\", \"%s\"], \"finalize\": \"" CA "/finalize/%d\"%s}",
        status, n0, n1, renew_authz_url(n, 0), renew_authz_url(n, 1), n,
        strcmp(status, "valid") ? ""
            : apr_psprintf(test_pool, ", \"certificate\": \"" CA "/cert/%d\"", n));
}

void renew_ca_new_order(renew_ca_t *ca, int n, const char *status)
{
    acme_http_script_step_t *step = renew_ca_post(ca, NEWORDER_URL, 201,
                                                  order_json(ca, n, status), "order");

    if (step) {
        acme_http_script_step_header(step, "Location", renew_order_url(n));
    }
}

void renew_ca_order(renew_ca_t *ca, int n, const char *status, const char *job_step)
{
    renew_ca_post(ca, renew_order_url(n), 200, order_json(ca, n, status), job_step);
}

static const char *challenge_json(int n, int i, const char *type, const char *status)
{
    return apr_psprintf(test_pool, "{\"type\": \"%s\", \"url\": \"%s\", \"status\": \"%s\","
                        " \"token\": \"%s\"}", type, chall_url(n, i, type), status,
                        renew_token(n, i, type));
}

void renew_ca_authz(renew_ca_t *ca, int n, int i, const char *status, const char *job_step)
{
    const char *chall = !strcmp(status, "valid") ? "valid" : "pending";

    renew_ca_post(ca, renew_authz_url(n, i), 200, apr_psprintf(test_pool,
        "{\"status\": \"%s\", \"expires\": \"2030-01-02T03:04:05Z\","
        " \"identifier\": {\"type\": \"dns\", \"value\": \"%s\"},"
        " \"challenges\": [%s, %s, %s]}",
        status, APR_ARRAY_IDX(ca->spec->names, i, const char *),
        challenge_json(n, i, "http-01", chall), challenge_json(n, i, "dns-01", chall),
        challenge_json(n, i, "tls-alpn-01", chall)), job_step);
}

void renew_ca_challenge(renew_ca_t *ca, int n, int i, const char *type)
{
    post_checked(ca, chall_url(n, i, type), 200, ACME_MEDIA_JSON,
                 challenge_json(n, i, type, "processing"), "authz",
                 !strcmp(type, "http-01") ? CHECK_ANSWER
                     : !strcmp(type, "tls-alpn-01") ? CHECK_ALPN : CHECK_PLAIN, n, i);
}

void renew_ca_finalize(renew_ca_t *ca, int n, int key_index)
{
    step_check_t *sc = post_checked(ca, apr_psprintf(test_pool, CA "/finalize/%d", n), 200,
                                    ACME_MEDIA_JSON, order_json(ca, n, "processing"),
                                    "finalize", CHECK_FINALIZE, n, 0);

    if (sc) {
        sc->key_index = key_index;
    }
}

void renew_ca_cert(renew_ca_t *ca, int n)
{
    post_checked(ca, apr_psprintf(test_pool, CA "/cert/%d", n), 200, ACME_MEDIA_PEM_CHAIN,
                 NULL, "download", CHECK_CERT, n, 0);
}

void renew_ca_flow(renew_ca_t *ca, acme_job_step_e from, int key_index, int keys)
{
    const char *type = APR_ARRAY_IDX(ca->spec->challenges, 0, const char *);
    int n = key_index + 1, i, resumed = 1;

    if (from <= ACME_JOB_ACCOUNT) {
        renew_ca_new_account(ca, NULL);
    }
    if (from <= ACME_JOB_ORDER) {
        /* The CA reuses the authorizations for a second key: ready at once. */
        renew_ca_new_order(ca, n, key_index > 0 ? "ready" : "pending");
        from = key_index > 0 ? ACME_JOB_FINALIZE : ACME_JOB_ORDER;
        resumed = 0;
    }
    /* A resumed job fetches its order first; a new one knows it already. */
    if (from == ACME_JOB_AUTHZ) {
        renew_ca_order(ca, n, "pending", "authz");
    }
    for (i = 0; from <= ACME_JOB_AUTHZ && i < 2; ++i) {
        renew_ca_authz(ca, n, i, "pending", "authz");
        renew_ca_challenge(ca, n, i, type);
    }
    if (from == ACME_JOB_POLL_AUTHZ) {
        renew_ca_order(ca, n, "pending", "poll-authz");
    }
    if (from <= ACME_JOB_POLL_AUTHZ) {
        renew_ca_authz(ca, n, 0, "valid", "poll-authz");
        renew_ca_authz(ca, n, 1, "valid", "poll-authz");
        renew_ca_order(ca, n, "ready", "poll-authz");
    }
    if (from == ACME_JOB_FINALIZE && resumed) {
        renew_ca_order(ca, n, "ready", "finalize");
    }
    if (from <= ACME_JOB_FINALIZE) {
        renew_ca_finalize(ca, n, key_index);
    }
    if (from <= ACME_JOB_POLL_ORDER) {
        renew_ca_order(ca, n, "valid", "poll-order");
    }
    if (from == ACME_JOB_DOWNLOAD) {
        renew_ca_order(ca, n, "valid", "download");
    }
    if (from <= ACME_JOB_DOWNLOAD) {
        renew_ca_cert(ca, n);
    }
    if (key_index + 1 < keys) {
        renew_ca_flow(ca, ACME_JOB_ORDER, key_index + 1, keys);
    }
}

void renew_ca_done(renew_ca_t *ca)
{
    ck_assert_msg(acme_http_script_error(ca->script) == NULL, "%s",
                  acme_http_script_error(ca->script));
    ck_assert_int_eq(acme_http_script_pending(ca->script), 0);
}

json_t *renew_ca_payload(renew_ca_t *ca, const char *url, int k)
{
    const acme_http_request_t *req;
    int i;

    for (i = 0; (req = acme_http_script_request(ca->script, i)) != NULL; ++i) {
        if (strcmp(req->url, url) == 0 && k-- == 0) {
            return request_payload(req, test_pool);
        }
    }
    return NULL;
}

int renew_ca_count(renew_ca_t *ca, const char *url)
{
    int i, n = 0;

    for (i = 0; i < acme_http_script_count(ca->script); ++i) {
        n += strcmp(acme_http_script_request(ca->script, i)->url, url) == 0;
    }
    return n;
}

