"""mod_md next to mod_acme, and configurations judged the way the real mod_md
(Debian's mod_md.so) judges them."""
import re
import time

import pytest


def _load_line_no(httpd, module):
    lines = open(httpd.conf_path).read().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if line.startswith(f"LoadModule {module} "))


@pytest.mark.parametrize("md_first", [True, False], ids=["md-first", "acme-first"])
def test_both_modules_loaded_fails_naming_both_lines(httpd, md_first):
    httpd.extra_modules = ["md"]
    httpd.write_conf("MDomain a.test\n")
    if not md_first:        # mod_md's line after ours
        conf = open(httpd.conf_path).read().splitlines()
        md_line = next(l for l in conf if l.startswith("LoadModule md_module "))
        conf.remove(md_line)
        at = next(i for i, l in enumerate(conf) if l.startswith("LoadModule acme_module "))
        conf.insert(at + 1, md_line)
        open(httpd.conf_path, "w").write("\n".join(conf) + "\n")
    rc, out = httpd.config_test()
    assert rc != 0, out
    assert "ACME1150 mod_md and mod_acme are both loaded" in out, out
    md_no, acme_no = _load_line_no(httpd, "md_module"), _load_line_no(httpd, "acme_module")
    assert re.search(r"'LoadModule md_module \S+/mod_md\.so' \(" + re.escape(httpd.conf_path)
                     + f":{md_no}\\)", out), out
    assert re.search(r"'LoadModule acme_module \S+' \(" + re.escape(httpd.conf_path)
                     + f":{acme_no}\\)", out), out
    assert "remove the md_module line to use mod_acme" in out, out


def test_both_modules_loaded_fails_even_without_md_directives(httpd):
    httpd.extra_modules = ["md"]
    httpd.port_map = False
    httpd.write_conf("")
    rc, out = httpd.config_test()
    assert rc != 0 and "ACME1150" in out, out


def test_mod_md_alone_is_not_refused(httpd):
    # the check is about both: mod_md alone (our module not loaded) starts
    httpd.load_acme = False
    httpd.extra_modules = ["md"]
    httpd.write_conf("MDomain a.test\n")
    rc, out = httpd.config_test()
    assert rc == 0, out



# ---------------------------------------------------------------------------
# A corpus of configurations from mod_md's documentation and test suite (and
# the cases users reported), each run through the real mod_md (Debian's
# mod_md.so) and through mod_acme: what mod_md starts with, mod_acme starts
# with; what mod_md refuses, mod_acme refuses. {http}/{https} are the suite's
# ports, {root} the ServerRoot. Both modules get the same CA, a closed local
# port, so that nothing leaves the machine.

def _vhost(name, extra=""):
    return (f"<VirtualHost *:{{https}}>\n  ServerName {name}\n  SSLEngine on\n"
            + (f"  {extra}\n" if extra else "") + "</VirtualHost>\n")


# (id, configuration, what mod_acme's `apache2 -t` says about it, or None)
STARTS = [
    # the documentation's examples
    ("doc-minimal", "MDCertificateAgreement accepted\nMDomain example.org www.example.org\n"
     + _vhost("example.org", "ServerAlias www.example.org"), None),
    ("doc-section", "<MDomainSet example.org>\n  MDMember www.example.org\n"
     "  MDRenewMode always\n  MDPrivateKeys secp256r1 rsa3072\n</MDomainSet>\n", None),
    ("doc-md-section", "<MDomain example.org>\n  MDCertificateAgreement accepted\n"
     "  MDMembers manual\n</MDomain>\n" + _vhost("example.org"), None),
    ("doc-manual-members", "MDomain example.org manual www.example.org\n"
     + _vhost("example.org"), None),
    ("doc-server-settings", "MDContactEmail admin@example.org\nMDRenewWindow 10%\n"
     "MDWarnWindow 14d\nMDMustStaple on\nMDRequireHttps permanent\nMDStapling on\n"
     "MDServerStatus off\nMDCertificateStatus off\nMDStoreLocks on\nMDCheckInterval 5s\n"
     "MDActivationDelay 1d\nMDMatchNames servernames\nMDExternalAccountBinding none\n"
     "MDHttpProxy http://localhost:8888\nMDDriveMode always\nMDomain example.org\n", None),
    ("doc-dns01-without-cmd", "MDCAChallenges dns-01 http-01\nMDomain example.org\n"
     + _vhost("example.org"), "ACME1101"),
    # mod_md's test suite and what users reported
    ("mdomain-in-vhost", "<VirtualHost *:{https}>\n  ServerName a.test\n  SSLEngine on\n"
     "  MDomain a.test\n</VirtualHost>", None),
    ("section-in-vhost", "<VirtualHost *:{https}>\n  ServerName a.test\n  SSLEngine on\n"
     "  <MDomain a.test>\n    MDRenewMode always\n  </MDomain>\n</VirtualHost>", None),
    ("require-https-in-if", "MDomain a.test\n" + _vhost("a.test")
     + "<If \"true\">\n  MDRequireHttps permanent\n</If>", "ACME1161"),
    ("wildcard-without-dns01", "MDomain *.a.test\n" + _vhost("x.a.test"), "ACME1127"),
    ("wildcard-inner-label", "MDomain a.*.test", "a wildcard must be the whole first label"),
    ("bad-character-name", "MDomain a.test b_c.test\n" + _vhost("a.test"), "b_c.test"),
    ("name-trailing-dot", "MDomain a.test.", "a.test."),
    ("bad-name-only-served", "MDomain a!b.test\n" + _vhost("a!b.test"), "a!b.test"),
    ("bad-name-alias-served", "MDomain good.test a!b.test\n"
     + _vhost("good.test", "ServerAlias a!b.test"), "a!b.test"),
    ("eab-unusable", "MDExternalAccountBinding kid-1 c2hvcnRzZWNyZXQ\nMDomain a.test\n"
     + _vhost("a.test"), "kid-1"),
    ("retry-delay-ms", "MDRetryDelay 100ms", None),
    ("retry-delay-2d", "MDRetryDelay 2d\nMDomain a.test", "ACME1164"),
    ("stapling-keep-7days", "MDStaplingKeepResponse 7days\nMDomain a.test", None),
    ("key-type-secp521r1", "MDPrivateKeys secp521r1\nMDomain a.test\n" + _vhost("a.test"),
     "secp521r1"),
    ("key-type-twice", "MDPrivateKeys P-256 secp256r1\nMDomain a.test\n" + _vhost("a.test"),
     "second time"),
    ("contact-localhost", "MDContactEmail root@localhost\nMDomain a.test\n"
     + _vhost("a.test"), "root@localhost"),
    ("contact-not-email", "MDContactEmail webmaster\nMDomain a.test\n" + _vhost("a.test"),
     "webmaster"),
    ("agreement-yes", "MDCertificateAgreement yes\nMDomain a.test", "ACME1168"),
    ("agreement-tos-url", "MDCertificateAgreement https://example.org/tos.pdf\n"
     "MDomain a.test", None),
    ("challenge-tls-sni-01", "MDCAChallenges http-01 tls-sni-01\nMDomain a.test", "ACME1167"),
    ("challenge-none-known", "MDCAChallenges tls-sni-01\nMDomain a.test",
     "lists no challenge type"),
    ("challenge-twice", "MDCAChallenges http-01 http-01\nMDomain a.test", None),
    ("portmap-http-twice", "MDPortMap http:80 http:81\nMDomain a.test", "ACME1165"),
    ("dns01-cmd-missing", "MDChallengeDns01 /nonexistent/dns01\nMDomain a.test", "ACME1166"),
    ("dns01-cmd-empty", "MDChallengeDns01 \"\"\nMDomain a.test", "ACME1166"),
    ("wildcard-dns01-cmd-missing", "MDChallengeDns01 /nonexistent/dns01\n"
     "MDomain *.a.test\nMDRenewMode always", "/nonexistent/dns01"),
    ("notify-cmd-missing", "MDNotifyCmd /nonexistent/notify\nMDomain a.test", "ACME1166"),
    ("message-cmd-missing", "MDMessageCmd /nonexistent/msg\nMDomain a.test", "ACME1166"),
    ("message-cmd-empty", "MDMessageCmd \"\"\nMDomain a.test", "ACME1166"),
    ("ca-file-missing", "MDCACertificateFile /nonexistent/ca.pem\nMDomain a.test",
     "MDCACertificateFile: file '/nonexistent/ca.pem' does not exist"),
    ("proxy-ca-file-missing", "MDHttpProxyCACertificateFile /nonexistent/ca.pem\n"
     "MDomain a.test", "MDHttpProxyCACertificateFile: file '/nonexistent/ca.pem'"),
    ("cert-check-relative-url", "MDCertificateCheck crt.sh /search?q=\nMDomain a.test",
     "ACME1169"),
    ("static-files-missing", "<MDomain a.test>\n  MDCertificateFile /nonexistent/c.pem\n"
     "  MDCertificateKeyFile /nonexistent/k.pem\n</MDomain>", "ACME1111"),
    ("renew-window-in-vhost", "MDomain a.test\n" + _vhost("a.test", "MDRenewWindow 10d"),
     "ACME1163"),
    ("store-dir-in-vhost", "MDomain a.test\n" + _vhost("a.test", "MDStoreDir {root}/md2"),
     "ACME1162"),
]

# (id, configuration, what mod_acme says about it)
REFUSED = [
    ("name-in-two-domains", "MDomain a.test\nMDomain b.test a.test", "ACME1120"),
    ("same-domain-twice", "MDomain a.test\nMDomain a.test", "ACME1120"),
    ("unknown-protocol", "MDCertificateProtocol SCEP\nMDomain a.test\n" + _vhost("a.test"),
     "only protocol is ACME"),
    ("eab-file-missing", "MDExternalAccountBinding /nonexistent/eab.json",
     "does not exist"),
    ("no-domain-name", "MDomain auto", "needs at least one domain name"),
    ("renew-window-unit", "MDRenewWindow 40x", "MDRenewWindow"),
    ("renew-window-100pct", "MDRenewWindow 100%", "below 100%"),
    ("bad-value-in-vhost", "MDomain a.test\n" + _vhost("a.test", "MDRenewWindow 40x"),
     "MDRenewWindow"),
    ("retry-delay-zero", "MDRetryDelay 0\nMDomain a.test", "MDRetryDelay"),
    ("rsa-too-small", "MDPrivateKeys RSA 1024\nMDomain a.test", "2048 to 8192 bits"),
    ("require-https-in-location", "MDomain a.test\n<Location /x>\n"
     "  MDRequireHttps permanent\n</Location>", "MDRequireHttps cannot occur"),
    ("static-files-unpaired", "<MDomain a.test>\n  MDCertificateFile /nonexistent/c.pem\n"
     "</MDomain>", "ACME1110"),
    ("static-files-missing-served", "<MDomain a.test>\n"
     "  MDCertificateFile /nonexistent/c.pem\n  MDCertificateKeyFile /nonexistent/k.pem\n"
     "</MDomain>\n" + _vhost("a.test"), "/nonexistent/c.pem"),
    ("wildcard-inner-label-served", "MDomain a.*.test\n" + _vhost("a.x.test"), "a.x.test"),
]

_CLOSED_CA = "MDCertificateAuthority https://127.0.0.1:9/dir\n"
_READY = "resuming normal operations"
# the parent gives up: its configuration pass failed (AH00016, AH00020), or
# mod_ssl's (AH02312), or it could not start at all
_GAVE_UP = re.compile(r"AH0001[3-6]|AH00020|AH02312|Configuration Failed|exiting")


def _conf(httpd, conf):
    return _CLOSED_CA + conf.format(http=httpd.ports.http, https=httpd.ports.https,
                                    root=httpd.root)


def _start_verdict(httpd, timeout=15):
    """("started"|"refused", output) of a real start: both configuration
    passes (mod_md checks most things in its post_config, and fails some
    only in the second pass, after `-k start` returned 0). Always stopped."""
    rc, out = httpd._run("-k", "start", timeout=60)
    verdict = "refused"
    try:
        if rc == 0:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                log = httpd.error_log()
                if _READY in log:
                    verdict = "started"
                    break
                if _GAVE_UP.search(log):
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"neither started nor refused in {timeout}s:\n{httpd.error_log()}")
    finally:
        httpd.stop()
    return verdict, out + httpd.error_log()


def _outcome(httpd, conf, module, start=True):
    """("started"|"refused", output) of the configuration under `module`:
    `apache2 -t` decides a refusal; a real start, when asked, the rest."""
    httpd.load_acme = module == "acme"
    httpd.extra_modules = ["md"] if module == "md" else []
    httpd.write_conf(_conf(httpd, conf))
    rc, out = httpd.config_test()
    if rc != 0:
        return "refused", out
    if not start:
        return "started", out
    verdict, start_out = _start_verdict(httpd)
    return verdict, out + start_out


def _needs_start(conf):
    # mod_acme checks its configuration at -t (check_config); only mod_ssl's
    # verdict on an https vhost comes at the start (post_config)
    return "SSLEngine on" in conf


@pytest.mark.parametrize("conf,said", [c[1:] for c in STARTS], ids=[c[0] for c in STARTS])
def test_what_mod_md_starts_with_mod_acme_starts_with(make_httpd, conf, said):
    verdict_md, out_md = _outcome(make_httpd(name="mod_md"), conf, "md")
    assert verdict_md == "started", out_md      # the corpus is right about mod_md
    verdict, out = _outcome(make_httpd(name="mod_acme"), conf, "acme",
                            start=_needs_start(conf))
    assert verdict == "started", out
    if said:        # the problem is said at -t already
        assert said in out, out


@pytest.mark.parametrize("conf,said", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_what_mod_md_refuses_mod_acme_refuses(make_httpd, conf, said):
    verdict_md, out_md = _outcome(make_httpd(name="mod_md"), conf, "md")
    assert verdict_md == "refused", out_md
    verdict, out = _outcome(make_httpd(name="mod_acme"), conf, "acme",
                            start=_needs_start(conf))
    assert verdict == "refused" and said in out, out
