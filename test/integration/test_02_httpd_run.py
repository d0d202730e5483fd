"""httpd runs with the module loaded, as root with an unprivileged User for
its children, under each MPM; graceful restarts and stops are clean."""
import os
import pwd
import time

import pytest

from harness.httpd import HttpdError
from harness.ports import PortBusyError, ensure_free
from harness.proc import pid_alive, pid_status


def _uids(pid):
    return [int(u) for u in pid_status(pid).get("Uid", "").split()]


@pytest.mark.parametrize("httpd", ["event", "worker", "prefork"], indirect=True)
def test_runs_with_unprivileged_children(httpd, ports):
    if os.geteuid() != 0:
        pytest.skip("needs root: httpd must start as root to switch to its User")
    httpd.write_conf("ManagedDomain a.test\n")
    httpd.start()
    user = pwd.getpwnam(httpd.user[0])
    assert _uids(httpd.pid)[1] == 0, "the parent keeps root (to bind, read keys)"
    # a child drops root in its child_init, a moment after the fork
    deadline = time.monotonic() + 10
    while True:
        workers = httpd.worker_pids()
        uids = {pid: _uids(pid) for pid in workers}
        if (workers and all(u == [user.pw_uid] * 4 for u in uids.values())) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert workers, "no child processes"
    for pid, u in uids.items():
        assert u == [user.pw_uid] * 4, f"child {pid} is not {httpd.user[0]}: uids {u}"
    resp = httpd.get("/index.html")
    assert resp.status == 200 and "mod_acme test server" in resp.text
    assert f"ServerMPM: {httpd.mpm}" in httpd.get("/server-status?auto").text
    family = [httpd.pid] + workers
    httpd.stop()
    assert not any(pid_alive(p) for p in family)
    assert not os.path.exists(httpd.pid_path)


def test_graceful_restart_keeps_serving(httpd):
    httpd.write_conf("ManagedDomain a.test\n")
    httpd.start()
    parent = httpd.pid
    mark = httpd.log_mark()
    httpd.write_conf("ManagedDomain a.test b.test\n")
    httpd.graceful()
    httpd.wait_for_log(r"resuming normal operations", since=mark)
    assert httpd.pid == parent and httpd.running()
    assert httpd.get("/index.html").status == 200


@pytest.mark.parametrize("httpd", ["event", "worker", "prefork"], indirect=True)
def test_parent_exits_cleanly_after_a_graceful_restart(httpd):
    # The stop after a graceful restart runs every pool cleanup of two
    # generations; a crash there (once: the status carry-over clearing a pool
    # httpd had already destroyed) goes unseen with -k stop, so the parent
    # runs as our child here and its exit status is checked.
    httpd.write_conf("ManagedDomain a.test\n")
    httpd.start_foreground()
    mark = httpd.log_mark()
    httpd.write_conf("ManagedDomain a.test b.test\n")
    httpd.graceful()
    httpd.wait_for_log(r"resuming normal operations", since=mark)
    assert httpd.get("/index.html").status == 200
    assert httpd.stop_foreground() == 0, httpd.error_log()[-3000:]


def test_start_failure_reports_the_error_log(httpd):
    # The caller sees why httpd did not start, without digging for logs.
    httpd.write_conf('SSLCertificateFile /nonexistent/cert.pem\n'
                     '<VirtualHost 127.0.0.1:*>\n  SSLEngine on\n</VirtualHost>\n')
    with pytest.raises(HttpdError) as err:
        httpd.start()
    assert "/nonexistent/cert.pem" in str(err.value)
    assert not httpd.running()


def test_serves_tls_with_a_given_certificate(httpd, ca, ports):
    # served_certificate() is what later suites use to see what mod_acme
    # installs; here it reads a certificate configured by hand.
    cert, key = ca.issue("www.tls.test", ["DNS:www.tls.test"])
    httpd.write_conf(f"<VirtualHost 127.0.0.1:{ports.https}>\n"
                     "  ServerName www.tls.test\n  SSLEngine on\n"
                     f"  SSLCertificateFile {cert}\n  SSLCertificateKeyFile {key}\n"
                     "</VirtualHost>\n")
    httpd.start()
    served = httpd.served_certificate("www.tls.test", cafile=ca.cert_path)
    assert served.verified
    assert served.sans() == ["DNS:www.tls.test"]
    with open(cert) as f:
        assert served.pem.strip() == f.read().strip()
    assert len(served.chain) >= 1 and served.chain[0].strip() == served.pem.strip()
    resp = httpd.get("https://www.tls.test/index.html", cafile=ca.cert_path)
    assert resp.status == 200


def test_module_and_sanitizer_runtime_are_in_the_processes(httpd, acme_config):
    # Under a sanitizer build httpd (not instrumented) must run with the ASan
    # runtime preloaded, or the module's checks would not be active.
    httpd.write_conf("ManagedDomain a.test\n")
    httpd.start()
    for pid in [httpd.pid] + httpd.worker_pids():
        with open(f"/proc/{pid}/maps") as f:
            maps = f.read()
        assert os.path.realpath(acme_config.module) in maps
        assert ("libasan" in maps) == acme_config.sanitizers, f"pid {pid}"


def test_servers_of_a_cluster_share_the_ports_on_their_own_addresses(make_httpd, ports):
    # the cluster tests (test_8x) run several servers on 127.0.0.x
    first, second = make_httpd(), make_httpd()
    second.address = "127.0.0.2"
    for server in (first, second):
        with open(os.path.join(server.docroot, "index.html"), "w") as f:
            f.write(server.address)
        server.write_conf()
    first.start()
    with pytest.raises(PortBusyError, match=r"127\.0\.0\.1:%d" % ports.http):
        ensure_free("another httpd", ports.http, address="127.0.0.1", wait=0)
    ensure_free("the second httpd", ports.http, address="127.0.0.2", wait=0)
    second.start()
    assert first.get("http://localhost/index.html").body == b"127.0.0.1"
    assert second.get("http://localhost/index.html").body == b"127.0.0.2"
