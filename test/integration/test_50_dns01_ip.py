"""IP identifiers (RFC 8738): a managed domain may list an IPv4 address
next to its DNS names (MDomain ip.test 127.0.0.1). The order then carries an
"ip" identifier, validated with http-01 (pebble connects to the address,
Host: 127.0.0.1), and the certificate has an IP SAN. A client connecting to
127.0.0.1 without SNI gets the first https vhost of that address, so the
vhost of the domain comes first. tls-alpn-01 works too: the CA sends the
reverse-DNS name (1.0.0.127.in-addr.arpa) as SNI."""
import socket
import ssl

from test_30_renew import pebble_root, wait_staged


def ip_conf(httpd, acme, ca, md_extra="MDCAChallenges http-01", vhost_extra=""):
    return "\n".join(l for l in [
        f"MDCertificateAuthority {acme.url}",
        f"MDCACertificateFile {ca.cert_path}",
        "MDCertificateAgreement accepted",
        "MDContactEmail admin@example.org",
        "<MDomain ip.test 127.0.0.1>",
        md_extra,
        "</MDomain>",
        # first on the address: the vhost of clients that send no SNI
        f"<VirtualHost *:{httpd.ports.https}>",
        "  ServerName ip.test",
        "  ServerAlias 127.0.0.1",
        "  SSLEngine on",
        vhost_extra,
        "</VirtualHost>",
        "MDomain other.test",
        f"<VirtualHost *:{httpd.ports.https}>",
        "  ServerName other.test",
        "  SSLEngine on",
        "</VirtualHost>"] if l) + "\n"


def served_without_sni(port, root):
    """The leaf served to a client that sends no SNI, its chain verified."""
    ctx = ssl.create_default_context(cafile=root)
    ctx.check_hostname = False          # checked below: against the IP SAN
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=None) as tls:
            return tls.getpeercert()


def test_ip_identifier_certificate_served_without_sni(httpd, pebble, ca, challtestsrv,
                                                     test_dir):
    acme = pebble()
    httpd.write_conf(ip_conf(httpd, acme, ca))
    httpd.start()
    wait_staged(httpd, "ip.test", timeout=90)
    log = httpd.error_log()
    assert "answering http-01 for 127.0.0.1" in log
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    cert = served_without_sni(httpd.ports.https, root)
    sans = sorted(cert["subjectAltName"])
    assert sans == [("DNS", "ip.test"), ("IP Address", "127.0.0.1")], sans
    # the name still gets the same certificate
    named = httpd.served_certificate("ip.test", cafile=root)
    assert sorted(named.sans()) == ["DNS:ip.test", "IP:127.0.0.1"]


def test_ip_identifier_tls_alpn_01(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    httpd.write_conf(ip_conf(httpd, acme, ca, md_extra="MDCAChallenges tls-alpn-01",
                             vhost_extra="  Protocols http/1.1 acme-tls/1"))
    httpd.start()
    wait_staged(httpd, "ip.test", timeout=90)
    log = httpd.error_log()
    assert "answering tls-alpn-01 for 127.0.0.1" in log
    # pebble asks for it by the reverse name (RFC 8738 section 6)
    assert "ACME1252 tls-alpn-01: answering the challenge for 127.0.0.1" in log


def test_domain_named_by_its_ip_address(httpd, pebble, ca, challtestsrv, test_dir):
    """MDomain 127.0.0.1: the domain (store, log, status) is named by the
    address; its only identifier is the IP."""
    acme = pebble()
    httpd.write_conf("\n".join([
        f"MDCertificateAuthority {acme.url}",
        f"MDCACertificateFile {ca.cert_path}",
        "MDCertificateAgreement accepted",
        "MDContactEmail admin@example.org",
        "MDMembers manual",
        "<MDomain 127.0.0.1>",
        "  MDCAChallenges http-01",
        "</MDomain>",
        f"<VirtualHost *:{httpd.ports.https}>",
        "  ServerName 127.0.0.1",
        "  SSLEngine on",
        "</VirtualHost>"]) + "\n")
    httpd.start()
    wait_staged(httpd, "127.0.0.1", timeout=90)
    httpd.graceful()
    cert = served_without_sni(httpd.ports.https, pebble_root(acme, test_dir))
    assert cert["subjectAltName"] == (("IP Address", "127.0.0.1"),)
