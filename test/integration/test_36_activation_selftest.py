"""The self-test after an activation (issue 17, phase 2): once the new
generation serves, the parent checks from the outside, per https listener,
name (SNI) and key type, that the activated certificate and chain are what
the server presents. A set that passes the activation checks but is not what
a client gets (here: another vhost listed first answers one of the domain's
names with its own certificate) is rolled back under MDActivation graceful:
the previous certificate is served again, status says why, MDMessageCmd gets
activation-failed, and that set is never activated again."""
import glob
import json
import os
import re
import subprocess
import time

from status_check import parse_metrics, sample
from test_30_renew import issuer_is_pebble, renew_conf, wait_staged
from test_33_renew_cmds import calls, make_hook
from test_35_activation_graceful import MD_STATUS, md_status, self_restarts, served_by_pebble

PASSED = r"ACME1421 {md}: self-test passed"
FAILED = r"ACME1422 {md}: self-test FAILED: (.*)$"
ROLLED_BACK = r"ACME1425 {md}: activation rolled back"
ACTIVATED = r"ACME1214 activated new certificate for {md}"
METRICS = "<Location /metrics>\n  SetHandler acme-metrics\n</Location>\n"
SELFTEST_METRIC = "acme_activation_selftest_timestamp_seconds"
LIFETIME = 300          # pebble's certificates: a renewal 15% into it (45 s)


def domain_status(httpd, md):
    return next(d for d in md_status(httpd)["managed-domains"] if d["name"] == md)


def fingerprint(httpd, name):
    return httpd.served_certificate(name).der


def test_good_activation_passes_its_self_test(httpd, pebble, ca, challtestsrv):
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["ok.test", "www.ok.test"]],
                                extra="MDActivation graceful\nMDActivationInterval 10s\n"
                                      + MD_STATUS,
                                md_extra="MDCAChallenges http-01"))
    httpd.start()
    m = httpd.wait_for_log(PASSED.format(md=r"ok\.test") + r": (.*)$", timeout=120)
    # two names, one key type, one listener
    assert m.group(1).startswith("2 handshake(s) presented the new certificate"), m.group(0)
    assert served_by_pebble(httpd, "ok.test") and served_by_pebble(httpd, "www.ok.test")
    test = domain_status(httpd, "ok.test")["self-test"]
    assert test["result"] == "passed" and "message" not in test, test
    auto = httpd.get(f"http://localhost:{httpd.ports.http}/server-status?auto").body.decode()
    assert re.search(r"ManagedDomain\[0\]SelfTest: passed", auto), auto
    log = httpd.error_log()
    assert "ACME1422" not in log and "ACME1425" not in log
    assert "long lost child" not in log     # the probe is reaped as ours


def test_manual_activation_is_self_tested_too(httpd, pebble, ca, challtestsrv):
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["man.test"]], extra=MD_STATUS,
                                md_extra="MDCAChallenges http-01"))
    httpd.start()
    wait_staged(httpd, "man.test")
    httpd.graceful()        # the admin's restart activates it
    httpd.wait_for_log(ACTIVATED.format(md=r"man\.test"), timeout=10)
    httpd.wait_for_log(PASSED.format(md=r"man\.test"), timeout=40)
    assert domain_status(httpd, "man.test")["self-test"]["result"] == "passed"
    assert "ACME1410" not in httpd.error_log()      # manual: no restart of its own


def decoy_vhost(httpd, test_dir, name):
    """An https vhost listed before the domain's that answers `name` with an
    RSA certificate of its own (not a managed one: MDMatchNames servernames),
    so the handshake of the self-test succeeds and presents another leaf."""
    cert, key = (os.path.join(test_dir, f"decoy.{s}") for s in ("pem", "key"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=decoy.test", "-addext",
                    f"subjectAltName=DNS:decoy.test,DNS:{name}"], check=True,
                   capture_output=True)
    return (f"<VirtualHost *:{httpd.ports.https}>\n  ServerName decoy.test\n"
            f"  ServerAlias {name}\n  SSLEngine on\n  SSLCertificateFile {cert}\n"
            f"  SSLCertificateKeyFile {key}\n</VirtualHost>\n")


def with_decoy(conf, decoy):
    return conf.replace("<VirtualHost", decoy + "<VirtualHost", 1)


def test_manual_activation_that_fails_is_reported(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    msg, msg_rec = make_hook(test_dir, "message", httpd.user)
    conf = renew_conf(httpd, acme, ca, [["mf.test", "mf2.test"]],
                      extra=f"MDMatchNames servernames\nMDMessageCmd {msg}\n" + MD_STATUS,
                      md_extra="MDCAChallenges http-01", vhost_extra="ServerAlias mf2.test")
    httpd.write_conf(with_decoy(conf, decoy_vhost(httpd, test_dir, "mf2.test")))
    httpd.start()
    wait_staged(httpd, "mf.test")
    httpd.graceful()
    m = httpd.wait_for_log(FAILED.format(md=r"mf\.test"), timeout=40)
    assert "mf2.test (rsa2048) at 127.0.0.1:" in m.group(1), m.group(0)
    assert "presents another certificate" in m.group(1), m.group(0)
    assert "MDActivation manual: reported, not rolled back" in m.group(1), m.group(0)
    test = domain_status(httpd, "mf.test")["self-test"]
    assert test["result"] == "failed" and test["message"].startswith("activation failed: "), test
    deadline = time.monotonic() + 20
    while not calls(msg_rec) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [c.split(" ", 1)[1] for c in calls(msg_rec)
            if "activation-failed" in c] == ["activation-failed mf.test"], calls(msg_rec)
    time.sleep(12)      # a turn of the parent's monitor: nothing restarts, nothing rolls back
    log = httpd.error_log()
    assert "ACME1410" not in log and "ACME1425" not in log
    assert served_by_pebble(httpd, "mf.test")


def test_unreachable_domain_is_reported_not_rolled_back(httpd, pebble, ca, challtestsrv):
    acme = pebble()
    # its only https vhost is on an address httpd does not listen on
    conf = renew_conf(httpd, acme, ca, [["un.test"]],
                      extra="MDActivation graceful\nMDActivationInterval 10s\n" + MD_STATUS,
                      md_extra="MDCAChallenges http-01")
    httpd.write_conf(conf.replace(f"<VirtualHost *:{httpd.ports.https}>",
                                  f"<VirtualHost 127.0.0.2:{httpd.ports.https}>"))
    httpd.start()
    m = httpd.wait_for_log(r"ACME1423 un\.test: self-test could not reach the server \((.*)\);"
                           r" reported, not rolled back", timeout=120)
    assert "no https listener" in m.group(1) or "none of its virtual hosts" in m.group(1)
    test = domain_status(httpd, "un.test")["self-test"]
    assert test["result"] == "unreachable" and test["message"].startswith("not tested: "), test
    time.sleep(12)
    assert "ACME1425" not in httpd.error_log() and self_restarts(httpd) == 1


def test_activation_not_served_is_rolled_back(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble(config_overrides={"certificateValidityPeriod": LIFETIME}, fresh=True)
    msg, msg_rec = make_hook(test_dir, "message", httpd.user)
    extra = (f"MDActivation graceful\nMDActivationInterval 10s\nMDMatchNames servernames\n"
             f"MDMessageCmd {msg}\n" + MD_STATUS + METRICS)
    conf = renew_conf(httpd, acme, ca, [["rb.test", "rb2.test"]], extra=extra,
                      md_extra="MDCAChallenges http-01\n  MDRenewWindow 85%",
                      vhost_extra="ServerAlias rb2.test")
    httpd.write_conf(conf)
    httpd.start()
    httpd.wait_for_log(PASSED.format(md=r"rb\.test"), timeout=120)
    first = fingerprint(httpd, "rb.test")
    assert issuer_is_pebble(httpd.served_certificate("rb.test"))
    # the admin adds a vhost that answers rb2.test itself; the next
    # self-initiated restart (for the renewal 45 s into the lifetime) reads it
    mark = httpd.log_mark()
    httpd.write_conf(with_decoy(conf, decoy_vhost(httpd, test_dir, "rb2.test")))
    httpd.wait_for_log(ACTIVATED.format(md=r"rb\.test"), timeout=120, since=mark)
    second_live = open(os.path.join(httpd.root, "md", "domains", "rb.test",
                                    "pubcert.pem")).read()
    m = httpd.wait_for_log(FAILED.format(md=r"rb\.test"), timeout=60, since=mark)
    assert m.group(1).startswith("rb2.test (rsa2048) at 127.0.0.1:"), m.group(0)
    assert "presents another certificate" in m.group(1), m.group(0)
    httpd.wait_for_log(ROLLED_BACK.format(md=r"rb\.test"), timeout=60, since=mark)
    # the old certificate is served again
    deadline = time.monotonic() + 15
    while fingerprint(httpd, "rb.test") != first and time.monotonic() < deadline:
        time.sleep(0.5)
    assert fingerprint(httpd, "rb.test") == first
    test = domain_status(httpd, "rb.test")["self-test"]
    assert test["result"] == "rolled-back", test
    assert test["message"].startswith("activation rolled back: rb2.test (rsa2048) at "), test
    page = httpd.get(f"http://localhost:{httpd.ports.http}/server-status").body.decode()
    assert "self-test rolled-back" in page and "activation rolled back: " in page
    families = parse_metrics(
        httpd.get(f"http://localhost:{httpd.ports.http}/metrics").body.decode())
    assert sample(families, SELFTEST_METRIC, domain="rb.test", result="rolled-back") > 0, \
        families.get(SELFTEST_METRIC)
    # the set that failed is in the archive, saying why, and not staged
    records = glob.glob(os.path.join(httpd.root, "md", "archive", "rb.test.*",
                                     "rolled-back.json"))
    assert len(records) == 1, records
    with open(records[0]) as f:
        assert json.load(f)["reason"].startswith("rb2.test (rsa2048)")
    with open(os.path.join(os.path.dirname(records[0]), "pubcert.pem")) as f:
        assert f.read() == second_live
    # MDMessageCmd activation-failed, from the probe (as root, like installed)
    deadline = time.monotonic() + 20
    while not any("activation-failed rb.test" in c for c in calls(msg_rec)) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    assert any(c.endswith("activation-failed rb.test") for c in calls(msg_rec)), \
        calls(msg_rec)
    # that set never goes live again: whatever is activated next is a new one
    for cert in glob.glob(os.path.join(httpd.root, "md", "domains", "rb.test",
                                       "pubcert.pem")):
        with open(cert) as f:
            assert f.read() != second_live
    assert httpd.running()
