#!/usr/bin/python3
"""Issue 17 (MDActivation graceful): the pause of a self-initiated activation.

For each N, N domains with certificates (the layout of bench_scale.py: one
name-based https vhost per domain), two variants, alternating per repeat:

  acme  mod_acme with `MDActivation graceful`. Before the start, a newer
        valid set for the first domain (d0) is staged (STAGING/d0, the
        renewal worker's layout: mod_md's file names, owned by httpd's User).
        MDActivationDelay holds it back at the start (notBefore + delay is
        set a margin after the start), so the start leaves it staged
        (ACME1213) and post_config seeds it into the activation status; once
        it is due, the parent's monitor waits its settle time, checks the
        configuration and raises the graceful restart at itself, logging
        ACME1410 just before it arms the signal (SIGUSR1 to itself, 20 ms
        later, inside httpd's one-second sleep).
  ssl   plain mod_ssl (SSLCertificateFile per vhost) on the same vhosts and
        files: `apache2 -k graceful`, as bench_scale.py does.

Measured per run (wall clock, time.time(); the error_log's timestamps are
the same clock, microseconds):
  pause_s        trigger -> a child of the new generation answers
                 (/server-status?auto: ParentServerConfigGeneration higher
                 than before) and d0's leaf over SNI is the expected one
                 (acme: the staged set's, by SHA-256; ssl: its own). The
                 trigger: acme, the timestamp of the parent's ACME1410 line
                 (taken by the parent right before it signals itself); ssl,
                 the moment this script invokes `apache2 -k graceful` (that
                 process parses the whole configuration before it signals).
  parent_pause_s from the parent's AH00493 line ("SIGUSR1 received. Doing
                 graceful restart", the parent acting on the signal, both
                 variants) to the same end: the like-for-like figure.
  gap_max_s      the longest time without a successful response seen by a
                 client process that, the whole time (acme: from before the
                 parent's configuration check on; ssl: from 1 s before), makes one HTTPS request
                 per fresh connection (GET /index.html, SNI of the last domain) every
                 --gap-interval seconds (10 ms by default) with a long
                 timeout: requests queued in the listen backlog while no
                 child accepts count as late, not failed. It includes the
                 request's own latency (a few ms).
Also: the start (not part of the figures), the gap's position relative to
the trigger, the count of requests and failures, the ACME1410 -> AH00493
delay, how late this script saw the ACME1410 line (a check on the trigger's
timestamp), and the self-test's result after the activation (ACME1421/2/3).

Variants alternate within each repeat; medians are printed and every run
goes into a CSV. Run as root (httpd drops to User).

    test/bench/bench_activation.py --build build --sizes 100,1000 --repeats 3
    test/bench/bench_activation.py --build build --sizes 10000 --repeats 1
"""
import argparse
import csv
import json
import math
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from datetime import datetime
from types import SimpleNamespace

import benchlib as b
from harness.config import TestConfig
from harness.ports import Ports

FIELDS = ["variant", "n", "rep", "start_s", "pause_s", "parent_pause_s", "gap_max_s",
          "gap_from_trigger_s", "requests_ok", "requests_failed", "trigger_to_parent_s",
          "trigger_seen_lag_s", "activation_delay_s", "selftest"]
VARIANTS = ("acme", "ssl")
# Core notices of the MPM (AH00493, AH00489) are needed for the parent's
# timestamps; everything else at warn as in bench_scale.py.
LOG_LEVEL = "warn mpm_event:notice"
ACME_LOG_LEVEL = "info"
TRIGGER_RE = re.compile(r"^\[([^\]]+)\] .*ACME1410 MDActivation graceful: configuration check "
                        r"passed, restarting gracefully", re.M)
SIGNAL_RE = re.compile(r"^\[([^\]]+)\] .*AH00493: SIGUSR1 received", re.M)
SELFTEST_RE = re.compile(r"ACME142([123]) d0\.")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("ACME_BUILD_DIR", "."),
                    help="configured build dir (its test/integration/config.ini)")
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--variants", default="acme,ssl")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--large-repeats", type=int, default=None,
                    help="repeats for N >= 1000 (default: --repeats)")
    ap.add_argument("--gap-interval", type=float, default=0.01,
                    help="seconds between the gap client's requests")
    ap.add_argument("--acme-log-level", default=ACME_LOG_LEVEL,
                    help="LogLevel of mod_acme (ACME1410, the trigger, is a notice)")
    ap.add_argument("--workdir", default="/tmp/mod_acme-bench")
    ap.add_argument("--csv", default=None,
                    help="default: WORKDIR/activation-<time>.csv")
    ap.add_argument("--port-offset", type=int,
                    default=int(os.environ.get("ACME_TEST_PORT_OFFSET", "300")))
    ap.add_argument("--gap-client", nargs=4, metavar=("PORT", "SNI", "INTERVAL", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.sizes = [int(x) for x in args.sizes.split(",")]
    args.variants = args.variants.split(",")
    for v in args.variants:
        if v not in VARIANTS:
            ap.error(f"unknown variant {v}; known: {', '.join(VARIANTS)}")
    return args


# ------------------------------------------------------------ the gap client

class _Stop(Exception):
    pass


def gap_client(port, sni, interval, out):
    """Runs until SIGTERM: one GET / per fresh TLS connection, every
    interval seconds; writes {"ok": [completion times], "failed": [[time,
    error]]} as JSON to out."""
    def stop(_sig, _frame):
        raise _Stop()
    signal.signal(signal.SIGTERM, stop)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = f"GET /index.html HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode()
    ok, failed = [], []
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=600) as raw:
                    with ctx.wrap_socket(raw, server_hostname=sni) as tls:
                        tls.sendall(req)
                        data = b""
                        while True:
                            chunk = tls.recv(65536)
                            if not chunk:
                                break
                            data += chunk
                if data.startswith(b"HTTP/1.1 200"):
                    ok.append(time.time())
                else:
                    failed.append([time.time(), data[:40].decode(errors="replace")])
            except (OSError, ssl.SSLError) as e:
                failed.append([time.time(), repr(e)])
            time.sleep(interval)
    except _Stop:
        pass
    with open(out, "w") as f:
        json.dump({"ok": ok, "failed": failed}, f)


class GapClient:
    def __init__(self, port, sni, interval, out):
        self.out = out
        if os.path.exists(out):
            os.unlink(out)
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                                      "--gap-client", str(port), sni, str(interval), out],
                                     stdin=subprocess.DEVNULL)

    def stop(self):
        """Ends the client; returns (ok times, failures)."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        try:
            with open(self.out) as f:
                res = json.load(f)
        except (FileNotFoundError, ValueError) as e:
            raise b.BenchError(f"the gap client left no result ({e}); exit status "
                               f"{self.proc.returncode}") from e
        return res["ok"], res["failed"]

    def kill(self):
        """Ends the client without reading its result (on an error path)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)


def longest_gap(ok, since):
    """(longest gap between successive successes, its start) among the
    successes from the last one before `since` on."""
    before = [t for t in ok if t < since]
    pts = ([before[-1]] if before else []) + [t for t in ok if t >= since]
    best, at = 0.0, None
    for a, z in zip(pts, pts[1:]):
        if z - a > best:
            best, at = z - a, a
    return best, at


# ------------------------------------------------------------ helpers

def log_time(stamp):
    """Epoch seconds of an error_log timestamp ("Mon Dec 07 05:55:22.123456
    2026", local time, as httpd's default ErrorLogFormat writes it)."""
    return datetime.strptime(stamp, "%a %b %d %H:%M:%S.%f %Y").timestamp()


class LogTail:
    """The error_log from an offset on, read incrementally (the trigger is
    polled every 5 ms: no re-reading of the whole file each time)."""

    def __init__(self, path, offset):
        self.path, self.offset, self.text = path, offset, ""

    def read(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return self.text
        # only whole lines: a line is written with one write()
        end = data.rfind(b"\n") + 1
        self.offset += end
        self.text += data[:end].decode(errors="replace")
        return self.text


def serves(server, name, sha256):
    try:
        return b.served_sha256(server.ports.https, name) == sha256
    except (OSError, ssl.SSLError):
        return False


def cert_not_before(chain_path):
    out = subprocess.run(["openssl", "x509", "-noout", "-startdate", "-in", chain_path],
                         capture_output=True, text=True, check=True).stdout
    return datetime.strptime(out.strip().split("=", 1)[1] + " +0000",
                             "%b %d %H:%M:%S %Y %Z %z").timestamp()


def one_domain(sets, domain):
    """A CertSets-like view of one domain of sets (for benchlib.layout_acme)."""
    return SimpleNamespace(domains=[domain], files=sets.files)


def reset_domain(store, sets, domain):
    """d0 back to its original live set, nothing staged, archived or pending."""
    for group in ("domains", "staging", "pending"):
        shutil.rmtree(os.path.join(store, group, domain.name), ignore_errors=True)
    archive = os.path.join(store, "archive")
    if os.path.isdir(archive):
        for entry in os.listdir(archive):
            if entry.startswith(domain.name + "."):
                shutil.rmtree(os.path.join(archive, entry), ignore_errors=True)
    b.layout_acme(one_domain(sets, domain), store)


def stage(store, staged_sets, user):
    """The staged set as a renewal leaves it: STAGING/<md>/ with mod_md's
    file names, plain copies (the activation refuses hard links), owned by
    httpd's User, the key 0600."""
    pw = pwd.getpwnam(user)
    d = staged_sets.domains[0]
    group = os.path.join(store, "staging")
    target = os.path.join(group, d.name)
    os.makedirs(group, mode=0o755, exist_ok=True)
    os.makedirs(target, mode=0o755, exist_ok=True)
    key, chain = staged_sets.files(d.name)
    files = {"privkey.secp256r1.pem": (key, 0o600), "pubcert.secp256r1.pem": (chain, 0o644)}
    for name, (src, mode) in files.items():
        dst = os.path.join(target, name)
        shutil.copyfile(src, dst)
        os.chmod(dst, mode)
        os.chown(dst, pw.pw_uid, pw.pw_gid)
    with open(os.path.join(target, "md.json"), "w") as f:
        json.dump({"name": d.name, "names": [d.name], "pkey-specs": ["P-256"],
                   "ca-url": b.NO_CA}, f)
    os.chown(os.path.join(target, "md.json"), pw.pw_uid, pw.pw_gid)
    os.chown(target, pw.pw_uid, pw.pw_gid)


def wait_new_generation(server, before, name, sha256, deadline):
    return b._wait(lambda: (b.generation(server) or -1) > before and serves(server, name, sha256),
                   deadline, server, "the new generation")


# ------------------------------------------------------------ one run each

class Bench:
    def __init__(self, cfg, ports, workdir, sets, staged, interval, acme_log_level):
        self.cfg, self.ports, self.workdir = cfg, ports, workdir
        self.acme_log_level = acme_log_level
        self.sets, self.staged, self.interval = sets, staged, interval
        self.d0 = sets.domains[0]
        if staged.domains[0].name != self.d0.name:
            raise b.BenchError(f"staged set is for {staged.domains[0].name}, not {self.d0.name}")
        if staged.domains[0].sha256 == self.d0.sha256:
            raise b.BenchError("the staged set is the live one")
        self.timeout = 120 + sets.count * 0.1
        self.est_start = None
        self.staged_not_before = cert_not_before(staged.files(self.d0.name)[1])

    def server(self, variant):
        root = os.path.join(self.workdir, f"activation-{variant}-{self.sets.count}")
        shutil.rmtree(root, ignore_errors=True)
        server = b.make_server(self.cfg, self.ports, root, variant, log_level=LOG_LEVEL)
        if variant == "acme":
            server.module_log_level = self.acme_log_level
            b.layout_acme(self.sets, os.path.join(server.root, "md"))
        server.write_conf(b.vhosts_conf(variant, self.sets.domains, self.ports.https,
                                        self.sets.files))
        return server

    def first_start(self, server):
        """One start and stop of mod_acme outside the measurement (nothing
        staged): it stamps the sets and gives the start time the margin of
        the activation delay is made from."""
        last = self.sets.last
        try:
            t = b.timed_start(server, lambda: serves(server, last.name, last.sha256),
                              self.timeout * 2)
        finally:
            server.stop(timeout=60)
        self.est_start = t
        return t

    def _gap(self):
        return GapClient(self.ports.https, self.sets.last.name, self.interval,
                         os.path.join(self.workdir, "gap.json"))

    def run_acme(self, server):
        store = os.path.join(server.root, "md")
        d0, new = self.d0, self.staged.domains[0]
        reset_domain(store, self.sets, d0)
        stage(store, self.staged, server.user[0])
        # due a margin after the start: the start must leave the set staged
        margin = 1.5 * max(self.est_start or 5.0, 2.0) + 10
        delay = math.ceil(time.time() + margin - self.staged_not_before)
        server.write_conf(b.vhosts_conf("acme", self.sets.domains, self.ports.https,
                                        self.sets.files)
                          + "MDActivation graceful\nMDActivationInterval 10s\n"
                          + f"MDActivationDelay {delay}s\n")
        due = self.staged_not_before + delay
        mark = os.path.getsize(server.error_log_path) \
            if os.path.exists(server.error_log_path) else 0
        tail = LogTail(server.error_log_path, mark)
        gap = None
        try:
            start = b.timed_start(server, lambda: serves(server, d0.name, d0.sha256),
                                  self.timeout)
            self.est_start = max(self.est_start or 0, start)
            if time.time() >= due:
                raise b.BenchError(f"the start ({start:.1f} s) ran past the set's due time; "
                                   f"the margin ({margin:.0f} s) is too small")
            staged_files = sorted(os.listdir(os.path.join(store, "staging", d0.name)))
            if "pubcert.secp256r1.pem" not in staged_files:
                raise b.BenchError(f"after the start, STAGING/{d0.name} holds {staged_files}:\n"
                                   + tail.read()[-3000:])
            b.settle(server)
            before = b.generation(server)
            gap = self._gap()
            # the monitor runs every ~10 s; due + settle (10 s) + a tick + the check
            deadline = due + 10 + 20 + self.timeout
            while True:
                text = tail.read()
                m = TRIGGER_RE.search(text)
                if m:
                    seen = time.time()
                    break
                if "ACME1214" in text:
                    raise b.BenchError("the set was activated without ACME1410:\n" + text[-3000:])
                if time.time() > deadline or not b.pid_alive(server.pid):
                    staging = os.path.join(store, "staging", d0.name)
                    raise b.BenchError(
                        "no self-initiated restart (ACME1410); STAGING/d0 holds "
                        f"{os.listdir(staging) if os.path.isdir(staging) else None}, "
                        f"PENDING {os.listdir(os.path.join(store, 'pending'))}:\n"
                        + "\n".join(line for line in text.splitlines()
                                     if "ACME0405" not in line and "ACME1465" not in line
                                     and "ACME1443" not in line and "ACME1446" not in line)[-4000:])
                time.sleep(0.005)
            trigger = log_time(m.group(1))
            done = wait_new_generation(server, before, new.name, new.sha256,
                                       time.monotonic() + self.timeout)
            done = time.time() - (time.monotonic() - done)
            time.sleep(2)
            ok, failed = gap.stop()
            gap = None
            text = tail.read()
            sig = SIGNAL_RE.search(text, m.end())
            if not sig:
                raise b.BenchError("no AH00493 after ACME1410:\n" + text[-3000:])
            parent = log_time(sig.group(1))
            selftest = self._selftest(tail)
            longest, at = longest_gap(ok, 0)
            return {"start_s": start, "pause_s": done - trigger,
                    "parent_pause_s": done - parent, "gap_max_s": longest,
                    "gap_from_trigger_s": (at - trigger) if at else None,
                    "requests_ok": len(ok), "requests_failed": len(failed),
                    "trigger_to_parent_s": parent - trigger,
                    "trigger_seen_lag_s": seen - trigger, "activation_delay_s": delay,
                    "selftest": selftest, "_failed": failed}
        finally:
            if gap:
                gap.kill()
            server.stop(timeout=60)

    def _selftest(self, tail, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = SELFTEST_RE.search(tail.read())
            if m:
                return {"1": "passed", "2": "FAILED", "3": "unreachable"}[m.group(1)]
            time.sleep(0.2)
        return "none"

    def run_ssl(self, server):
        d0 = self.d0
        gap = None
        try:
            start = b.timed_start(server, lambda: serves(server, d0.name, d0.sha256),
                                  self.timeout)
            b.settle(server)
            before = b.generation(server)
            if before is None:
                raise b.BenchError("no server-status answer before the graceful restart")
            gap = self._gap()
            time.sleep(1)           # the client is under way
            tail = LogTail(server.error_log_path, os.path.getsize(server.error_log_path))
            trigger = time.time()
            t0 = time.monotonic()
            b._apache(server, "-k", "graceful", timeout=self.timeout)
            done = wait_new_generation(server, before, d0.name, d0.sha256, t0 + self.timeout)
            done = trigger + (done - t0)
            time.sleep(2)
            ok, failed = gap.stop()
            gap = None
            sig = SIGNAL_RE.search(tail.read())
            if not sig:
                raise b.BenchError("no AH00493 after apache2 -k graceful")
            parent = log_time(sig.group(1))
            longest, at = longest_gap(ok, 0)
            return {"start_s": start, "pause_s": done - trigger,
                    "parent_pause_s": done - parent, "gap_max_s": longest,
                    "gap_from_trigger_s": (at - trigger) if at else None,
                    "requests_ok": len(ok), "requests_failed": len(failed),
                    "trigger_to_parent_s": parent - trigger, "trigger_seen_lag_s": None,
                    "activation_delay_s": None, "selftest": None, "_failed": failed}
        finally:
            if gap:
                gap.kill()
            server.stop(timeout=60)


# ------------------------------------------------------------ output

def summarize(rows, out):
    groups = {}
    for r in rows:
        groups.setdefault(r["n"], {}).setdefault(r["variant"], []).append(r)
    out.write(f"\n{'N':>6} {'variant':8} {'runs':>4} {'pause s':>8} {'parent s':>8} "
              f"{'gap max s':>9} {'trig->parent s':>14}\n")
    for n, by in sorted(groups.items()):
        med = {}
        for variant in VARIANTS:
            rs = by.get(variant)
            if not rs:
                continue
            med[variant] = {k: statistics.median(r[k] for r in rs)
                            for k in ("pause_s", "parent_pause_s", "gap_max_s",
                                      "trigger_to_parent_s")}
            m = med[variant]
            out.write(f"{n:>6} {variant:8} {len(rs):>4} {m['pause_s']:>8.2f} "
                      f"{m['parent_pause_s']:>8.2f} {m['gap_max_s']:>9.2f} "
                      f"{m['trigger_to_parent_s']:>14.3f}\n")
        if len(med) == 2 and all(med["ssl"][k] > 0 for k in ("pause_s", "parent_pause_s",
                                                               "gap_max_s")):
            out.write(f"{n:>6} {'acme/ssl':8} {'':>4} "
                      + " ".join(f"{med['acme'][k] / med['ssl'][k]:>{w}.2f}"
                                 for k, w in (("pause_s", 8), ("parent_pause_s", 8),
                                              ("gap_max_s", 9)))
                      + "\n")


def main(argv):
    args = parse_args(argv)
    if args.gap_client:
        port, sni, interval, out = args.gap_client
        gap_client(int(port), sni, float(interval), out)
        return
    if os.geteuid() != 0:
        sys.exit("run as root: httpd starts as root and drops to its User, as in production")
    cfg = TestConfig.load(os.path.join(args.build, "test", "integration", "config.ini"))
    os.environ["ACME_TEST_PORT_OFFSET"] = str(args.port_offset)
    ports = Ports.from_env()
    os.makedirs(args.workdir, mode=0o755, exist_ok=True)
    os.chmod(args.workdir, 0o755)
    csv_path = args.csv or os.path.join(args.workdir,
                                        f"activation-{time.strftime('%Y%m%d-%H%M%S')}.csv")
    rows = []
    print(f"ports: http {ports.http}, https {ports.https}; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        for n in args.sizes:
            t = time.monotonic()
            sets = b.CertSets(os.path.join(args.workdir, f"sets-{n}"), n).create(args.workdir)
            # the newer set for d0: a second gen_certs run of one domain (its
            # own throwaway CA; leaf, key and chain as the first run's)
            staged = b.CertSets(os.path.join(args.workdir, f"staged-{n}"), 1).create(
                args.workdir)
            print(f"N={n}: certificate sets ready ({time.monotonic() - t:.1f} s)", flush=True)
            bench = Bench(cfg, ports, args.workdir, sets, staged, args.gap_interval,
                      args.acme_log_level)
            servers = {v: bench.server(v) for v in args.variants}
            if "acme" in servers:
                print(f"N={n} acme: first start (stamps the sets) "
                      f"{bench.first_start(servers['acme']):.2f} s", flush=True)
            repeats = args.repeats if n < 1000 or args.large_repeats is None \
                else args.large_repeats
            for rep in range(repeats):
                for v in args.variants:
                    res = bench.run_acme(servers[v]) if v == "acme" \
                        else bench.run_ssl(servers[v])
                    row = {"variant": v, "n": n, "rep": rep, **res}
                    rows.append(row)
                    writer.writerow(row)
                    f.flush()
                    extra = (f", ACME1410 -> AH00493 {row['trigger_to_parent_s']:.3f} s, "
                             f"seen {row['trigger_seen_lag_s'] * 1000:.0f} ms late, self-test "
                             f"{row['selftest']}") if v == "acme" else \
                        f", invocation -> AH00493 {row['trigger_to_parent_s']:.3f} s"
                    print(f"N={n} {v:4} rep {rep}: start {row['start_s']:.2f} s, pause "
                          f"{row['pause_s']:.2f} s (from AH00493 {row['parent_pause_s']:.2f} s), "
                          f"longest gap {row['gap_max_s']:.2f} s, requests "
                          f"{row['requests_ok']} ok {row['requests_failed']} failed{extra}",
                          flush=True)
                    for when, err in row["_failed"][:5]:
                        print(f"    failed request at {when:.3f}: {err}", flush=True)
    summarize(rows, sys.stdout)
    print(f"\nCSV: {csv_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
