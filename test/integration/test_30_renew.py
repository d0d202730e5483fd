"""Renewals end to end: httpd with mod_acme obtains certificates from a real
pebble through its own challenge answers (http-01 on the http port,
tls-alpn-01 on the https port), stages them, and serves them after a graceful
restart. Every served chain is verified against pebble's root.

The helpers here are shared by the other test_3x_renew suites."""
import os
import re
import socket
import ssl
import time

import pytest

from harness.faulty_ca import FaultyCA
from harness.tlsclient import ServedCert

STAGED = r"ACME1481 (?P<md>\S+): new certificate staged, activated at the next graceful restart"


def renew_conf(httpd, acme, ca, domains, extra="", md_extra="", vhost_extra=""):
    """The configuration of a real renewal: pebble as the CA (trusted via
    the throwaway CA), terms accepted, one https vhost per domain (the first
    name as ServerName, the others as aliases)."""
    lines = [f"MDCertificateAuthority {acme.url}",
             f"MDCACertificateFile {ca.cert_path}",
             "MDCertificateAgreement accepted",
             "MDContactEmail admin@example.org",
             extra]
    for names in domains:
        if md_extra:
            lines += [f"<MDomain {' '.join(names)}>", md_extra, "</MDomain>"]
        else:
            lines.append(f"MDomain {' '.join(names)}")
        alias = f"\n  ServerAlias {' '.join(names[1:])}" if len(names) > 1 else ""
        more = f"\n  {vhost_extra}" if vhost_extra else ""
        lines.append(f"<VirtualHost *:{httpd.ports.https}>\n  ServerName {names[0]}{alias}\n"
                     f"  SSLEngine on{more}\n</VirtualHost>")
    return "\n".join(l for l in lines if l) + "\n"


def pebble_root(acme, test_dir):
    path = os.path.join(test_dir, "pebble-root.pem")
    with open(path, "w") as f:
        f.write(acme.roots_pem())
    return path


def wait_staged(httpd, md, timeout=60, since=0):
    return httpd.wait_for_log(STAGED.replace(r"(?P<md>\S+)", re.escape(md)), timeout=timeout,
                              since=since)


def served(httpd, name, root):
    """The certificate served for name, verified against pebble's root."""
    return httpd.served_certificate(name, cafile=root)


def served_with(httpd, name, root, ciphers=None, sigalgs=None):
    """The leaf served to a TLS 1.2 client limited to ciphers (e.g. "ECDHE-RSA-
    AES128-GCM-SHA256") and signature algorithms, verified against root."""
    ctx = ssl.create_default_context(cafile=root)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    with socket.create_connection(("127.0.0.1", httpd.ports.https), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
    return ServedCert(der=der, pem=ssl.DER_cert_to_PEM_cert(der), verified=True)


def key_type(cert):
    text = cert.x509("-text")
    if "id-ecPublicKey" in text:
        return "EC"
    if "rsaEncryption" in text:
        return "RSA"
    return "?"


def issuer_is_pebble(cert):
    return "Pebble" in cert.x509("-issuer")


def obtain_and_serve(httpd, acme, test_dir, md, names, timeout=60):
    """Starts httpd, waits for the staged line of md, restarts gracefully
    and returns the verified certificate served for each name."""
    httpd.start()
    wait_staged(httpd, md, timeout=timeout)
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    return {n: served(httpd, n, root) for n in names}


def test_http01_certificate_obtained_and_served(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["a.test"]], md_extra="MDCAChallenges http-01"))
    certs = obtain_and_serve(httpd, acme, test_dir, "a.test", ["a.test"])
    assert issuer_is_pebble(certs["a.test"])
    assert certs["a.test"].sans() == ["DNS:a.test"]
    log = httpd.error_log()
    assert "answering http-01 for a.test" in log
    assert "ACME1214 activated new certificate for a.test" in log
    # one line per staged set, and nothing renews a freshly served certificate
    assert len(re.findall(STAGED, log)) == 1


def test_tlsalpn01_certificate_obtained_and_served(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["b.test"]],
                                md_extra="MDCAChallenges tls-alpn-01",
                                vhost_extra="Protocols http/1.1 acme-tls/1"))
    certs = obtain_and_serve(httpd, acme, test_dir, "b.test", ["b.test"])
    assert issuer_is_pebble(certs["b.test"])
    log = httpd.error_log()
    assert "answering tls-alpn-01 for b.test" in log
    assert "answering http-01" not in log


def test_tlsalpn01_needs_acme_tls_protocol(httpd, pebble, ca, challtestsrv, test_dir):
    """Without acme-tls/1 in Protocols httpd cannot answer tls-alpn-01: the
    default challenge list falls back to http-01, an explicit tls-alpn-01
    only list says what to add."""
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["f.test"]])
                     + "<MDomain g.test>\n  MDCAChallenges tls-alpn-01\n</MDomain>\n"
                     + f"<VirtualHost *:{httpd.ports.https}>\n  ServerName g.test\n"
                     + "  SSLEngine on\n</VirtualHost>\n")
    httpd.start()
    wait_staged(httpd, "f.test")
    log = httpd.error_log()
    assert "ACME1446 f.test: not using tls-alpn-01" in log
    assert "answering http-01 for f.test" in log
    assert "ACME1445 g.test: tls-alpn-01 is its only challenge type" in log


def test_multi_name_domain(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    names = ["c.test", "www.c.test", "mail.c.test"]
    httpd.write_conf(renew_conf(httpd, acme, ca, [names]))
    certs = obtain_and_serve(httpd, acme, test_dir, "c.test", names)
    for name in names:
        assert sorted(certs[name].sans()) == sorted(f"DNS:{n}" for n in names)
    assert len({c.der for c in certs.values()}) == 1


def test_two_key_types_both_served(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["d.test"]],
                                md_extra="MDPrivateKeys secp256r1 rsa2048"))
    httpd.start()
    wait_staged(httpd, "d.test")
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    ec = served_with(httpd, "d.test", root, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    rsa = served_with(httpd, "d.test", root, ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    assert key_type(ec) == "EC" and key_type(rsa) == "RSA"
    assert issuer_is_pebble(ec) and issuer_is_pebble(rsa)
    assert ec.sans() == rsa.sans() == ["DNS:d.test"]
    # one order per key type
    assert len(re.findall(r"ACME0920 acme\[md=d\.test order=", httpd.error_log())) == 2


def log_time(stamp):
    """Seconds since the epoch of an error_log time stamp
    ("Sat Nov 28 16:13:12.974221 2026")."""
    m = re.match(r"(\w+ \w+ +\d+ \d+:\d+:\d+)\.(\d+) (\d+)$", stamp)
    assert m, stamp
    t = time.strptime(f"{m.group(1)} {m.group(3)}", "%a %b %d %H:%M:%S %Y")
    return time.mktime(t) + int(m.group(2)) / 1e6


def job_spans(log, mds):
    """{md: (first order time, staged time, worker thread id)} from the log."""
    spans = {}
    for md in mds:
        order = re.search(rf"^\[([^\]]+)\].*ACME0920 acme\[md={re.escape(md)} order=", log, re.M)
        staged = re.search(rf"^\[([^\]]+)\].*tid (\d+)\].*ACME1481 {re.escape(md)}:", log, re.M)
        assert order and staged, md
        spans[md] = (order.group(1), staged.group(1), staged.group(2))
    return spans


def test_several_domains_renew_concurrently(httpd, pebble, ca, challtestsrv, test_dir, ports):
    """Four domains at once: all staged, by several workers whose jobs ran
    at the same time, each served after one restart. The CA (through the
    test proxy) answers every finalize slowly, so each job lasts seconds:
    jobs that ran one after the other cannot overlap, whatever the load."""
    acme = pebble()
    proxy = FaultyCA(ca, ports.acme, "/dir").start()
    try:
        proxy.set_schedule(["slow"] * 4, match="^/finalize-order/")
        mds = [f"m{i}.test" for i in range(4)]
        httpd.write_conf(renew_conf(httpd, proxy, ca, [[m] for m in mds]))
        httpd.start()
        for md in mds:
            wait_staged(httpd, md, timeout=90)
        assert len(proxy.faulted()) == 4
    finally:
        proxy.stop()
    spans = job_spans(httpd.error_log(), mds)
    assert len({tid for _, _, tid in spans.values()}) >= 2
    overlapping = [(a, b) for a in mds for b in mds if a < b
                   and log_time(spans[a][0]) < log_time(spans[b][1])
                   and log_time(spans[b][0]) < log_time(spans[a][1])]
    assert overlapping, spans
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    for md in mds:
        assert issuer_is_pebble(served(httpd, md, root))


def test_nothing_renewed_while_certificate_is_fresh(httpd, pebble, ca, challtestsrv, test_dir):
    """After activation the watchdog of the new generation schedules the
    domain by its live certificate: no new order."""
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["e.test"]]))
    httpd.start()
    wait_staged(httpd, "e.test")
    mark = httpd.log_mark()
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, "e.test", pebble_root(acme, test_dir)))
    httpd.wait_for_log(r"ACME1443 e\.test: certificate valid until .* renewal at", timeout=20,
                       since=mark)
    time.sleep(3)
    assert "ACME0920" not in httpd.error_log()[mark:]
    assert "ACME1449 e.test: finished renewal job forgotten" in httpd.error_log()[mark:]


@pytest.mark.parametrize("httpd", ["prefork", "worker"], indirect=True)
def test_renewal_under_other_mpms(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["mpm.test"]]))
    certs = obtain_and_serve(httpd, acme, test_dir, "mpm.test", ["mpm.test"])
    assert issuer_is_pebble(certs["mpm.test"])
    # one watchdog in the whole server, per generation (start, graceful)
    assert len(re.findall(r"ACME1430 renewal watchdog running in pid (\d+)",
                          httpd.error_log())) == 2


def test_initial_delay(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["delay.test"]], extra="MDInitialDelay 4s"))
    httpd.start()
    wait_staged(httpd, "delay.test")
    log = httpd.error_log()
    started = re.search(r"^\[([^\]]+)\].*ACME1430 renewal watchdog running", log, re.M)
    job = re.search(r"^\[([^\]]+)\].*ACME0901 acme\[md=delay\.test\]", log, re.M)
    assert log_time(job.group(1)) - log_time(started.group(1)) >= 3.9


def test_failover_to_the_next_ca(httpd, pebble, ca, challtestsrv, test_dir):
    """MDRetryFailover 2: after two errors at an unreachable CA the domain
    goes to the next one of its list, and stays there."""
    acme = pebble()
    conf = renew_conf(httpd, acme, ca, [["fo.test"]], extra="MDRetryFailover 2\nMDRetryDelay 1s")
    conf = conf.replace(f"MDCertificateAuthority {acme.url}",
                        f"MDCertificateAuthority https://127.0.0.1:1/dir {acme.url}")
    httpd.write_conf(conf)
    httpd.start()
    httpd.wait_for_log(r"ACME1485 fo\.test: 2 consecutive errors with CA https://127\.0\.0\.1:1/"
                       rf"dir \(MDRetryFailover\), switching to {re.escape(acme.url)}", timeout=30)
    wait_staged(httpd, "fo.test")
    log = httpd.error_log()
    assert len(re.findall(r"ACME1483 fo\.test: .*127\.0\.0\.1:1", log)) == 2
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, "fo.test", pebble_root(acme, test_dir)))
