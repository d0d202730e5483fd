"""ARI (RFC 9773) end to end through harness/acme_front.py, which gives
pebble a renewalInfo resource with windows the test sets.

One domain, one start: the first certificate is ordered without
"replaces"; once it is live, a window far in the future is followed (no
order, the window and its explanation URL in the log and in the status),
then the CA moves the window into the past and the domain renews at once
with "replaces" = the live certificate's id. A failing renewalInfo leaves
the renew window in charge. MDCheckInterval 2s keeps ARI's shortest wait
between checks (min(60 s, MDCheckInterval)) short."""
import base64
import email.utils
import html.parser
import re
import subprocess
import time

import pytest

from harness.acme_front import AcmeFront
from harness import layout
from test_20_serving import plant_set, set_ca  # noqa: F401 (fixture)
from test_30_renew import renew_conf, served, pebble_root, wait_staged
from test_40_status import LOCATIONS, auto_lines, md_status, server_status

FAR = 40 * 86400          # a window 40 days ahead: inside the certificate's life


@pytest.fixture
def front(ca, pebble, ports):
    acme = pebble()
    f = AcmeFront(ca, ports.acme, "/dir").start()
    yield f, acme
    f.stop()


def cert_id(cert):
    """RFC 9773 4.1 from openssl's view of the certificate."""
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-ext",
                          "authorityKeyIdentifier"], input=cert.pem, capture_output=True,
                         text=True, check=True).stdout
    serial = bytes.fromhex(re.search(r"serial=([0-9A-Fa-f]+)", out).group(1)).lstrip(b"\0")
    if not serial or serial[0] & 0x80:
        serial = b"\0" + serial
    aki = out.split("Authority Key Identifier:", 1)[1]
    kid = bytes.fromhex("".join(re.findall(r"\b([0-9A-Fa-f]{2})\b", aki.split("\n\n")[0])))

    def b64(b):
        return base64.urlsafe_b64encode(b).decode().rstrip("=")
    return f"{b64(kid)}.{b64(serial)}"


def not_before(cert):
    out = subprocess.run(["openssl", "x509", "-noout", "-startdate", "-dateopt", "iso_8601"],
                         input=cert.pem, capture_output=True, text=True, check=True).stdout
    stamp = out.strip().split("=", 1)[1]
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%SZ")) - time.timezone


def unix(text):
    """The Unix time of a status time (RFC 1123, as mod_md writes it)."""
    return email.utils.parsedate_to_datetime(text).timestamp()


def orders_for(front, md):
    return [o for o in front.order_payloads()
            if any(i.get("value") == md for i in o.get("identifiers", []))]


def wait_status(httpd, md, pred, timeout=30):
    """md's JSON status once pred(status) holds (the slot is written after
    the log line of the check that changed it)."""
    deadline = time.time() + timeout
    while True:
        status = md_status(httpd, md)
        if pred(status) or time.time() > deadline:
            assert pred(status), status
            return status
        time.sleep(0.2)


def ari_conf(httpd, front, ca, md, extra=""):
    return renew_conf(httpd, front, ca, [[md]], extra=f"MDCheckInterval 2s\n{extra}",
                      md_extra="MDCAChallenges http-01") + LOCATIONS


def start_with_live_cert(httpd, front, acme, ca, test_dir, md, extra=""):
    """The first certificate (no ARI yet: nothing to ask about), served."""
    httpd.write_conf(ari_conf(httpd, front, ca, md, extra))
    httpd.start()
    wait_staged(httpd, md)
    assert [o.get("replaces") for o in orders_for(front, md)] == [None]
    mark = httpd.log_mark()
    httpd.graceful()
    return served(httpd, md, pebble_root(acme, test_dir)), mark


def test_ari_window_followed_then_renews_with_replaces(httpd, front, ca, challtestsrv,
                                                        test_dir):
    f, acme = front
    md = "ari.test"
    why = "https://ca.test/incident-42"
    f.set_window(time.time() + FAR, time.time() + FAR + 86400, explanation=why)
    cert, mark = start_with_live_cert(httpd, f, acme, ca, test_dir, md)
    cid = cert_id(cert)
    httpd.wait_for_log(rf"ACME1466 {re.escape(md)}: CA's renewal window .* explanation: "
                       rf"{re.escape(why)}", timeout=30, since=mark)
    assert f.cert_ids()[-1] == cid
    status = wait_status(httpd, md, lambda s: "explanation-url" in s.get("ari", {}))
    assert status["ari"]["explanation-url"] == why
    start = unix(status["ari"]["window"]["start"])
    assert start >= time.time() + FAR - 86400
    assert unix(status["renew-at"]) >= start
    assert auto_lines(httpd)["ManagedDomain[0]ARIExplanationURL"] == why
    # the window is far: checks go on (Retry-After 1, bounded by 2s), nothing is ordered
    asked = len(f.cert_ids())
    deadline = time.time() + 20
    while len(f.cert_ids()) < asked + 2 and time.time() < deadline:
        time.sleep(0.2)
    assert len(f.cert_ids()) >= asked + 2
    assert len(orders_for(f, md)) == 1
    # the CA moves the window into the past: renew now, replacing the live one
    while time.time() < not_before(cert) + 2:
        time.sleep(0.2)
    end = int(time.time())
    mark = httpd.log_mark()
    f.set_window(end - 1, end)
    wait_staged(httpd, md, timeout=60, since=mark)
    assert [o.get("replaces") for o in orders_for(f, md)] == [None, cid]


def test_ari_failure_falls_back_to_renew_window(httpd, front, ca, challtestsrv, test_dir):
    f, acme = front
    md = "ari-down.test"
    f.set_ari_error(500)
    cert, mark = start_with_live_cert(httpd, f, acme, ca, test_dir, md)
    planned = httpd.wait_for_log(rf"ACME1443 {re.escape(md)}: certificate valid until .* "
                                 r"renewal at (.*) \(renew window", timeout=30, since=mark)
    failed = httpd.wait_for_log(rf"ACME1465 {re.escape(md)}: ARI check failed: .*500.*; "
                                r"renewal stays at (.*) \(MDRenewWindow\)", timeout=30,
                                since=mark)
    assert planned.group(1) == failed.group(1)
    assert f.cert_ids() and f.cert_ids()[-1] == cert_id(cert)
    status = wait_status(httpd, md, lambda s: "error" in s.get("ari", {}))
    assert "500" in status["ari"]["error"]
    assert "window" not in status["ari"]
    assert len(orders_for(f, md)) == 1


def test_ari_state_survives_restart(httpd, front, ca, challtestsrv, test_dir):
    """The window and the next check are kept in the store: a restart
    schedules from them (same renewal time) and does not ask again early."""
    f, acme = front
    md = "ari-keep.test"
    f.set_window(time.time() + FAR, time.time() + FAR + 86400, retry_after=3600)
    cert, mark = start_with_live_cert(httpd, f, acme, ca, test_dir, md)
    before = wait_status(httpd, md, lambda s: "window" in s.get("ari", {}))
    asked = len(f.cert_ids())
    mark = httpd.log_mark()
    httpd.graceful()
    httpd.wait_for_log(rf"ACME1464 {re.escape(md)}: renewal at .* by the CA's stored "
                       r"renewal window", timeout=30, since=mark)
    httpd.wait_for_log(r"ACME1430 renewal watchdog running", timeout=30, since=mark)
    time.sleep(3)       # MDCheckInterval 2s: a check at start would have come by now
    assert len(f.cert_ids()) == asked
    after = md_status(httpd, md)
    assert after["renew-at"] == before["renew-at"]
    assert after["ari"]["window"] == before["ari"]["window"]


def test_ari_off_asks_nothing_and_replaces_nothing(httpd, front, ca, challtestsrv, test_dir):
    f, acme = front
    md = "ari-off.test"
    f.set_window(time.time() - 3600, time.time() - 1800)     # would renew at once
    cert, mark = start_with_live_cert(httpd, f, acme, ca, test_dir, md,
                                      extra="MDRenewViaARI off")
    httpd.wait_for_log(rf"ACME1443 {re.escape(md)}: certificate valid until", timeout=30,
                       since=mark)
    time.sleep(3)
    assert f.cert_ids() == []
    assert len(orders_for(f, md)) == 1
    assert md_status(httpd, md)["renew-via-ari"] is False


def test_already_replaced_orders_without_replaces(httpd, front, ca, challtestsrv, test_dir):
    """RFC 9773 5: a CA answering alreadyReplaced gets a plain order."""
    f, acme = front
    md = "ari-replaced.test"
    f.reject_replaces = 1
    cert, mark = start_with_live_cert(httpd, f, acme, ca, test_dir, md)
    while time.time() < not_before(cert) + 2:
        time.sleep(0.2)
    end = int(time.time())
    f.set_window(end - 1, end)
    wait_staged(httpd, md, timeout=60, since=mark)
    assert [o.get("replaces") for o in f.rejected] == [cert_id(cert)]
    assert [o.get("replaces") for o in orders_for(f, md)] == [None, None]
    assert re.search(rf"ACME0926 acme\[md={re.escape(md)}\]: the CA says \S+ was replaced "
                     r"already", httpd.error_log())


class _Page(html.parser.HTMLParser):
    """Tags, attributes and links (href, text) of an HTML page, as a browser
    would see them (attribute values unescaped)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.links, self._a = [], [], [], None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag == "a":
            self._a = [dict(attrs).get("href"), ""]

    def handle_data(self, data):
        if self._a is not None:
            self._a[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._a is not None:
            self.links.append(tuple(self._a))
            self._a = None


def test_ari_explanation_is_escaped_on_server_status(httpd, front, ca, challtestsrv,
                                                     test_dir):
    """Issue 16, finding 5: the CA's explanationURL is an attribute value on
    the server-status page; quotes, tags and non-http(s) schemes from a CA
    must not make markup or script there."""
    f, acme = front
    md = "ari-xss.test"
    evil = "https://ca.test/x'onmouseover='alert(1)'\"><script>alert(2)</script>"
    f.set_window(time.time() + FAR, time.time() + FAR + 86400, explanation=evil)
    cert, mark = start_with_live_cert(httpd, f, acme, ca, test_dir, md)
    wait_status(httpd, md, lambda s: s.get("ari", {}).get("explanation-url") == evil)
    text = server_status(httpd)
    page = _Page(text)
    assert "script" not in page.tags, text
    assert not [a for a in page.attrs if a[0].startswith("on")], page.attrs
    # the link goes to exactly the URL the CA gave, nothing more
    assert ([href for href, label in page.links if label == "why"] == [evil]), page.links
    assert "<script>" not in text and "'onmouseover" not in text
    # the ?auto lines are text/plain: the URL as it is
    assert auto_lines(httpd)["ManagedDomain[0]ARIExplanationURL"] == evil

    # a javascript: URL is refused as an explanation, and never a link
    mark = httpd.log_mark()
    f.set_window(time.time() + FAR, time.time() + FAR + 86400,
                 explanation="javascript:alert(document.cookie)")
    httpd.wait_for_log(rf"ACME1465 {re.escape(md)}: ARI check failed: .*explanationURL",
                       timeout=30, since=mark)
    page = _Page(server_status(httpd))
    assert not [href for href, _ in page.links
                if not href or not re.match(r"https?://", href)], page.links
    assert "javascript:" not in " ".join(href for href, _ in page.links)


def test_unreachable_ca_warns_once_not_once_per_domain(httpd, set_ca):  # noqa: F811
    """The CA's directory cannot be reached (nothing listens on port 1):
    the first domain's ARI check warns; the other domains' checks in the
    moments after it do not ask again (`not asked`, at debug level), so 8
    domains make one warning, not 8; at 10,000 domains that was a warning
    and a connection attempt per domain at every round."""
    names = [f"ari-down{i}.test" for i in range(8)]
    p = httpd.ports
    conf = (f"{httpd.md_port_map()}\nMDCertificateAuthority https://127.0.0.1:1/dir\n"
            "MDCheckInterval 2s\nMDPrivateKeys secp256r1\n")
    for name in names:
        key, chain, _ = set_ca.issue([name])
        plant_set(httpd, layout.LIVE, name, {"P-256": (key, chain)})
        conf += (f"MDomain {name}\n<VirtualHost 127.0.0.1:{p.https}>\n  ServerName {name}\n"
                 "  SSLEngine on\n</VirtualHost>\n")
    httpd.write_conf(conf)
    httpd.start()
    first = {}
    deadline = time.time() + 60
    while len(first) < len(names) and time.time() < deadline:
        for line in httpd.error_log().splitlines():
            m = re.search(r"\[acme:(\w+)\].* ACME1465 (ari-down\d\.test): ARI check failed: (.*)",
                          line)
            if m and m.group(2) not in first:
                first[m.group(2)] = (m.group(1), m.group(3))
        time.sleep(0.5)
    assert sorted(first) == sorted(names), httpd._log_tail()
    warned = [n for n, (level, _) in first.items() if level == "warn"]
    quiet = [n for n, (level, why) in first.items() if level == "debug" and "not asked" in why]
    # one warning; two if a domain's first check fell just past the quiet
    # time that the first failure set (MDCheckInterval's 2 s here)
    assert 1 <= len(warned) <= 2, first
    assert len(quiet) == len(names) - len(warned), first
    assert httpd.running()
