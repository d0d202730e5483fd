"""Challenge responders: http-01 answers planted tokens for names of managed
domains (and nothing else), tls-alpn-01 presents the planted challenge
certificate to a client that offers ALPN acme-tls/1."""
import hashlib
import http.client
import os
import secrets
import socket
import ssl
import subprocess

import pytest

from test_20_serving import QUIET, domain_conf, plant, served_serial

TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
KEYAUTH = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
PREFIX = "/.well-known/acme-challenge/"


def request(httpd, method, host, path):
    conn = http.client.HTTPConnection("127.0.0.1", httpd.ports.http, timeout=10)
    try:
        conn.request(method, path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture
def responder(httpd):
    """httpd with a.test managed (other.test not), a token planted for
    a.test and a file at the same path in the document root."""
    httpd.write_conf(domain_conf(httpd, extra="<MDomain m.test>\n  MDRenewMode manual\n"
                                              "</MDomain>"))
    httpd.start()
    plant(httpd, "challenges", "a.test", {f"http-01.{TOKEN}": KEYAUTH}, owner=httpd.user[0])
    docroot_dir = os.path.join(httpd.docroot, ".well-known", "acme-challenge")
    os.makedirs(docroot_dir)
    for name in (TOKEN, "other-token"):
        with open(os.path.join(docroot_dir, name), "w") as f:
            f.write("from the document root\n")
    return httpd


def test_http01_answers_planted_token(responder):
    status, headers, body = request(responder, "GET", "a.test", PREFIX + TOKEN)
    assert status == 200 and body.decode() == KEYAUTH
    assert headers["content-type"].startswith("text/plain")
    assert int(headers["content-length"]) == len(KEYAUTH)
    # any case of the host name, with a port
    status, _, body = request(responder, "GET", "A.Test:80", PREFIX + TOKEN)
    assert status == 200 and body.decode() == KEYAUTH
    status, headers, body = request(responder, "HEAD", "a.test", PREFIX + TOKEN)
    assert status == 200 and body == b"" and int(headers["content-length"]) == len(KEYAUTH)
    assert request(responder, "POST", "a.test", PREFIX + TOKEN)[0] == 405
    assert "ACME1240 http-01: answered the challenge for a.test" in responder.error_log()


def test_http01_unknown_and_invalid_tokens(responder):
    mark = responder.log_mark()
    # the document root's file is not what the CA must see for a managed name
    assert request(responder, "GET", "a.test", PREFIX + "other-token")[0] == 404
    for bad in ("bad.token", "a" * 200, "x%2e%2e", "a/b", "", TOKEN + "=", "tok%20en"):
        status, _, body = request(responder, "GET", "a.test", PREFIX + bad)
        assert status == 404, bad
        assert KEYAUTH.encode() not in body
    # invalid tokens never reach the store (which logs what it rejects)
    assert "ACME07" not in responder.error_log()[mark:]


def test_http01_leaves_other_hosts_alone(responder):
    # not managed: the request goes its normal way (the document root)
    status, _, body = request(responder, "GET", "other.test", PREFIX + TOKEN)
    assert status == 200 and body == b"from the document root\n"
    # a domain mod_acme does not renew: unknown tokens pass through too, so
    # another ACME client can answer them
    status, _, body = request(responder, "GET", "m.test", PREFIX + "other-token")
    assert status == 200 and body == b"from the document root\n"
    assert request(responder, "GET", "localhost", PREFIX + "bad.token")[0] == 404


def alpn_cert(httpd, name, keyauth):
    """An RFC 8737 challenge certificate and key, planted for name."""
    digest = hashlib.sha256(keyauth.encode()).hexdigest()
    der = "04:20:" + ":".join(digest[i:i + 2] for i in range(0, 64, 2))
    d = os.path.join(httpd.root, "alpn-" + secrets.token_hex(4))
    os.makedirs(d)
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run([httpd.cfg.openssl, "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "7", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}",
                    "-addext", f"1.3.6.1.5.5.7.1.31=critical,DER:{der}"],
                   check=True, capture_output=True)
    with open(key) as f, open(cert) as g:
        files = {"tls-alpn-01.key.pem": f.read(), "tls-alpn-01.cert.pem": g.read()}
    plant(httpd, "challenges", name, files, owner=httpd.user[0])
    return files["tls-alpn-01.cert.pem"]


def handshake(httpd, servername, alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    with socket.create_connection(("127.0.0.1", httpd.ports.https), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=servername) as tls:
            return tls.getpeercert(binary_form=True), tls.selected_alpn_protocol()


def test_tls_alpn01_presents_challenge_certificate(httpd):
    httpd.write_conf(domain_conf(httpd, names=("a.test", "www.a.test"),
                                 extra="Protocols http/1.1 acme-tls/1"))
    httpd.start()
    pem = alpn_cert(httpd, "www.a.test", KEYAUTH)
    der, proto = handshake(httpd, "www.a.test", ["acme-tls/1"])
    assert proto == "acme-tls/1"
    assert ssl.DER_cert_to_PEM_cert(der).strip() == pem.strip()
    assert "ACME1252 tls-alpn-01: answering the challenge for www.a.test" in httpd.error_log()
    # SNI in another case is the same name
    assert handshake(httpd, "WWW.A.Test", ["acme-tls/1"])[0] == der
    # without acme-tls/1 the site's (here: fallback) certificate
    der2, proto2 = handshake(httpd, "www.a.test", ["http/1.1"])
    assert der2 != der and proto2 == "http/1.1"
    # a managed name without a challenge gets no challenge certificate
    der3, _ = handshake(httpd, "a.test", ["acme-tls/1"])
    assert der3 != der
    # a name that is not managed gets nothing from the store
    mark = httpd.log_mark()
    assert handshake(httpd, "other.test", ["acme-tls/1"])[0] != der
    assert "ACME07" not in httpd.error_log()[mark:]


def test_tls_alpn01_needs_acme_tls_in_protocols(httpd):
    # httpd selects only protocols the vhost allows (as with mod_md)
    httpd.write_conf(domain_conf(httpd))
    httpd.start()
    pem = alpn_cert(httpd, "a.test", KEYAUTH)
    der, proto = handshake(httpd, "a.test", ["acme-tls/1", "http/1.1"])
    assert proto != "acme-tls/1"
    assert ssl.DER_cert_to_PEM_cert(der).strip() != pem.strip()
