/* The check_client program: suite assembly and the fake-CA fixtures. */
#include <stdarg.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_json.h"
#include "check_main.h"
#include "test_client.h"

const char *client_test_directory(int eab)
{
    return apr_psprintf(test_pool,
        "{\"newNonce\": \"" NONCE_URL "\", \"newAccount\": \"" NEWACCT_URL "\","
        " \"newOrder\": \"" NEWORDER_URL "\", \"revokeCert\": \"" REVOKE_URL "\","
        " \"keyChange\": \"" KEYCHANGE_URL "\","
        " \"meta\": {\"termsOfService\": \"" CA "/tos\", \"externalAccountRequired\": %s,"
        " \"profiles\": {\"classic\": \"90 days\", \"shortlived\": \"6 days\"}}}",
        eab ? "true" : "false");
}

client_fixture_t *client_test_fixture(const char *dir_json, int account)
{
    client_fixture_t *fx = apr_pcalloc(test_pool, sizeof(*fx));
    acme_http_script_step_t *step;
    acme_pkey_spec_t spec = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };

    fx->script = acme_http_script_create(&fx->transport, test_pool);
    fx->r = acme_result_create(test_pool);
    ck_assert_int_eq(acme_client_create(&fx->client, test_pool, fx->transport, DIR_URL,
                                        fx->r), APR_SUCCESS);
    ck_assert_int_eq(acme_pkey_generate(&fx->key, test_pool, &spec, NULL), APR_SUCCESS);
    acme_client_set_account(fx->client, fx->key, account ? ACCT_URL : NULL);
    acme_http_script_add(fx->script, ACME_HTTP_GET, DIR_URL, 200, ACME_MEDIA_JSON,
                         dir_json ? dir_json : client_test_directory(0));
    step = acme_http_script_add(fx->script, ACME_HTTP_HEAD, NONCE_URL, 200, NULL, NULL);
    acme_http_script_step_header(step, "Replay-Nonce", "nonce-0");
    return fx;
}

acme_http_script_step_t *client_test_post(client_fixture_t *fx, const char *url, int status,
                                          const char *body)
{
    static int n;
    acme_http_script_step_t *step;

    step = acme_http_script_add(fx->script, ACME_HTTP_POST, url, status,
                                status >= 400 ? ACME_MEDIA_PROBLEM : ACME_MEDIA_JSON, body);
    acme_http_script_step_header(step, "Replay-Nonce", apr_psprintf(test_pool, "nonce-%d", ++n));
    return step;
}

void client_test_script_done(client_fixture_t *fx)
{
    ck_assert_msg(acme_http_script_error(fx->script) == NULL, "%s",
                  acme_http_script_error(fx->script));
    ck_assert_int_eq(acme_http_script_pending(fx->script), 0);
}

json_t *client_test_decode_part(const json_t *jws, const char *part)
{
    const char *b64 = json_string_value(json_object_get(jws, part));
    unsigned char *data;
    apr_size_t len;
    json_t *json;

    ck_assert_ptr_nonnull(b64);
    ck_assert_int_eq(acme_b64url_decode_str(&data, &len, test_pool, b64), APR_SUCCESS);
    if (len == 0) {
        return NULL;
    }
    ck_assert_int_eq(acme_json_parse(&json, test_pool, (const char *)data, len,
                                     ACME_JSON_OBJECT, NULL), APR_SUCCESS);
    return json;
}

static json_t *request_jws(client_fixture_t *fx, int i)
{
    const acme_http_request_t *req = acme_http_script_request(fx->script, i);
    json_t *jws;

    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(req->method, ACME_HTTP_POST);
    ck_assert_str_eq(req->content_type, ACME_MEDIA_JOSE);
    ck_assert_int_eq(acme_json_parse(&jws, test_pool, req->body, req->body_len,
                                     ACME_JSON_OBJECT, NULL), APR_SUCCESS);
    return jws;
}

json_t *client_test_jws_protected(client_fixture_t *fx, int i)
{
    return client_test_decode_part(request_jws(fx, i), "protected");
}

json_t *client_test_jws_payload(client_fixture_t *fx, int i)
{
    return client_test_decode_part(request_jws(fx, i), "payload");
}

const char *client_test_read(apr_size_t *plen, const char *file)
{
    const char *path = apr_pstrcat(test_pool, ACME_TEST_DATA, "/client/", file, NULL);
    apr_file_t *fd;
    apr_finfo_t info;
    char *buf;

    ck_assert_int_eq(apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                                   APR_OS_DEFAULT, test_pool), APR_SUCCESS);
    ck_assert_int_eq(apr_file_info_get(&info, APR_FINFO_SIZE, fd), APR_SUCCESS);
    buf = apr_palloc(test_pool, (apr_size_t)info.size + 1);
    ck_assert_int_eq(apr_file_read_full(fd, buf, (apr_size_t)info.size, NULL), APR_SUCCESS);
    apr_file_close(fd);
    buf[info.size] = '\0';
    if (plen) {
        *plen = (apr_size_t)info.size;
    }
    return buf;
}

apr_array_header_t *client_test_strings(const char *first, ...)
{
    apr_array_header_t *arr = apr_array_make(test_pool, 4, sizeof(const char *));
    const char *s;
    va_list ap;

    va_start(ap, first);
    for (s = first; s != NULL; s = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(arr, const char *) = s;
    }
    va_end(ap);
    return arr;
}

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("client");

    suite_add_tcase(s, test_client_directory_tcase());
    suite_add_tcase(s, test_client_nonce_tcase());
    suite_add_tcase(s, test_client_account_tcase());
    suite_add_tcase(s, test_client_order_tcase());
    suite_add_tcase(s, test_client_poll_tcase());
    suite_add_tcase(s, test_client_cert_tcase());
    return s;
}
