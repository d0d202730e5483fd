/* base64url: RFC 4648 §10 and RFC 7515 Appendix C vectors, strict decoding. */
#include <string.h>

#include "acme_b64.h"
#include "test_jose.h"

/* RFC 4648 §10, written without the padding base64url leaves off in JOSE. */
static const struct {
    const char *plain;
    const char *encoded;
} rfc4648[] = {
    {"", ""},         {"f", "Zg"},         {"fo", "Zm8"},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

START_TEST(b64url_rfc4648_vectors_both_ways)
{
    unsigned char *data = NULL;
    apr_size_t len = 99;
    const char *plain = rfc4648[_i].plain;

    ck_assert_str_eq(acme_b64url_encode(test_pool, plain, strlen(plain)), rfc4648[_i].encoded);
    ck_assert_int_eq(acme_b64url_decode_str(&data, &len, test_pool, rfc4648[_i].encoded),
                     APR_SUCCESS);
    ck_assert_uint_eq(len, strlen(plain));
    ck_assert_mem_eq(data, plain, len);
    ck_assert_int_eq(data[len], '\0'); /* usable as a C string */
}
END_TEST

START_TEST(b64url_rfc7515_appendix_c)
{
    static const unsigned char bytes[] = {3, 236, 255, 224, 193};
    unsigned char *data = NULL;
    apr_size_t len = 0;

    ck_assert_str_eq(acme_b64url_encode(test_pool, bytes, sizeof(bytes)), "A-z_4ME");
    ck_assert_int_eq(acme_b64url_decode_str(&data, &len, test_pool, "A-z_4ME"), APR_SUCCESS);
    ck_assert_uint_eq(len, sizeof(bytes));
    ck_assert_mem_eq(data, bytes, sizeof(bytes));
}
END_TEST

START_TEST(b64url_roundtrips_every_byte_value_and_length)
{
    unsigned char bytes[256], *data = NULL;
    apr_size_t n, len = 0;
    const char *enc;

    for (n = 0; n < sizeof(bytes); ++n) {
        bytes[n] = (unsigned char)(255 - n);
    }
    for (n = 0; n <= sizeof(bytes); ++n) {
        enc = acme_b64url_encode(test_pool, bytes, n);
        ck_assert_uint_eq(strlen(enc), (n * 4 + 2) / 3); /* no padding */
        ck_assert_ptr_null(strpbrk(enc, "+/="));
        ck_assert_int_eq(acme_b64url_decode_str(&data, &len, test_pool, enc), APR_SUCCESS);
        ck_assert_uint_eq(len, n);
        ck_assert_mem_eq(data, bytes, n);
    }
}
END_TEST

/* Each of these must be refused, and the outputs left alone. */
static const char *const b64url_bad[] = {
    "Zg==",     /* padding */
    "Zm8=",     /* padding */
    "Zm9v+g",   /* standard base64 alphabet */
    "Zm9v/g",   /* standard base64 alphabet */
    "Zm 9v",    /* blank */
    "Zm9v\n",   /* line break */
    "Z",        /* 6 bits: no byte */
    "Zm9vY",    /* 5 characters: impossible length */
    "Zm9v\xc3\xa9", /* non-ASCII */
    "Zm.v",     /* separator of the compact serialization */
};

START_TEST(b64url_decode_rejects_invalid_input)
{
    unsigned char *data = (unsigned char *)"untouched";
    apr_size_t len = 42;

    ck_assert_int_eq(acme_b64url_decode_str(&data, &len, test_pool, b64url_bad[_i]), APR_EINVAL);
    ck_assert_str_eq((const char *)data, "untouched");
    ck_assert_uint_eq(len, 42);
}
END_TEST

START_TEST(b64url_decode_rejects_embedded_nul)
{
    unsigned char *data = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(acme_b64url_decode(&data, &len, test_pool, "Zm\0v", 4), APR_EINVAL);
}
END_TEST

START_TEST(b64url_alphabet_check)
{
    ck_assert(acme_b64url_is_alphabet("aZ09-_", 6));
    ck_assert(!acme_b64url_is_alphabet("", 0));
    ck_assert(!acme_b64url_is_alphabet("a=", 2));
    ck_assert(!acme_b64url_is_alphabet("a/b", 3));
}
END_TEST

TCase *jose_b64_tcase(void)
{
    TCase *tc = tcase_create("b64url");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_loop_test(tc, b64url_rfc4648_vectors_both_ways, 0,
                        sizeof(rfc4648) / sizeof(rfc4648[0]));
    tcase_add_test(tc, b64url_rfc7515_appendix_c);
    tcase_add_test(tc, b64url_roundtrips_every_byte_value_and_length);
    tcase_add_loop_test(tc, b64url_decode_rejects_invalid_input, 0,
                        sizeof(b64url_bad) / sizeof(b64url_bad[0]));
    tcase_add_test(tc, b64url_decode_rejects_embedded_nul);
    tcase_add_test(tc, b64url_alphabet_check);
    return tc;
}
