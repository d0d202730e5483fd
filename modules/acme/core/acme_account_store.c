/* Accounts in the store, see acme_account_store.h. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_account.h"
#include "acme_account_store.h"
#include "acme_job.h"
#include "acme_json.h"
#include "acme_log.h"
#include "acme_names.h"
#include "acme_order.h"

/* How much of the CA's host goes into an account id. */
#define ID_HOST_MAX 40

const char *acme_account_store_contact(apr_pool_t *p, const char *contact)
{
    if (contact == NULL || *contact == '\0') {
        return NULL;
    }
    return strchr(contact, ':') ? apr_pstrdup(p, contact)
                                : apr_pstrcat(p, "mailto:", contact, NULL);
}

static int str_eq_null(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* rec_contact (normalized) against a wanted contact in either spelling. */
static int contact_eq(const char *rec_contact, const char *want)
{
    if (want == NULL || *want == '\0') {
        return rec_contact == NULL;
    }
    if (rec_contact == NULL) {
        return 0;
    }
    if (strchr(want, ':') == NULL) {
        return strncmp(rec_contact, "mailto:", 7) == 0 && strcmp(rec_contact + 7, want) == 0;
    }
    return strcmp(rec_contact, want) == 0;
}

int acme_account_store_matches(const acme_account_record_t *rec,
                               const acme_account_want_t *want)
{
    return !rec->unusable && str_eq_null(rec->ca_url, want->ca_url) && contact_eq(rec->contact, want->contact)
           && str_eq_null(rec->eab_kid, want->eab_kid);
}

/* "contact": our string, or mod_md's array (its first entry). */
static apr_status_t contact_from_json(const char **pcontact, apr_pool_t *p, json_t *obj,
                                      const char **perr)
{
    json_t *v = json_object_get(obj, "contact");

    if (json_is_array(v)) {
        v = json_array_get(v, 0);
        if (v != NULL && !json_is_string(v)) {
            *perr = "'contact' holds a value that is not a string";
            return APR_EINVAL;
        }
        *pcontact = v ? apr_pstrdup(p, json_string_value(v)) : NULL;
        return APR_SUCCESS;
    }
    return acme_json_get_string_opt(pcontact, p, obj, "contact", perr);
}

/* Reads our account.json and mod_md's: {"status", "url", "ca-url", "contact":
 * [...], "eab": {"kid", "hmac"}, "disabled"}. mod_md's EAB HMAC is not read:
 * it was only needed to register. */
static apr_status_t record_from_json(acme_account_record_t *rec, apr_pool_t *p,
                                     const char *text, apr_size_t len, const char **perr)
{
    const char *created, *status = NULL;
    json_t *obj, *eab;
    apr_status_t rv;

    if ((rv = acme_json_parse(&obj, p, text, len, ACME_JSON_OBJECT, perr))
        || (rv = acme_json_get_url(&rec->ca_url, p, obj, "ca-url", perr))
        || (rv = contact_from_json(&rec->contact, p, obj, perr))
        || (rv = acme_json_get_string_opt(&rec->eab_kid, p, obj, "eab-kid", perr))
        || (rv = acme_json_get_string_opt(&status, p, obj, "status", perr))
        || (rv = acme_json_get_string_opt(&created, p, obj, "created", perr))) {
        return rv;
    }
    eab = json_object_get(obj, "eab");
    if (rec->eab_kid == NULL && json_is_object(eab)
        && (rv = acme_json_get_string_opt(&rec->eab_kid, p, eab, "kid", perr)) != APR_SUCCESS) {
        return rv;
    }
    if (json_object_get(obj, "url") != NULL
        && (rv = acme_json_get_url(&rec->url, p, obj, "url", perr)) != APR_SUCCESS) {
        return rv;
    }
    if (created && acme_order_parse_time(&rec->created, created) != APR_SUCCESS) {
        *perr = "'created' is not an RFC 3339 time";
        return APR_EINVAL;
    }
    /* mod_md keeps deactivated and revoked accounts, and disables some */
    rec->unusable = (status && strcmp(status, "valid"))
                    || json_is_true(json_object_get(obj, "disabled"));
    return APR_SUCCESS;
}

apr_status_t acme_account_store_load(acme_account_record_t **prec, apr_pool_t *p,
                                     acme_store_t *store, const char *id, const char **perr)
{
    acme_account_record_t *rec = apr_pcalloc(p, sizeof(*rec));
    const char *text;
    apr_size_t len;
    apr_status_t rv;

    rec->id = apr_pstrdup(p, id);
    rv = acme_store_load(&text, &len, p, store, ACME_STORE_ACCOUNTS, id,
                         ACME_ACCOUNT_STORE_JSON);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = record_from_json(rec, p, text, len, perr)) != APR_SUCCESS) {
        return rv;
    }
    *prec = rec;
    return APR_SUCCESS;
}

int acme_account_store_key_unusable(apr_status_t rv)
{
    return APR_STATUS_IS_ENOENT(rv) || rv == APR_EINVAL || APR_STATUS_IS_EACCES(rv);
}

/* The first account for `want` in name order. With `keys`, only one whose key the custody gives (rec->key set):
 * one whose key is unusable is skipped (logged) as an invalid record is;
 * another custody error ends the search (*pwhy says why). */
static apr_status_t find_matching(acme_account_record_t **prec, apr_pool_t *p,
                                  acme_store_t *store, acme_keys_t *keys,
                                  const acme_account_want_t *want, const char **pwhy)
{
    apr_array_header_t *ids;
    acme_account_record_t *rec;
    const char *why = NULL;
    apr_status_t rv;
    int i;

    if ((rv = acme_store_list(&ids, p, store, ACME_STORE_ACCOUNTS, NULL)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < ids->nelts; ++i) {
        const char *id = APR_ARRAY_IDX(ids, i, const char *);
        rv = acme_account_store_load(&rec, p, store, id, &why);
        if (rv == APR_ENOENT) {
            continue;   /* a name without account.json: not an account of ours */
        }
        if (rv != APR_SUCCESS) {
            acme_log(ACME_LOG_WARNING, rv, "ACME0850 acme[account=%s]: unusable, skipped: %s",
                     id, why ? why : "cannot read");
            continue;
        }
        if (!acme_account_store_matches(rec, want)) {
            continue;
        }
        if (keys == NULL) {
            *prec = rec;
            return APR_SUCCESS;
        }
        why = NULL;
        rv = acme_keys_account_key(&rec->key, p, keys, id, 0, &why);
        if (rv == APR_SUCCESS) {
            *prec = rec;
            return APR_SUCCESS;
        }
        if (!acme_account_store_key_unusable(rv)) {
            *pwhy = apr_psprintf(p, "the key of account %s: %s", id, why ? why : "?");
            return rv;
        }
        acme_log(ACME_LOG_WARNING, rv, "ACME0853 acme[account=%s]: its key is unusable (%s),"
                 " skipped", id, why ? why : "?");
    }
    return APR_ENOENT;
}

apr_status_t acme_account_store_find(acme_account_record_t **prec, apr_pool_t *p,
                                     acme_store_t *store, const acme_account_want_t *want)
{
    const char *why = NULL;

    return find_matching(prec, p, store, NULL, want, &why);
}

/* account.json as mod_md reads it too ("status", "url", "ca-url", "contact"
 * as a list, "eab": {"kid"}), and our "created". The EAB HMAC, which mod_md
 * keeps there, is never written: a mod_md switched back to registers a new
 * account when it needs one with EAB. */
static apr_status_t record_save(acme_store_t *store, apr_pool_t *p,
                                const acme_account_record_t *rec)
{
    json_t *obj = acme_json_pool_adopt(p, json_object());
    const char *text;
    apr_size_t len;
    apr_status_t rv;

    if (rec->url) {
        json_object_set_new(obj, "status", json_string("valid"));
        json_object_set_new(obj, "url", json_string(rec->url));
    }
    json_object_set_new(obj, "ca-url", json_string(rec->ca_url));
    if (rec->contact) {
        json_t *contacts = json_array();
        json_array_append_new(contacts, json_string(rec->contact));
        json_object_set_new(obj, "contact", contacts);
    }
    if (rec->eab_kid) {
        json_t *eab = json_object();
        json_object_set_new(eab, "kid", json_string(rec->eab_kid));
        json_object_set_new(obj, "eab", eab);
    }
    json_object_set_new(obj, "created", json_string(acme_job_time_format(p, rec->created)));
    if ((rv = acme_json_dump(&text, &len, p, obj)) != APR_SUCCESS) {
        return rv;
    }
    return acme_store_save(store, p, ACME_STORE_ACCOUNTS, rec->id, ACME_ACCOUNT_STORE_JSON,
                           text, len, 0);
}

apr_status_t acme_account_store_forget_secrets(int *pchanged, apr_pool_t *p,
                                               acme_store_t *store)
{
    apr_array_header_t *ids;
    apr_status_t rv, first = APR_SUCCESS;
    int i;

    *pchanged = 0;
    if ((rv = acme_store_list(&ids, p, store, ACME_STORE_ACCOUNTS, NULL)) != APR_SUCCESS) {
        return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
    }
    for (i = 0; i < ids->nelts; ++i) {
        const char *id = APR_ARRAY_IDX(ids, i, const char *), *text;
        json_t *obj, *eab;
        apr_size_t len;

        if (acme_store_load(&text, &len, p, store, ACME_STORE_ACCOUNTS, id,
                            ACME_ACCOUNT_STORE_JSON) != APR_SUCCESS
            || acme_json_parse(&obj, p, text, len, ACME_JSON_OBJECT, NULL) != APR_SUCCESS) {
            continue;   /* not an account, or reported when it is used */
        }
        eab = json_object_get(obj, "eab");
        if (!json_is_object(eab) || json_object_get(eab, "hmac") == NULL) {
            continue;
        }
        json_object_del(eab, "hmac");
        if ((rv = acme_json_dump(&text, &len, p, obj)) == APR_SUCCESS) {
            rv = acme_store_save(store, p, ACME_STORE_ACCOUNTS, id, ACME_ACCOUNT_STORE_JSON,
                                 text, len, 0);
        }
        if (rv != APR_SUCCESS) {
            first = first ? first : rv;
            continue;
        }
        ++*pchanged;
        acme_log(ACME_LOG_NOTICE, 0, "ACME0852 acme[account=%s]: removed the EAB HMAC that "
                 "mod_md keeps in its account.json, where httpd's User can read it",  id);
    }
    return first;
}

/* "ACME-<host>-": the host of the CA URL in the id alphabet. */
static const char *id_prefix(apr_pool_t *p, const char *ca_url)
{
    const char *host = strstr(ca_url, "://");
    char buf[ID_HOST_MAX + 1];
    apr_size_t n = 0;

    for (host = host ? host + 3 : ca_url; *host && *host != '/' && *host != ':'
         && n < ID_HOST_MAX; ++host) {
        char ch = *host;
        buf[n++] = (apr_isalnum(ch) || ch == '.' || ch == '-') ? ch : '-';
    }
    buf[n] = '\0';
    return apr_pstrcat(p, "ACME-", n ? buf : "ca", "-", NULL);
}

/* A new record with a fresh key, saved (the key first, exclusively, by the
 * custody: an id whose key exists is taken, the next number is tried). */
static apr_status_t record_create(acme_account_record_t **prec, apr_pool_t *p,
                                  acme_store_t *store, acme_keys_t *keys,
                                  const acme_account_want_t *want, acme_result_t *r)
{
    acme_account_record_t *rec = apr_pcalloc(p, sizeof(*rec));
    const char *prefix = id_prefix(p, want->ca_url), *why = NULL;
    apr_status_t rv;
    int n;

    rec->ca_url = want->ca_url;
    rec->contact = acme_account_store_contact(p, want->contact);
    rec->eab_kid = want->eab_kid;
    rec->created = apr_time_now();
    rv = APR_EEXIST;
    for (n = 1; APR_STATUS_IS_EEXIST(rv) && n <= ACME_ACCOUNT_STORE_MAX_PER_CA; ++n) {
        rec->id = apr_psprintf(p, "%s%04d", prefix, n);
        if (acme_names_check_id(rec->id) != APR_SUCCESS) {
            rec->id = apr_psprintf(p, "ACME-ca-%04d", n);
        }
        rv = acme_keys_account_key(&rec->key, p, keys, rec->id, 1, &why);
    }
    if (rv != APR_SUCCESS) {
        rv = acme_result_fail(r, rv, "making the key of a new account for %s: %s",
                              want->ca_url, why ? why : "?");
        r->action = ACME_ACTION_RETRY;  /* the store may recover (disk space) */
        return rv;
    }
    if ((rv = record_save(store, p, rec)) != APR_SUCCESS) {
        rv = acme_result_fail(r, rv, "saving a new account for %s", want->ca_url);
        r->action = ACME_ACTION_RETRY;
        return rv;
    }
    acme_log(ACME_LOG_INFO, 0, "ACME0851 acme[account=%s]: created for %s", rec->id,
             want->ca_url);
    *prec = rec;
    return APR_SUCCESS;
}

/* newAccount for the record's key; saves the URL the CA assigned. */
static apr_status_t record_register(acme_account_record_t *rec, apr_pool_t *p,
                                    acme_store_t *store, acme_keys_t *keys, acme_client_t *c,
                                    const acme_account_want_t *want, acme_result_t *r)
{
    apr_array_header_t *contacts = apr_array_make(p, 1, sizeof(const char *));
    acme_account_params_t params = { 0 };
    acme_account_t *acct;
    apr_status_t rv;

    if (rec->contact) {
        APR_ARRAY_PUSH(contacts, const char *) = rec->contact;
    }
    params.contacts = contacts;
    params.agree_tos = want->tos_agreed;
    params.eab_kid = want->eab_kid;
    params.eab_hmac = want->eab_hmac;
    params.keys = keys;
    params.account_id = rec->id;
    acme_client_set_account(c, rec->key, NULL);
    acme_result_set_activity(r, "registering account %s at %s", rec->id, rec->ca_url);
    if ((rv = acme_account_register(&acct, p, c, &params, r)) != APR_SUCCESS) {
        acme_client_set_account(c, NULL, NULL);
        return rv;
    }
    rec->url = acct->url;
    if ((rv = record_save(store, p, rec)) != APR_SUCCESS) {
        rv = acme_result_fail(r, rv, "saving account %s", rec->id);
        r->action = ACME_ACTION_RETRY;
        return rv;
    }
    return APR_SUCCESS;
}

static apr_status_t store_fail(acme_result_t *r, apr_status_t rv, const char *why)
{
    if (why) {
        acme_result_fail(r, rv, "%s", why);
    }
    else {
        acme_result_fail(r, rv, "reading the accounts of the store");
    }
    r->action = ACME_ACTION_RETRY;
    return rv;
}

/* Under the account lock: find (another process may just have made the
 * account), else create, then register when not registered. */
static apr_status_t ensure_locked(acme_account_record_t **prec, apr_pool_t *p,
                                  acme_store_t *store, acme_keys_t *keys, acme_client_t *c,
                                  const acme_account_want_t *want, acme_result_t *r)
{
    acme_account_record_t *rec = NULL;
    const char *why = NULL;
    apr_status_t rv;

    rv = find_matching(&rec, p, store, keys, want, &why);
    if (rv == APR_ENOENT) {
        rv = record_create(&rec, p, store, keys, want, r);
    }
    else if (rv != APR_SUCCESS) {
        return store_fail(r, rv, why);
    }
    if (rv == APR_SUCCESS && rec->url == NULL) {
        rv = record_register(rec, p, store, keys, c, want, r);
    }
    if (rv == APR_SUCCESS) {
        *prec = rec;
    }
    return rv;
}

apr_status_t acme_account_store_ensure(acme_account_record_t **prec, apr_pool_t *p,
                                       acme_store_t *store, acme_keys_t *keys,
                                       acme_client_t *c, const acme_account_want_t *want,
                                       acme_result_t *r)
{
    acme_account_record_t *rec = NULL;
    acme_store_lock_t *lock;
    const char *why = NULL;
    apr_status_t rv;

    rv = find_matching(&rec, p, store, keys, want, &why);
    if (rv != APR_SUCCESS || rec->url == NULL) {
        if (rv != APR_SUCCESS && rv != APR_ENOENT) {
            return store_fail(r, rv, why);
        }
        rv = acme_store_lock(&lock, p, store, ACME_STORE_ACCOUNTS, ACME_ACCOUNT_STORE_LOCK, 0);
        if (rv != APR_SUCCESS) {
            return rv == APR_TIMEUP ? APR_EBUSY : store_fail(r, rv, NULL);
        }
        rv = ensure_locked(&rec, p, store, keys, c, want, r);
        acme_store_unlock(lock);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    acme_client_set_account(c, rec->key, rec->url);
    *prec = rec;
    return APR_SUCCESS;
}

/* Edits the document in place rather than writing it from the record: what
 * the record does not hold (mod_md's "disabled", a deactivated "status",
 * members a later mod_md adds) stays as it was, so switching back loses
 * nothing and an unusable account stays unusable. */
apr_status_t acme_account_store_forget_url(acme_store_t *store, apr_pool_t *p,
                                           const char *id)
{
    acme_account_record_t rec = { 0 };
    const char *why = NULL, *text;
    apr_size_t len;
    json_t *obj;
    apr_status_t rv;

    /* one read: the record checks the document, the edit is made on it */
    if ((rv = acme_store_load(&text, &len, p, store, ACME_STORE_ACCOUNTS, id,
                              ACME_ACCOUNT_STORE_JSON)) != APR_SUCCESS
        || (rv = record_from_json(&rec, p, text, len, &why)) != APR_SUCCESS
        || (rv = acme_json_parse(&obj, p, text, len, ACME_JSON_OBJECT, &why)) != APR_SUCCESS) {
        return rv;
    }
    acme_log(ACME_LOG_NOTICE, 0, "ACME0852 acme[account=%s]: the CA no longer knows %s,"
             " registering the key again", id, rec.url ? rec.url : "it");
    json_object_del(obj, "url");
    json_object_del(json_object_get(obj, "eab"), "hmac");   /* as record_save() never writes it */
    if ((rv = acme_json_dump(&text, &len, p, obj)) != APR_SUCCESS) {
        return rv;
    }
    return acme_store_save(store, p, ACME_STORE_ACCOUNTS, id, ACME_ACCOUNT_STORE_JSON, text,
                           len, 0);
}
