/* Fuzz target: every value parser of acme_config_value.h, i.e. what an
 * admin (or a configuration management tool) writes into httpd.conf. The
 * input is split on '\n' into up to FUZZ_CONFIG_ARGS arguments; each goes
 * through the single-value parsers, all of them together through the
 * list parsers (MDPrivateKeys, MDCAChallenges), the first two through the
 * EAB check, and an input that starts with '{' is also read as an EAB JSON
 * file. Results are checked against the ranges the header promises, and
 * messages about EAB credentials must never quote the HMAC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_tables.h>
#include <jansson.h>

#include "acme_b64.h"
#include "acme_config_value.h"
#include "acme_pkey.h"
#include "fuzz_common.h"

#define FUZZ_CONFIG_ARGS 8
/* Shorter HMAC strings could appear in a message by chance. */
#define FUZZ_HMAC_QUOTE_MIN 16

static char fuzz_eab_path[64];

static void fuzz_eab_unlink(void)
{
    unlink(fuzz_eab_path);
}

/* True when `why` may quote `hmac`: a message must not. */
static int fuzz_quotes_hmac(const char *why, const char *hmac)
{
    size_t len = strlen(hmac);

    return why && len >= FUZZ_HMAC_QUOTE_MIN && acme_b64url_is_alphabet(hmac, len)
           && strstr(why, hmac) != NULL;
}

static void fuzz_single_values(apr_pool_t *p, const char *s)
{
    apr_interval_time_t d = -1;
    acme_config_window_t w;
    const char *why = NULL, *out = NULL;
    int n = -1, pub = -1, local = -1;

    if (acme_config_duration_parse(&d, s, ACME_CONFIG_DAY, &why) == APR_SUCCESS) {
        FUZZ_CHECK(d >= 0 && d <= ACME_CONFIG_DURATION_MAX);
    }
    if (acme_config_window_parse(&w, s, ACME_CONFIG_DAY, &why) == APR_SUCCESS) {
        FUZZ_CHECK(w.is_percent ? (w.percent >= 0 && w.percent <= 99)
                                : (w.duration >= 0 && w.duration <= ACME_CONFIG_DURATION_MAX));
    }
    if (acme_config_flag_parse(&n, s, &why) == APR_SUCCESS) {
        FUZZ_CHECK(n == 0 || n == 1);
    }
    if (acme_config_int_parse(&n, s, -5, 1000, &why) == APR_SUCCESS) {
        FUZZ_CHECK(n >= -5 && n <= 1000);
    }
    if (acme_config_portmap_parse(&pub, &local, s, &why) == APR_SUCCESS) {
        FUZZ_CHECK((pub == 80 || pub == 443) && local >= 0 && local <= 65535);
    }
    acme_config_ca_known_url(s);
    if (acme_config_ca_resolve(&out, p, s, &why) == APR_SUCCESS) {
        FUZZ_CHECK(out != NULL);
    }
    acme_config_url_check(p, s, 0, &why);
    acme_config_url_check(p, s, 1, &why);
    if (acme_config_email_parse(&out, p, s, &why) == APR_SUCCESS) {
        FUZZ_CHECK(strchr(out, '@') != NULL && strchr(out, '@') == strrchr(out, '@'));
    }
    if (acme_config_dns_name_check(s, &why) == APR_SUCCESS) {
        FUZZ_CHECK(strlen(s) <= 253);
    }
}

static void fuzz_lists(apr_pool_t *p, const char *const *argv, int argc)
{
    apr_array_header_t *arr = NULL;
    const char *why = NULL;
    int bad = -1;

    if (acme_config_keyspecs_parse(&arr, p, argc, argv, &bad, &why) == APR_SUCCESS) {
        FUZZ_CHECK(arr != NULL && arr->nelts <= argc);
    }
    else {
        FUZZ_CHECK(bad >= 0 && bad < argc);
    }
    arr = NULL;
    bad = -1;
    if (acme_config_challenges_parse(&arr, p, argc, argv, &bad, &why) == APR_SUCCESS) {
        FUZZ_CHECK(arr != NULL && arr->nelts >= 1 && arr->nelts <= argc);
    }
    else {
        FUZZ_CHECK(bad >= -1 && bad < argc);
    }
}

static void fuzz_eab_file(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const char *kid = NULL, *hmac = NULL, *why = NULL;
    json_t *json;
    FILE *f;

    if (!fuzz_eab_path[0]) {
        int fd;
        snprintf(fuzz_eab_path, sizeof(fuzz_eab_path), "/tmp/fuzz-eab-XXXXXX");
        if ((fd = mkstemp(fuzz_eab_path)) < 0) {
            fuzz_abort("mkstemp failed");
        }
        close(fd);
        atexit(fuzz_eab_unlink);
    }
    if (!(f = fopen(fuzz_eab_path, "wb")) || fwrite(data, 1, size, f) != size
        || fclose(f) != 0) {
        fuzz_abort("cannot write the EAB file");
    }
    if (acme_config_eab_file_read(&kid, &hmac, p, fuzz_eab_path, &why) == APR_SUCCESS) {
        FUZZ_CHECK(kid != NULL && hmac != NULL);
        return;
    }
    FUZZ_CHECK(why != NULL);
    json = json_loadb((const char *)data, size, 0, NULL);
    if (json_is_object(json) && json_is_string(json_object_get(json, "hmac"))) {
        FUZZ_CHECK(!fuzz_quotes_hmac(why, json_string_value(json_object_get(json, "hmac"))));
    }
    json_decref(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    char *argv[FUZZ_CONFIG_ARGS];
    const char *why = NULL;
    int i, argc;

    argc = fuzz_split(argv, FUZZ_CONFIG_ARGS, p, data, size, '\n');
    for (i = 0; i < argc; i++) {
        fuzz_single_values(p, argv[i]);
    }
    fuzz_lists(p, (const char *const *)argv, argc);
    if (acme_config_eab_check(argv[0], argv[1], &why) != APR_SUCCESS) {
        FUZZ_CHECK(why != NULL && !fuzz_quotes_hmac(why, argv[1]));
    }
    if (size > 0 && data[0] == '{') {
        fuzz_eab_file(p, data, size);
    }
    apr_pool_destroy(p);
    return 0;
}
