"""dns-01 renewals end to end: MDChallengeDns01 runs a hook (as httpd's
User, from its argv, output into the error log) that puts the TXT records
into challtestsrv through its management API, pebble checks them there, and
the teardown removes them. Wildcard names need dns-01; their certificate
covers the wildcard and the base name. A failing hook is a configuration
error: said clearly in the log, retried only after a long backoff."""
import os
import re
import sys
import time

from test_30_renew import STAGED, pebble_root, served, wait_staged

DNS_HOOK = """#!{python}
import json, sys, urllib.request
args = sys.argv[1:]
with open({log!r}, "a") as f:
    f.write(" ".join(args) + "\\n")
verb, name = args[0], args[1]
host = "_acme-challenge." + name + "."
if verb == "setup":
    path, body = "/set-txt", {{"host": host, "value": args[2]}}
else:
    path, body = "/clear-txt", {{"host": host}}
req = urllib.request.Request("http://127.0.0.1:{port}" + path, data=json.dumps(body).encode(),
                             method="POST")
urllib.request.build_opener(urllib.request.ProxyHandler({{}})).open(req, timeout=5).read()
print("hook:", verb, name)
"""

FAILING_HOOK = """#!/bin/sh
echo "$@" >> {log}
echo "no DNS API credentials for $2" >&2
exit 3
"""


def write_hook(test_dir, text, **fmt):
    """The hook and the file it logs its calls to, both usable by httpd's
    User (the hook runs in the watchdog child)."""
    logdir = os.path.join(test_dir, "hook")
    os.makedirs(logdir, exist_ok=True)
    os.chmod(logdir, 0o777)
    log = os.path.join(logdir, "calls.log")
    path = os.path.join(test_dir, "dns-hook")
    with open(path, "w") as f:
        f.write(text.format(log=log, **fmt))
    os.chmod(path, 0o755)
    return path, log


def hook_calls(log):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [line.split() for line in f.read().splitlines()]


def dns01_conf(httpd, acme, ca, names, hook, md_extra="", extra=""):
    """One domain renewed with dns-01 only; its https vhost is named by the
    first name without a wildcard, the others are aliases."""
    server = next(n for n in names if not n.startswith("*."))
    aliases = " ".join(n for n in names if n != server)
    return "\n".join(l for l in [
        f"MDCertificateAuthority {acme.url}",
        f"MDCACertificateFile {ca.cert_path}",
        "MDCertificateAgreement accepted",
        "MDContactEmail admin@example.org",
        extra,
        f"<MDomain {' '.join(names)}>",
        f"  MDChallengeDns01 {hook}",
        "  MDCAChallenges dns-01",
        md_extra,
        "</MDomain>",
        f"<VirtualHost *:{httpd.ports.https}>",
        f"  ServerName {server}",
        f"  ServerAlias {aliases}" if aliases else "",
        "  SSLEngine on",
        "</VirtualHost>"] if l) + "\n"


def test_dns01_certificate_obtained_and_records_removed(httpd, pebble, ca, challtestsrv,
                                                       test_dir, ports):
    acme = pebble()
    hook, log = write_hook(test_dir, DNS_HOOK, python=sys.executable, port=ports.dns_mgmt)
    httpd.write_conf(dns01_conf(httpd, acme, ca, ["d1.test", "www.d1.test"], hook))
    httpd.start()
    wait_staged(httpd, "d1.test")
    calls = hook_calls(log)
    setups = sorted(c[1] for c in calls if c[0] == "setup")
    teardowns = sorted(c[1] for c in calls if c[0] == "teardown")
    assert setups == ["d1.test", "www.d1.test"], calls
    assert teardowns == ["d1.test", "www.d1.test"], calls
    # mod_md's arguments: setup <domain> <value>, teardown <domain> (version 1)
    assert all(len(c) == 3 and re.fullmatch(r"[A-Za-z0-9_-]{43}", c[2])
               for c in calls if c[0] == "setup"), calls
    assert all(len(c) == 2 for c in calls if c[0] == "teardown"), calls
    assert challtestsrv.txt("_acme-challenge.d1.test") == []
    assert challtestsrv.txt("_acme-challenge.www.d1.test") == []
    if os.geteuid() == 0:
        assert os.stat(log).st_uid != 0      # run as httpd's User, not root
    errlog = httpd.error_log()
    assert "answering dns-01 for d1.test" in errlog
    assert "hook: setup d1.test" in errlog          # the hook's output is logged
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    cert = served(httpd, "www.d1.test", root)
    assert sorted(cert.sans()) == ["DNS:d1.test", "DNS:www.d1.test"]


def test_dns01_version_2_teardown_gets_the_value(httpd, pebble, ca, challtestsrv, test_dir,
                                                ports):
    acme = pebble()
    hook, log = write_hook(test_dir, DNS_HOOK, python=sys.executable, port=ports.dns_mgmt)
    httpd.write_conf(dns01_conf(httpd, acme, ca, ["d2.test"], hook,
                                extra="MDChallengeDns01Version 2"))
    httpd.start()
    wait_staged(httpd, "d2.test")
    calls = hook_calls(log)
    setup = [c for c in calls if c[0] == "setup"]
    teardown = [c for c in calls if c[0] == "teardown"]
    assert len(setup) == 1 and teardown == [["teardown", "d2.test", setup[0][2]]], calls


def test_wildcard_certificate_served_for_name_and_base(httpd, pebble, ca, challtestsrv,
                                                      test_dir, ports):
    acme = pebble()
    hook, log = write_hook(test_dir, DNS_HOOK, python=sys.executable, port=ports.dns_mgmt)
    httpd.write_conf(dns01_conf(httpd, acme, ca, ["*.w.test", "w.test"], hook))
    httpd.start()
    wait_staged(httpd, "*.w.test")
    calls = hook_calls(log)
    # two authorizations for one TXT name: both records live at once
    assert [c[1] for c in calls if c[0] == "setup"] == ["w.test", "w.test"], calls
    assert challtestsrv.txt("_acme-challenge.w.test") == []
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    for name in ["a.w.test", "w.test"]:
        cert = served(httpd, name, root)
        assert sorted(cert.sans()) == ["DNS:*.w.test", "DNS:w.test"], name


def test_failing_setup_is_reported_and_backs_off(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    hook, log = write_hook(test_dir, FAILING_HOOK)
    httpd.write_conf(dns01_conf(httpd, acme, ca, ["fail.test"], hook))
    httpd.start()
    m = httpd.wait_for_log(r"ACME1483 fail\.test: .*$", timeout=60)
    line = m.group(0)
    assert "dns-01 setup for fail.test failed: MDChallengeDns01 setup exited with 3" in line
    assert "needs a fix" in line
    errlog = httpd.error_log()
    assert "no DNS API credentials for fail.test" in errlog     # the hook's stderr
    # the next attempt is at least an hour away: no second call soon after
    time.sleep(3)
    assert [c[0] for c in hook_calls(log)] == ["setup"], hook_calls(log)
    assert len(re.findall(r"ACME1483 fail\.test", httpd.error_log())) == 1
    assert not re.search(STAGED, httpd.error_log())


def test_wildcard_without_dns01_command_is_its_error(httpd, pebble, ca):
    """That domain's error (ACME1160) at `-t`, not a refused start."""
    acme = pebble()
    httpd.write_conf("\n".join([
        f"MDCertificateAuthority {acme.url}",
        "MDCertificateAgreement accepted",
        "MDomain *.x.test x.test",
        f"<VirtualHost *:{httpd.ports.https}>\n  ServerName x.test\n"
        "  ServerAlias *.x.test\n  SSLEngine on\n</VirtualHost>"]) + "\n")
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert "ACME1160 managed domain '*.x.test'" in out, out
    assert "ACME1127" in out and "MDChallengeDns01" in out, out
