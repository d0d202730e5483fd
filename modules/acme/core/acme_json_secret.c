/* jansson allocating through functions that clear what they free
 * (acme_json_secret.h). */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "acme_json_secret.h"

/* Each block starts with its size, aligned as malloc aligns. */
typedef union {
    size_t size;
    long double align_float;
    long long align_int;
    void *align_ptr;
} wiping_header_t;

static void *wiping_malloc(size_t n)
{
    wiping_header_t *h;

    if (n > (size_t)-1 - sizeof(*h) || (h = malloc(sizeof(*h) + n)) == NULL) {
        return NULL;
    }
    h->size = n;
    return h + 1;
}

void acme_json_secret_free(void *ptr)
{
    wiping_header_t *h;

    if (ptr == NULL) {
        return;
    }
    h = (wiping_header_t *)ptr - 1;
    OPENSSL_cleanse(ptr, h->size);
    free(h);
}

void acme_json_secret_begin(acme_json_secret_scope_t *scope)
{
    json_get_alloc_funcs(&scope->saved_malloc, &scope->saved_free);
    json_set_alloc_funcs(wiping_malloc, acme_json_secret_free);
}

void acme_json_secret_end(const acme_json_secret_scope_t *scope)
{
    json_set_alloc_funcs(scope->saved_malloc, scope->saved_free);
}
