/* The directive table of mod_acme (names and argument shapes of mod_md).
 * Where each directive may appear is checked by its handler (scope G, A or M,
 * see docs/directives.md); all are RSRC_CONF. */
#include <httpd.h>
#include <http_config.h>

#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

#define PROPS_OFFSET(field) ((void *)APR_OFFSETOF(acme_config_props_t, field))
#define GLOBAL_OFFSET(field) ((void *)APR_OFFSETOF(acme_config_global_t, field))

const command_rec acme_config_cmds[] = {
    /* declaring domains */
    AP_INIT_TAKE_ARGV("ManagedDomain", acme_cmd_mdomain, NULL, RSRC_CONF,
                      "A managed domain: its names (the first names it), optionally "
                      "auto or manual"),
    AP_INIT_TAKE_ARGV("MDomain", acme_cmd_mdomain, NULL, RSRC_CONF,
                      "A managed domain (short for ManagedDomain)"),
    AP_INIT_RAW_ARGS("<MDomain", acme_cmd_section, NULL, RSRC_CONF,
                     "Section with the settings of one managed domain"),
    AP_INIT_RAW_ARGS("<MDomainSet", acme_cmd_section, NULL, RSRC_CONF,
                     "Section with the settings of one managed domain (as <MDomain>)"),
    AP_INIT_RAW_ARGS("<ManagedDomain", acme_cmd_section, NULL, RSRC_CONF,
                     "Section with the settings of one managed domain (as <MDomain>)"),
    AP_INIT_TAKE_ARGV("MDMember", acme_cmd_member, NULL, RSRC_CONF,
                      "Adds name(s) to the domain of the enclosing <MDomain>"),
    AP_INIT_TAKE_ARGV("MDMembers", acme_cmd_members, NULL, RSRC_CONF,
                      "auto: add the names of matching vhosts to the domain; manual: don't"),
    AP_INIT_TAKE1("MDCertificateFile", acme_cmd_cert_file, NULL, RSRC_CONF,
                  "A static certificate (chain) file for the domain, instead of ACME"),
    AP_INIT_TAKE1("MDCertificateKeyFile", acme_cmd_key_file, NULL, RSRC_CONF,
                  "The private key file of the preceding MDCertificateFile"),

    /* CA, account, certificate (A) */
    AP_INIT_TAKE_ARGV("MDCertificateAuthority", acme_cmd_ca, NULL, RSRC_CONF,
                      "CA directory URL(s) or known name(s), in failover order"),
    AP_INIT_TAKE1("MDCertificateAgreement", acme_cmd_agreement, NULL, RSRC_CONF,
                  "'accepted': you accept the terms of service of the CA"),
    AP_INIT_TAKE_ARGV("MDCAChallenges", acme_cmd_challenges, NULL, RSRC_CONF,
                      "Challenge types to use, in order of preference"),
    AP_INIT_TAKE1("MDCertificateProtocol", acme_cmd_protocol, NULL, RSRC_CONF,
                  "The protocol to obtain certificates with: ACME"),
    AP_INIT_TAKE1("MDContactEmail", acme_cmd_contact, NULL, RSRC_CONF,
                  "Email address of the account at the CA (default: ServerAdmin)"),
    AP_INIT_TAKE_ARGV("MDPrivateKeys", acme_cmd_pkeys, NULL, RSRC_CONF,
                      "Key types: RSA [bits], rsaNNNN, secp256r1 (P-256), secp384r1 (P-384)"),
    AP_INIT_TAKE12("MDExternalAccountBinding", acme_cmd_eab, NULL, RSRC_CONF,
                   "kid hmac, a JSON file with both, or none"),
    AP_INIT_TAKE1("MDHttpProxy", acme_cmd_proxy, NULL, RSRC_CONF,
                  "URL of a proxy for outgoing requests"),
    AP_INIT_TAKE1("MDHttpProxyCACertificateFile", acme_cmd_proxy_ca_file, NULL, RSRC_CONF,
                  "Trusted roots (PEM) for the proxy"),
    AP_INIT_TAKE1("MDCACertificateFile", acme_cmd_ca_file, NULL, RSRC_CONF,
                  "Trusted roots (PEM) for the CA, or none for the system's"),
    AP_INIT_TAKE1("MDMustStaple", acme_cmd_flag, PROPS_OFFSET(must_staple), RSRC_CONF,
                  "on: request the OCSP must-staple extension"),

    /* renewal, serving, OCSP (A) */
    AP_INIT_TAKE1("MDRenewMode", acme_cmd_renew_mode, NULL, RSRC_CONF,
                  "auto, always or manual: which domains are renewed"),
    AP_INIT_TAKE1("MDDriveMode", acme_cmd_renew_mode, NULL, RSRC_CONF,
                  "Old name of MDRenewMode"),
    AP_INIT_TAKE1("MDRenewWindow", acme_cmd_window, PROPS_OFFSET(renew_window), RSRC_CONF,
                  "Renew when this much lifetime is left (duration or percent)"),
    AP_INIT_TAKE1("MDWarnWindow", acme_cmd_window, PROPS_OFFSET(warn_window), RSRC_CONF,
                  "Warn when this much lifetime is left (duration or percent)"),
    AP_INIT_TAKE1("MDRenewViaARI", acme_cmd_flag, PROPS_OFFSET(renew_via_ari), RSRC_CONF,
                  "on: follow the CA's renewal information (ARI)"),
    AP_INIT_TAKE1("MDRequireHttps", acme_cmd_require_https, NULL, RSRC_CONF | OR_AUTHCFG,
                  "off, temporary or permanent: redirect http: to https:"),
    AP_INIT_TAKE1("MDServerStatus", acme_cmd_flag, PROPS_OFFSET(server_status), RSRC_CONF,
                  "on: show managed domains in server-status"),
    AP_INIT_TAKE1("MDCertificateStatus", acme_cmd_flag, PROPS_OFFSET(certificate_status),
                  RSRC_CONF, "on: serve /.httpd/certificate-status"),
    AP_INIT_TAKE2("MDCertificateCheck", acme_cmd_cert_check, NULL, RSRC_CONF,
                  "Name and URL prefix of a certificate search site"),
    AP_INIT_TAKE1("MDStapling", acme_cmd_flag, PROPS_OFFSET(stapling), RSRC_CONF,
                  "on: OCSP stapling by mod_acme"),
    AP_INIT_TAKE1("MDStapleOthers", acme_cmd_flag, PROPS_OFFSET(staple_others), RSRC_CONF,
                  "on (default): with MDStapling on, also staple certificates of vhosts "
                  "without a managed domain"),
    AP_INIT_TAKE1("MDStaplingKeepResponse", acme_cmd_stapling_keep, NULL, RSRC_CONF,
                  "Drop stored OCSP responses older than this"),
    AP_INIT_TAKE1("MDStaplingRenewWindow", acme_cmd_window,
                  PROPS_OFFSET(stapling_renew_window), RSRC_CONF,
                  "Refresh OCSP responses when this much of their lifetime is left"),
    AP_INIT_TAKE1("MDProfile", acme_cmd_profile, NULL, RSRC_CONF,
                  "ACME profile to order (draft-ietf-acme-profiles)"),
    AP_INIT_TAKE1("MDProfileMandatory", acme_cmd_flag, PROPS_OFFSET(profile_mandatory),
                  RSRC_CONF, "on: fail the renewal when the CA does not offer MDProfile"),
    AP_INIT_TAKE_ARGV("MDChallengeDns01", acme_cmd_dns01, NULL, RSRC_CONF,
                      "Program (and arguments) that sets up and tears down dns-01 TXT"
                      " records: prog setup <domain> <value> / prog teardown <domain>"),

    /* the whole server (G) */
    AP_INIT_TAKE12("MDPortMap", acme_cmd_port_map, NULL, RSRC_CONF,
                   "Local ports reached as public ports 80/443: http:N https:M (- for none)"),
    AP_INIT_TAKE1("MDBaseServer", acme_cmd_base_server, NULL, RSRC_CONF,
                  "on: manage the names of the main server too"),
    AP_INIT_TAKE1("MDStoreDir", acme_cmd_store_dir, NULL, RSRC_CONF,
                  "Directory of the store (default: md under ServerRoot)"),
    AP_INIT_TAKE_ARGV("MDNotifyCmd", acme_cmd_hook_cmd, GLOBAL_OFFSET(notify_argv), RSRC_CONF,
                      "Program (and arguments) run after a renewal"),
    AP_INIT_TAKE_ARGV("MDMessageCmd", acme_cmd_hook_cmd, GLOBAL_OFFSET(message_argv),
                      RSRC_CONF, "Program (and arguments) run on events"),
    AP_INIT_TAKE1("MDChallengeDns01Version", acme_cmd_dns01_version, NULL, RSRC_CONF,
                  "1 or 2: arguments of the dns-01 command"),
    AP_INIT_TAKE1("MDActivationDelay", acme_cmd_activation_delay, NULL, RSRC_CONF,
                  "Wait this long after notBefore before activating a certificate"),
    AP_INIT_TAKE1("MDActivation", acme_cmd_activation, NULL, RSRC_CONF,
                  "manual or graceful: who restarts httpd to activate new certificates"),
    AP_INIT_TAKE1("MDActivationInterval", acme_cmd_activation_interval, NULL, RSRC_CONF,
                  "At most one self-initiated restart per this duration (MDActivation "
                  "graceful)"),
    AP_INIT_TAKE1("MDRetryDelay", acme_cmd_retry_delay, NULL, RSRC_CONF,
                  "First retry delay after an error (doubles up to a day)"),
    AP_INIT_TAKE1("MDRetryFailover", acme_cmd_retry_failover, NULL, RSRC_CONF,
                  "Errors before switching to the next CA"),
    AP_INIT_TAKE1("MDStoreLocks", acme_cmd_store_locks, NULL, RSRC_CONF,
                  "on, off or a duration: lock the store while syncing"),
    AP_INIT_TAKE1("MDMatchNames", acme_cmd_match_names, NULL, RSRC_CONF,
                  "all or servernames: how vhosts are matched to domains"),
    AP_INIT_TAKE1("MDCheckInterval", acme_cmd_check_interval, NULL, RSRC_CONF,
                  "How often to check for due renewals"),
    AP_INIT_TAKE1("MDSharedStore", acme_cmd_shared_store, NULL, RSRC_CONF,
                  "redis://[user:password@]host[:port][/db] (rediss:// for TLS): the store "
                  "servers of a cluster share, or off"),
    AP_INIT_TAKE1("MDSharedStoreCACertificateFile", acme_cmd_shared_store_ca_file, NULL,
                  RSRC_CONF, "PEM file of the CAs that sign the rediss:// server's certificate"),
    AP_INIT_TAKE1("MDSharedStoreKeyFile", acme_cmd_shared_store_key_file, NULL, RSRC_CONF,
                  "Root-only file with the key (32 bytes, base64) that seals private keys "
                  "in the shared store"),
    AP_INIT_TAKE1("MDInitialDelay", acme_cmd_initial_delay, NULL, RSRC_CONF,
                  "Delay of the first check after start"),
    { NULL }
};
