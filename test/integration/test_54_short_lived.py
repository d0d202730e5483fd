"""Short-lived certificates end to end: a dedicated pebble issues
certificates valid for LIFETIME seconds, the domain has MDRenewWindow 50%.
The certificate is obtained and activated, then renewed twice in a row, each
time around the middle of the served certificate's lifetime: not before the
window starts (notBefore + 50% of notAfter - notBefore, from the certificate
actually served) and well before it expires. The test restarts httpd
gracefully whenever a set is staged, which is what an admin's MDMessageCmd
"renewed" hook does. No tight loop: pebble saw exactly one order per
certificate, and so did the module's log."""
import calendar
import re
import time

from test_30_renew import (issuer_is_pebble, log_time, pebble_root, renew_conf, served,
                           wait_staged)

LIFETIME = 80           # seconds of validity pebble gives every certificate
WINDOW_PERCENT = 50
RENEWALS = 2
# A loaded machine (two suites side by side, sanitizers) may start a due job
# late; a loop or a window computed from the wrong lifetime is off by far more.
LATE_TOLERANCE = 20
MD = "short.test"
ORDER = rf"^\[([^\]]+)\].*ACME0920 acme\[md={re.escape(MD)} order="


def cert_time(cert, which):
    """notBefore/notAfter of a ServedCert in seconds since the epoch."""
    text = cert.x509(f"-{which}").strip()
    value = text.split("=", 1)[1]
    return calendar.timegm(time.strptime(value, "%b %d %H:%M:%S %Y GMT"))


def order_times(httpd):
    return [log_time(m.group(1)) for m in re.finditer(ORDER, httpd.error_log(), re.M)]


def pebble_orders(acme):
    """Orders pebble created: not its POST /order-plz lines, which also count
    a request it refused (it rejects 5 % of nonces; the client resends)."""
    return len(re.findall(r'Added order "[^"]+" to the db', acme.log()))


def test_short_lived_renewed_in_its_window(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble(config_overrides={"certificateValidityPeriod": LIFETIME}, fresh=True)
    httpd.write_conf(renew_conf(httpd, acme, ca, [[MD]],
                                md_extra=f"MDCAChallenges http-01\n"
                                         f"  MDRenewWindow {WINDOW_PERCENT}%"))
    httpd.start()
    wait_staged(httpd, MD)
    mark = httpd.log_mark()
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    cert = served(httpd, MD, root)
    assert issuer_is_pebble(cert)
    seen = [cert]
    for n in range(1, RENEWALS + 1):
        nb, na = cert_time(cert, "startdate"), cert_time(cert, "enddate")
        assert 0 < na - nb <= LIFETIME
        window_start = nb + (na - nb) * WINDOW_PERCENT / 100
        # the new generation plans the renewal where the window starts
        m = httpd.wait_for_log(rf"ACME1443 {re.escape(MD)}: certificate valid until .*, "
                               r"renewal at (.*) \(renew window\)", timeout=20, since=mark)
        planned = calendar.timegm(time.strptime(m.group(1), "%a, %d %b %Y %H:%M:%S GMT"))
        assert abs(planned - window_start) <= 1, (planned, window_start)
        mark = httpd.log_mark()
        wait_staged(httpd, MD, timeout=na - time.time() + 30, since=mark)
        orders = order_times(httpd)
        assert len(orders) == n + 1, f"renewal {n}: {len(orders)} orders"
        ordered = orders[-1]
        assert ordered >= window_start - 1, f"renewal {n} ordered {window_start - ordered:.1f}s " \
                                            "before its window"
        assert ordered <= window_start + LATE_TOLERANCE, \
            f"renewal {n} ordered {ordered - window_start:.1f}s after the window started"
        assert ordered < na
        mark = httpd.log_mark()
        httpd.graceful()
        cert = served(httpd, MD, root)
        assert cert.der != seen[-1].der and cert_time(cert, "startdate") >= nb
        assert cert.sans() == [f"DNS:{MD}"]
        seen.append(cert)
    # one order per certificate, nothing in between (pebble's own count too)
    assert pebble_orders(acme) == RENEWALS + 1
    assert len(order_times(httpd)) == RENEWALS + 1
    assert len(re.findall(r"ACME1214 activated new certificate for short\.test",
                          httpd.error_log())) == RENEWALS + 1
