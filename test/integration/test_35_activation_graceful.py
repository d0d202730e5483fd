"""MDActivation graceful: the parent restarts itself gracefully once staged
certificate sets are ready, as `apachectl graceful` would (same pid, same
listeners, the configuration checked first), batching renewals that finish
close together. Under MDActivation manual (the default) nothing restarts by
itself. A configuration that fails the check on disk holds the restart back,
with the reason in the status, until it is fixed. A set staged by hand (no
renewal job of its own) is restarted for as well."""
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import threading
import time

import pytest

from harness import layout
from status_check import ACTIVATION, STATUS, obj, undocumented, validate
from test_20_serving import plant_set, set_ca, store_dir  # noqa: F401 (fixture)
from test_21_serving_activation import stamp
from test_30_renew import STAGED, issuer_is_pebble, renew_conf
from test_51_ari import ari_conf, front  # noqa: F401 (fixture)

RESTARTED = r"ACME1410 MDActivation graceful: configuration check passed, restarting"
READY = "resuming normal operations"    # httpd, at every start and restart
CHECK_FAILS = r"ACME1411 activation waiting: the configuration check fails"
MD_STATUS = ("<Location /md-status>\n  SetHandler md-status\n</Location>\n")


class Client(threading.Thread):
    """Requests all along: a new connection for each (http, and https with
    the SNI of a managed domain), and one keep-alive connection. A reused
    keep-alive connection that the server closed while idle (a graceful
    restart closes idle connections) is reopened and the request sent again,
    as HTTP clients do (RFC 9112, 9.3.1); anything else that does not get an
    answer is a failure."""

    def __init__(self, httpd, sni):
        super().__init__(daemon=True)
        self.httpd, self.sni = httpd, sni
        self.done = threading.Event()
        self.failures, self.answered, self.reopened = [], 0, 0
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def _fresh_http(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.httpd.ports.http, timeout=15)
        try:
            conn.request("GET", "/index.html",
                         headers={"Host": "localhost", "Connection": "close"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                self.failures.append(f"http: status {resp.status}")
        finally:
            conn.close()

    def _fresh_https(self):
        raw = socket.create_connection(("127.0.0.1", self.httpd.ports.https), timeout=15)
        conn = http.client.HTTPConnection("127.0.0.1", self.httpd.ports.https, timeout=15)
        try:
            conn.sock = self.ctx.wrap_socket(raw, server_hostname=self.sni)
            conn.request("GET", "/", headers={"Host": self.sni, "Connection": "close"})
            resp = conn.getresponse()
            resp.read()     # 503 while the fallback certificate is served
        finally:
            conn.close()

    def _keepalive(self, state):
        for attempt in (0, 1):
            if state.get("conn") is None:
                state["conn"] = http.client.HTTPConnection("127.0.0.1", self.httpd.ports.http,
                                                           timeout=15)
                state["used"] = False
            conn = state["conn"]
            try:
                conn.request("GET", "/index.html", headers={"Host": "localhost"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    self.failures.append(f"keep-alive: status {resp.status}")
                state["used"] = True
                if resp.will_close:
                    conn.close()
                    state["conn"] = None
                return
            except (ConnectionError, http.client.RemoteDisconnected,
                    http.client.BadStatusLine) as e:
                conn.close()
                state["conn"] = None
                if attempt == 0 and state["used"]:
                    self.reopened += 1      # closed while idle: send it again
                    continue
                raise e

    def run(self):
        state = {}
        while not self.done.is_set():
            for step in (self._fresh_http, self._fresh_https, lambda: self._keepalive(state)):
                try:
                    step()
                    self.answered += 1
                except Exception as e:  # noqa: BLE001 (every failure is reported)
                    self.failures.append(f"{getattr(step, '__name__', 'keep-alive')}: {e!r}")
            time.sleep(0.02)
        if state.get("conn") is not None:
            state["conn"].close()


def domains(n):
    return [f"act{i}.test" for i in range(n)]


def self_restarts(httpd, since=0):
    return len(re.findall(RESTARTED, httpd.error_log()[since:]))


def served_by_pebble(httpd, name):
    try:
        return issuer_is_pebble(httpd.served_certificate(name))
    except (OSError, ssl.SSLError):
        return False


def wait_all_served(httpd, names, timeout):
    deadline = time.monotonic() + timeout
    left = list(names)
    while left and time.monotonic() < deadline:
        left = [n for n in left if not served_by_pebble(httpd, n)]
        if left:
            time.sleep(1)
    return left


def md_status(httpd):
    """md-status, checked against the schema of docs/status.md."""
    status = json.loads(httpd.get(f"http://localhost:{httpd.ports.http}/md-status").body)
    validate(status, STATUS)
    return status


def test_activation_status_fields_are_documented():
    assert undocumented(obj({"activation": ACTIVATION}), "JSON status") == []


@pytest.mark.parametrize("mpm", ["event", "worker", "prefork"])
def test_eight_domains_go_live_without_a_manual_restart(make_httpd, pebble, ca, challtestsrv,
                                                        mpm):
    acme = pebble()
    httpd = make_httpd(mpm=mpm)
    names = domains(8)
    httpd.write_conf(renew_conf(httpd, acme, ca, [[n] for n in names],
                                extra="MDActivation graceful\n" + MD_STATUS,
                                md_extra="MDCAChallenges http-01"))
    httpd.start()
    pid = httpd.pid
    client = Client(httpd, names[0])
    client.start()
    try:
        left = wait_all_served(httpd, names, timeout=300)
        assert not left, f"not served after 300 s: {left}\n{httpd._log_tail()}"
        time.sleep(2)   # requests across the last restart's aftermath
    finally:
        client.done.set()
        client.join(30)
    log = httpd.error_log()
    assert len(re.findall(STAGED, log)) == 8
    restarts = self_restarts(httpd)
    assert 1 <= restarts <= 3, log
    # httpd's own graceful restart, one per self-initiated one, same parent
    assert log.count(READY) == 1 + restarts
    assert httpd.read_pid() == pid and httpd.running()
    assert len(re.findall(r"ACME1214 activated new certificate for act\d\.test", log)) == 8
    assert client.answered > 50, client.answered
    assert not client.failures, client.failures[:10]
    status = md_status(httpd)["activation"]
    assert status["mode"] == "graceful" and status["restarts"] == restarts
    assert status["pending"] == 0 and "last" in status


def test_invalid_configuration_on_disk_holds_the_restart(httpd, pebble, ca, challtestsrv):
    acme = pebble()
    names = domains(2)
    conf = renew_conf(httpd, acme, ca, [[n] for n in names],
                      extra="MDActivation graceful\nMDActivationInterval 10s\n" + MD_STATUS,
                      md_extra="MDCAChallenges http-01")
    httpd.write_conf(conf)
    httpd.start()
    pid = httpd.pid
    # an admin is editing the configuration while the renewals run
    with open(httpd.conf_path, "a") as f:
        f.write("BogusDirectiveOfTheAdmin on\n")
    m = httpd.wait_for_log(CHECK_FAILS + r".*: (.*)$", timeout=120)
    assert "BogusDirectiveOfTheAdmin" in m.group(1), m.group(0)
    assert httpd.error_log().count(READY) == 1
    status = md_status(httpd)["activation"]
    assert status["waiting"] == "configuration check fails", status
    assert "BogusDirectiveOfTheAdmin" in status["check-error"]
    assert status["pending"] == 2 and status["restarts"] == 0 and "next" in status
    auto = httpd.get(f"http://localhost:{httpd.ports.http}/server-status?auto").body.decode()
    assert "ActivationWaiting: configuration check fails" in auto
    page = httpd.get(f"http://localhost:{httpd.ports.http}/server-status").body.decode()
    assert "activation waiting: configuration check fails" in page
    # it is retried (MDActivationInterval later) and still refused
    mark = httpd.log_mark()
    httpd.wait_for_log(CHECK_FAILS, timeout=40, since=mark)
    assert httpd.error_log().count(READY) == 1
    assert not any(served_by_pebble(httpd, n) for n in names)
    # fixed: the activation follows by itself
    httpd.write_conf(conf)
    assert not wait_all_served(httpd, names, timeout=60), httpd._log_tail()
    assert httpd.read_pid() == pid and httpd.running()
    assert self_restarts(httpd) == 1
    status = md_status(httpd)["activation"]
    assert "waiting" not in status and "check-error" not in status, status


def test_manual_activation_never_restarts_by_itself(httpd, pebble, ca, challtestsrv):
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["man.test"]], extra=MD_STATUS,
                                md_extra="MDCAChallenges http-01"))
    httpd.start()
    httpd.wait_for_log(STAGED.replace(r"(?P<md>\S+)", r"man\.test"), timeout=60)
    time.sleep(25)      # more than two turns of the parent's monitor
    log = httpd.error_log()
    assert log.count(READY) == 1 and "ACME1410" not in log and "ACME1413" not in log
    assert not served_by_pebble(httpd, "man.test")
    status = md_status(httpd)["activation"]
    assert status == {"mode": "manual", "restarts": 0}, status
    httpd.graceful()        # the admin's restart still activates it
    assert served_by_pebble(httpd, "man.test")


def leaf_sha256(chain_pem):
    """SHA-256 of the DER of a chain's first certificate (the leaf)."""
    leaf = chain_pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(leaf)).hexdigest()


def served_sha256(httpd, name):
    return hashlib.sha256(httpd.served_certificate(name).der).hexdigest()


def test_hand_staged_set_survives_the_watchdogs_report(httpd, front, set_ca, ca):  # noqa: F811
    """A set staged by hand (the rollback of docs/operations.md, or another
    tool) has no renewal job. MDActivationDelay holds it at the start and
    post_config seeds its facts, which the parent plans the restart from. The
    watchdog reports on the domain after each ARI check; that report must not
    clear the facts (before 039e2af it did: the parent never planned the
    restart and the set stayed in staging/). The ARI check happens at a random
    time within MDCheckInterval: at 2s it comes long before the set is due,
    and the log shows it did."""
    f, _ = front
    md = "hand.test"
    f.set_window(time.time() + 10 * 86400, time.time() + 11 * 86400)   # no renewal
    key, chain, _ = set_ca.issue([md])
    plant_set(httpd, layout.LIVE, md, {"P-256": (key, chain)})
    live = leaf_sha256(chain)
    key, chain, _ = set_ca.issue([md], start=stamp(0))
    plant_set(httpd, "staging", md, {"P-256": (key, chain)}, owner=httpd.user[0])
    staged = leaf_sha256(chain)
    delay = 60      # from notBefore (now): a generous margin over the start and the ARI check
    httpd.write_conf(ari_conf(httpd, f, ca, md,
                              extra=f"MDPrivateKeys secp256r1\nMDActivation graceful\n"
                                    f"MDActivationDelay {delay}s\n"))
    httpd.start()
    name = re.escape(md)
    held = httpd.wait_for_log(rf"ACME1213 {name}: staged certificate becomes active at the "
                              r"first restart after", timeout=10)
    assert served_sha256(httpd, md) == live
    ari = httpd.wait_for_log(rf"ACME1466 {name}: CA's renewal window", timeout=60)
    restart = httpd.wait_for_log(RESTARTED, timeout=delay + 120)
    # the watchdog's report on the domain came while the set waited
    assert held.start() < ari.start() < restart.start()
    httpd.wait_for_log(rf"ACME1214 activated new certificate for {name}", timeout=30,
                       since=restart.end())
    deadline = time.monotonic() + 30
    while served_sha256(httpd, md) != staged and time.monotonic() < deadline:
        time.sleep(0.2)     # children of the old generation may answer a moment longer
    assert served_sha256(httpd, md) == staged
    assert self_restarts(httpd) == 1
    assert not os.path.exists(os.path.join(store_dir(httpd), "staging", md))


@pytest.mark.parametrize("conf,phrase", [
    ("MDActivation sometimes", "MDActivation: 'sometimes' is not understood; use manual"),
    ("MDActivation", "MDActivation takes one argument"),
    ("MDActivationInterval 5s", "MDActivationInterval: '5s' is shorter than the minimum of 10s"),
    ("MDActivationInterval soon", "MDActivationInterval: 'soon' is not a duration"),
    ("MDActivationInterval -1mi", "MDActivationInterval: '-1mi' is negative"),
    ("<MDomain a.test>\n  MDActivation graceful\n</MDomain>",
     "MDActivation is not allowed inside <MDomain>"),
], ids=["mode", "mode-missing", "interval-short", "interval-word", "interval-negative",
        "in-section"])
def test_bad_activation_directives_fail_the_config_test(httpd, conf, phrase):
    httpd.write_conf(conf.format(http=httpd.ports.http))
    rc, out = httpd.config_test()
    assert rc != 0, out
    assert phrase in out, out


def test_activation_directive_in_vhost_applies_to_the_server(httpd):
    """Inside <VirtualHost> a server-wide setting is taken for the whole
    server with a warning (ACME1162), as mod_md takes its own (issue 15)."""
    httpd.write_conf(f"<VirtualHost *:{httpd.ports.http}>\n  ServerName a.test\n"
                     "  MDActivationInterval 1mi\n</VirtualHost>\n")
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert "ACME1162 MDActivationInterval" in out and "applies to the whole server" in out, out


def test_good_activation_directives_pass(httpd):
    httpd.write_conf("MDActivation GRACEFUL\nMDActivationInterval 10mi\nMDActivation manual\n")
    rc, out = httpd.config_test()
    assert rc == 0, out
