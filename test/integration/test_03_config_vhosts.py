"""Managed domains matched to virtual hosts, as `apache2 -t` decides it:
conflicts fail the check; the outcome per domain shows in the ACME1130 debug
line ("N names, M vhosts (https), renewed, contact X")."""
import os
import re
import time

import pytest

from test_03_config_good import make_cert


def summary(out, name):
    """The ACME1130 line of domain name (from -t output)."""
    m = re.search(rf"ACME1130 managed domain '{re.escape(name)}' \([^)]*\): (.*)", out)
    assert m, out
    return m.group(1)


def vhost(port, name, aliases="", extra=""):
    alias = f"\n  ServerAlias {aliases}" if aliases else ""
    more = f"\n  {extra}" if extra else ""
    return f"<VirtualHost *:{port}>\n  ServerName {name}{alias}{more}\n</VirtualHost>\n"


def check(httpd, conf, ok=True):
    httpd.write_conf(f"MDPortMap http:{httpd.ports.http} https:{httpd.ports.https}\n" + conf)
    rc, out = httpd.config_test()
    assert (rc == 0) == ok, out
    return out


def test_members_auto_adds_names_of_the_https_vhost(httpd):
    p = httpd.ports
    out = check(httpd, "MDomain a.test\n"
                + vhost(p.https, "a.test", "www.a.test x.a.test", "SSLEngine on")
                + vhost(p.http, "x.a.test"))
    assert summary(out, "a.test").startswith("3 names, 2 vhosts (https), renewed"), out


def test_members_manual_keeps_names_and_warns(httpd):
    p = httpd.ports
    out = check(httpd, "<MDomain a.test>\n  MDMembers manual\n</MDomain>\n"
                + vhost(p.https, "a.test", "www.a.test", "SSLEngine on"))
    assert summary(out, "a.test").startswith("1 names, 1 vhosts (https)"), out
    assert "ACME1123" in out and "'www.a.test' is not part of it (MDMembers manual)" in out


def test_renew_mode_auto_needs_an_https_vhost(httpd):
    p = httpd.ports
    out = check(httpd, "MDomain a.test\nMDomain b.test\n<MDomain c.test>\n"
                "  MDRenewMode always\n</MDomain>\n<MDomain d.test>\n  MDRenewMode manual\n"
                "</MDomain>\n"
                + vhost(p.http, "a.test") + vhost(p.https, "b.test", extra="SSLEngine on")
                + vhost(p.https, "d.test", extra="SSLEngine on"))
    assert summary(out, "a.test").startswith("1 names, 1 vhosts, not renewed"), out
    assert summary(out, "b.test").startswith("1 names, 1 vhosts (https), renewed"), out
    assert summary(out, "c.test").startswith("1 names, 0 vhosts, renewed"), out
    assert summary(out, "d.test").startswith("1 names, 1 vhosts (https), not renewed"), out


@pytest.mark.parametrize("engine,where,https", [
    (None, None, True),             # only the port says so (MDPortMap https:)
    ("off", "vhost", False),        # SSLEngine decides over the port
    ("on", "server", True),         # inherited from server level
    ("on", "vhost-on-http-port", True),
])
def test_https_vhost_detection(httpd, engine, where, https):
    p = httpd.ports
    port = p.http if where == "vhost-on-http-port" else p.https
    extra = f"SSLEngine {engine}" if engine and where != "server" else ""
    top = f"SSLEngine {engine}\n" if where == "server" else ""
    out = check(httpd, top + "MDomain a.test\n" + vhost(port, "a.test", extra=extra))
    assert ("(https)" in summary(out, "a.test")) == https, out


def test_name_in_two_domains_fails_naming_both(httpd):
    out = check(httpd, "MDomain a.test www.shared.test\n"
                "<MDomain b.test>\n  MDMember WWW.Shared.test\n</MDomain>\n", ok=False)
    conf = open(httpd.conf_path).read().splitlines()
    line_a = conf.index("MDomain a.test www.shared.test") + 1
    line_b = conf.index("<MDomain b.test>") + 1
    assert "ACME1120 'www.shared.test' is claimed by two managed domains" in out, out
    assert f"'a.test' ({httpd.conf_path}:{line_a})" in out, out
    assert f"'b.test' ({httpd.conf_path}:{line_b})" in out, out


def test_https_vhost_matching_two_domains_fails(httpd):
    p = httpd.ports
    out = check(httpd, "MDomain a.test\nMDomain b.test\n"
                + vhost(p.https, "a.test", "b.test", "SSLEngine on"), ok=False)
    assert "ACME1121" in out and "matches two managed domains, 'a.test'" in out, out
    assert "'b.test'" in out and "<VirtualHost> at" in out, out


def test_http_vhost_may_match_two_domains(httpd):
    p = httpd.ports
    out = check(httpd, "MDomain a.test\nMDomain b.test\n" + vhost(p.http, "a.test", "b.test"))
    assert summary(out, "a.test").startswith("1 names, 1 vhosts,"), out
    assert summary(out, "b.test").startswith("1 names, 1 vhosts,"), out


def test_exact_name_wins_over_wildcard(httpd):
    p = httpd.ports
    cert, key = make_cert(httpd, "wild")
    out = check(httpd, f"<MDomain *.a.test>\n  MDCertificateFile {cert}\n"
                f"  MDCertificateKeyFile {key}\n</MDomain>\nMDomain www.a.test\n"
                + vhost(p.https, "www.a.test", extra="SSLEngine on")
                + vhost(p.https, "other.a.test", extra="SSLEngine on"))
    assert summary(out, "www.a.test").startswith("1 names, 1 vhosts (https), renewed"), out
    assert summary(out, "*.a.test").startswith("1 names, 1 vhosts (https), static"), out


def test_wildcard_server_alias_matches_domains_below(httpd):
    p = httpd.ports
    out = check(httpd, "MDomain www.a.test\nMDomain deep.x.a.test\nMDomain a.test\n"
                + vhost(p.http, "catchall.test", "*.a.test"))
    assert summary(out, "www.a.test").startswith("1 names, 1 vhosts"), out
    assert summary(out, "deep.x.a.test").startswith("1 names, 1 vhosts"), out
    assert summary(out, "a.test").startswith("1 names, 0 vhosts"), out


def test_driven_wildcard_domain_is_its_error(httpd):
    """A wildcard without MDChallengeDns01: that domain's error (ACME1160),
    not a refused start (mod_md starts with it)."""
    p = httpd.ports
    out = check(httpd, "MDomain *.a.test\n" + vhost(p.https, "www.a.test", extra="SSLEngine on"))
    assert "ACME1160 managed domain '*.a.test'" in out, out
    assert "ACME1127" in out and "dns-01" in out and "MDCertificateFile" in out, out


def test_match_names_servernames_ignores_aliases(httpd):
    p = httpd.ports
    conf = "MDomain b.test\n" + vhost(p.http, "a.test", "b.test")
    assert summary(check(httpd, conf), "b.test").startswith("1 names, 1 vhosts")
    out = check(httpd, "MDMatchNames servernames\n" + conf)
    assert summary(out, "b.test").startswith("1 names, 0 vhosts"), out


@pytest.mark.parametrize("base,vhosts", [("on", 1), ("off", 0)])
def test_base_server_only_with_md_base_server(httpd, base, vhosts):
    out = check(httpd, f"MDBaseServer {base}\nMDomain localhost\n")
    assert summary(out, "localhost").startswith(f"1 names, {vhosts} vhosts"), out


def test_contact_defaults_to_a_usable_server_admin(httpd):
    p = httpd.ports
    out = check(httpd, "ServerAdmin webmaster@localhost\nMDomain a.test\nMDomain b.test\n"
                + vhost(p.http, "a.test", extra="ServerAdmin mailto:admin@a.test")
                + vhost(p.http, "b.test"))
    assert summary(out, "a.test").endswith("contact admin@a.test"), out
    assert summary(out, "b.test").endswith("contact -"), out


def test_static_files_must_come_in_pairs(httpd):
    cert, key = make_cert(httpd, "s")
    out = check(httpd, f"<MDomain s.test>\n  MDCertificateFile {cert}\n</MDomain>\n", ok=False)
    assert "ACME1110" in out and "in pairs" in out, out


def test_static_files_must_exist(httpd):
    cert, _ = make_cert(httpd, "s")
    missing = os.path.join(httpd.root, "missing.key")
    # mod_md starts with it (mod_ssl refuses a vhost that would serve it,
    # test_03_config_mod_md.py): the domain's error, said at -t
    out = check(httpd, f"<MDomain s.test>\n  MDCertificateFile {cert}\n"
                f"  MDCertificateKeyFile {missing}\n</MDomain>\n")
    assert "ACME1160 managed domain 's.test'" in out, out
    assert "MDCertificateKeyFile" in out and f"'{missing}'" in out, out
    assert "does not exist" in out, out


def test_ten_thousand_domains_and_vhosts_check_quickly(httpd):
    """mod_md compares every domain with every vhost; we must not."""
    p = httpd.ports
    n = 10000
    parts = [f"MDomain d{i}.test www.d{i}.test\n" for i in range(n)]
    parts += [vhost(p.https, f"d{i}.test", f"www.d{i}.test x.d{i}.test", "SSLEngine on")
              for i in range(n)]
    httpd.log_level = "warn"        # no debug line per domain
    httpd.module_log_level = "warn"
    start = time.monotonic()
    check(httpd, "".join(parts))
    elapsed = time.monotonic() - start
    assert elapsed < 20, f"apache2 -t took {elapsed:.1f}s for {n} domains and vhosts"
