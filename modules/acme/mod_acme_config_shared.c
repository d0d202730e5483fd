/* The cluster's directives (docs/cluster.md): MDSharedStore names the Redis
 * that several servers share, MDSharedStoreCACertificateFile its TLS trust
 * anchors, MDSharedStoreKeyFile the key that seals private keys stored there.
 *
 * A malformed value fails `httpd -t`. What only the machine can tell (a
 * missing or unsafe file) never fails the start: the server serves from its
 * own store as without MDSharedStore, and says why at every start and in the
 * status (g->shared_error). Losing the cluster must not take the server down.
 *
 * The key file is read with acme_seal_key_load() (root's or ours, 0600 or
 * 0400, no link: docs/security.md) twice: at check_config to say what is
 * wrong with it (also under `httpd -t`), the bytes wiped at once; at the key
 * holder's start for its policy, the one copy the children wipe. */
#include <apr_strings.h>
#include <openssl/crypto.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include "acme_redis_url.h"
#include "acme_seal.h"
#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

APLOG_USE_MODULE(acme);

static acme_config_global_t *global_target(cmd_parms *cmd, void *dc, const char **perr)
{
    if ((*perr = acme_config_scope_check(cmd, dc, ACME_SCOPE_GLOBAL)) != NULL) {
        return NULL;
    }
    return acme_config_global_of(cmd);
}

static apr_status_t password_wipe(void *data)
{
    acme_redis_url_t *url = data;

    if (url->password) {
        OPENSSL_cleanse((char *)url->password, strlen(url->password));
    }
    return APR_SUCCESS;
}

const char *acme_cmd_shared_store(cmd_parms *cmd, void *dc, const char *arg)
{
    acme_config_global_t *g;
    acme_redis_url_t *url;
    const char *err;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    if (!strcasecmp(arg, "off") || !strcasecmp(arg, "none")) {
        g->shared_url = NULL;
        return NULL;
    }
    if (acme_redis_url_parse(&url, cmd->pool, arg, &err) != APR_SUCCESS) {
        /* the parser's message names the directive and quotes the masked text */
        return apr_pstrcat(cmd->pool, err, "; e.g. MDSharedStore redis://:password@10.0.0.5:6379/0"
                           " or rediss://user:password@redis.example:6380", NULL);
    }
    /* the same reason as EAB HMACs: the pool's freed memory is inherited */
    apr_pool_cleanup_register(cmd->pool, url, password_wipe, apr_pool_cleanup_null);
    g->shared_url = url;
    return NULL;
}

/* Both files are read by root (at start and in the key holder): a name is
 * recorded here, what is wrong with the file at check_config. */
static const char *file_arg(cmd_parms *cmd, void *dc, const char *arg, int is_key)
{
    acme_config_global_t *g;
    const char *err, *path;

    if (!(g = global_target(cmd, dc, &err))) {
        return err;
    }
    path = ap_server_root_relative(cmd->pool, arg);
    if (!*arg || !path) {
        return acme_config_bad_value(cmd, arg, "is not a valid file path");
    }
    *(is_key ? &g->shared_key_file : &g->shared_ca_file) = path;
    return NULL;
}

const char *acme_cmd_shared_store_ca_file(cmd_parms *cmd, void *dc, const char *arg)
{
    return file_arg(cmd, dc, arg, 0);
}

const char *acme_cmd_shared_store_key_file(cmd_parms *cmd, void *dc, const char *arg)
{
    return file_arg(cmd, dc, arg, 1);
}

/* What is wrong with the key file, in the loader's words, or NULL. The key
 * read is wiped with the pool it is read into, before this returns. */
static const char *key_file_problem(apr_pool_t *p, const char *path)
{
    acme_seal_key_t *key;
    const char *why = NULL;
    apr_pool_t *pkey;

    if (apr_pool_create(&pkey, p) != APR_SUCCESS) {
        return "no memory to read it";
    }
    if (acme_seal_key_load(&key, pkey, path, &why) != APR_SUCCESS) {
        why = apr_pstrdup(p, why ? why : "cannot be read");
    }
    apr_pool_destroy(pkey);
    return why;
}

static const char *file_problem(apr_pool_t *p, const char *path)
{
    apr_finfo_t finfo;
    apr_status_t rv = apr_stat(&finfo, path, APR_FINFO_TYPE, p);

    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "'%s' cannot be read (%pm)", path, &rv);
    }
    return finfo.filetype == APR_REG ? NULL
                                     : apr_psprintf(p, "'%s' is not a regular file", path);
}

static void shared_off_log(const acme_config_global_t *g, server_rec *s)
{
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1173 MDSharedStore %s is off for this "
                 "run: %s; this server serves from its own store, its renewals wait until "
                 "that is fixed", g->shared_url->printable, g->shared_error);
}

/* The shared store is off for this run, for `why` (logged). */
static void shared_off(acme_config_global_t *g, server_rec *s, const char *why)
{
    g->shared_error = why;
    shared_off_log(g, s);
}

void acme_config_shared_post_config(const acme_config_global_t *g, server_rec *s)
{
    if (g->shared_url && g->shared_error
        && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        shared_off_log(g, s);
    }
}

apr_status_t acme_config_shared_finish(acme_config_global_t *g, apr_pool_t *p, server_rec *s)
{
    const char *why = NULL;

    g->shared_error = NULL;
    g->shared_seal_key = NULL;
    if (!g->shared_url) {
        if (g->shared_key_file || g->shared_ca_file) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ACME1170 MDSharedStoreKeyFile and "
                         "MDSharedStoreCACertificateFile do nothing without MDSharedStore");
        }
        return APR_SUCCESS;
    }
    if (!g->shared_key_file) {
        /* incomplete, not wrong for this machine only: a syntax error */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ACME1171 MDSharedStore %s needs "
                     "MDSharedStoreKeyFile: private keys are stored there sealed with its key; "
                     "make one with '(umask 077; openssl rand -base64 32 > "
                     "/etc/apache2/md-shared.key)' and copy it to every server",
                     g->shared_url->printable);
        return APR_EINVAL;
    }
    if (g->shared_ca_file && !g->shared_url->tls) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ACME1172 MDSharedStoreCACertificateFile "
                     "is used only with rediss:// (TLS); MDSharedStore is %s",
                     g->shared_url->printable);
    }
    if ((why = key_file_problem(p, g->shared_key_file)) != NULL) {
        why = apr_pstrcat(p, "MDSharedStoreKeyFile: ", why, NULL);
    }
    else if (g->shared_ca_file && g->shared_url->tls
             && (why = file_problem(p, g->shared_ca_file)) != NULL) {
        why = apr_pstrcat(p, "MDSharedStoreCACertificateFile ", why, NULL);
    }
    if (why) {
        shared_off(g, s, why);
    }
    return APR_SUCCESS;
}

const acme_seal_key_t *acme_config_shared_seal_key(acme_config_global_t *g, apr_pool_t *pconf,
                                                   server_rec *s)
{
    acme_seal_key_t *key;
    const char *why = NULL;

    g->shared_seal_key = NULL;
    if (!g->shared_url || g->shared_error || !g->shared_key_file) {
        return NULL;
    }
    /* the file was fine at check_config: a change since is told the same way */
    if (acme_seal_key_load(&key, pconf, g->shared_key_file, &why) != APR_SUCCESS) {
        shared_off(g, s, apr_pstrcat(pconf, "MDSharedStoreKeyFile: ",
                                     why ? why : "cannot be read", NULL));
        return NULL;
    }
    g->shared_seal_key = key;
    return key;
}
