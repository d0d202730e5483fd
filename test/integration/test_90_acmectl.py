"""acmectl, the admin's command, on the store of a running httpd with
mod_acme and pebble: what `list --json` says matches what the server
serves (the notAfter of the certificate presented over TLS), a staged set
shows before its activation, a CA error shows with its time and problem,
and the errors of the command itself (unknown domain, bad usage, no
permission) have their exit codes and one clear line."""
import datetime
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from harness.httpd import test_user as httpd_user
from test_30_renew import pebble_root, renew_conf, served, wait_staged

BLOCKED = "blocked.test"


def acmectl(acme_config, *args, user=None, timeout=30):
    path = acme_config.acmectl
    assert os.path.exists(path), f"acmectl not built: {path}"
    preexec = None
    if user:
        pw = pwd.getpwnam(user)
        # the build directory may be closed to other users (a clone under
        # mktemp -d is 0700): the user runs a copy from a directory it can
        # enter, as an installed acmectl would be
        bindir = tempfile.mkdtemp(prefix="acmectl-")
        os.chmod(bindir, 0o755)
        path = shutil.copy(path, bindir)

        def preexec():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    try:
        return subprocess.run([path, *args], capture_output=True, text=True, timeout=timeout,
                              preexec_fn=preexec)
    finally:
        if user:
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def listing(acme_config, *args):
    proc = acmectl(acme_config, *args, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    doc = json.loads(proc.stdout)
    assert doc["version"] == 1
    return doc, {d["name"]: d for d in doc["domains"]}


def ts(text):
    """Seconds since the epoch of acmectl's "2026-01-02T03:04:05Z"."""
    assert text.endswith("Z") and len(text) == 20, text
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def served_not_after(cert):
    """notAfter of a served leaf, seconds since the epoch."""
    text = cert.x509("-enddate").strip().split("=", 1)[1]
    return datetime.datetime.strptime(text, "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def wait_listed_state(acme_config, conf, name, state, timeout=30):
    deadline = time.time() + timeout
    while True:
        _, mds = listing(acme_config, "-f", conf)
        if mds[name]["state"] == state or time.time() > deadline:
            return mds[name]
        time.sleep(0.5)


@pytest.fixture
def served_setup(httpd, pebble, ca, challtestsrv, test_dir):
    """httpd with a.test (two names) and blocked.test, which the CA refuses."""
    acme = pebble(config_overrides={"domainBlocklist": [BLOCKED]})
    conf = httpd.write_conf(renew_conf(httpd, acme, ca, [["a.test", "www.a.test"], [BLOCKED]],
                                       md_extra="MDCAChallenges http-01"))
    httpd.start()
    return httpd, acme, conf


def test_list_matches_what_is_served(acme_config, served_setup, test_dir):
    httpd, acme, conf = served_setup
    wait_staged(httpd, "a.test", timeout=60)

    # staged, before the activation: in the listing, nothing live yet
    doc, mds = listing(acme_config, "-f", conf)
    assert doc["store"] == os.path.join(httpd.root, "md")     # ServerRoot-relative default
    a = mds["a.test"]
    assert a["names"] == ["a.test", "www.a.test"]
    assert a["state"] == "staged"
    assert a["key-types"] == ["rsa2048"]
    assert [c["status"] for c in a["certificates"]] == ["missing"]
    assert a["staged"]["complete"] is True
    staged = a["staged"]["certificates"][0]
    assert staged["status"] == "ok" and staged["key-type"] == "rsa2048"
    assert a["renewal"] == {"planned": True, "at": a["renewal"]["at"], "reason": "missing",
                            "not-renewed": None, "warn-at": None}
    assert a["last-error"] is None

    # the CA's refusal, with its time and problem type
    b = wait_listed_state(acme_config, conf, BLOCKED, "errored")
    assert b["state"] == "errored", b
    err = b["last-error"]
    assert err["problem"] == "urn:ietf:params:acme:error:rejectedIdentifier"
    assert err["errors"] >= 1 and err["detail"]
    assert abs(ts(err["at"]) - time.time()) < 120

    # activated: what the listing says is what the server presents
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    cert = served(httpd, "www.a.test", root)
    _, mds = listing(acme_config, "-f", conf)
    a = mds["a.test"]
    assert a["state"] == "ok"
    assert a["staged"] is None
    live = a["certificates"]
    assert len(live) == 1 and live[0]["status"] == "ok" and live[0]["names-ok"] is True
    assert ts(live[0]["not-after"]) == served_not_after(cert)
    assert live[0]["serial"].lower().lstrip("0") == \
        cert.x509("-serial").strip().split("=", 1)[1].lower().lstrip("0")
    renewal = a["renewal"]
    assert renewal["planned"] is True and renewal["reason"] == "window"
    # the default MDRenewWindow 33%: renewal at two thirds of the lifetime
    nb, na = ts(live[0]["not-before"]), ts(live[0]["not-after"])
    assert abs(ts(renewal["at"]) - (na - (na - nb) * 0.33)) < 2
    assert ts(renewal["warn-at"]) > ts(renewal["at"])

    # --store alone lists the same domain from the store itself
    _, by_store = listing(acme_config, "--store", os.path.join(httpd.root, "md"))
    s = by_store["a.test"]
    assert s["names"] == ["a.test", "www.a.test"]
    assert s["certificates"] == live
    assert s["state"] == "ok"

    # show: the job and the CA's problem document of the refused domain
    proc = acmectl(acme_config, "-f", conf, "show", BLOCKED, "--json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["name"] == BLOCKED and shown["state"] == "errored"
    assert shown["job"]["step"] in ("account", "order", "authz")
    assert shown["job"]["problem"]["type"] == "urn:ietf:params:acme:error:rejectedIdentifier"
    assert shown["job"]["problem"]["http-status"] == 400
    assert shown["config"]["file"] == conf
    proc = acmectl(acme_config, "-f", conf, "show", "www.a.test")    # any of its names
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("a.test: ok\n")
    assert httpd.sanitizer_reports() == []


def test_errors_and_exit_codes(acme_config, served_setup):
    httpd, acme, conf = served_setup
    wait_staged(httpd, "a.test", timeout=60)

    proc = acmectl(acme_config, "-f", conf, "show", "nope.test")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == f"acmectl: no managed domain 'nope.test' in {conf}\n"

    for args in (["-f", conf], ["-f", conf, "frobnicate"], ["-f", conf, "show"],
                 ["-f", conf, "list", "extra"], ["--bogus", "list"], ["-f"]):
        proc = acmectl(acme_config, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        assert proc.stdout == ""

    proc = acmectl(acme_config, "-f", os.path.join(httpd.root, "conf", "missing.conf"), "list")
    assert proc.returncode == 1 and "missing.conf" in proc.stderr

    proc = acmectl(acme_config, "--store", os.path.join(httpd.root, "nostore"), "list")
    assert proc.returncode == 1 and "no store in" in proc.stderr

    # the store is root's: another user is told so, in one line
    user = httpd_user()[0]
    proc = acmectl(acme_config, "-f", conf, "list", user=user)
    assert proc.returncode == 1, proc.stdout
    assert len(proc.stderr.splitlines()) == 1
    assert "permission denied" in proc.stderr and "root" in proc.stderr


def test_readonly_while_running(acme_config, served_setup):
    """Listing changes nothing in the store: no file is written or touched."""
    httpd, acme, conf = served_setup
    wait_staged(httpd, "a.test", timeout=60)
    httpd.stop()
    store = os.path.join(httpd.root, "md")

    def snapshot():
        out = {}
        for d, dirs, files in os.walk(store):
            for n in dirs + files:
                p = os.path.join(d, n)
                st = os.lstat(p)
                out[p] = (st.st_mode, st.st_uid, st.st_mtime_ns, st.st_size)
        return out
    before = snapshot()
    listing(acme_config, "-f", conf)
    assert acmectl(acme_config, "-f", conf, "show", "a.test", "--json").returncode == 0
    listing(acme_config, "--store", store)
    assert snapshot() == before
