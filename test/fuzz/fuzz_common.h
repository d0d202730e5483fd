/* Shared pieces of the fuzz targets in test/fuzz/ (see docs/fuzzing.md).
 *
 * Each target defines LLVMFuzzerTestOneInput(). It is linked either with
 * libFuzzer (clang, --enable-fuzzing) or with replay_main.c, which feeds it
 * files, so that every build can replay the corpora and found crashes.
 * A target calls fuzz_abort() when a property it checks does not hold: a
 * crash is what both libFuzzer and the replay runner report. */
#ifndef ACME_FUZZ_COMMON_H
#define ACME_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

/* The libFuzzer entry point every target defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Initializes APR and routes the core's log messages to a sink that
 * formats them (so that format paths are exercised) and drops them, once per
 * process. Returns a fresh pool for one input; the caller destroys it. */
apr_pool_t *fuzz_pool_create(void);

/* A NUL-terminated copy of `size` bytes of `data` in `p` (NUL bytes inside
 * stay, so C string functions see a prefix). */
char *fuzz_strdup(apr_pool_t *p, const uint8_t *data, size_t size);

/* Splits `size` bytes at `data` on `sep` into at most `max` NUL-terminated
 * parts in `p`; returns how many were found (at least 1). Missing trailing
 * parts are set to "". */
int fuzz_split(char **parts, int max, apr_pool_t *p, const uint8_t *data, size_t size,
               char sep);

/* Reports a broken property with the target's name and aborts. */
void fuzz_abort(const char *what) __attribute__((noreturn));

#define FUZZ_CHECK(cond) \
    do { if (!(cond)) fuzz_abort(__FILE__ ": " #cond); } while (0)

#endif /* ACME_FUZZ_COMMON_H */
