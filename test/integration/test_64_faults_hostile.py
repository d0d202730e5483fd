"""Hostile input from outside: http-01 requests with path traversal,
overlong and non-base64url tokens get 404 (or httpd's own 400/414 before
the module sees them), reveal nothing of the store and leave no warning or
error in the log; configured names that are not DNS names are rejected with
a reason, names in capitals are taken as the same name in lower case."""
import os
import re

import pytest

from test_20_serving import domain_conf, plant
from test_22_serving_challenges import KEYAUTH, PREFIX, TOKEN, request

SECRET = "store-content-that-must-not-leak"

# reach the module: must be exactly 404
TO_MODULE = [
    "..%2F..%2Faccounts%2Fsecret.json",   # encoded slashes: core 404s them, AllowEncodedSlashes off
    "%2e%2e",
    "..",
    ".",
    "a" * 2000,
    "a" * 7000,
    "tok+en", "tok=", "tok.en", "tok%20en", "t%C3%B6ken", "tok%00en", "tok%0aen",
    "tok;en", "tok'en", "<script>", TOKEN + "x", TOKEN[:-1], TOKEN + "/", TOKEN + "/..",
    TOKEN + "%2f..%2f..%2faccounts",
]
# may be refused by httpd's core first (400 bad request, 414 URI too long)
CORE_MAY_REFUSE = [
    "../../../../etc/passwd",
    "/../../accounts/secret.json",
    "a" * 9000,
]


@pytest.fixture
def hostile(httpd):
    httpd.write_conf(domain_conf(httpd))
    httpd.start()
    plant(httpd, "challenges", "a.test", {f"http-01.{TOKEN}": KEYAUTH}, owner=httpd.user[0])
    plant(httpd, "accounts", "x", {"secret.json": SECRET}, owner=httpd.user[0])
    return httpd


def module_lines(log, levels=("warn", "error", "crit", "alert", "emerg")):
    return [line for line in log.splitlines()
            if re.search(r"\[(acme|core|http|ssl):(%s)\]" % "|".join(levels), line)]


def test_http01_hostile_tokens_get_404_and_no_log_spam(hostile):
    mark = hostile.log_mark()
    statuses = {}
    for token in TO_MODULE + CORE_MAY_REFUSE:
        for method in ("GET", "HEAD"):
            status, _, body = request(hostile, method, "a.test", PREFIX + token)
            statuses[(method, token[:40])] = status
            assert KEYAUTH.encode() not in body and SECRET.encode() not in body, token
            if token in TO_MODULE:
                assert status == 404, (method, token[:60], status)
            else:
                assert status in (400, 404, 414), (method, token[:60], status)
    # the planted token still works, and only for its exact name
    assert request(hostile, "GET", "a.test", PREFIX + TOKEN)[0] == 200
    new = hostile.error_log()[mark:]
    bad = module_lines(new)
    print(f"\n{len(statuses)} hostile requests: "
          f"{sum(1 for s in statuses.values() if s == 404)} x 404, "
          f"{sum(1 for s in statuses.values() if s != 404)} refused by httpd's core "
          f"({sorted(set(statuses.values()))}); {len(new.splitlines())} new error_log lines, "
          f"{len(bad)} of them warn or worse")
    assert bad == [], bad[:5]
    assert "ACME07" not in new          # nothing reached the store's error paths
    assert hostile.running()


CONFIG_NAMES = [
    # (name, accepted, what the error says)
    ("bücher.test", False, "xn-- form"),
    ("under_score.test", False, "is not a DNS name"),
    ("-lead.test", False, "starting with '-'"),
    ("trail-.test", False, "ending in '-'"),
    ("a..test", False, "empty label"),
    ("x" * 64 + ".test", False, "longer than 63"),
    ("sp ace.test", False, "is not a DNS name"),
    ("a.test/x", False, "is not a DNS name"),
    ("xn--bcher-kva.test", True, ""),
]


@pytest.mark.parametrize("name,accepted,why", CONFIG_NAMES)
def test_config_names_rejected_with_reason(httpd, name, accepted, why):
    """A bad name is that domain's error, as mod_md starts with it (issue
    15): `-t` passes with a warning saying why (ACME1160), nothing else."""
    quoted = f'"{name}"' if " " in name else name
    httpd.write_conf(f"MDInitialDelay 1d\nMDCertificateAuthority https://127.0.0.1:1/dir\n"
                     f"MDomain {quoted}\n")
    rc, out = httpd.config_test()
    print(f"\n{name!r}: apache2 -t exit {rc}: {out.strip().splitlines()[0] if out else ''}")
    assert rc == 0, out
    if accepted:
        assert "ACME1160" not in out, out
    else:
        assert "ACME1160 managed domain" in out, out
        assert "is not managed until its configuration is fixed" in out, out
        assert why in out, out


def test_config_name_in_capitals_is_the_lower_case_name(httpd):
    """A.Test and a.test are one name: one domain, one store directory in
    lower case, and the same name twice is the known 'in two domains' error."""
    httpd.write_conf(domain_conf(httpd, names=("A.Test", "WWW.a.TEST")))
    rc, out = httpd.config_test()
    print(f"\ncapitals: apache2 -t exit {rc}: {out.strip()[:200]}")
    assert rc == 0, out
    httpd.start()
    live = os.listdir(os.path.join(httpd.root, "md", "domains"))
    print(f"live directories: {live}")
    assert live == ["a.test"], live
    status, _, body = request(httpd, "GET", "www.a.test", PREFIX + TOKEN)
    assert status == 404
    httpd.stop()
    httpd.write_conf("MDInitialDelay 1d\nMDCertificateAuthority https://127.0.0.1:1/dir\n"
                     "MDomain a.test\nMDomain A.TEST\n")
    rc, out = httpd.config_test()
    assert rc != 0 and "a.test" in out.lower(), out
