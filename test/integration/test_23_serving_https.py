"""MDRequireHttps: redirects from http: to https: for domains serving a
real certificate, HSTS with "permanent", never for the http-01 path."""
import http.client
import socket
import ssl

import pytest

from test_20_serving import domain_conf, plant_set, set_ca  # noqa: F401 (fixture)
from harness import layout

HSTS = "strict-transport-security"


def request(httpd, method, host, path, https=False, cafile=None):
    """(status, headers, body) of one request to 127.0.0.1 with Host: host."""
    port = httpd.ports.https if https else httpd.ports.http
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if https:
            ctx = ssl.create_default_context(cafile=cafile)
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sock = ctx.wrap_socket(raw, server_hostname=host)
        conn.request(method, path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def start(httpd, set_ca, mode, live=True):
    if live:
        key, chain, _ = set_ca.issue(["a.test", "www.a.test"])
        plant_set(httpd, layout.LIVE, "a.test", {"P-256": (key, chain)})
    httpd.write_conf(domain_conf(httpd, names=("a.test", "www.a.test"),
                                 extra_md=f"MDRequireHttps {mode}"))
    httpd.start()


def test_permanent_redirects_and_sends_hsts(httpd, set_ca):
    start(httpd, set_ca, "permanent")
    status, headers, _ = request(httpd, "GET", "www.a.test", "/some/page?x=1&y=2")
    assert status == 301
    assert headers["location"] == "https://www.a.test/some/page?x=1&y=2"
    # other methods keep theirs on the retry
    status, headers, _ = request(httpd, "POST", "a.test", "/form")
    assert status == 308 and headers["location"] == "https://a.test/form"
    # https answers normally, and tells the browser to stay
    status, headers, body = request(httpd, "GET", "a.test", "/index.html", https=True,
                                    cafile=set_ca.root)
    assert status == 200 and b"mod_acme test server" in body
    assert headers[HSTS] == "max-age=15768000"
    # also on error pages
    status, headers, _ = request(httpd, "GET", "a.test", "/missing", https=True,
                                 cafile=set_ca.root)
    assert status == 404 and headers[HSTS] == "max-age=15768000"


def test_challenge_path_is_never_redirected(httpd, set_ca):
    start(httpd, set_ca, "permanent")
    status, headers, _ = request(httpd, "GET", "a.test",
                                 "/.well-known/acme-challenge/unknown-token")
    assert status == 404 and "location" not in headers
    # other well-known paths are ordinary pages
    assert request(httpd, "GET", "a.test", "/.well-known/security.txt")[0] == 301


def test_temporary_redirects_without_hsts(httpd, set_ca):
    start(httpd, set_ca, "temporary")
    status, headers, _ = request(httpd, "GET", "a.test", "/")
    assert status == 302 and headers["location"] == "https://a.test/"
    assert request(httpd, "PUT", "a.test", "/x")[0] == 307
    status, headers, _ = request(httpd, "GET", "a.test", "/index.html", https=True,
                                 cafile=set_ca.root)
    assert status == 200 and HSTS not in headers


@pytest.mark.parametrize("mode", ["permanent", "off"])
def test_no_redirect_without_a_real_certificate_or_when_off(httpd, set_ca, mode):
    # with only the fallback certificate https cannot serve the site yet
    start(httpd, set_ca, mode, live=(mode == "off"))
    status, headers, _ = request(httpd, "GET", "a.test", "/index.html")
    assert status == 200 and "location" not in headers
    # names that are not the domain's are not redirected either
    assert request(httpd, "GET", "localhost", "/index.html")[0] == 200
