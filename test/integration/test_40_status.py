"""Status outputs after a real issuance from pebble: the JSON status
(md-status), /.httpd/certificate-status, server-status (HTML and ?auto) and
the Prometheus metrics, first while the new certificate is staged, then
after the graceful restart that makes it live. Values are compared with the
certificate really served; JSON is validated against the schema of
docs/status.md, metrics by a strict parser of the exposition format."""
import email.utils
import hashlib
import json
import re
import ssl
import time

import pytest

from status_check import (CERT_STATUS, DOMAIN, STATUS, parse_metrics, sample, undocumented,
                          validate)
from test_30_renew import pebble_root, renew_conf, served, wait_staged

LOCATIONS = ("<Location /md-status>\n  SetHandler md-status\n</Location>\n"
             "<Location /metrics>\n  SetHandler acme-metrics\n</Location>\n")


def get(httpd, path, host="localhost"):
    return httpd.get(f"http://{host}{path}")


def md_status(httpd, name=None):
    r = get(httpd, "/md-status" + (f"/{name}" if name else ""))
    assert r.status == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    data = json.loads(r.body)
    validate(data, DOMAIN if name else STATUS)
    return data


def cert_status(httpd, host):
    r = get(httpd, "/.httpd/certificate-status", host=host)
    assert r.status == 200, r.text
    data = json.loads(r.body)
    validate(data, CERT_STATUS)
    return data


def metrics(httpd):
    r = get(httpd, "/metrics")
    assert r.status == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse_metrics(r.text)


def server_status(httpd, auto=False):
    r = get(httpd, "/server-status" + ("?auto" if auto else ""))
    assert r.status == 200
    return r.text


def auto_lines(httpd):
    text = server_status(httpd, auto=True)
    return dict(l.split(": ", 1) for l in text.splitlines() if l.startswith("Managed"))


def wait_state(httpd, name, state, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        st = md_status(httpd, name)
        if st["acme-state"] == state:
            return st
        assert time.monotonic() < deadline, f"{name} stays {st['acme-state']}: {st}"
        time.sleep(0.2)


def leaf_facts(cert):
    """serial (uppercase hex), sha256 of the DER, notAfter as Unix time."""
    serial = cert.x509("-serial").strip().split("=", 1)[1].upper()
    end = cert.x509("-enddate").strip().split("=", 1)[1]
    return serial, hashlib.sha256(cert.der).hexdigest(), ssl.cert_time_to_seconds(end)


def rfc1123(ts):
    """mod_md's time text of Unix time ts."""
    return email.utils.formatdate(ts, usegmt=True)


def unix(text):
    """The Unix time of a status time (RFC 1123, as mod_md writes it)."""
    return email.utils.parsedate_to_datetime(text).timestamp()


def test_schema_is_documented():
    assert undocumented(DOMAIN, "JSON status") == []
    assert undocumented(CERT_STATUS, "Certificate status") == []


def test_status_staged_then_live(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    names = ["st1.test", "www.st1.test"]
    httpd.write_conf(renew_conf(httpd, acme, ca, [names], md_extra="MDCAChallenges http-01")
                     + LOCATIONS)
    httpd.start()
    wait_staged(httpd, "st1.test")

    # staged, not active yet
    st = wait_state(httpd, "st1.test", "staged")
    assert st["domains"] == names and st["state"] == 1 and st["cert"] == {}
    assert st["renew"] is True and st["ca"]["urls"] == [acme.url]
    assert st["renewal"]["finished"] is True and st["renewal"]["errors"] == 0
    staged = st["renewal"]["cert"]["rsa"]
    assert md_status(httpd)["managed-domains"][0]["name"] == "st1.test"
    cs = cert_status(httpd, "st1.test")
    assert cs["renewal"]["cert"]["rsa"]["serial"] == staged["serial"]
    m = metrics(httpd)
    assert sample(m, "acme_certificate_staged", domain="st1.test") == 1
    assert sample(m, "acme_renewals_total") >= 1
    assert sample(m, "acme_orders_total") >= 1
    assert sample(m, "acme_renewal_duration_seconds", "acme_renewal_duration_seconds_count") >= 1
    assert abs(sample(m, "acme_renewal_last_success_timestamp_seconds",
                      domain="st1.test") - time.time()) < 120
    auto = auto_lines(httpd)
    assert auto["ManagedCertificatesTotal"] == "1" and auto["ManagedCertificatesReady"] == "1"
    assert auto["ManagedDomain[0]ActivityFinished"] == "yes"
    assert auto["ManagedDomain[0]ActivityNewStaged"] == "1"
    assert auto["ManagedDomain[0]Status"] == "incomplete: certificate(rsa) is missing"

    # live after the graceful restart: every output shows the served certificate
    httpd.graceful()
    cert = served(httpd, "st1.test", pebble_root(acme, test_dir))
    serial, sha256, not_after = leaf_facts(cert)
    assert (serial, sha256) == (staged["serial"], staged["sha256-fingerprint"])
    st = md_status(httpd, "st1.test")
    assert st["state"] == 2 and st["acme-state"] == "ok" and "state-descr" not in st
    live = st["cert"]["rsa"]
    assert live["serial"] == serial and live["sha256-fingerprint"] == sha256
    assert live["valid"]["until"] == rfc1123(not_after) == st["cert"]["valid"]["until"]
    assert "Pebble" in live["issuer"]
    assert live["issuer-name"].startswith("/CN=Pebble Intermediate CA")
    assert live["ari-cert-id"].split(".")[1].rstrip("=") and "." in live["ari-cert-id"]
    assert time.time() - 60 < unix(st["renew-at"]) < not_after
    assert st["renewal"]["finished"] is False and st["renewal"]["cert"] == {}
    assert unix(st["renewal"]["last-success"]) <= time.time()
    cs = cert_status(httpd, "www.st1.test")
    assert cs["rsa"]["serial"] == serial and cs["rsa"]["sha256-fingerprint"] == sha256
    assert cs["valid"]["until"] == rfc1123(not_after) and "renewal" not in cs
    m = metrics(httpd)
    assert sample(m, "acme_certificate_expiry_timestamp_seconds", domain="st1.test",
                  key="rsa2048") == not_after
    assert sample(m, "acme_certificate_staged", domain="st1.test") == 0
    assert sample(m, "acme_renewal_errors", domain="st1.test") == 0
    assert 0 < sample(m, "acme_certificate_renew_in_seconds", domain="st1.test") < \
        not_after - time.time()
    assert sample(m, "acme_renewals_total") >= 1         # carried over the restart
    auto = auto_lines(httpd)
    assert auto["ManagedCertificatesOK"] == "1" and auto["ManagedCertificatesReady"] == "0"
    assert auto["ManagedDomain[0]Status"] == "good"
    assert auto["ManagedDomain[0]ValidUntil"] == time.strftime("%Y-%m-%d", time.gmtime(not_after))
    assert auto["ManagedDomain[0]CheckAtFingerprint"] == sha256
    assert auto["ManagedDomain[0]Names[1]"] == "www.st1.test"
    html = server_status(httpd)
    assert "<h3>Managed Certificates</h3>" in html
    assert re.search(r"<td>st1\.test</td><td>st1\.test www\.st1\.test</td><td>ok</td>", html)
    assert get(httpd, "/md-status/nosuch.test").status == 404


def test_status_not_driven_and_switches(httpd, pebble, ca, test_dir):
    """MDServerStatus off hides the server-status section; MDCertificateStatus
    off answers 404; a manual domain has no renewal."""
    acme = pebble()
    httpd.write_conf(f"MDCertificateAuthority {acme.url}\nMDServerStatus off\n"
                     "MDRenewMode manual\n<MDomain off.test>\n  MDCertificateStatus off\n"
                     "</MDomain>\nMDomain on.test\n" + LOCATIONS)
    httpd.start()
    assert "Managed Certificates" not in server_status(httpd)
    assert "ManagedCertificates" not in server_status(httpd, auto=True)
    assert get(httpd, "/.httpd/certificate-status", host="off.test").status == 404
    assert cert_status(httpd, "on.test") == {"rsa": {}}
    st = md_status(httpd)
    assert [d["name"] for d in st["managed-domains"]] == ["off.test", "on.test"]
    for d in st["managed-domains"]:
        assert d["renew"] is False and d["renew-mode"] == 0 and "renewal" not in d
        assert d["acme-state"] == "no-cert" and d["state"] == 1
        assert d["state-descr"] == "certificate(rsa) is missing"
    m = metrics(httpd)
    assert sample(m, "acme_renewal_errors", domain="on.test") is None
    assert sample(m, "acme_orders_total") == 0


@pytest.mark.parametrize("mpm", ["event", "worker", "prefork"])
def test_status_ca_error_and_eab_secret(make_httpd, mpm, pebble, ca, challtestsrv, test_dir):
    """pebble refuses the name (domainBlocklist: rejectedIdentifier): the problem
    shows in JSON, server-status and metrics, read by any child; the EAB HMAC
    never appears anywhere."""
    httpd = make_httpd(mpm=mpm)
    acme = pebble(eab=True, config_overrides={"domainBlocklist": ["blocked.test"]})
    httpd.write_conf(renew_conf(httpd, acme, ca, [["blocked.test"]],
                                extra=f"MDExternalAccountBinding {acme.eab_kid} "
                                      f"{acme.eab_hmac}",
                                md_extra="MDCAChallenges http-01") + LOCATIONS)
    httpd.start()
    httpd.wait_for_log(r"ACME1483 blocked\.test: ", timeout=60)
    st = wait_state(httpd, "blocked.test", "errored")
    assert st["renewal"]["errors"] >= 1
    last = st["renewal"]["last"]
    assert last["problem"] == "urn:ietf:params:acme:error:rejectedIdentifier"
    assert last["detail"] and "\n" not in last["detail"]
    assert st["ca"]["eab"] == {"kid": acme.eab_kid, "hmac": "***"}
    assert unix(st["renewal"]["next-run"]) > time.time()
    auto = auto_lines(httpd)
    assert auto["ManagedCertificatesErrored"] == "1"
    assert auto["ManagedDomain[0]ActivityLastProblem"] == last["problem"]
    assert int(auto["ManagedDomain[0]ActivityRetries"]) >= 1
    html = server_status(httpd)
    assert "rejectedIdentifier" in html and "<td>errored</td>" in html
    m = metrics(httpd)
    assert sample(m, "acme_renewal_failures_total", problem="rejectedIdentifier") >= 1
    assert sample(m, "acme_renewal_failures_total", problem="other") == 0
    assert sample(m, "acme_renewal_errors", domain="blocked.test") >= 1
    outputs = [get(httpd, p).text for p in ("/md-status", "/md-status/blocked.test", "/metrics",
                                            "/server-status", "/server-status?auto")]
    # many requests: several children answer (prefork: one per connection)
    outputs += [get(httpd, "/md-status/blocked.test").text for _ in range(8)]
    for text in outputs:
        assert acme.eab_hmac not in text
        assert "blocked.test" in text
    cs = get(httpd, "/.httpd/certificate-status", host="blocked.test")
    assert cs.status == 200 and acme.eab_hmac not in cs.text


def test_status_expiring_inside_warn_window(httpd, pebble, ca, challtestsrv, test_dir):
    """A live certificate inside MDWarnWindow (all but 5 s of its hour) and not
    due for renewal (33%) shows as expiring, still counted as OK by mod_md's
    summary."""
    acme = pebble(config_overrides={"certificateValidityPeriod": 3600})
    httpd.write_conf(renew_conf(httpd, acme, ca, [["exp.test"]],
                                md_extra="MDCAChallenges http-01\n  MDWarnWindow 3594s")
                     + LOCATIONS)
    httpd.start()
    wait_staged(httpd, "exp.test")
    httpd.graceful()
    st = wait_state(httpd, "exp.test", "expiring")
    assert st["state"] == 2 and st["warn-window"] == "3594s"
    assert st["renewal"]["errors"] == 0
    auto = auto_lines(httpd)
    assert auto["ManagedDomain[0]State"] == "expiring"
    assert auto["ManagedCertificatesOK"] == "1"
    assert "<td>expiring</td>" in server_status(httpd)
