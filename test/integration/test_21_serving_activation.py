"""Activation: a staged set (STAGING/<md>, written by the renewal job as the
worker user) goes live at the next (graceful) restart when it passes every
check; the previous live set is archived. A bad staged set is moved aside
once, with a log line saying why, and the live certificate stays."""
import fcntl
import json
import os
import re
import time

import pytest

from harness import layout
from test_20_serving import (domain_conf, plant, plant_set, served_serial, set_ca, store_dir,
                             wait_served)


def stamp(offset_days):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() + offset_days * 86400))


@pytest.fixture
def live(httpd, set_ca):
    """httpd serving a live P-256 set for a.test; returns its serial."""
    key, chain, serial = set_ca.issue(["a.test"])
    plant_set(httpd, layout.LIVE, "a.test", {"P-256": (key, chain)})
    httpd.write_conf(domain_conf(httpd))
    httpd.start()
    assert served_serial(httpd.served_certificate("a.test")) == serial
    return serial


def stage(httpd, pairs, extra=None):
    files = {}
    for spec, (key, chain) in pairs.items():
        if key is not None:
            files[layout.privkey(spec)] = key
        if chain is not None:
            files[layout.pubcert(spec)] = chain
    files.update(extra or {})
    return plant(httpd, "staging", "a.test", files, owner=httpd.user[0])


def test_staged_set_goes_live_at_graceful_restart(httpd, set_ca, live):
    key, chain, serial = set_ca.issue(["a.test"])
    stage(httpd, {"P-256": (key, chain)}, {"md.json": '{"name": "a.test"}\n'})
    # nothing changes before the restart
    assert served_serial(httpd.served_certificate("a.test")) == live
    mark = httpd.log_mark()
    httpd.graceful()
    wait_served(httpd, "a.test", serial)
    m = httpd.wait_for_log(r"ACME1214 activated new certificate for a\.test \(valid until "
                           r"([^)]+)\), previous one archived as a\.test\.1", since=mark)
    assert time.strftime("%Y", time.gmtime(time.time() + 30 * 86400)) in m.group(1)
    base = store_dir(httpd)
    assert not os.path.exists(os.path.join(base, "staging", "a.test"))
    with open(os.path.join(base, "archive", "a.test.1", layout.pubcert("P-256"))) as f:
        archived = f.read()
    with open(os.path.join(base, layout.LIVE, "a.test", "md.json")) as f:
        assert json.load(f)["name"] == "a.test"
    assert _serial_of(set_ca, archived) == live     # the one served before


def _serial_of(set_ca, chain_pem):
    out = set_ca._run("x509", "-noout", "-serial", stdin=chain_pem)
    return out.strip().split("=", 1)[1].upper().lstrip("0")


def test_bad_staged_set_is_moved_aside_and_live_stays(httpd, set_ca, live):
    key, chain, _ = set_ca.issue(["a.test"])
    other_key, _, _ = set_ca.issue(["a.test"])
    stage(httpd, {"P-256": (other_key, chain)})
    mark = httpd.log_mark()
    httpd.graceful()
    httpd.wait_for_log(r"ACME1215 a\.test: staged certificate NOT activated: P-256: the "
                       r"private key does not match the certificate\. The live certificate "
                       r"stays in service; the staged set was moved to "
                       r"archive/a\.test\.rejected-1", since=mark)
    assert served_serial(httpd.served_certificate("a.test")) == live
    base = store_dir(httpd)
    assert not os.path.exists(os.path.join(base, "staging", "a.test"))
    rejected = os.path.join(base, "archive", "a.test.rejected-1")
    with open(os.path.join(rejected, "rejected.json")) as f:
        info = json.load(f)
    assert info["name"] == "a.test" and "does not match" in info["reason"]
    st = os.stat(os.path.join(rejected, layout.privkey("P-256")))
    assert (st.st_mode & 0o777, st.st_uid) == (0o600, 0)
    # not retried at the next restart
    mark = httpd.log_mark()
    httpd.graceful()
    assert "ACME1215" not in httpd.error_log()[mark:]
    assert served_serial(httpd.served_certificate("a.test")) == live


def test_staged_set_is_copied_and_checked_fully_its_stamp_ignored(httpd, set_ca, live):
    """The parent never believes a stamp (verified.json) in STAGING, which
    the worker user writes (issue 16, finding 2): it copies the staged set
    and checks the copy fully; its own stamp goes live with the set, and a
    later restart trusts that one (root's, in domains/)."""
    base = store_dir(httpd)
    files = {}
    for aspect in (layout.privkey("P-256"), layout.pubcert("P-256"), "verified.json"):
        with open(os.path.join(base, layout.LIVE, "a.test", aspect)) as f:
            files[aspect] = f.read()      # the live set was stamped at start
    stage(httpd, {}, files)
    mark = httpd.log_mark()
    httpd.graceful()
    httpd.wait_for_log(r"ACME1214 activated new certificate for a\.test", since=mark)
    assert "ACME1218 a.test: staged set copied and checked fully" in httpd.error_log()[mark:]
    st = os.stat(os.path.join(base, layout.LIVE, "a.test", "verified.json"))
    assert (st.st_uid, st.st_mode & 0o022) == (0, 0)
    other_key, _, _ = set_ca.issue(["a.test"])
    stage(httpd, {}, dict(files, **{layout.privkey("P-256"): other_key}))
    mark = httpd.log_mark()
    httpd.graceful()
    httpd.wait_for_log(r"ACME1215 a\.test: staged certificate NOT activated: P-256: the "
                       r"private key does not match the certificate", since=mark)
    assert served_serial(httpd.served_certificate("a.test")) == live


@pytest.mark.parametrize("case, why", [
    ("expired", "the certificate expired on"),
    ("names", "the certificate does not cover the name a.test"),
    ("leaf_only", "holds only the certificate, not the chain"),
    ("wrong_order", "the chain is not in order: certificate 0 is not issued by certificate 1"),
    ("wrong_type", "the private key is rsa2048, not P-256"),
    ("no_key", "privkey.secp256r1.pem is missing"),
])
def test_staged_set_checks(httpd, set_ca, live, case, why):
    names = ["b.test"] if case == "names" else ["a.test"]
    kind = "rsa2048" if case == "wrong_type" else "P-256"
    start, end = (stamp(-20), stamp(-1)) if case == "expired" else (None, None)
    key, chain, _ = set_ca.issue(names, kind=kind, start=start, end=end)
    certs = chain.split("-----END CERTIFICATE-----\n")
    if case == "leaf_only":
        chain = certs[0] + "-----END CERTIFICATE-----\n"
    elif case == "wrong_order":     # leaf, root, intermediate
        with open(set_ca.root) as f:
            chain = certs[0] + "-----END CERTIFICATE-----\n" + f.read() + certs[1] \
                + "-----END CERTIFICATE-----\n"
    stage(httpd, {"P-256": (None if case == "no_key" else key, chain)})
    mark = httpd.log_mark()
    httpd.graceful()
    m = httpd.wait_for_log(r"ACME1215 a\.test: staged certificate NOT activated: (.*)",
                           since=mark)
    assert why in m.group(1)
    assert served_serial(httpd.served_certificate("a.test")) == live


def test_unfinished_staged_set_is_left_alone(httpd, set_ca, live):
    # the renewal job saves the key first, the certificate when the CA has it
    key, chain, serial = set_ca.issue(["a.test"])
    d = stage(httpd, {"P-256": (key, None)})
    mark = httpd.log_mark()
    httpd.graceful()
    assert "ACME1215" not in httpd.error_log()[mark:]
    assert os.path.exists(os.path.join(d, layout.privkey("P-256")))
    stage(httpd, {"P-256": (None, chain)})
    httpd.graceful()
    wait_served(httpd, "a.test", serial)


def test_activation_delay(httpd, set_ca):
    key, chain, serial = set_ca.issue(["a.test"])
    httpd.write_conf(domain_conf(httpd, extra="MDActivationDelay 2d"))
    httpd.start()
    d = stage(httpd, {"P-256": (key, chain)})
    mark = httpd.log_mark()
    httpd.graceful()
    httpd.wait_for_log(r"ACME1213 a\.test: staged certificate becomes active at the first "
                       r"restart after ", since=mark)
    assert "mod_acme fallback" in httpd.served_certificate("a.test").x509("-subject")
    assert os.path.exists(os.path.join(d, layout.pubcert("P-256")))
    # without the delay it goes live at the next restart
    httpd.write_conf(domain_conf(httpd))
    httpd.graceful()
    wait_served(httpd, "a.test", serial)


def test_first_certificate_replaces_the_fallback(httpd, set_ca):
    key, chain, serial = set_ca.issue(["a.test"])
    httpd.write_conf(domain_conf(httpd))
    httpd.start()
    assert "mod_acme fallback" in httpd.served_certificate("a.test").x509("-subject")
    stage(httpd, {"P-256": (key, chain)})
    mark = httpd.log_mark()
    httpd.graceful()
    wait_served(httpd, "a.test", serial)
    line = httpd.wait_for_log(r"ACME1214 activated new certificate for a\.test.*", since=mark)
    assert "replaces the fallback certificate" in line.group(0)
    assert "previous" not in line.group(0)
    assert httpd.get("https://a.test/index.html").status == 200


def test_set_being_written_is_not_looked_at(httpd, set_ca):
    # a renewal holds the (staging, a.test) lock while it writes the set:
    # the restart does not judge half a set, it leaves it for later
    key, chain, serial = set_ca.issue(["a.test"])
    httpd.write_conf(domain_conf(httpd, extra="MDStoreLocks 1s"))
    httpd.start()
    stage(httpd, {"P-256": (key, None)})
    lock_path = os.path.join(store_dir(httpd), "locks", "staging", "a.test")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stage(httpd, {"P-256": (None, chain[:len(chain) // 2])})    # half written
        mark = httpd.log_mark()
        httpd.graceful()
        httpd.wait_for_log(r"ACME1210 a\.test: the staged set is being written", since=mark)
        assert "ACME1215" not in httpd.error_log()[mark:]
        stage(httpd, {"P-256": (None, chain)})
    httpd.graceful()
    wait_served(httpd, "a.test", serial)
