/* Lists in directive values: key types (MDPrivateKeys, each word read by
 * acme_pkey) and challenge types (MDCAChallenges). */
#include <apr_lib.h>
#include <apr_strings.h>
#include <strings.h>

#include "acme_assert.h"
#include "acme_config_value.h"
#include "acme_pkey.h"

#define WHY(text) do { if (pwhy) { *pwhy = (text); } } while (0)

static int all_digits(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; ++s) {
        if (!apr_isdigit(*s)) {
            return 0;
        }
    }
    return 1;
}

static int array_has(const apr_array_header_t *a, const char *s)
{
    int i;

    for (i = 0; i < a->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(a, i, const char *), s)) {
            return 1;
        }
    }
    return 0;
}

/* Parses the key type starting at argv[*pi] (the words are acme_pkey's);
 * advances *pi past an RSA bit count argument. */
static apr_status_t keyspec_one(acme_pkey_spec_t *pspec, apr_pool_t *p, int argc,
                                const char *const *argv, int *pi, const char **pwhy)
{
    const char *a = argv[*pi];
    int rsa_sized = !strncasecmp(a, "rsa", 3) && all_digits(a + 3);
    acme_pkey_spec_t spec;

    if (acme_pkey_spec_parse(&spec, p, a, NULL) != APR_SUCCESS) {
        if (rsa_sized) {
            WHY("asks for an RSA key size outside 2048 to 8192 bits");
            return ACME_CONFIG_ERANGE;
        }
        WHY("is not a key type; use RSA [bits], rsa3072, secp256r1 (P-256) or "
            "secp384r1 (P-384)");
        return APR_EINVAL;
    }
    if (!strcasecmp(a, "RSA") && *pi + 1 < argc && all_digits(argv[*pi + 1])) {
        ++*pi;
        if (acme_pkey_spec_set_rsa_bits(&spec, p, argv[*pi], NULL) != APR_SUCCESS) {
            WHY("asks for an RSA key size outside 2048 to 8192 bits");
            return ACME_CONFIG_ERANGE;
        }
    }
    *pspec = spec;
    return APR_SUCCESS;
}

/* One RSA key and one per curve: a second RSA size is a second RSA key. */
static int keyspec_taken(const apr_array_header_t *specs, const acme_pkey_spec_t *spec)
{
    int i;

    for (i = 0; i < specs->nelts; ++i) {
        const acme_pkey_spec_t *other = &APR_ARRAY_IDX(specs, i, acme_pkey_spec_t);
        if (other->type == spec->type
            && (spec->type == ACME_PKEY_RSA || other->curve == spec->curve)) {
            return 1;
        }
    }
    return 0;
}

apr_status_t acme_config_keyspecs_parse(apr_array_header_t **pspecs, apr_pool_t *p,
                                        int argc, const char *const *argv,
                                        int *pbad, const char **pwhy)
{
    apr_array_header_t *specs = apr_array_make(p, argc > 0 ? argc : 1,
                                               sizeof(acme_pkey_spec_t));
    acme_pkey_spec_t spec;
    apr_status_t rv;
    int i;

    if (argc <= 0) {
        *pbad = 0;
        WHY("is missing; name at least one key type, e.g. RSA or secp256r1");
        return APR_EINVAL;
    }
    for (i = 0; i < argc; ++i) {
        if (!strcasecmp(argv[i], "Default")) {
            if (argc > 1) {
                *pbad = i;
                WHY("cannot be combined with other key types");
                return APR_EINVAL;
            }
            rv = acme_pkey_spec_parse(&spec, p, "RSA", NULL);
            ACME_ASSERT(rv == APR_SUCCESS);
        }
        else if ((rv = keyspec_one(&spec, p, argc, argv, &i, pwhy)) != APR_SUCCESS) {
            *pbad = i;
            return rv;
        }
        if (keyspec_taken(specs, &spec)) {
            *pbad = i;
            WHY("names a key type a second time; there is one certificate per type");
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(specs, acme_pkey_spec_t) = spec;
    }
    *pspecs = specs;
    return APR_SUCCESS;
}

apr_status_t acme_config_challenges_parse(apr_array_header_t **ptypes, apr_pool_t *p,
                                          int argc, const char *const *argv,
                                          int *pbad, const char **pwhy)
{
    static const char *const known[] = { "tls-alpn-01", "http-01", "dns-01", NULL };
    apr_array_header_t *types = apr_array_make(p, argc > 0 ? argc : 1, sizeof(const char *));
    int i, k;

    for (i = 0; i < argc; ++i) {
        *pbad = i;
        for (k = 0; known[k] && strcasecmp(argv[i], known[k]); ++k) {
        }
        if (!known[k]) {
            WHY("is not a challenge type; use tls-alpn-01, http-01 or dns-01");
            return APR_EINVAL;
        }
        if (array_has(types, known[k])) {
            WHY("is listed twice");
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(types, const char *) = known[k];
    }
    if (argc <= 0) {
        *pbad = 0;
        WHY("is missing; name at least one challenge type, e.g. http-01");
        return APR_EINVAL;
    }
    *ptypes = types;
    return APR_SUCCESS;
}
