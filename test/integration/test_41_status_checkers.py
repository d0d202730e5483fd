"""The checkers test_40 relies on reject what they must: a metrics parser or
schema validator that accepted anything would make those tests unable to
fail. No server needed."""
import pytest

from status_check import CERT_STATUS, DOMAIN, parse_metrics, sample, validate

GOOD = """# HELP a_total things
# TYPE a_total counter
a_total{problem="x\\"y\\\\z\\n"} 3
a_total{problem="other"} 0
# HELP h_seconds durations
# TYPE h_seconds histogram
h_seconds_bucket{le="1"} 1
h_seconds_bucket{le="+Inf"} 2
h_seconds_sum 7.5
h_seconds_count 2
# HELP g gauge
# TYPE g gauge
g{domain="a.test",key="rsa2048"} 1.7e+09
"""


def test_metrics_parser_accepts_valid_exposition():
    fams = parse_metrics(GOOD)
    assert sample(fams, "a_total", problem='x"y\\z\n') == 3
    assert sample(fams, "g", domain="a.test", key="rsa2048") == 1.7e9
    assert fams["h_seconds"]["type"] == "histogram"


@pytest.mark.parametrize("bad, why", [
    (GOOD.replace('a_total{problem="other"} 0\n', 'a_total{problem="other"} 0\n' * 2),
     "duplicate series"),
    ("g 1\n# HELP g x\n# TYPE g gauge\n", "sample before its TYPE"),
    ("# HELP g x\n# TYPE g gauge\ng{domain=\"a\\q\"} 1\n", "not a sample"),
    ("# HELP g x\n# TYPE g gauge\ng 1,5\n", "bad value"),
    ("# HELP g x\n# TYPE g gauge\n9g 1\n", "bad comment line|not a sample|bad"),
    ("# HELP g x\n# TYPE g thing\ng 1\n", "bad type"),
    ("# TYPE g gauge\ng 1\n", "lacks HELP"),
    (GOOD.replace('h_seconds_bucket{le="+Inf"} 2', 'h_seconds_bucket{le="+Inf"} 0'),
     "not cumulative|count"),
    (GOOD.replace("h_seconds_count 2", "h_seconds_count 3"), "count"),
    (GOOD.replace("a_total{problem=\"other\"} 0", "a_total{problem=\"other\"} -1"),
     "negative"),
    ("# HELP g x\n# TYPE g gauge\ng 1\n# HELP f x\n# TYPE f gauge\nf 1\ng{a=\"b\"} 2\n",
     "interleaved"),
    (GOOD.rstrip("\n"), "newline"),
    ("# HELP g x\n# TYPE g gauge\ng{a=\"1\",a=\"2\"} 1\n", "duplicate label"),
])
def test_metrics_parser_rejects(bad, why):
    with pytest.raises(AssertionError, match=why):
        parse_metrics(bad)


DOMAIN_OK = {
    "name": "a.test", "domains": ["a.test"], "contacts": [], "transitive": 1,
    "renew-mode": 1, "renew-window": "33%", "warn-window": "10%", "must-staple": False,
    "require-https": "off", "state": 2, "acme-state": "ok", "proto": {"acme-tls/1": []},
    "privkey": [{"type": "RSA", "bits": 2048}], "profile-mandatory": False,
    "ari-renewals": True, "watched": True,
    "ca": {"proto": "ACME", "urls": ["https://ca/dir"], "eab": {"kid": "k", "hmac": "***"}},
    "cert": {"valid": {"from": "Thu, 01 Jan 2026 00:00:00 GMT",
                       "until": "Wed, 01 Apr 2026 00:00:00 GMT"},
             "rsa2048": {"valid": {"from": "Thu, 01 Jan 2026 00:00:00 GMT",
                                   "until": "Wed, 01 Apr 2026 00:00:00 GMT"},
                         "serial": "0A1B", "sha256-fingerprint": "ab" * 32}},
    "renew": True, "renewal": {"name": "a.test", "errors": 0, "finished": False,
                                "notified": False, "notified-renewed": False, "cert": {}},
}


def broken(**changes):
    import copy
    d = copy.deepcopy(DOMAIN_OK)
    for path, value in changes.items():
        keys = path.split("__")
        node = d
        for k in keys[:-1]:
            node = node[k]
        if value is KeyError:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return d


def test_schema_accepts_a_valid_domain():
    validate(DOMAIN_OK, DOMAIN)
    validate({}, CERT_STATUS)


@pytest.mark.parametrize("doc", [
    broken(ca__eab__hmac="c2VjcmV0"),                   # a secret instead of ***
    broken(state=3),
    broken(name=KeyError),
    broken(cert__rsa2048__serial="0a1b"),               # lowercase serial
    broken(cert__rsa2048__valid__until="2026-04-01T00:00:00Z"),  # not mod_md's RFC 1123
    broken(renewal__errors=-1),
    broken(renewal__errors=True),                       # bool is not an integer
    broken(transitive=True),                            # mod_md's transitive is 0/1
    broken(renewal__cert=KeyError),                     # mod_md always has it
    broken(unexpected=1),
    broken(**{"acme-state": "fine"}),
    broken(**{"state-descr": "no-cert"}),                # mod_md's text, not a state name
])
def test_schema_rejects(doc):
    with pytest.raises(AssertionError):
        validate(doc, DOMAIN)
