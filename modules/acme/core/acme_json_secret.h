/* jansson for the few documents that hold a secret: an EAB file (the HMAC)
 * and md_store.json (the store key).
 *
 * jansson frees its buffers (the lexer's copy of each string, the strings
 * themselves, json_dumps()'s text) without clearing them, so the secret would
 * stay in freed memory, and every process the parent forks later (mod_cgid's
 * daemon, which runs as the User) would inherit it. Between
 * acme_json_secret_begin() and acme_json_secret_end(), jansson allocates
 * through functions that clear what they free.
 *
 * The allocator is jansson's, for the whole process: use a scope only where
 * no other thread uses jansson (the parent reading its configuration and
 * opening the store; a tool), and free within the scope everything made in
 * it (decref, acme_json_secret_free()): memory from one allocator must not
 * reach the other's free. */
#ifndef ACME_JSON_SECRET_H
#define ACME_JSON_SECRET_H

#include <jansson.h>

typedef struct {
    json_malloc_t saved_malloc;
    json_free_t saved_free;
} acme_json_secret_scope_t;

void acme_json_secret_begin(acme_json_secret_scope_t *scope);
void acme_json_secret_end(const acme_json_secret_scope_t *scope);

/* Frees (clearing it) what jansson allocated in the scope for the caller to
 * free, e.g. json_dumps()'s text. NULL is ignored. */
void acme_json_secret_free(void *ptr);

#endif /* ACME_JSON_SECRET_H */
