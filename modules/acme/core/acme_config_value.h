/* Parsers for the values of mod_acme's directives (see docs/directives.md).
 *
 * Pure functions, no httpd header: the module, the admin tool and the unit
 * tests share them. Every parser returns APR_SUCCESS, APR_EINVAL when the text
 * is not of the expected shape, or ACME_CONFIG_ERANGE when it is but the value
 * is out of range. On error, `*pwhy` (when pwhy is not NULL) is set to a static
 * phrase that completes "<Directive>: '<value>' ...", e.g. "is not a duration
 * or percentage; use e.g. 30d, 12h or 33%". The phrase never repeats the value
 * itself, so callers can omit secret values from their messages.
 *
 * Output parameters are only written on success. */
#ifndef ACME_CONFIG_VALUE_H
#define ACME_CONFIG_VALUE_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "acme_pkey.h"

/* A value of the right shape, out of the accepted range. */
#define ACME_CONFIG_ERANGE (APR_OS_START_USERERR + 1100)

/* Longest duration accepted anywhere (100 years): keeps `now + duration`
 * far from overflowing apr_time_t in every later computation. */
#define ACME_CONFIG_DURATION_MAX (apr_time_from_sec(100LL * 365 * 86400))

#define ACME_CONFIG_DAY (apr_time_from_sec(86400))
#define ACME_CONFIG_SECOND (apr_time_from_sec(1))

/* Directory URLs of the CAs known by name (MDCertificateAuthority). */
#define ACME_CONFIG_CA_LE "https://acme-v02.api.letsencrypt.org/directory"
#define ACME_CONFIG_CA_LE_TEST "https://acme-staging-v02.api.letsencrypt.org/directory"
#define ACME_CONFIG_CA_BUYPASS "https://api.buypass.com/acme/directory"
#define ACME_CONFIG_CA_BUYPASS_TEST "https://api.test4.buypass.no/acme/directory"
#define ACME_CONFIG_CA_DEFAULT ACME_CONFIG_CA_LE

/* How much of a certificate's (or OCSP response's) lifetime is left when
 * something shall happen: either a percentage of the lifetime or a fixed
 * duration before the end. */
typedef struct {
    int is_percent;                 /* 1: `percent` applies, 0: `duration` */
    int percent;                    /* 0..99 */
    apr_interval_time_t duration;   /* 0..ACME_CONFIG_DURATION_MAX */
} acme_config_window_t;

/* A duration: a whole number followed by a unit, one of d, h, mi, s, ms
 * (case-insensitive), e.g. "30d", "500ms". A bare number is counted in
 * `bare_unit` (e.g. ACME_CONFIG_DAY, as mod_md does for windows). Rejects
 * empty text, signs, fractions ("1.5d": use "36h"), white space, unknown units
 * and values over ACME_CONFIG_DURATION_MAX (ACME_CONFIG_ERANGE). "0" is 0. */
apr_status_t acme_config_duration_parse(apr_interval_time_t *pduration, const char *s,
                                        apr_interval_time_t bare_unit, const char **pwhy);

/* A window: a duration as above, or "N%" with a whole N from 0 to 99 ("100%"
 * and more: ACME_CONFIG_ERANGE, since renewing always is not a window). */
apr_status_t acme_config_window_parse(acme_config_window_t *pwindow, const char *s,
                                      apr_interval_time_t bare_unit, const char **pwhy);

/* "on" or "off", case-insensitive: *pon becomes 1 or 0. */
apr_status_t acme_config_flag_parse(int *pon, const char *s, const char **pwhy);

/* A whole decimal number from min to max. */
apr_status_t acme_config_int_parse(int *pn, const char *s, int min, int max,
                                   const char **pwhy);

/* One MDPortMap argument: "http:N" or "https:N" (also "80:N", "443:N"); N is
 * a port 1..65535 or "-" for "not reachable" (*plocal = 0). *ppublic becomes
 * 80 or 443. */
apr_status_t acme_config_portmap_parse(int *ppublic, int *plocal, const char *s,
                                       const char **pwhy);

/* The directory URL of a CA known by name (LetsEncrypt, LetsEncrypt-Test,
 * Buypass, Buypass-Test; case-insensitive), or NULL. */
const char *acme_config_ca_known_url(const char *name);

/* A known CA name or an absolute http(s) URL: *purl is the directory URL
 * (a static string or `s` itself). */
apr_status_t acme_config_ca_resolve(const char **purl, apr_pool_t *p, const char *s,
                                    const char **pwhy);

/* An absolute URL with scheme http or https (only https when `https_only`),
 * a host, and no white space or control characters. */
apr_status_t acme_config_url_check(apr_pool_t *p, const char *s, int https_only,
                                   const char **pwhy);

/* A contact email, optionally prefixed "mailto:": one '@', a non-empty local
 * part of atext characters and dots, a domain that is a DNS name with at least
 * two labels. *pemail is the address without "mailto:" (allocated from p). */
apr_status_t acme_config_email_parse(const char **pemail, apr_pool_t *p, const char *s,
                                     const char **pwhy);

/* A DNS name for a certificate: LDH labels of 1..63 characters, no label
 * starting or ending with '-', at most 253 characters, ASCII only (IDNs in
 * their xn-- form), optionally starting with the wildcard label "*.".
 * Case-insensitive; callers store names lowercased. */
apr_status_t acme_config_dns_name_check(const char *s, const char **pwhy);

/* A name of MDomain/MDMember: a DNS name as above or an IP address (RFC
 * 8738): IPv4 dotted, IPv6 bare or in brackets ("::1", "[::1]"). Rejected
 * with *pwhy: an IPv6 address with a zone ("fe80::1%eth0"), a wildcard on
 * an address ("*.0.0.1"), anything else acme_config_dns_name_check rejects.
 * *pname is the one spelling used everywhere after: lowercase, IPv6 as RFC
 * 5952 text without brackets; allocated from p, set only on success. */
apr_status_t acme_config_identifier_parse(const char **pname, apr_pool_t *p, const char *s,
                                          const char **pwhy);

/* MDPrivateKeys arguments: "Default" alone, or a list of "RSA [bits]",
 * "rsaNNNN", "secp256r1"/"P-256", "secp384r1"/"P-384" (case-insensitive;
 * each word as acme_pkey_spec_parse() reads it), RSA bits from 2048 to 8192,
 * at most one key per type (one RSA, one per curve). *pspecs is an array of
 * acme_pkey_spec_t in the order given. On error, *pbad is the index of the
 * offending argument. */
apr_status_t acme_config_keyspecs_parse(apr_array_header_t **pspecs, apr_pool_t *p,
                                        int argc, const char *const *argv,
                                        int *pbad, const char **pwhy);

/* MDCAChallenges arguments: "tls-alpn-01", "http-01", "dns-01"
 * (case-insensitive), each at most once, in order of preference (dns-01
 * needs MDChallengeDns01: the glue checks that). *ptypes holds the lowercase
 * names; on error, *pbad is the index of the offending argument. */
apr_status_t acme_config_challenges_parse(apr_array_header_t **ptypes, apr_pool_t *p,
                                          int argc, const char *const *argv,
                                          int *pbad, const char **pwhy);

/* External account binding credentials: a key id of 1..256 printable ASCII
 * characters without spaces, and an HMAC key in base64url (padding allowed)
 * of at least 16 bytes. The phrase in *pwhy says which part is wrong, never
 * what it holds. */
apr_status_t acme_config_eab_check(const char *kid, const char *hmac, const char **pwhy);

/* Reads the JSON file `path` holding {"kid": "...", "hmac": "..."} and checks
 * both as acme_config_eab_check() does. Strings are allocated from p. On error
 * *pwhy is allocated from p and says what is wrong with the file (never the
 * HMAC). */
apr_status_t acme_config_eab_file_read(const char **pkid, const char **phmac, apr_pool_t *p,
                                       const char *path, const char **pwhy);

#endif /* ACME_CONFIG_VALUE_H */
