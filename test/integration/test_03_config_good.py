"""Valid configurations pass `apache2 -t`: every directive with a valid
value, the section forms, and a configuration written for mod_md."""
import json
import os
import re
import subprocess

HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"


def make_cert(httpd, name):
    """A self-signed certificate and key for name under the ServerRoot."""
    cert, key = (os.path.join(httpd.root, f"{name}.{ext}") for ext in ("crt", "key"))
    subprocess.run([httpd.cfg.openssl, "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", cert, "-subj", f"/CN={name}", "-days", "2"],
                   check=True, capture_output=True)
    return cert, key


def write_files(httpd):
    """The files the directives name; returns them by use."""
    cert, key = make_cert(httpd, "static.test")
    eab = os.path.join(httpd.root, "eab.json")
    with open(eab, "w") as f:
        json.dump({"kid": "kid-1", "hmac": HMAC}, f)
    os.chmod(eab, 0o600)
    return {"cert": cert, "key": key, "eab": eab, "ca": cert}


# Every A directive with a valid value; used at server level and in sections.
DOMAIN_SETTINGS = """\
MDCertificateAuthority LetsEncrypt-Test https://localhost:14000/dir
MDCertificateAgreement accepted
MDCAChallenges tls-alpn-01 http-01 dns-01
MDChallengeDns01 /bin/echo dns-hook
MDCertificateProtocol ACME
MDContactEmail mailto:admin@example.org
MDRenewMode auto
MDRenewWindow 33%
MDWarnWindow 10d
MDPrivateKeys secp256r1 RSA 3072
MDMustStaple off
MDRequireHttps temporary
MDHttpProxy http://proxy.example:3128
MDHttpProxyCACertificateFile {ca}
MDCACertificateFile {ca}
MDServerStatus on
MDCertificateStatus off
MDCertificateCheck crt.sh https://crt.sh?q=
MDStapling off
MDStapleOthers off
MDStaplingKeepResponse 7d
MDStaplingRenewWindow 2d
MDProfileMandatory off
MDRenewViaARI off
MDMembers auto
"""

GLOBAL_SETTINGS = """\
MDPortMap http:{http} https:{https}
MDBaseServer off
MDStoreDir md-store
MDNotifyCmd /bin/true notify "with space"
MDMessageCmd /bin/echo message
MDChallengeDns01Version 2
MDActivationDelay 1h
MDRetryDelay 30s
MDRetryFailover 13
MDStoreLocks 5s
MDMatchNames all
MDCheckInterval 12h
MDInitialDelay 500ms
MDDriveMode always
"""


def test_every_directive_valid_in_one_config(httpd):
    files = write_files(httpd)
    ports = {"http": httpd.ports.http, "https": httpd.ports.https}
    settings = DOMAIN_SETTINGS.format(**files)
    section_settings = "\n".join("  " + line for line in settings.splitlines())
    conf = (GLOBAL_SETTINGS.format(**ports) + settings
            + f"MDExternalAccountBinding {files['eab']}\n"
            + "ManagedDomain a.test www.a.test auto\n"
            + "MDomain plain.test\n"
            + "<MDomain b.test www.b.test>\n" + section_settings + "\n"
            + f"  MDExternalAccountBinding kid-2 {HMAC}\n"
            + "  MDMember b2.test\n  MDMembers manual\n</MDomain>\n"
            + "<MDomainSet c.test>\n  MDExternalAccountBinding none\n"
            + "  MDCACertificateFile none\n  MDRenewMode manual\n</MDomainSet>\n"
            + "<ManagedDomain static.test>\n"
            + f"  MDCertificateFile {files['cert']}\n  MDCertificateKeyFile {files['key']}\n"
            + "</ManagedDomain>\n")
    httpd.write_conf(conf)
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert "Syntax OK" in out
    assert "managed domain 'b.test'" in out and ": 3 names," in out, out
    assert "managed domain 'static.test'" in out and "static certificate" in out, out
    assert HMAC not in out


def test_off_values_of_unsupported_features_pass(httpd):
    httpd.write_conf("MDStapling off\nMDStapleOthers off\nMDProfileMandatory off\n"
                     "MDRenewViaARI on\nMDomain a.test\n")
    rc, out = httpd.config_test()
    assert rc == 0, out


def test_directive_names_are_case_insensitive(httpd):
    httpd.write_conf("mdomain a.test\nmdrenewwindow 30D\n<mdomain b.test>\n"
                     "  mdmember www.b.test\n</mdomain>\n")
    rc, out = httpd.config_test()
    assert rc == 0, out


def test_mod_md_style_example_config(httpd):
    """The example of mod_md's documentation, with the suite's ports."""
    p = httpd.ports
    httpd.write_conf(f"""
ServerAdmin mailto:webmaster@example.org
MDCertificateAgreement accepted
MDPortMap http:{p.http} https:{p.https}
MDomain example.org www.example.org

<VirtualHost *:{p.http}>
    ServerName example.org
    ServerAlias www.example.org
    DocumentRoot "{httpd.docroot}"
</VirtualHost>

<VirtualHost *:{p.https}>
    ServerName example.org
    ServerAlias www.example.org
    Protocols h2 http/1.1 acme-tls/1
    SSLEngine on
    DocumentRoot "{httpd.docroot}"
</VirtualHost>

<MDomain other.example.org>
    MDRenewMode always
    MDPrivateKeys RSA 4096
    MDRequireHttps permanent
</MDomain>
""")
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert ("managed domain 'example.org'" in out
            and "2 names, 2 vhosts (https), renewed, contact webmaster@example.org" in out), out
    assert "managed domain 'other.example.org'" in out
    assert "ACME1126" in out      # MDRequireHttps without an https vhost: a warning


def test_section_settings_override_server_level(httpd):
    """Not observable through -t beyond acceptance: both levels parse, and
    an override inside a section does not leak to the next domain."""
    httpd.write_conf("MDRenewMode manual\nMDomain a.test\n"
                     "<MDomain b.test>\n  MDRenewMode always\n</MDomain>\nMDomain c.test\n")
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert "managed domain 'b.test'" in out
    for line in out.splitlines():
        if "ACME1130" in line:
            renewed = line.split(", ")[-2]
            expect = "renewed" if "'b.test'" in line else "not renewed"
            assert renewed == expect, line


def test_world_readable_eab_secret_warns(httpd):
    files = write_files(httpd)      # the JSON file is 0600
    httpd.write_conf(f"MDExternalAccountBinding {files['eab']}\nMDomain a.test\n")
    rc, out = httpd.config_test()
    assert rc == 0 and "ACME1131" not in out, out
    os.chmod(files["eab"], 0o644)
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert "ACME1131" in out and f"'{files['eab']}', which every user can read" in out, out
    os.chmod(httpd.conf_path, 0o644)
    httpd.write_conf(f"MDExternalAccountBinding kid-1 {HMAC}\nMDomain a.test\n")
    rc, out = httpd.config_test()
    assert "ACME1131" in out and httpd.conf_path in out, out
    assert HMAC not in out


def test_conf_example_passes_as_shipped_and_uncommented(httpd):
    """conf-examples/acme.conf, the commented tour README points to: as
    shipped, and with every commented line taken in (its files made where it
    names them), `apache2 -t` passes, warning only that no vhost uses the
    example's domains (the tour has none)."""
    with open(os.path.join(httpd.cfg.srcdir, "conf-examples", "acme.conf")) as f:
        shipped = f.read()
    files = write_files(httpd)
    hook = os.path.join(httpd.root, "hook.sh")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(hook, 0o755)
    uncommented = "\n".join(
        line.replace("#", "", 1) if re.match(r"\s*#\s*[<A-Z]", line)
        and not re.match(r"\s*# ", line) else line
        for line in shipped.splitlines())
    uncommented = (uncommented.replace("/etc/apache2/acme-eab.json", files["eab"])
                   .replace("/usr/local/bin/acme-dns-hook", hook)
                   .replace("/usr/local/bin/acme-message", hook))
    assert "\n    MDContactEmail" in uncommented and "\n    <MDomain" in uncommented
    for text in (shipped, uncommented):
        httpd.write_conf(text)
        rc, out = httpd.config_test()
        assert rc == 0 and "Syntax OK" in out, f"{out}\n{text}"
        warned = re.findall(r"\[acme:(?:warn|error|crit|alert|emerg)\].*", out)
        assert all("ACME1125 no VirtualHost matches" in w for w in warned), out
