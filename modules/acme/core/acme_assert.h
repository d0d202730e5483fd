/* Invariant checks that are never compiled out.
 *
 * Use ACME_ASSERT only for programming errors (a broken invariant of our own
 * code). Input from the CA, the network, the store or the configuration is
 * validated and answered with an error, never asserted. */
#ifndef ACME_ASSERT_H
#define ACME_ASSERT_H

void acme_assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn));

#define ACME_ASSERT(expr) \
    ((expr) ? (void)0 : acme_assert_fail(#expr, __FILE__, __LINE__))

#endif /* ACME_ASSERT_H */
