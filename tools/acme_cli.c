/* acme-cli: command line, account handling, revocation, key rollover and
 * output files. Issuance lives in acme_cli_issue.c. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_account.h"
#include "acme_chain.h"
#include "acme_http_curl.h"
#include "acme_log.h"
#include "acme_revoke.h"
#include "acme_cli.h"

static const char usage_text[] =
    "usage: acme-cli --directory URL --out DIR [options] COMMAND [NAME...]\n"
    "commands:\n"
    "  register            create (or find) the account of DIR/account.key\n"
    "  issue NAME...       order a certificate for DNS names / IP addresses\n"
    "  revoke              revoke DIR/cert.pem (or --cert FILE)\n"
    "  rollover            replace the account key (RFC 8555 7.3.5)\n"
    "  deactivate          deactivate the account for good\n"
    "options:\n"
    "  --ca-file FILE          PEM trust roots for the CA's TLS certificate\n"
    "  --contact URI           account contact, e.g. mailto:me@example.org (repeatable)\n"
    "  --agree-tos             agree to the CA's terms of service\n"
    "  --eab-kid KID --eab-hmac-file FILE   external account binding: the base64url HMAC\n"
    "                          key read from FILE (\"-\": stdin), never from the command line\n"
    "  --account-key-type T    key of new accounts: P-256 (default), P-384, rsa2048...\n"
    "  --key-type T            certificate key: P-256 (default), P-384, rsa2048...\n"
    "  --challenge TYPE        http-01 (default) or dns-01\n"
    "  --http01-dir DIR        http-01: write key authorizations to DIR/<token>\n"
    "  --dns01-cmd PROGRAM     dns-01: run PROGRAM setup|teardown NAME TXT-VALUE\n"
    "  --profile NAME          certificate profile offered by the CA\n"
    "  --preferred-chain CN    prefer the chain whose root/intermediate has this CN\n"
    "  --cert FILE --cert-key FILE --reason R   revoke: what, signed by, why\n"
    "  --timeout SECONDS       give up waiting for validation/issuance (default 120)\n"
    "  -v, --verbose           log the core's messages (twice: with CA bodies)\n"
    "outputs in DIR: account.key, account.url, privkey.pem, cert.pem (chain)\n";

int acme_cli_error(acme_cli_t *cli, const char *fmt, ...)
{
    va_list ap;

    fputs("acme-cli: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

int acme_cli_fail(acme_cli_t *cli, apr_status_t rv)
{
    fprintf(stderr, "acme-cli: error: %s [%s]\n", acme_result_render(cli->r, cli->pool),
            acme_problem_action_name(cli->r->action));
    if (rv == ACME_EPROBLEM) {
        return CLI_EXIT_CA;
    }
    return acme_http_status_text(rv) ? CLI_EXIT_NETWORK : CLI_EXIT_FAIL;
}

const char *acme_cli_out_path(acme_cli_t *cli, const char *name)
{
    return apr_pstrcat(cli->pool, cli->out_dir, "/", name, NULL);
}

apr_status_t acme_cli_write_file(acme_cli_t *cli, const char *path, const char *data,
                                 apr_size_t len, apr_fileperms_t perms)
{
    char *tmp = apr_pstrcat(cli->pool, path, ".XXXXXX", NULL);
    apr_file_t *f;
    apr_status_t rv;

    rv = apr_file_mktemp(&f, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                         cli->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_write_full(f, data, len, NULL);
    if (rv == APR_SUCCESS) {
        rv = apr_file_sync(f);
    }
    apr_file_close(f);
    if (rv == APR_SUCCESS) {
        rv = apr_file_perms_set(tmp, perms);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmp, path, cli->pool);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, cli->pool);
    }
    return rv;
}

/* Reads a whole file (bounded: keys, URLs, certificate chains). */
static apr_status_t read_file(const char **pdata, apr_size_t *plen, acme_cli_t *cli,
                              const char *path)
{
    apr_file_t *f;
    apr_finfo_t info;
    apr_status_t rv;
    char *buf;

    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, cli->pool))) {
        return rv;
    }
    rv = apr_file_info_get(&info, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS && info.size > 1024 * 1024) {
        rv = APR_ENOSPC;
    }
    if (rv == APR_SUCCESS) {
        buf = apr_palloc(cli->pool, (apr_size_t)info.size + 1);
        rv = apr_file_read_full(f, buf, (apr_size_t)info.size, NULL);
        buf[info.size] = '\0';
        *pdata = buf;
        *plen = (apr_size_t)info.size;
    }
    apr_file_close(f);
    return rv;
}

static apr_status_t load_key(acme_pkey_t **pkey, acme_cli_t *cli, const char *path)
{
    const char *pem, *why = NULL;
    apr_size_t len;
    apr_status_t rv;

    if ((rv = read_file(&pem, &len, cli, path)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = acme_pkey_from_pem(pkey, cli->pool, pem, len, &why)) != APR_SUCCESS) {
        acme_cli_error(cli, "%s: %s", path, why);
    }
    return rv;
}

/* The EAB HMAC key from --eab-hmac-file: a file, or stdin for "-" (the
 * command line is readable by every local user: ps, /proc/<pid>/cmdline).
 * Surrounding whitespace (a trailing newline) is dropped; the key itself
 * is checked by the core when it signs the binding. */
static int eab_hmac_read(acme_cli_t *cli)
{
    char buf[1025], err[120];
    apr_file_t *f;
    apr_size_t len = sizeof(buf) - 1, start = 0;
    apr_status_t rv;

    if (!strcmp(cli->eab_hmac_file, "-")) {
        rv = apr_file_open_stdin(&f, cli->pool);
    }
    else {
        rv = apr_file_open(&f, cli->eab_hmac_file, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                           cli->pool);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(f, buf, len, &len);
        rv = APR_STATUS_IS_EOF(rv) ? APR_SUCCESS : rv;
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        return acme_cli_error(cli, "--eab-hmac-file %s: %s", cli->eab_hmac_file,
                              apr_strerror(rv, err, sizeof(err)));
    }
    if (len == sizeof(buf) - 1) {
        return acme_cli_error(cli, "--eab-hmac-file %s: longer than an HMAC key (%d bytes "
                              "at most)", cli->eab_hmac_file, (int)sizeof(buf) - 2);
    }
    while (len > 0 && apr_isspace(buf[len - 1])) {
        --len;
    }
    while (start < len && apr_isspace(buf[start])) {
        ++start;
    }
    if (start == len) {
        return acme_cli_error(cli, "--eab-hmac-file %s: empty", cli->eab_hmac_file);
    }
    cli->eab_hmac = apr_pstrmemdup(cli->pool, buf + start, len - start);
    memset(buf, 0, sizeof(buf));
    return CLI_EXIT_OK;
}

/* Generates a key of spec word `type` and writes it to `path` (0600). */
static int key_create(acme_pkey_t **pkey, acme_cli_t *cli, const char *type, const char *path)
{
    acme_pkey_spec_t spec;
    const char *pem, *why = NULL;
    apr_size_t len;
    char buf[128];
    apr_status_t rv;

    if (acme_pkey_spec_parse(&spec, cli->pool, type, &why) != APR_SUCCESS
        || acme_pkey_generate(pkey, cli->pool, &spec, &why) != APR_SUCCESS
        || acme_pkey_to_pem(&pem, &len, cli->pool, *pkey, &why) != APR_SUCCESS) {
        return acme_cli_error(cli, "key type '%s': %s", type, why);
    }
    if ((rv = acme_cli_write_file(cli, path, pem, len, CLI_PERMS_SECRET)) != APR_SUCCESS) {
        return acme_cli_error(cli, "writing %s: %s", path, apr_strerror(rv, buf, sizeof(buf)));
    }
    return CLI_EXIT_OK;
}

static int register_account(acme_cli_t *cli)
{
    acme_account_params_t params = { 0 };
    acme_account_t *acct;
    apr_status_t rv;

    params.contacts = cli->contacts;
    params.agree_tos = cli->agree_tos;
    params.eab_kid = cli->eab_kid;
    params.eab_hmac = cli->eab_hmac;
    if (cli->eab_kid) {
        acme_result_set_activity(cli->r, "registering account with external account binding"
                                 " (kid %s)", cli->eab_kid);
    }
    else {
        acme_result_set_activity(cli->r, "registering account");
    }
    rv = acme_account_register(&acct, cli->pool, cli->client, &params, cli->r);
    if (rv != APR_SUCCESS) {
        return acme_cli_fail(cli, rv);
    }
    rv = acme_cli_write_file(cli, acme_cli_out_path(cli, "account.url"), acct->url,
                             strlen(acct->url), CLI_PERMS_PUBLIC);
    if (rv != APR_SUCCESS) {
        return acme_cli_error(cli, "writing account.url failed");
    }
    printf("account: %s (%s)\n", acct->url, acct->created ? "new" : "existing");
    return CLI_EXIT_OK;
}

int acme_cli_account_ensure(acme_cli_t *cli)
{
    const char *key_path = acme_cli_out_path(cli, "account.key");
    const char *url = NULL;
    apr_size_t len;
    int rc;

    if (load_key(&cli->account_key, cli, key_path) != APR_SUCCESS) {
        if ((rc = key_create(&cli->account_key, cli, cli->account_key_type, key_path))) {
            return rc;
        }
    }
    if (read_file(&url, &len, cli, acme_cli_out_path(cli, "account.url")) == APR_SUCCESS) {
        url = apr_pstrndup(cli->pool, url, strcspn(url, "\r\n"));
    }
    acme_client_set_account(cli->client, cli->account_key, url);
    return url && *url ? CLI_EXIT_OK : register_account(cli);
}

static int cmd_register(acme_cli_t *cli)
{
    apr_file_remove(acme_cli_out_path(cli, "account.url"), cli->pool);
    return acme_cli_account_ensure(cli);
}

static int cmd_revoke(acme_cli_t *cli)
{
    const char *path = cli->cert_file ? cli->cert_file : acme_cli_out_path(cli, "cert.pem");
    acme_pkey_t *cert_key = NULL;
    acme_cert_chain_t *chain;
    const char *pem;
    apr_size_t len;
    apr_status_t rv;
    int rc;

    if (read_file(&pem, &len, cli, path) != APR_SUCCESS
        || acme_chain_from_pem(&chain, cli->pool, pem, len) != APR_SUCCESS) {
        return acme_cli_error(cli, "%s: cannot read a certificate", path);
    }
    if (cli->cert_key_file) {
        if (load_key(&cert_key, cli, cli->cert_key_file) != APR_SUCCESS) {
            return acme_cli_error(cli, "%s: cannot read the key", cli->cert_key_file);
        }
    }
    else if ((rc = acme_cli_account_ensure(cli))) {
        return rc;
    }
    acme_result_set_activity(cli->r, "revoking %s", path);
    rv = acme_revoke_cert(cli->client, cli->pool, acme_chain_get(chain, 0), cli->reason,
                          cert_key, cli->r);
    if (rv != APR_SUCCESS) {
        return acme_cli_fail(cli, rv);
    }
    printf("revoked: %s\n", path);
    return CLI_EXIT_OK;
}

/* The new key goes to account.key.new first, and replaces account.key only
 * after the CA took it: a crash in between leaves both keys on disk. */
static int cmd_rollover(acme_cli_t *cli)
{
    const char *path = acme_cli_out_path(cli, "account.key");
    const char *next = acme_cli_out_path(cli, "account.key.new");
    acme_pkey_t *new_key;
    apr_status_t rv;
    int rc;

    if ((rc = acme_cli_account_ensure(cli)) || (rc = key_create(&new_key, cli,
                                                             cli->account_key_type, next))) {
        return rc;
    }
    acme_result_set_activity(cli->r, "rolling over the account key");
    rv = acme_account_key_change(cli->client, cli->pool, new_key, cli->r);
    if (rv != APR_SUCCESS) {
        apr_file_remove(next, cli->pool);
        return acme_cli_fail(cli, rv);
    }
    if (apr_file_rename(next, path, cli->pool) != APR_SUCCESS) {
        return acme_cli_error(cli, "the CA took the new key, but renaming %s to %s failed:"
                              " rename it by hand", next, path);
    }
    printf("account key rolled over: %s\n", acme_client_get_kid(cli->client));
    return CLI_EXIT_OK;
}

static int cmd_deactivate(acme_cli_t *cli)
{
    acme_account_t *acct;
    apr_status_t rv;
    int rc;

    if ((rc = acme_cli_account_ensure(cli))) {
        return rc;
    }
    acme_result_set_activity(cli->r, "deactivating the account");
    if ((rv = acme_account_deactivate(&acct, cli->pool, cli->client, cli->r))) {
        return acme_cli_fail(cli, rv);
    }
    printf("account deactivated: %s\n", acct->url);
    return CLI_EXIT_OK;
}

enum {
    OPT_CA_FILE = 256, OPT_CONTACT, OPT_AGREE_TOS, OPT_EAB_KID, OPT_EAB_HMAC,
    OPT_EAB_HMAC_FILE,
    OPT_ACCOUNT_KEY_TYPE, OPT_KEY_TYPE, OPT_CHALLENGE, OPT_HTTP01_DIR, OPT_DNS01_CMD,
    OPT_PROFILE, OPT_PREFERRED_CHAIN, OPT_CERT, OPT_CERT_KEY, OPT_REASON, OPT_TIMEOUT
};

static const struct option long_options[] = {
    { "directory", required_argument, NULL, 'd' },
    { "out", required_argument, NULL, 'o' },
    { "ca-file", required_argument, NULL, OPT_CA_FILE },
    { "contact", required_argument, NULL, OPT_CONTACT },
    { "agree-tos", no_argument, NULL, OPT_AGREE_TOS },
    { "eab-kid", required_argument, NULL, OPT_EAB_KID },
    { "eab-hmac", required_argument, NULL, OPT_EAB_HMAC },     /* refused, see below */
    { "eab-hmac-file", required_argument, NULL, OPT_EAB_HMAC_FILE },
    { "account-key-type", required_argument, NULL, OPT_ACCOUNT_KEY_TYPE },
    { "key-type", required_argument, NULL, OPT_KEY_TYPE },
    { "challenge", required_argument, NULL, OPT_CHALLENGE },
    { "http01-dir", required_argument, NULL, OPT_HTTP01_DIR },
    { "dns01-cmd", required_argument, NULL, OPT_DNS01_CMD },
    { "profile", required_argument, NULL, OPT_PROFILE },
    { "preferred-chain", required_argument, NULL, OPT_PREFERRED_CHAIN },
    { "cert", required_argument, NULL, OPT_CERT },
    { "cert-key", required_argument, NULL, OPT_CERT_KEY },
    { "reason", required_argument, NULL, OPT_REASON },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
};

/* Stores one option; returns 0, or an exit code for a bad value. */
static int set_option(acme_cli_t *cli, int opt, const char *arg)
{
    char *end;

    switch (opt) {
    case 'd': cli->directory = arg; break;
    case 'o': cli->out_dir = arg; break;
    case 'v': ++cli->verbose; break;
    case OPT_CA_FILE: cli->ca_file = arg; break;
    case OPT_CONTACT: APR_ARRAY_PUSH(cli->contacts, const char *) = arg; break;
    case OPT_AGREE_TOS: cli->agree_tos = 1; break;
    case OPT_EAB_KID: cli->eab_kid = arg; break;
    case OPT_EAB_HMAC:
        /* the value is not repeated: it may be the real key */
        fputs("acme-cli: --eab-hmac is refused: a key on the command line is visible to every "
              "local user (ps, /proc/<pid>/cmdline); write it to a file only you can read and "
              "pass --eab-hmac-file FILE, or pipe it in with --eab-hmac-file -\n", stderr);
        return CLI_EXIT_USAGE;
    case OPT_EAB_HMAC_FILE: cli->eab_hmac_file = arg; break;
    case OPT_ACCOUNT_KEY_TYPE: cli->account_key_type = arg; break;
    case OPT_KEY_TYPE: cli->key_type = arg; break;
    case OPT_CHALLENGE: cli->challenge = arg; break;
    case OPT_HTTP01_DIR: cli->http01_dir = arg; break;
    case OPT_DNS01_CMD: cli->dns01_cmd = arg; break;
    case OPT_PROFILE: cli->profile = arg; break;
    case OPT_PREFERRED_CHAIN: cli->preferred_chain = arg; break;
    case OPT_CERT: cli->cert_file = arg; break;
    case OPT_CERT_KEY: cli->cert_key_file = arg; break;
    case OPT_REASON:
        if (acme_revoke_reason_parse(&cli->reason, arg) != APR_SUCCESS) {
            fprintf(stderr, "acme-cli: invalid --reason '%s'\n", arg);
            return CLI_EXIT_USAGE;
        }
        break;
    case OPT_TIMEOUT:
        cli->timeout_sec = (int)strtol(arg, &end, 10);
        if (*end || cli->timeout_sec <= 0 || cli->timeout_sec > 86400) {
            fprintf(stderr, "acme-cli: invalid --timeout '%s'\n", arg);
            return CLI_EXIT_USAGE;
        }
        break;
    default:
        fputs(usage_text, opt == 'h' ? stdout : stderr);
        return opt == 'h' ? -1 : CLI_EXIT_USAGE;
    }
    return 0;
}

/* Checks that the options make sense together; returns 0 or an exit code. */
static int check_options(acme_cli_t *cli)
{
    static const char *const commands[] = {
        "register", "issue", "revoke", "rollover", "deactivate", NULL
    };
    const char *why = NULL;
    int i;

    for (i = 0; commands[i] && strcmp(commands[i], cli->command); ++i) {
    }
    if (!commands[i]) {
        why = apr_psprintf(cli->pool, "unknown command '%s'", cli->command);
    }
    else if (!cli->directory || !cli->out_dir) {
        why = "--directory and --out are required";
    }
    else if (!cli->eab_kid != !cli->eab_hmac_file) {
        why = "--eab-kid and --eab-hmac-file go together";
    }
    else if (!strcmp(cli->command, "issue") && cli->names->nelts == 0) {
        why = "issue needs at least one name";
    }
    else if (strcmp(cli->command, "issue") && cli->names->nelts > 0) {
        why = "names are only taken by issue";
    }
    else if (strcmp(cli->challenge, "http-01") && strcmp(cli->challenge, "dns-01")) {
        why = "--challenge is http-01 or dns-01";
    }
    else if (!strcmp(cli->command, "issue") && !strcmp(cli->challenge, "http-01")
             && !cli->http01_dir) {
        why = "http-01 needs --http01-dir";
    }
    else if (!strcmp(cli->command, "issue") && !strcmp(cli->challenge, "dns-01")
             && !cli->dns01_cmd) {
        why = "dns-01 needs --dns01-cmd";
    }
    if (why) {
        fprintf(stderr, "acme-cli: %s (see --help)\n", why);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int parse_args(acme_cli_t *cli, int argc, char **argv)
{
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "d:o:vh", long_options, NULL)) != -1) {
        if ((rc = set_option(cli, opt, optarg)) != 0) {
            return rc;
        }
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return CLI_EXIT_USAGE;
    }
    cli->command = argv[optind++];
    while (optind < argc) {
        APR_ARRAY_PUSH(cli->names, const char *) = argv[optind++];
    }
    if ((rc = check_options(cli)) != 0) {
        return rc;
    }
    return cli->eab_hmac_file ? eab_hmac_read(cli) : 0;
}

static void log_to_stderr(void *baton, acme_log_level_e level, apr_status_t rv,
                          const char *msg)
{
    fprintf(stderr, "acme-cli: [%s] %s\n", level <= ACME_LOG_WARNING ? "warn" : "info", msg);
}

/* The transport (libcurl, trusting --ca-file) and the client. */
static int setup_client(acme_cli_t *cli)
{
    acme_http_transport_t *transport;
    acme_http_options_t opts;
    apr_status_t rv;

    if (apr_dir_make_recursive(cli->out_dir, CLI_PERMS_DIR, cli->pool)) {
        return acme_cli_error(cli, "cannot create %s", cli->out_dir);
    }
    acme_http_options_init(&opts);
    opts.ca_file = cli->ca_file;
    if (acme_http_curl_global_init() != APR_SUCCESS
        || acme_http_curl_create(&transport, cli->pool, &opts) != APR_SUCCESS) {
        return acme_cli_error(cli, "cannot set up libcurl");
    }
    rv = acme_client_create(&cli->client, cli->pool, transport, cli->directory, cli->r);
    return rv == APR_SUCCESS ? CLI_EXIT_OK : acme_cli_fail(cli, rv);
}

static int run(acme_cli_t *cli)
{
    if (!strcmp(cli->command, "register")) {
        return cmd_register(cli);
    }
    if (!strcmp(cli->command, "issue")) {
        return acme_cli_issue(cli);
    }
    if (!strcmp(cli->command, "revoke")) {
        return cmd_revoke(cli);
    }
    if (!strcmp(cli->command, "rollover")) {
        return cmd_rollover(cli);
    }
    return cmd_deactivate(cli);
}

int main(int argc, char **argv)
{
    apr_pool_t *pool;
    acme_cli_t *cli;
    int rc;

    apr_app_initialize(&argc, (const char *const **)&argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&pool, NULL);
    cli = apr_pcalloc(pool, sizeof(*cli));
    cli->pool = pool;
    cli->names = apr_array_make(pool, 4, sizeof(const char *));
    cli->contacts = apr_array_make(pool, 2, sizeof(const char *));
    cli->account_key_type = "P-256";
    cli->key_type = "P-256";
    cli->challenge = "http-01";
    cli->reason = ACME_REVOKE_NO_REASON;
    cli->timeout_sec = 120;
    cli->r = acme_result_create(pool);
    rc = parse_args(cli, argc, argv);
    if (rc == 0) {
        acme_log_set(log_to_stderr, NULL, cli->verbose > 1 ? ACME_LOG_TRACE
                                          : cli->verbose ? ACME_LOG_DEBUG : ACME_LOG_WARNING);
        rc = setup_client(cli);
    }
    if (rc == 0) {
        rc = run(cli);
    }
    apr_pool_destroy(pool);
    return rc < 0 ? 0 : rc;
}
