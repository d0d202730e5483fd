/* acme-cli: a command-line ACME client on mod_acme's core (the seed of the
 * module's admin tool). Shared between acme_cli.c (options, accounts,
 * revocation, key rollover, files) and acme_cli_issue.c (issuance and the
 * http-01 / dns-01 challenge hooks). */
#ifndef ACME_CLI_H
#define ACME_CLI_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_file_info.h>
#include <apr_time.h>

#include "acme_client.h"
#include "acme_pkey.h"
#include "acme_result.h"

/* File permissions (APR's bits, not octal): keys, public files, OUT. */
#define CLI_PERMS_SECRET (APR_FPROT_UREAD | APR_FPROT_UWRITE)
#define CLI_PERMS_PUBLIC (CLI_PERMS_SECRET | APR_FPROT_GREAD | APR_FPROT_WREAD)
#define CLI_PERMS_DIR (CLI_PERMS_SECRET | APR_FPROT_UEXECUTE)

/* Exit codes. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1      /* local failure, invalid CA data */
#define CLI_EXIT_USAGE 2     /* bad command line */
#define CLI_EXIT_CA 3        /* the CA answered with a problem */
#define CLI_EXIT_NETWORK 4   /* no usable answer (connect, TLS, timeout) */

typedef struct acme_cli_t {
    apr_pool_t *pool;
    /* options */
    const char *command;
    const char *directory;
    const char *ca_file;
    const char *out_dir;
    apr_array_header_t *names;      /* const char * */
    apr_array_header_t *contacts;   /* const char * */
    int agree_tos;
    const char *eab_kid;
    const char *eab_hmac_file;      /* --eab-hmac-file: a path, or "-" for stdin */
    const char *eab_hmac;           /* read from eab_hmac_file by parse_args */
    const char *account_key_type;
    const char *key_type;
    const char *challenge;          /* "http-01" or "dns-01" */
    const char *http01_dir;
    const char *dns01_cmd;
    const char *profile;
    const char *preferred_chain;
    const char *cert_file;
    const char *cert_key_file;
    int reason;
    int timeout_sec;
    int verbose;
    /* state */
    acme_client_t *client;
    acme_pkey_t *account_key;
    acme_result_t *r;
} acme_cli_t;

/* Prints `r` as one line on stderr and maps it to an exit code. */
int acme_cli_fail(acme_cli_t *cli, apr_status_t rv);

/* Prints a local error on stderr; returns CLI_EXIT_FAIL. */
int acme_cli_error(acme_cli_t *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* OUT/<name>. */
const char *acme_cli_out_path(acme_cli_t *cli, const char *name);

/* Writes `len` bytes to `path` atomically (temp file + rename) with `perms`
 * (CLI_PERMS_SECRET for keys, CLI_PERMS_PUBLIC otherwise). */
apr_status_t acme_cli_write_file(acme_cli_t *cli, const char *path, const char *data,
                                 apr_size_t len, apr_fileperms_t perms);

/* Loads the account key and URL from OUT, creating and registering the
 * account when there is none; the client then signs as that account. */
int acme_cli_account_ensure(acme_cli_t *cli);

/* The "issue" command. */
int acme_cli_issue(acme_cli_t *cli);

#endif /* ACME_CLI_H */
