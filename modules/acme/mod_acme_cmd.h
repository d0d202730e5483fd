/* MDNotifyCmd and MDMessageCmd: the admin's programs told about renewals;
 * MDChallengeDns01: the program that publishes dns-01 TXT records.
 *
 * A command runs from its configured argument vector (no shell; a bare
 * program name is looked up in PATH) with the event's words appended:
 *   MDMessageCmd prog [args...] <reason> <md>
 *   MDNotifyCmd  prog [args...] <md>
 * stdin is /dev/null; stdout and stderr go to the error log line by line
 * (ACME1403). A command that has not ended after its timeout is killed
 * (SIGTERM, then SIGKILL). It runs with the privileges of the calling
 * process: in the watchdog child that is httpd's User; "installed" is raised
 * by the parent after activation and runs as root, as in mod_md.
 *
 * Reasons (as mod_md):
 *   renewing   before a renewal starts; a non-zero exit vetoes it (clusters:
 *              only one node renews)
 *   challenge-setup:<type>:<domain>
 *              an http-01 or tls-alpn-01 answer for <domain> is in the store,
 *              the CA is not yet asked to check it (clusters copy it to the
 *              other nodes); a non-zero exit fails the attempt
 *   renewed    a new certificate is staged (after MDNotifyCmd)
 *   installed  a staged certificate was activated (graceful restart)
 *   expiring   the certificate entered MDWarnWindow
 *   errored    a renewal attempt failed
 * and one of mod_acme's own (mod_md has no such event):
 *   activation-failed  an activated certificate failed its self-test
 *              (mod_acme_selftest.h); raised by the probe process, as root
 *
 * Thread safety: the functions may be called from several threads at once;
 * process creation is serialized internally so that one command's pipe never
 * leaks into another command's process. */
#ifndef MOD_ACME_CMD_H
#define MOD_ACME_CMD_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include <httpd.h>

#include "acme_renew.h"
#include "mod_acme_config.h"

/* How long a command may run before it is killed. */
#define ACME_CMD_TIMEOUT_DEFAULT (apr_time_from_sec(30))
/* After SIGTERM, how long before SIGKILL. */
#define ACME_CMD_KILL_GRACE (apr_time_from_sec(2))
/* At most this many output lines are logged per run (the rest is read and
 * counted, so a chatty program never blocks on a full pipe). */
#define ACME_CMD_LOG_LINES_MAX 50

typedef enum {
    ACME_CMD_RENEWING = 0,
    ACME_CMD_RENEWED,
    ACME_CMD_INSTALLED,
    ACME_CMD_EXPIRING,
    ACME_CMD_ERRORED,
    ACME_CMD_ACTIVATION_FAILED
} acme_cmd_reason_e;

/* The word passed to MDMessageCmd ("renewing", ...); NULL for an invalid value. */
const char *acme_cmd_reason_name(acme_cmd_reason_e reason);

/* Prepares process creation (its lock). Call in post_config, before any
 * thread runs a command; lives in pconf. */
apr_status_t acme_cmd_init(apr_pool_t *pconf);

/* Runs `argv` (const char *, at least the program) followed by the NULL-
 * terminated `extra` words (may be NULL), waits at most `timeout` (<= 0:
 * ACME_CMD_TIMEOUT_DEFAULT) and logs its output to `s`, naming it `what`.
 * Returns APR_SUCCESS when it exited with 0; APR_EGENERAL for another exit
 * code or a signal (*pexit, may be NULL, is the exit code, or 128 + signal);
 * APR_TIMEUP when it was killed for taking too long; APR_EINVAL for an empty
 * argv; other values when it could not be started. Every failure is logged. */
apr_status_t acme_cmd_run(int *pexit, apr_pool_t *p, server_rec *s, const char *what,
                          const apr_array_header_t *argv, const char *const *extra,
                          apr_interval_time_t timeout);

/* MDMessageCmd <reason> <md_name>: APR_SUCCESS also when no MDMessageCmd is
 * configured; otherwise as acme_cmd_run(). APR_EINVAL for a domain name that
 * is not a valid name (it never reaches a command line). */
apr_status_t acme_cmd_message(apr_pool_t *p, server_rec *s, const acme_config_global_t *g,
                              acme_cmd_reason_e reason, const char *md_name);

/* MDNotifyCmd <md_name>, as acme_cmd_message(). */
apr_status_t acme_cmd_notify(apr_pool_t *p, server_rec *s, const acme_config_global_t *g,
                             const char *md_name);

/* For the activation (parent, after STAGING/<md> went live): MDMessageCmd
 * installed <md_name>. Failures are logged and otherwise ignored: the
 * certificate is in service either way. */
void acme_cmd_installed(apr_pool_t *p, server_rec *s, const acme_config_global_t *g,
                        const char *md_name);

/* MDChallengeDns01 as the dns-01 hook of a renewal (see acme_renew_dns01_t),
 * run like the commands above (argv, timeout, output logged, as httpd's User
 * in the watchdog child), as mod_md does:
 *   prog [args...] setup <domain> <txt-value>
 *   prog [args...] teardown <domain>              (MDChallengeDns01Version 1)
 *   prog [args...] teardown <domain> <txt-value>  (MDChallengeDns01Version 2)
 * <domain> is the authorization's name ("w.test" also for "*.w.test"); the
 * program sets "_acme-challenge.<domain>" and exits 0 once the record is
 * visible. A domain or value outside its alphabet never reaches the command
 * line. Fill a record per job run: */
typedef struct acme_cmd_dns01_t {
    server_rec *s;
    const apr_array_header_t *argv;
    int version;
    acme_renew_dns01_t hook;
} acme_cmd_dns01_t;

/* Fills *d for `md`'s MDChallengeDns01 and returns &d->hook (valid while *d
 * is), or NULL when the domain has no command. */
const acme_renew_dns01_t *acme_cmd_dns01_hook(acme_cmd_dns01_t *d, server_rec *s,
                                              const acme_config_global_t *g,
                                              const acme_config_md_t *md);

/* MDMessageCmd challenge-setup:<type>:<domain> <md> as the renewal's
 * acme_renew_events_t (as mod_md). Fill a record per job run: */
typedef struct acme_cmd_events_t {
    server_rec *s;
    const acme_config_global_t *g;
    const char *md_name;
    acme_renew_events_t hook;
} acme_cmd_events_t;

/* Fills *e for md and returns &e->hook (valid while *e is), or NULL
 * without an MDMessageCmd. */
const acme_renew_events_t *acme_cmd_events_hook(acme_cmd_events_t *e, server_rec *s,
                                                const acme_config_global_t *g,
                                                const acme_config_md_t *md);

#endif /* MOD_ACME_CMD_H */
