/* Bounded nonce pool: a ring of fixed-size slots, newest taken first since
 * the newest nonce is the least likely to have expired at the CA. */
#include <string.h>

#include <apr_strings.h>

#include "acme_nonce.h"

struct acme_nonce_pool_t {
    char slots[ACME_NONCE_POOL_SIZE][ACME_NONCE_MAX_LEN + 1];
    int count; /* valid slots: the `count` ones before `next` (wrapping) */
    int next;  /* slot written by the next put */
};

acme_nonce_pool_t *acme_nonce_pool_create(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(acme_nonce_pool_t));
}

static int is_b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '-' || c == '_';
}

int acme_nonce_is_valid(const char *value)
{
    apr_size_t i;

    if (!value || !*value) {
        return 0;
    }
    for (i = 0; value[i]; ++i) {
        if (i >= ACME_NONCE_MAX_LEN || !is_b64url_char(value[i])) {
            return 0;
        }
    }
    return 1;
}

int acme_nonce_pool_put(acme_nonce_pool_t *np, const char *value)
{
    if (!acme_nonce_is_valid(value)) {
        return 0;
    }
    memcpy(np->slots[np->next], value, strlen(value) + 1);
    np->next = (np->next + 1) % ACME_NONCE_POOL_SIZE;
    if (np->count < ACME_NONCE_POOL_SIZE) {
        ++np->count;
    }
    return 1;
}

const char *acme_nonce_pool_take(acme_nonce_pool_t *np, apr_pool_t *p)
{
    int slot;
    const char *nonce;

    if (np->count == 0) {
        return NULL;
    }
    slot = (np->next + ACME_NONCE_POOL_SIZE - 1) % ACME_NONCE_POOL_SIZE;
    nonce = apr_pstrdup(p, np->slots[slot]);
    memset(np->slots[slot], 0, sizeof(np->slots[slot]));
    np->next = slot;
    --np->count;
    return nonce;
}

int acme_nonce_pool_count(const acme_nonce_pool_t *np)
{
    return np->count;
}

void acme_nonce_pool_clear(acme_nonce_pool_t *np)
{
    memset(np, 0, sizeof(*np));
}
