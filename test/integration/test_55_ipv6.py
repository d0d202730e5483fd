"""IPv6 identifiers (RFC 8738): a managed domain may list an IPv6 address,
bare (::1) or in brackets ([::1]); it is kept in its RFC 5952 text. The
order carries an "ip" identifier, pebble validates it at [::1] on the suite's
ports (httpd listens there too): http-01 with Host [::1], tls-alpn-01 with
the ip6.arpa reverse name as SNI. The certificate has the IP SAN and is
served to clients connecting to [::1] (they send no SNI: the first https
vhost of the address answers). Zones and wildcards on addresses, and dns-01
as the only challenge of a domain with an address, fail `apache2 -t`."""
import ipaddress
import socket
import ssl

import pytest

from test_30_renew import pebble_root, wait_staged


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(),
                                reason="IPv6 loopback ::1 is not available on this machine")


def ipv6_conf(httpd, acme, ca, name="::1", md_extra="MDCAChallenges http-01",
              vhost_extra=""):
    p = httpd.ports
    return "\n".join(l for l in [
        f"Listen [::1]:{p.http}",
        f"Listen [::1]:{p.https} https",
        f"MDCertificateAuthority {acme.url}",
        f"MDCACertificateFile {ca.cert_path}",
        "MDCertificateAgreement accepted",
        "MDContactEmail admin@example.org",
        f"<MDomain ip6.test {name}>",
        md_extra,
        "</MDomain>",
        # the first https vhost: the one of clients that send no SNI
        f"<VirtualHost *:{p.https}>",
        "  ServerName ip6.test",
        "  SSLEngine on",
        vhost_extra,
        "</VirtualHost>"] if l) + "\n"


def served_at_ipv6(port, root):
    """The leaf served at [::1]:port, its chain verified against root and
    its IP SAN against ::1 (Python sends no SNI for an address)."""
    ctx = ssl.create_default_context(cafile=root)
    with socket.create_connection(("::1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="::1") as tls:
            return tls.getpeercert()


def ip_sans(cert):
    return [ipaddress.ip_address(v) for k, v in cert["subjectAltName"] if k == "IP Address"]


@needs_ipv6
@pytest.mark.parametrize("spelling", ["::1", "[0:0::1]"])
def test_ipv6_identifier_http01(httpd, pebble, ca, challtestsrv, test_dir, spelling):
    acme = pebble()
    httpd.write_conf(ipv6_conf(httpd, acme, ca, name=spelling))
    httpd.start()
    wait_staged(httpd, "ip6.test", timeout=90)
    log = httpd.error_log()
    assert "answering http-01 for ::1" in log
    assert "ACME1240 http-01: answered the challenge for ::1" in log
    httpd.graceful()
    cert = served_at_ipv6(httpd.ports.https, pebble_root(acme, test_dir))
    assert ip_sans(cert) == [ipaddress.ip_address("::1")]
    assert ("DNS", "ip6.test") in cert["subjectAltName"]


@needs_ipv6
def test_ipv6_identifier_tls_alpn_01(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    httpd.write_conf(ipv6_conf(httpd, acme, ca, md_extra="MDCAChallenges tls-alpn-01",
                               vhost_extra="  Protocols http/1.1 acme-tls/1"))
    httpd.start()
    wait_staged(httpd, "ip6.test", timeout=90)
    log = httpd.error_log()
    assert "answering tls-alpn-01 for ::1" in log
    # pebble asked for it by the ip6.arpa name (RFC 8738 section 6)
    assert "ACME1252 tls-alpn-01: answering the challenge for ::1" in log
    httpd.graceful()
    cert = served_at_ipv6(httpd.ports.https, pebble_root(acme, test_dir))
    assert ipaddress.ip_address("::1") in ip_sans(cert)


@needs_ipv6
def test_domain_named_by_its_ipv6_address(httpd, pebble, ca, challtestsrv, test_dir):
    """MDomain [::1]: the domain is named by the address in its RFC 5952
    text. httpd takes no IPv6 address as ServerName, so the vhost names it
    in a ServerAlias, here spelt out in full: it still finds the domain."""
    acme = pebble()
    p = httpd.ports
    httpd.write_conf("\n".join([
        f"Listen [::1]:{p.http}",
        f"Listen [::1]:{p.https} https",
        f"MDCertificateAuthority {acme.url}",
        f"MDCACertificateFile {ca.cert_path}",
        "MDCertificateAgreement accepted",
        "MDContactEmail admin@example.org",
        "MDMembers manual",
        "<MDomain [::1]>",
        "  MDCAChallenges http-01",
        "</MDomain>",
        f"<VirtualHost *:{p.https}>",
        "  ServerName v6.test",
        "  ServerAlias 0:0:0:0:0:0:0:1",
        "  SSLEngine on",
        "</VirtualHost>"]) + "\n")
    httpd.start()
    wait_staged(httpd, "::1", timeout=90)
    log = httpd.error_log()
    assert "ACME1125" not in log        # the vhost was found
    assert "answering http-01 for ::1" in log
    httpd.graceful()
    cert = served_at_ipv6(p.https, pebble_root(acme, test_dir))
    assert cert["subjectAltName"] == (("IP Address", cert["subjectAltName"][0][1]),)
    assert ip_sans(cert) == [ipaddress.ip_address("::1")]


BAD = [
    ("zone", "MDomain ip6.test fe80::1%lo", "MDomain", "with a zone"),
    ("zone-brackets", "MDomain ip6.test [fe80::1%25lo]", "MDomain", "with a zone"),
    ("not-ipv6", "MDomain ip6.test 1:2:3", "MDomain", "neither a DNS name nor an IP address"),
    ("bracket", "MDomain ip6.test [::1", "MDomain", "needs its ']'"),
    ("wildcard-ipv4", "MDomain ip6.test *.0.0.1", "MDomain", "wildcard on an IP address"),
    ("wildcard-ipv6", "<MDomain ip6.test>\n  MDMember *.::1\n</MDomain>", "MDMember",
     "neither a DNS name nor an IP address"),
]


@pytest.mark.parametrize("conf,directive,phrase", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_ip_names_rejected(httpd, conf, directive, phrase):
    """The domain's error (ACME1160), not a refused start: mod_md starts."""
    httpd.write_conf(conf + "\n")
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert "ACME1160 managed domain 'ip6.test'" in out, out
    assert directive in out and phrase in out, out


@pytest.mark.parametrize("name", ["::1", "127.0.0.1"])
def test_ip_with_only_dns01_rejected(httpd, test_dir, name):
    httpd.write_conf("\n".join([
        "MDCertificateAgreement accepted",
        f"<MDomain ip6.test {name}>",
        "  MDCAChallenges dns-01",
        "  MDChallengeDns01 /bin/true",
        "</MDomain>",
        f"<VirtualHost *:{httpd.ports.https}>",
        "  ServerName ip6.test",
        "  SSLEngine on",
        "</VirtualHost>"]) + "\n")
    rc, out = httpd.config_test()
    assert rc == 0, out     # that domain's error (ACME1160), as mod_md starts
    assert "ACME1160 managed domain 'ip6.test'" in out and "ACME1129" in out, out
    assert (f"has the IP address {name}, which dns-01 cannot validate (RFC 8738), but "
            "MDCAChallenges lists only dns-01") in out, out
