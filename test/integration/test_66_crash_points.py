"""SIGKILL of the whole server (parent and children, one process group) at
each step of a renewal, in the real httpd against pebble.

The domain has two names (two authorizations) and a live set that is due
(planted, from the test's own CA), so every case is a renewal: the live set
must stay intact and served throughout. A network step is paused by
harness/faulty_ca.py holding that step's request; httpd is killed while it
is held, then the request goes on to pebble (the CA acts on it although its
client is gone, the worst case for extra orders). The two steps without a
request are frozen with strace's syscall delay, a real pause without a
test-only path in the module: the staging write at the rename of the new
certificate into staging/, the activation at the parent's rename of staging/
to domains/ (the old set already moved to archive/) during a graceful restart.

For every step: the next start resumes and finishes the renewal, at most one
extra order is created (newOrder requests through the proxy), the old live
set is served until the new one is activated and is kept (domains/ or
archive/), and the new set is served after a graceful restart."""
import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from harness.faulty_ca import FaultyCA
from harness.proc import kill_group
from test_20_serving import plant_set, served_serial, set_ca  # noqa: F401 (fixture)
from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged
from test_60_faults_ca import check_store, store_dir
from harness import layout

# step: (path regex of its request, how many matching requests pass first)
NETWORK_STEPS = {
    "account": (r"^/sign-me-up", 0),
    "order": (r"^/order-plz", 0),
    "authz1": (r"^/authZ/", 0),
    "authz2": (r"^/authZ/", 1),
    "challenge": (r"^/chalZ/", 0),
    "challenge-ca-acts": (r"^/chalZ/", 0),
    "finalize": (r"^/finalize-order/", 0),
    "download": (r"^/certZ/", 0),
}
STEPS = list(NETWORK_STEPS) + ["staging", "activation"]
# Known gaps, as strict xfails (none at the moment): {step: reason}
GAPS = {}
STAGED_OR_FAILED = (r"ACME1481 {md}: new certificate staged|"
                    r"ACME1483 {md}: .*needs a fix")
NEW_ORDER = r"^/order-plz"
EXACT = {"PEBBLE_WFE_NONCEREJECT": "0"}
TMP_PREFIX = ".tmp."        # FS_TMP_PREFIX of the fs store
SPEC = "P-256"


def _utc_in(seconds):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() + seconds))


def kill_all(httpd):
    """SIGKILL to the parent and every child at once (one process group)."""
    assert httpd.running()
    kill_group(httpd.pid)
    httpd.pid = None


def read_set(directory):
    """{file name: bytes} of the key and certificate files of a set."""
    return {n: open(os.path.join(directory, n), "rb").read()
            for n in sorted(os.listdir(directory)) if n.endswith(".pem")}


def archived_sets(store, md):
    d = os.path.join(store, "archive")
    if not os.path.isdir(d):
        return []
    return [read_set(os.path.join(d, n)) for n in sorted(os.listdir(d))
            if n.startswith(md + ".")]


class Freezer:
    """strace attached to running processes: every rename of theirs waits
    `delay` seconds before it happens. Killing the traced processes ends it."""

    def __init__(self, pids, delay, follow_threads=True, log=None):
        syscalls = "rename,renameat,renameat2"
        cmd = ["strace", "-qq" if log is None else "-q", "-e", f"trace={syscalls}",
               "-e", f"inject={syscalls}:delay_enter={int(delay * 1e6)}",
               "-o", log or os.devnull]
        if follow_threads:
            cmd.append("-f")
        for pid in pids:
            cmd += ["-p", str(pid)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.errors = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.errors.append(line)

    def attached(self, pids, timeout=10):
        """Waits until every pid is traced (its TracerPid is strace)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(_tracer(p) == self.proc.pid for p in pids):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"strace did not attach: {''.join(self.errors)}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def _tracer(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def strace():
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (scripts/install-deps.sh installs it)")


def crash_in_network_step(httpd, proxy, step, served_old):
    """Kills httpd while the step's request is held. The request goes on to
    the CA at once (challenge-ca-acts: the CA validates while nobody answers,
    the resumed job needs a new order), or (challenge) once the server is
    back, so that the CA validates against a running server. Returns the
    held path and the Hold."""
    match, skip = NETWORK_STEPS[step]
    held = proxy.hold(match, skip)
    httpd.start()
    path = held.wait(60)
    served_old()
    kill_all(httpd)
    if step != "challenge":
        held.release()
    return path, held


def crash_in_staging(httpd, proxy, md, served_old):
    """Freezes the job at the rename of the new certificate into staging/
    (its temporary file written, the rename not done), then kills."""
    held = proxy.hold(NETWORK_STEPS["download"][0])
    httpd.start()
    held.wait(60)
    pids = httpd.worker_pids()
    freezer = Freezer(pids, delay=60)
    try:
        freezer.attached(pids)
        held.release()
        staging = os.path.join(store_dir(httpd), "staging", md)
        wait_until(lambda: any(n.startswith(TMP_PREFIX) and os.path.isfile(
                   os.path.join(staging, n)) for n in _listdir(staging)), 60,
                   "the temporary file of the staged certificate")
        served_old()
        kill_all(httpd)
    finally:
        freezer.stop()
    return "rename into staging/"


def crash_in_activation(httpd, md, served_old, test_dir):
    """Lets the renewal stage its set, then freezes the parent's renames
    during a graceful restart and kills it once domains/<md> has been moved to
    archive/ and staging/<md> not yet to domains/ (the state with no live set)."""
    httpd.start()
    wait_staged(httpd, md, timeout=60)
    served_old()
    store = store_dir(httpd)
    live = os.path.join(store, layout.LIVE, md)
    freezer = Freezer([httpd.pid], delay=3, follow_threads=False,
                      log=os.path.join(test_dir, "strace-parent.log"))
    try:
        freezer.attached([httpd.pid])
        # `apache2 -k graceful` only signals the parent (our pid stays traced);
        # its environment carries the sanitizer runtime of an ASan build
        rc = subprocess.run([httpd.cfg.httpd, "-d", httpd.root, "-f", httpd.conf_path,
                             "-k", "graceful"], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, env=httpd._env(), timeout=30)
        assert rc.returncode == 0, rc.stdout + rc.stderr
        wait_until(lambda: not os.path.exists(live), 60, "domains/ moved to archive/")
        assert os.path.isdir(os.path.join(store, "staging", md))
        kill_all(httpd)
    finally:
        freezer.stop()
    return "rename staging/ -> domains/"


def _listdir(path):
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def wait_renewed(httpd, md, since):
    """Waits for the staged line of md; fails at once on a FAILED job."""
    m = httpd.wait_for_log(STAGED_OR_FAILED.format(md=re.escape(md)), timeout=60, since=since)
    assert "ACME1481" in m.group(0), m.group(0)


@pytest.mark.parametrize("step", [pytest.param(s, marks=pytest.mark.xfail(
    reason=GAPS[s], strict=True)) if s in GAPS else s for s in STEPS])
def test_crash_at_step(step, httpd, pebble, ca, challtestsrv, test_dir, set_ca,  # noqa: F811
                       request):
    if step in ("staging", "activation"):
        request.getfixturevalue("strace")
    md = f"{step}.crash.test"
    names = [md, f"www.{md}"]
    # a pebble that rejects no good nonce: the held request must be the
    # step's own (NETWORK_STEPS counts requests on the wire: after a badNonce
    # resend of the first authz, "the second" would be that resend) and the
    # CA must act on it once released (challenge-ca-acts: a held challenge
    # refused with badNonce, pebble's default 5 %, is never validated while
    # nobody answers, and the resumed job needs no new order)
    acme = pebble(env=EXACT)
    key, chain, serial = set_ca.issue(names, start=_utc_in(-20 * 86400), end=_utc_in(86400))
    live_dir = plant_set(httpd, layout.LIVE, md, {SPEC: (key, chain)})
    old_set = read_set(live_dir)
    proxy = FaultyCA(ca, httpd.ports.acme, "/dir").start()

    def served_old():
        for name in names:
            assert served_serial(httpd.served_certificate(name, cafile=set_ca.root)) == serial

    try:
        httpd.write_conf(renew_conf(httpd, proxy, ca, [names], extra="MDRetryDelay 1s",
                                    md_extra="MDPrivateKeys secp256r1\n  MDCAChallenges http-01"))
        held = None
        if step in NETWORK_STEPS:
            where, held = crash_in_network_step(httpd, proxy, step, served_old)
        elif step == "staging":
            where = crash_in_staging(httpd, proxy, md, served_old)
        else:
            where = crash_in_activation(httpd, md, served_old, test_dir)
        killed_at = time.monotonic()
        mark = httpd.log_mark()
        httpd.start()
        if held:
            held.release()
        store = store_dir(httpd)
        if step == "activation":
            # the start completes the activation: the new set is live at once
            assert "ACME0753 store(fs): interrupted activation of" in httpd.error_log()[mark:]
            new = served(httpd, md, pebble_root(acme, test_dir))
            assert issuer_is_pebble(new)
            assert old_set in archived_sets(store, md), "the old live set is lost"
        else:
            # the old set is served until the new one is activated
            served_old()
            assert read_set(os.path.join(store, layout.LIVE, md)) == old_set
            wait_renewed(httpd, md, since=mark)
            recovered = time.monotonic() - killed_at
            served_old()
            httpd.graceful()
            root = pebble_root(acme, test_dir)
            for name in names:
                assert issuer_is_pebble(served(httpd, name, root))
            assert old_set in archived_sets(store, md), "the old live set is lost"
        if step == "activation":
            recovered = time.monotonic() - killed_at
        # orders the CA created (201); a held one killed mid-flight (status
        # 0) did create its order. A newOrder refused with badNonce creates
        # none: none here (EXACT), but the count stays the CA's
        orders = len([r for r in proxy.requests if re.match(NEW_ORDER, r.path)
                      and r.status in (0, 201)])
        print(f"\nstep {step}: killed at {where}; orders created {orders}; "
              f"recovered in {recovered:.1f}s; CA requests {len(proxy.requests)}")
        # one order for the renewal, at most one extra for the crash
        assert 1 <= orders <= 2, orders
        assert check_store(store) > 0
        log = httpd.error_log()
        assert "ACME1220" not in log, "a live pair was damaged"
        if step == "challenge-ca-acts":
            # the validation nobody answered is retried with a new order
            assert "ACME0913 " in log[mark:] and orders == 2, orders
    finally:
        proxy.stop()
