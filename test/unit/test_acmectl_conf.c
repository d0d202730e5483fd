/* check_acmectl: acmectl's reader of httpd configurations (tools/acmectl_conf.c),
 * on files each test writes into a fresh ServerRoot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acmectl_conf.h"
#include "check_main.h"

static char root[64];

static void root_setup(void)
{
    test_pool_setup();
    strcpy(root, "/tmp/acmectl-conf-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
}

static void root_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
    test_pool_teardown();
}

/* Writes ROOT/rel (directories made as needed). */
static void put(const char *rel, const char *text)
{
    char *path = apr_pstrcat(test_pool, root, "/", rel, NULL);
    char *slash;
    FILE *f;

    for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static acmectl_conf_t *read_ok(const char *rel)
{
    acmectl_conf_t *conf = NULL;
    const char *err = NULL;
    apr_status_t rv = acmectl_conf_read(&conf, test_pool, rel, root, &err);

    ck_assert_msg(rv == APR_SUCCESS, "read failed: %s", err ? err : "?");
    return conf;
}

static const char *read_err(const char *rel)
{
    acmectl_conf_t *conf = NULL;
    const char *err = NULL;

    ck_assert_int_ne(acmectl_conf_read(&conf, test_pool, rel, root, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(err);
    return err;
}

static const acmectl_md_t *md_at(const acmectl_conf_t *conf, int i)
{
    ck_assert_int_gt(conf->mds->nelts, i);
    return APR_ARRAY_IDX(conf->mds, i, const acmectl_md_t *);
}

static const char *name_at(const acmectl_md_t *md, int i)
{
    ck_assert_int_gt(md->names->nelts, i);
    return APR_ARRAY_IDX(md->names, i, const char *);
}

START_TEST(store_dir_default_under_server_root)
{
    acmectl_conf_t *conf;

    put("conf/httpd.conf", "ServerName x\nMDomain a.test\n");
    conf = read_ok("conf/httpd.conf");        /* relative to the ServerRoot given */
    ck_assert_str_eq(conf->server_root, root);
    ck_assert_str_eq(conf->store_dir, apr_pstrcat(test_pool, root, "/md", NULL));
}
END_TEST

START_TEST(store_dir_relative_to_server_root_directive)
{
    acmectl_conf_t *conf;

    put("conf/httpd.conf", "ServerRoot \"/srv/www\"\nMDStoreDir state/acme\n");
    conf = read_ok(apr_pstrcat(test_pool, root, "/conf/httpd.conf", NULL));
    ck_assert_str_eq(conf->server_root, "/srv/www");
    ck_assert_str_eq(conf->store_dir, "/srv/www/state/acme");

    put("conf/abs.conf", "mdstoredir /var/lib/acme\n");
    conf = read_ok("conf/abs.conf");
    ck_assert_str_eq(conf->store_dir, "/var/lib/acme");
}
END_TEST

START_TEST(include_files_dirs_and_wildcards)
{
    acmectl_conf_t *conf;

    put("conf/httpd.conf", "Include conf/ports.conf\n"
                           "IncludeOptional sites/*.conf\n"
                           "IncludeOptional missing/*.conf\n"
                           "IncludeOptional conf/none.conf\n"
                           "Include conf.d\n");
    put("conf/ports.conf", "MDStoreDir from-include\n");
    put("sites/b.conf", "MDomain b.test\n");
    put("sites/a.conf", "MDomain a.test www.a.test\n");
    put("sites/a.conf.off", "MDomain off.test\n");
    put("conf.d/x.conf", "<MDomain c.test>\n  MDMember www.c.test\n</MDomain>\n");
    conf = read_ok("conf/httpd.conf");
    ck_assert_str_eq(conf->store_dir, apr_pstrcat(test_pool, root, "/from-include", NULL));
    ck_assert_int_eq(conf->mds->nelts, 3);
    /* wildcards in sorted order, as httpd reads them */
    ck_assert_str_eq(md_at(conf, 0)->name, "a.test");
    ck_assert_str_eq(name_at(md_at(conf, 0), 1), "www.a.test");
    ck_assert_str_eq(md_at(conf, 1)->name, "b.test");
    ck_assert_str_eq(md_at(conf, 2)->name, "c.test");
    ck_assert_str_eq(name_at(md_at(conf, 2), 1), "www.c.test");
    ck_assert_ptr_nonnull(strstr(md_at(conf, 2)->file, "conf.d/x.conf"));
    ck_assert_int_eq(md_at(conf, 2)->line, 1);
}
END_TEST

START_TEST(include_missing_is_an_error)
{
    const char *err;

    put("conf/httpd.conf", "\n\nInclude conf/nothere.conf\n");
    err = read_err("conf/httpd.conf");
    ck_assert_msg(strstr(err, "httpd.conf:3:") && strstr(err, "nothere.conf"), "%s", err);
    put("conf/glob.conf", "Include none/*.conf\n");
    err = read_err("conf/glob.conf");
    ck_assert_msg(strstr(err, "no file matches"), "%s", err);
}
END_TEST

START_TEST(include_loop_stops)
{
    const char *err;

    put("conf/httpd.conf", "Include conf/httpd.conf\n");
    err = read_err("conf/httpd.conf");
    ck_assert_msg(strstr(err, "nested deeper"), "%s", err);
}
END_TEST

START_TEST(mdomain_sections_and_settings)
{
    acmectl_conf_t *conf;
    const acmectl_md_t *a, *b;
    const acme_pkey_spec_t *spec;

    put("conf/httpd.conf",
        "MDPrivateKeys RSA 3072\n"
        "MDRenewWindow 20d\n"
        "MDCertificateAuthority https://ca.example/dir\n"
        "<IfModule mod_acme.c>\n"
        "  <MDomain A.Test auto>\n"
        "    MDPrivateKeys secp384r1 rsa2048\n"
        "    MDRenewWindow 50%\n"
        "    MDRenewMode manual\n"
        "  </MDomain>\n"
        "</IfModule>\n"
        "ManagedDomain b.test \\\n"
        "    www.b.test\n"
        "<ManagedDomain c.test>\n"
        "  MDCertificateFile /etc/ssl/c.pem\n"
        "</ManagedDomain>\n");
    conf = read_ok("conf/httpd.conf");
    ck_assert_int_eq(conf->mds->nelts, 3);
    a = md_at(conf, 0);
    ck_assert_str_eq(a->name, "a.test");           /* canonical, "auto" is no name */
    ck_assert_int_eq(a->names->nelts, 1);
    ck_assert_int_eq(a->pkey_specs->nelts, 2);
    spec = &APR_ARRAY_IDX(a->pkey_specs, 0, acme_pkey_spec_t);
    ck_assert_str_eq(acme_pkey_spec_name(test_pool, spec), "P-384");
    ck_assert_int_eq(a->renew_window.is_percent, 1);
    ck_assert_int_eq(a->renew_window.percent, 50);
    ck_assert_str_eq(a->renew_mode, "manual");
    ck_assert_str_eq(APR_ARRAY_IDX(a->ca_urls, 0, const char *), "https://ca.example/dir");
    b = md_at(conf, 1);
    ck_assert_str_eq(b->name, "b.test");
    ck_assert_str_eq(name_at(b, 1), "www.b.test");   /* continuation line */
    spec = &APR_ARRAY_IDX(b->pkey_specs, 0, acme_pkey_spec_t);
    ck_assert_str_eq(acme_pkey_spec_name(test_pool, spec), "rsa3072");
    ck_assert_int_eq(b->renew_window.is_percent, 0);
    ck_assert(b->renew_window.duration == apr_time_from_sec(20 * 86400));
    ck_assert_str_eq(b->renew_mode, "auto");
    ck_assert_int_eq(md_at(conf, 2)->static_files, 1);
    ck_assert_ptr_eq(acmectl_conf_md_find(conf, "WWW.b.test"), b);
    ck_assert_ptr_null(acmectl_conf_md_find(conf, "d.test"));
}
END_TEST

START_TEST(defaults_as_the_module)
{
    acmectl_conf_t *conf;
    const acmectl_md_t *md;

    put("conf/httpd.conf", "# comment\n   \nMDomain a.test\n");
    conf = read_ok("conf/httpd.conf");
    md = md_at(conf, 0);
    ck_assert_str_eq(acme_pkey_spec_name(test_pool,
                                         &APR_ARRAY_IDX(md->pkey_specs, 0, acme_pkey_spec_t)),
                     "rsa2048");
    ck_assert_int_eq(md->renew_window.percent, 33);
    ck_assert_int_eq(md->warn_window.percent, 10);
    ck_assert_str_eq(APR_ARRAY_IDX(md->ca_urls, 0, const char *), ACME_CONFIG_CA_DEFAULT);
}
END_TEST

START_TEST(defines_and_quotes)
{
    acmectl_conf_t *conf;

    setenv("ACMECTL_TEST_STATE", "/var/state", 1);
    put("conf/httpd.conf", "Define SITES sites\n"
                           "IncludeOptional \"${SITES}/*.conf\"\n"
                           "MDStoreDir '${ACMECTL_TEST_STATE}/md'\n");
    put("sites/a.conf", "MDomain a.test\n");
    conf = read_ok("conf/httpd.conf");
    ck_assert_int_eq(conf->mds->nelts, 1);
    ck_assert_str_eq(conf->store_dir, "/var/state/md");
}
END_TEST

START_TEST(bad_values_name_file_and_line)
{
    const char *err;

    put("conf/a.conf", "MDomain a.test\nMDRenewWindow soon\n");
    err = read_err("conf/a.conf");
    ck_assert_msg(strstr(err, "a.conf:2: MDRenewWindow: 'soon'"), "%s", err);
    put("conf/b.conf", "MDomain bad_name!\n");
    err = read_err("conf/b.conf");
    ck_assert_msg(strstr(err, "b.conf:1: MDomain"), "%s", err);
    put("conf/c.conf", "<MDomain c.test>\nMDMember www.c.test\n");
    err = read_err("conf/c.conf");
    ck_assert_msg(strstr(err, "c.conf:1:") && strstr(err, "not closed"), "%s", err);
    err = read_err("conf/absent.conf");
    ck_assert_msg(strstr(err, "absent.conf"), "%s", err);
}
END_TEST

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("acmectl");
    TCase *tc = tcase_create("conf");

    tcase_add_checked_fixture(tc, root_setup, root_teardown);
    tcase_add_test(tc, store_dir_default_under_server_root);
    tcase_add_test(tc, store_dir_relative_to_server_root_directive);
    tcase_add_test(tc, include_files_dirs_and_wildcards);
    tcase_add_test(tc, include_missing_is_an_error);
    tcase_add_test(tc, include_loop_stops);
    tcase_add_test(tc, mdomain_sections_and_settings);
    tcase_add_test(tc, defaults_as_the_module);
    tcase_add_test(tc, defines_and_quotes);
    tcase_add_test(tc, bad_values_name_file_and_line);
    suite_add_tcase(s, tc);
    return s;
}
