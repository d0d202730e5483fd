/* acmectl: options, finding the store, and the commands list and show.
 * Read only: the store is opened with acme_store_fs_open_readonly(), so
 * running it next to httpd changes nothing. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "acme_log.h"
#include "acme_store_fs.h"
#include "acmectl.h"

static const char usage_text[] =
    "usage: acmectl [-f HTTPD_CONF] [-d SERVER_ROOT] [--store DIR] [--json] COMMAND\n"
    "commands:\n"
    "  list                every managed domain: state, certificates, renewal, errors\n"
    "  show DOMAIN         everything about one domain, with its renewal job\n"
    "options:\n"
    "  -f FILE             httpd's configuration (default " ACMECTL_DEFAULT_CONF ")\n"
    "  -d DIR              httpd's ServerRoot when the file sets none (default "
    ACMECTL_DEFAULT_SERVER_ROOT ")\n"
    "  --store DIR         the store (MDStoreDir); without -f, the domains it holds\n"
    "  --json              print JSON (stable, see man acmectl)\n"
    "  -v, --verbose       show the core library's log lines\n"
    "exit codes: 0 ok, 1 failed, 2 usage\n";

typedef struct {
    apr_pool_t *pool;
    const char *conf_file;
    const char *server_root;
    const char *store_dir;
    const char *command;
    const char *domain;
    int json;
    int verbose;
    acmectl_conf_t *conf;           /* NULL with --store alone */
    acme_store_t *store;
    apr_array_header_t *mds;        /* acmectl_md_t * */
} ctl_t;

static int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int error(const char *fmt, ...)
{
    va_list ap;

    fputs("acmectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return ACMECTL_EXIT_FAIL;
}

static int usage(const char *why)
{
    fprintf(stderr, "acmectl: %s (acmectl --help shows the usage)\n", why);
    return ACMECTL_EXIT_USAGE;
}

static void log_cb(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    (void)baton;
    (void)level;
    (void)rv;
    fprintf(stderr, "acmectl: %s\n", msg);
}

/* The message for a failure to read, with the hint a permission error wants. */
static int read_error(ctl_t *ctl, apr_status_t rv, const char *what)
{
    char buf[256];

    if (APR_STATUS_IS_EACCES(rv) || rv == APR_FROM_OS_ERROR(EPERM)) {
        return error("cannot read %s in %s: permission denied (the store is root's: run "
                     "acmectl as root)", what, ctl->store_dir);
    }
    return error("cannot read %s in %s: %s", what, ctl->store_dir,
                 apr_strerror(rv, buf, sizeof(buf)));
}

static int parse_args(ctl_t *ctl, int argc, char **argv)
{
    static const struct option opts[] = {
        { "store", required_argument, NULL, 's' },
        { "json", no_argument, NULL, 'j' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:d:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': ctl->conf_file = optarg; break;
        case 'd': ctl->server_root = optarg; break;
        case 's': ctl->store_dir = optarg; break;
        case 'j': ctl->json = 1; break;
        case 'v': ctl->verbose = 1; break;
        case 'h': fputs(usage_text, stdout); exit(ACMECTL_EXIT_OK);
        case ':': return usage(apr_psprintf(ctl->pool, "option %s needs a value",
                                            argv[optind - 1]));
        default:  return usage(apr_psprintf(ctl->pool, "unknown option %s",
                                            argv[optind - 1]));
        }
    }
    if (optind >= argc) {
        return usage("no command given");
    }
    ctl->command = argv[optind++];
    if (!strcmp(ctl->command, "list")) {
        if (optind != argc) {
            return usage("list takes no arguments");
        }
    }
    else if (!strcmp(ctl->command, "show")) {
        if (optind + 1 != argc) {
            return usage("show takes one DOMAIN");
        }
        ctl->domain = argv[optind];
    }
    else {
        return usage(apr_psprintf(ctl->pool, "unknown command '%s'", ctl->command));
    }
    return ACMECTL_EXIT_OK;
}

/* The configuration (unless --store alone), the store, the domains. */
static int setup(ctl_t *ctl)
{
    const char *err = NULL;
    apr_status_t rv;
    char buf[256];

    if (ctl->conf_file || !ctl->store_dir) {
        const char *file = ctl->conf_file ? ctl->conf_file : ACMECTL_DEFAULT_CONF;
        rv = acmectl_conf_read(&ctl->conf, ctl->pool, file, ctl->server_root, &err);
        if (rv != APR_SUCCESS) {
            if (APR_STATUS_IS_EACCES(rv)) {
                return error("%s (permission denied: run acmectl as root)", err);
            }
            return error("%s", err);
        }
        ctl->mds = ctl->conf->mds;
        if (!ctl->store_dir) {
            ctl->store_dir = ctl->conf->store_dir;
        }
    }
    rv = acme_store_fs_open_readonly(&ctl->store, ctl->pool, ctl->store_dir);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return error("no store in %s (no md_store.json): httpd with mod_acme has not run "
                     "with this MDStoreDir yet, or it is not one", ctl->store_dir);
    }
    if (rv == APR_EGENERAL) {
        return error("%s is a store of an older mod_acme: start httpd once to convert it",
                     ctl->store_dir);
    }
    if (rv == APR_ENOTIMPL || rv == APR_EINVAL) {
        return error("cannot use the store %s: its md_store.json is %s", ctl->store_dir,
                     rv == APR_EINVAL ? "corrupt" : "of another version (see -v)");
    }
    if (rv != APR_SUCCESS) {
        return read_error(ctl, rv, "md_store.json");
    }
    if (ctl->conf == NULL) {
        rv = acmectl_mds_from_store(&ctl->mds, ctl->pool, ctl->store);
        if (rv != APR_SUCCESS) {
            return error("cannot list the domains in %s: %s", ctl->store_dir,
                         apr_strerror(rv, buf, sizeof(buf)));
        }
    }
    return ACMECTL_EXIT_OK;
}

static int domain_load(acmectl_domain_t **pdom, ctl_t *ctl, const acmectl_md_t *md,
                       apr_time_t now)
{
    const char *what = NULL;
    apr_status_t rv;

    rv = acmectl_domain_load(pdom, ctl->pool, ctl->store, md, now, &what);
    if (rv != APR_SUCCESS) {
        return read_error(ctl, rv, apr_psprintf(ctl->pool, "%s of %s", what, md->name));
    }
    return ACMECTL_EXIT_OK;
}

static int json_print(json_t *json)
{
    char *text;

    if (json == NULL || (text = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
                        == NULL) {
        json_decref(json);
        return error("cannot make the JSON output (out of memory?)");
    }
    puts(text);
    free(text);
    json_decref(json);
    return ACMECTL_EXIT_OK;
}

static int cmd_list(ctl_t *ctl, apr_time_t now)
{
    json_t *arr = json_array();
    acmectl_domain_t *dom;
    int i, rc;

    for (i = 0; i < ctl->mds->nelts; ++i) {
        if ((rc = domain_load(&dom, ctl, APR_ARRAY_IDX(ctl->mds, i, acmectl_md_t *), now))) {
            json_decref(arr);
            return rc;
        }
        if (ctl->json) {
            json_array_append_new(arr, acmectl_domain_json(ctl->pool, dom, 0));
        }
        else {
            acmectl_domain_print(stdout, ctl->pool, dom, 0, now);
        }
    }
    if (!ctl->json) {
        if (ctl->mds->nelts == 0) {
            printf("no managed domains (store %s)\n", ctl->store_dir);
        }
        json_decref(arr);
        return ACMECTL_EXIT_OK;
    }
    return json_print(json_pack("{s:i, s:s, s:o}", "version", ACMECTL_JSON_VERSION,
                                "store", ctl->store_dir, "domains", arr));
}

static int cmd_show(ctl_t *ctl, apr_time_t now)
{
    const acmectl_md_t *md = NULL;
    acmectl_domain_t *dom;
    int i, rc;

    if (ctl->conf) {
        md = acmectl_conf_md_find(ctl->conf, ctl->domain);
    }
    for (i = 0; !ctl->conf && i < ctl->mds->nelts && !md; ++i) {
        md = APR_ARRAY_IDX(ctl->mds, i, acmectl_md_t *);
        md = strcasecmp(md->name, ctl->domain) ? NULL : md;
    }
    if (md == NULL) {
        return error("no managed domain '%s' in %s", ctl->domain,
                     ctl->conf ? (ctl->conf_file ? ctl->conf_file : ACMECTL_DEFAULT_CONF)
                               : ctl->store_dir);
    }
    if ((rc = domain_load(&dom, ctl, md, now)) != ACMECTL_EXIT_OK) {
        return rc;
    }
    if (ctl->json) {
        json_t *obj = acmectl_domain_json(ctl->pool, dom, 1);
        if (obj) {
            json_object_set_new(obj, "version", json_integer(ACMECTL_JSON_VERSION));
            json_object_set_new(obj, "store", json_string(ctl->store_dir));
        }
        return json_print(obj);
    }
    acmectl_domain_print(stdout, ctl->pool, dom, 1, now);
    return ACMECTL_EXIT_OK;
}

int main(int argc, char **argv)
{
    ctl_t ctl;
    int rc;

    apr_initialize();
    atexit(apr_terminate);
    memset(&ctl, 0, sizeof(ctl));
    apr_pool_create(&ctl.pool, NULL);
    if ((rc = parse_args(&ctl, argc, argv)) != ACMECTL_EXIT_OK) {
        return rc;
    }
    acme_log_set(ctl.verbose ? log_cb : NULL, NULL, ACME_LOG_DEBUG);
    if ((rc = setup(&ctl)) != ACMECTL_EXIT_OK) {
        return rc;
    }
    rc = !strcmp(ctl.command, "list") ? cmd_list(&ctl, apr_time_now())
                                      : cmd_show(&ctl, apr_time_now());
    if (fflush(stdout) != 0 && rc == ACMECTL_EXIT_OK) {
        rc = error("cannot write the output");
    }
    apr_pool_destroy(ctl.pool);
    return rc;
}
