"""Bad configurations fail `apache2 -t` with a message that names the
directive and says what would be accepted (the admin's first feedback);
values mod_md starts with pass it with a warning that says the same."""
import pytest

# (id, configuration added to the base, directive named, phrase of the fix)
# {https}/{http} are the suite's ports, {root} the ServerRoot.
BAD_VALUES = [
    ("renew-window-unit", "MDRenewWindow 40x", "MDRenewWindow",
     "'40x' is not a duration or percentage; use e.g. 30d, 12h or 33%"),
    ("renew-window-100pct", "MDRenewWindow 101%", "MDRenewWindow", "below 100%"),
    ("warn-window-fraction", "MDWarnWindow 1.5d", "MDWarnWindow", "36h for 1.5d"),
    ("check-interval-zero", "MDCheckInterval 0", "MDCheckInterval", "minimum of 1s"),
    ("retry-delay-negative", "MDRetryDelay -5s", "MDRetryDelay", "is negative"),
    ("retry-failover-zero", "MDRetryFailover 0", "MDRetryFailover", "from 1 to 1000"),
    ("activation-delay", "MDActivationDelay 2x", "MDActivationDelay", "not a duration"),
    ("stapling-keep", "MDStaplingKeepResponse 7x", "MDStaplingKeepResponse",
     "not a duration"),
    ("portmap-scheme", "MDPortMap ftp:21", "MDPortMap", "use http:N or https:N"),
    ("portmap-range", "MDPortMap https:70000", "MDPortMap", "from 1 to 65535"),
    ("ca-unknown-name", "MDCertificateAuthority LetsEncrypt-Staging",
     "MDCertificateAuthority", "LetsEncrypt, LetsEncrypt-Test, Buypass, Buypass-Test"),
    ("ca-protocol", "MDCertificateProtocol SCEP", "MDCertificateProtocol",
     "only protocol is ACME"),
    ("rsa-too-small", "MDPrivateKeys RSA 1024", "MDPrivateKeys", "2048 to 8192 bits"),
    ("renew-mode", "MDRenewMode sometimes", "MDRenewMode", "use auto, always or manual"),
    ("drive-mode", "MDDriveMode sometimes", "MDDriveMode", "use auto, always or manual"),
    ("require-https", "MDRequireHttps always", "MDRequireHttps",
     "use off, temporary or permanent"),
    ("must-staple", "MDMustStaple yes", "MDMustStaple", "use on or off"),
    ("base-server", "MDBaseServer maybe", "MDBaseServer", "use on or off"),
    ("server-status", "MDServerStatus 1", "MDServerStatus", "use on or off"),
    ("proxy-scheme", "MDHttpProxy ftp://proxy.example:21", "MDHttpProxy",
     "not an http: or https: URL"),
    ("store-locks", "MDStoreLocks sometimes", "MDStoreLocks",
     "neither on, off nor a duration"),
    ("match-names", "MDMatchNames aliases", "MDMatchNames", "use all or servernames"),
    ("dns01-version", "MDChallengeDns01Version 3", "MDChallengeDns01Version", "use 1 or 2"),
    ("eab-file-missing", "MDExternalAccountBinding /nonexistent/eab.json",
     "MDExternalAccountBinding", "does not exist"),
    ("domain-empty", "MDomain auto", "MDomain", "needs at least one domain name"),
    ("members-names-outside", "MDMembers www.a.test", "MDMembers",
     "names only inside <MDomain"),
    ("shared-store-scheme", "MDSharedStore http://10.0.0.5:6379", "MDSharedStore",
     "not a redis:// or rediss:// URL; e.g. MDSharedStore redis://"),
    ("shared-store-port", "MDSharedStore redis://:pw@10.0.0.5:99999", "MDSharedStore",
     "port out of range"),
    ("shared-store-no-key-file", "MDSharedStore redis://10.0.0.5", "MDSharedStore",
     "needs MDSharedStoreKeyFile"),
]

# Values mod_md starts with (test_03_config_mod_md.py checks them against
# the real mod_md): `apache2 -t` passes and says what is wrong, or what is
# made of it. (id, configuration, phrase of the warning)
WARNED = [
    ("retry-delay-2d", "MDRetryDelay 2d", "ACME1164 MDRetryDelay: '2d' is more than a day"),
    ("portmap-twice", "MDPortMap http:80 http:81",
     "ACME1165 MDPortMap: 'http:81' maps public port 80 a second time"),
    ("agreement", "MDCertificateAgreement yes", "terms of service are not accepted"),
    ("challenge-type", "MDCAChallenges http-01 tls-sni-01",
     "'tls-sni-01' is not a challenge type; use tls-alpn-01, http-01 or dns-01; it is left out"),
    ("dns01-cmd-missing", "MDChallengeDns01 /nonexistent/dns-hook",
     "ACME1166 MDChallengeDns01: '/nonexistent/dns-hook' is not an executable program"),
    ("dns01-cmd-empty", "MDChallengeDns01 \"\"", "ACME1166 MDChallengeDns01: needs a program"),
    ("notify-cmd", "MDNotifyCmd /nonexistent/notify --now",
     "ACME1166 MDNotifyCmd: '/nonexistent/notify' is not an executable program"),
    ("message-cmd-empty", "MDMessageCmd \"\"", "ACME1166 MDMessageCmd: needs a program"),
    ("ca-file-missing", "MDCACertificateFile /nonexistent/roots.pem\nMDomain a.test",
     "ACME1160 managed domain 'a.test'"),
    ("proxy-ca-file-missing", "MDHttpProxyCACertificateFile missing.pem\nMDomain a.test",
     "MDHttpProxyCACertificateFile: file"),
    ("cert-check-url", "MDCertificateCheck crt.sh crt.sh?q=",
     "ACME1169 MDCertificateCheck"),
    ("store-dir-in-vhost", "<VirtualHost *:{http}>\n  ServerName a.test\n"
     "  MDStoreDir md2\n</VirtualHost>", "ACME1162 MDStoreDir"),
    ("shared-store-key-file-missing", "MDSharedStore redis://10.0.0.5\n"
     "MDSharedStoreKeyFile /nonexistent/md-shared.key",
     "ACME1173 MDSharedStore redis://10.0.0.5:6379/0 is off for this run: "
     "MDSharedStoreKeyFile: seal key file /nonexistent/md-shared.key: cannot be opened "
     "(No such file or directory): make one with (umask 077; openssl rand -base64 32 > "
     "/nonexistent/md-shared.key)"),
    ("shared-store-ca-file-plain", "MDSharedStore redis://10.0.0.5\n"
     "MDSharedStoreKeyFile /etc/hostname\nMDSharedStoreCACertificateFile /etc/hostname",
     "ACME1172 MDSharedStoreCACertificateFile is used only with rediss://"),
    ("renew-window-in-vhost", "<VirtualHost *:{http}>\n  ServerName a.test\n"
     "  MDRenewWindow 30d\n</VirtualHost>", "ACME1163 MDRenewWindow"),
]

# (MDStapling*, MDProfile and MDProfileMandatory are supported: test_52_profiles.py and
# test_53_ocsp.py check them)

WRONG_PLACE = [
    ("member-outside", "MDomain a.test\nMDMember www.a.test", "MDMember",
     "only valid inside <MDomain"),
    ("cert-file-outside", "MDCertificateFile cert.pem", "MDCertificateFile",
     "only valid inside <MDomain"),
    ("portmap-in-section", "<MDomain a.test>\n  MDPortMap http:5002\n</MDomain>",
     "MDPortMap", "not allowed inside <MDomain>"),
    ("store-dir-in-section", "<MDomain a.test>\n  MDStoreDir md2\n</MDomain>",
     "MDStoreDir", "not allowed inside <MDomain>"),
    ("shared-store-in-section", "<MDomain a.test>\n  MDSharedStore redis://10.0.0.5\n"
     "</MDomain>", "MDSharedStore", "not allowed inside <MDomain>"),
    ("section-nested", "<MDomain a.test>\n  <MDomain b.test>\n  </MDomain>\n</MDomain>",
     "<MDomain", "<MDomain> cannot be nested"),
    ("foreign-directive-in-section", "<MDomain a.test>\n  ServerAlias b.test\n</MDomain>",
     "ServerAlias", "is not allowed inside; only MD* settings"),
    ("member-in-location", "<Location /x>\n  MDMember a.test\n</Location>", "MDMember",
     "not allowed in <Location> context"),
]


def _run(httpd, conf):
    httpd.write_conf(conf.format(http=httpd.ports.http, https=httpd.ports.https,
                                 root=httpd.root))
    return httpd.config_test()


@pytest.mark.parametrize("conf,directive,phrase", [c[1:] for c in BAD_VALUES],
                         ids=[c[0] for c in BAD_VALUES])
def test_bad_value_fails_config_test(httpd, conf, directive, phrase):
    rc, out = _run(httpd, conf)
    assert rc != 0, out
    assert directive in out, out
    assert phrase in out, out


@pytest.mark.parametrize("conf,phrase", [c[1:] for c in WARNED], ids=[c[0] for c in WARNED])
def test_value_mod_md_starts_with_is_warned(httpd, conf, phrase):
    rc, out = _run(httpd, conf)
    assert rc == 0, out
    assert phrase in out, out


@pytest.mark.parametrize("conf,directive,phrase", [c[1:] for c in WRONG_PLACE],
                         ids=[c[0] for c in WRONG_PLACE])
def test_directive_in_wrong_place_fails(httpd, conf, directive, phrase):
    rc, out = _run(httpd, conf)
    assert rc != 0, out
    assert directive in out, out
    assert phrase in out, out


def test_error_points_at_the_line_inside_the_section(httpd):
    rc, out = _run(httpd, "<MDomain a.test>\n  MDMember www.a.test\n"
                          "  MDRenewWindow 40x\n</MDomain>")
    assert rc != 0
    conf_lines = open(httpd.conf_path).read().splitlines()
    line = conf_lines.index("  MDRenewWindow 40x") + 1
    assert f"line {line} of" in out, out


def test_eab_hmac_never_shown(httpd):
    # unusable values are the domains' error (mod_md starts with them): a
    # warning at -t that names the key id, never the secret
    secret = "c2hvcnRzZWNyZXQ"      # base64url, but too short
    rc, out = _run(httpd, f"MDExternalAccountBinding kid-1 {secret}\nMDomain a.test\n"
                          f"MDRenewMode always")
    assert rc == 0, out
    assert "ACME1160" in out and "kid-1" in out and "16 bytes" in out, out
    assert secret not in out, out


def test_eab_hmac_in_broken_json_file_never_shown(httpd):
    path = f"{httpd.root}/eab.json"
    with open(path, "w") as f:
        f.write('{"kid": "kid-1", "hmac": SECRETVALUE}')
    rc, out = _run(httpd, f"MDExternalAccountBinding {path}")
    assert rc != 0
    assert "MDExternalAccountBinding" in out and "not valid JSON" in out, out
    assert "SECRETVALUE" not in out, out


def test_store_dir_that_is_a_file_fails(httpd):
    path = f"{httpd.root}/not-a-dir"
    open(path, "w").close()
    rc, out = _run(httpd, f"MDStoreDir {path}\nMDomain a.test")
    assert rc != 0
    assert "MDStoreDir" in out and "is not a directory" in out, out
