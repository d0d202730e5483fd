"""ACME profiles (draft-ietf-acme-profiles): MDProfile and
MDProfileMandatory, against pebble behind harness/acme_front.py, which
lists the profiles "classic" and "shortlived" in the directory's meta.

One start, three domains: a profile the CA offers (set at server level) is
ordered and shown; one it does not offer fails the renewal with a clear
error when mandatory, and is left out with a warning otherwise."""
import re
import time

import pytest

from harness.acme_front import AcmeFront
from test_30_renew import renew_conf, wait_staged
from test_40_status import LOCATIONS, auto_lines, md_status

PROFILES = {"classic": "the usual 90 days", "shortlived": "https://ca.test/docs#short"}


@pytest.mark.parametrize("conf,directive,phrase", [
    ("MDProfile short/lived", "MDProfile", "is not a profile name"),
    ("<MDomain a.test>\n  MDProfile " + "x" * 65 + "\n</MDomain>", "MDProfile",
     "is not a profile name"),
    ("MDProfileMandatory maybe", "MDProfileMandatory", "'maybe'"),
], ids=["slash", "too-long", "mandatory-bad-flag"])
def test_bad_profile_values_fail_config_test(httpd, conf, directive, phrase):
    httpd.write_conf(conf + "\n")
    rc, out = httpd.config_test()
    assert rc != 0, out
    assert directive in out and phrase in out, out


def test_profile_directives_accepted(httpd):
    httpd.write_conf("MDProfile shortlived\nMDProfileMandatory on\n"
                     "<MDomain a.test>\n  MDProfile classic\n  MDProfileMandatory off\n"
                     "</MDomain>\n")
    rc, out = httpd.config_test()
    assert rc == 0, out


def section(httpd, md, lines):
    body = "".join(f"  {l}\n" for l in ["MDCAChallenges http-01", *lines])
    return (f"<MDomain {md}>\n{body}</MDomain>\n<VirtualHost *:{httpd.ports.https}>\n"
            f"  ServerName {md}\n  SSLEngine on\n</VirtualHost>\n")


def test_profiles_offered_missing_mandatory_and_optional(httpd, pebble, ca, challtestsrv,
                                                         ports):
    pebble()
    front = AcmeFront(ca, ports.acme, "/dir", ari=False, profiles=PROFILES).start()
    try:
        run_profiles(httpd, front, ca)
    finally:
        front.stop()


def profile_status(httpd, md, timeout=15):
    """md-status of md once its profile shows whether the CA offers it: the
    watchdog's report comes right after the log line the test waited for
    (staged, or failed), so a read in between may still lack "offered"."""
    deadline = time.time() + timeout
    while True:
        status = md_status(httpd, md)
        if "offered" in status.get("profile", {}) or time.time() > deadline:
            return status
        time.sleep(0.2)


def run_profiles(httpd, front, ca):
    httpd.write_conf(renew_conf(httpd, front, ca, [], extra="MDProfile shortlived")
                     + section(httpd, "p-offered.test", [])
                     + section(httpd, "p-mandatory.test",
                               ["MDProfile tlsserver", "MDProfileMandatory on"])
                     + section(httpd, "p-optional.test", ["MDProfile tlsserver"])
                     + LOCATIONS)
    httpd.start()
    wait_staged(httpd, "p-offered.test")
    wait_staged(httpd, "p-optional.test")
    failed = httpd.wait_for_log(r"ACME1483 p-mandatory\.test: .*", timeout=30).group(0)
    log = httpd.error_log()
    by_md = {o["identifiers"][0]["value"]: o for o in front.order_payloads()}

    # offered (MDProfile at server level): ordered with it, shown
    assert by_md["p-offered.test"]["profile"] == "shortlived"
    status = profile_status(httpd, "p-offered.test")
    assert status["profile"] == {"name": "shortlived", "mandatory": False, "offered": True}
    lines = auto_lines(httpd)
    index = [k for k, v in lines.items() if k.endswith("]Domain") and v == "p-offered.test"]
    assert lines[index[0][:-len("Domain")] + "Profile"] == "shortlived"

    # not offered, mandatory: no order, the renewal fails naming the profile
    assert "p-mandatory.test" not in by_md
    assert "does not offer the profile 'tlsserver'" in failed
    assert "needs a fix" in failed
    status = profile_status(httpd, "p-mandatory.test")
    assert status["acme-state"] == "errored"
    assert "does not offer the profile 'tlsserver'" in status["renewal"]["last"]["detail"]
    assert status["profile"] == {"name": "tlsserver", "mandatory": True, "offered": False}

    # not offered, not mandatory: the CA's default, with a warning
    assert "profile" not in by_md["p-optional.test"]
    assert re.search(r"ACME0925 acme\[md=p-optional\.test\]: the CA does not offer the "
                     r"profile 'tlsserver'", log)
    assert profile_status(httpd, "p-optional.test")["profile"]["offered"] is False

