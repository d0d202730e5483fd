"""Odd Host headers against every handler that maps a request's host to a
managed domain (issue 16, finding 1): /.httpd/certificate-status, the
MDRequireHttps redirect and the http-01 responder share one normalisation
(acme_names_host_lookup). A host with a leading dot made the old lookup write
a byte before its stack buffer (the sanitizer pass reports it; the plugin
fails a test on any report or crashed child): the '*' it wrote there made
the key "*.b.test", so ".b.test" was taken for a name of b.test's domain."""
import json

import pytest

from test_20_serving import domain_conf, plant_set, set_ca  # noqa: F401 (fixture)
from test_23_serving_https import request
from harness import layout

CERT_STATUS = "/.httpd/certificate-status"
CHALLENGE = "/.well-known/acme-challenge/no-such-token"

# spellings of the domains' names: a.test's redirected to the canonical name,
# b.test's (the same with b) answering their certificate status
GOOD = {
    "a.test": "a.test",
    "A.TEST": "a.test",
    "a.test.": "a.test",
    "Www.A.Test": "www.a.test",       # covered by *.a.test
    "www.a.test.": "www.a.test",
}

# not a name of the domain, or not a name at all
BAD = [
    ".a.test", ".b.test", "..a.test", "..b.test", ".www.b.test", ".www.a.test", ".", "..", "...", "a..test", "*.a.test",
    "x.www.a.test",                   # two labels below: not covered by *.a.test
    "a" * 300 + ".a.test",            # a label of 300
    ".".join(["b" * 63] * 4) + ".a.test",   # labels fine, the name > 253
    "-x.a.test", "x_y.a.test",
]


@pytest.fixture
def served(httpd, set_ca):
    """a.test and *.a.test redirect to https; b.test and *.b.test answer
    their certificate status over http (a redirect would hide it)."""
    p = httpd.ports
    for name in ("a.test", "b.test"):
        key, chain, _ = set_ca.issue([name, f"*.{name}"])
        plant_set(httpd, layout.LIVE, name, {"P-256": (key, chain)})
    httpd.write_conf(domain_conf(httpd, names=("a.test", "*.a.test"),
                                 extra_md="MDRequireHttps temporary\nMDRenewMode manual")
                     + "<MDomain b.test *.b.test>\n  MDRenewMode manual\n</MDomain>\n"
                     f"<VirtualHost 127.0.0.1:{p.https}>\n  ServerName b.test\n"
                     "  SSLEngine on\n</VirtualHost>\n"
                     f"<VirtualHost 127.0.0.1:{p.http}>\n  ServerName b.test\n"
                     "</VirtualHost>\n")
    httpd.start()
    return httpd


def cert_status(httpd, host):
    return request(httpd, "GET", host, CERT_STATUS)


def test_spellings_of_a_name_map_to_the_domain(served):
    for host, canonical in GOOD.items():
        b_host = host.replace("a.test", "b.test").replace("A.TEST", "B.TEST").replace(
            "A.Test", "B.Test")
        status, headers, body = cert_status(served, b_host)
        assert status == 200, (b_host, status, body)
        assert "valid" in json.loads(body)
        status, headers, _ = request(served, "GET", host, "/page?x=1")
        assert status == 302, (host, status)
        assert headers["location"] == f"https://{canonical}/page?x=1"


def test_odd_hosts_get_sane_answers_and_the_server_lives(served):
    for host in BAD:
        # certificate status: no domain, so nobody answers the path (404),
        # unless httpd refuses the Host itself (400)
        status, headers, body = cert_status(served, host)
        assert status in (400, 404), (host, status, body[:200])
        # https redirect: never to a host that is not the domain's; the
        # page is served as it would be without MDRequireHttps
        status, headers, _ = request(served, "GET", host, "/index.html")
        assert status in (200, 400), (host, status, headers)
        assert "location" not in headers, (host, headers)
        # http-01: not a domain's name, so not ours to answer (404)
        status, headers, _ = request(served, "GET", host, CHALLENGE)
        assert status in (400, 404), (host, status)
        assert "location" not in headers, (host, headers)
    # still alive and still mapping the real names
    assert cert_status(served, "b.test")[0] == 200
    assert request(served, "GET", "a.test", "/")[0] == 302
    assert served.child_crashes() == [] and served.sanitizer_reports() == []
