#!/usr/bin/python3
"""Issue 7: mod_acme against Debian's mod_md on the same httpd configuration.

One pebble (PEBBLE_VA_NOSLEEP=1) and pebble-challtestsrv serve the runs,
restarted with fresh state before each metric-1 run and each round of metric
2 (pebble 2.4.0's in-memory store deadlocks under many concurrent orders);
each run gets a throwaway ServerRoot, and the variants alternate, each round
starting with the next one (A B C, B C A, C A B), so that drift of the
machine hits all alike. Never loads both modules at once.

  metric 0  calibration, once per run: CPU seconds per RSA-2048 key
            generation (openssl genpkey) on this machine.
  metric 1  cold issuance: N (1, 10, 100) new domains, with RSA-2048 and
            with P-256 keys (--key-types), from `-k start` until
            every domain's certificate is staged (mod_acme: a log line with
            "staged", ACME1481; mod_md: AH10059), then `-k graceful` until
            every domain serves a certificate that verifies against pebble's
            root. Needs mod_acme's renewal watchdog: without it the mod_acme
            rows say so, mod_md is still measured. A run that times out is
            recorded as failed ("timeout") and the benchmark goes on. Rows
            1-cpu-ca (pebble + challtestsrv) and 1-cpu-httpd (the parent,
            every child, also exited ones, and the -k invocations) give the
            CPU seconds of the run; the summary sets the wall time next to
            the CPU bound (cpu-ca + cpu-httpd) / CPUs.
  metric 2  start-up to first answer: N=100 new domains (CA = pebble; the
            first answer is any TLS handshake with the last name's SNI, i.e.
            the fallback certificate; both key types), and N=10,000 domains
            that already have certificates (their own certificate served; CA
            unreachable), with RSS and PSS of the parent and the children
            once both children run. With --floors (default) also plain
            mod_ssl ("ssl", no ACME module) with the same N vhosts and a
            P-256 certificate each (gen_certs.c's sets), in the same rounds:
            the floor of httpd + mod_ssl.
  metric 3  request throughput on a static file with 1,000 managed domains
            with certificates, module loaded vs not (plain mod_ssl with
            SSLCertificateFile): ab (apache2-utils; installed with apt-get if
            missing) with keep-alive (requests/s) and with a new TLS
            connection per request (handshakes/s), SNI = Host = a managed name.
  metric 3i instructions per request (--metrics 3i, not by default: slow),
            deterministic where metric 3 scatters by +-20 % on a shared VM
            without hardware counters: httpd -X (one process) under
            valgrind's callgrind with --instr-n domains, counting only
            --instr-requests keep-alive requests and a tenth of them on new
            connections (ab -c 4, after 200 uncounted ones). Rows
            3i-*-ir: Ir per request of the whole process; 3i-*-module-ir:
            self Ir of the module's .so (mod_acme.so / mod_md.so), so that
            acme/ssl is the overhead of the module loaded. Valgrind runs as
            httpd's User from the start (vgdb cannot reach it after an
            in-process setuid): the run's ServerRoot and certificate set are
            chowned to that user.

Run as root from anywhere; ports are moved by --port-offset (default 500, or
$ACME_TEST_PORT_OFFSET) so that a test suite on the default ports is not hit:

    test/bench/bench_vs_mod_md.py --build /work/build-dev
    test/bench/bench_vs_mod_md.py --build /work/build-dev --metrics 3 --repeats 3
    test/bench/bench_vs_mod_md.py --metrics 1 --issue-sizes 100 --key-types p256 \
        --modules acme --module-log-level debug      # where mod_acme's time goes

The table shows the medians, mod_md/mod_acme, mod_acme/plain mod_ssl and
issue 7's target; the CSV has every run with the load average.
"""
import argparse
import csv
import os
import re
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import benchlib as b
from harness.ca import CA
from harness.challtestsrv import ChallTestSrv
from harness.config import TestConfig
from harness.pebble import Pebble
from harness.ports import Ports
from harness.tlsclient import fetch_certificate

MODULES = ("acme", "md")
STAGED = {"acme": r"ACME\d{4} (\S+): new certificate staged",
          "md": r"AH10059: The Managed Domain (\S+) has been setup"}


class NotCapable(RuntimeError):
    """The module cannot do what the metric needs (yet); the reason is shown."""


class StagingTimeout(b.BenchTimeout):
    """Not every domain was staged in time (e.g. pebble stuck): the run is
    recorded as failed and the benchmark goes on."""


def _children_cpu():
    """CPU seconds of this process's reaped children (here: the `apache2 -k
    start`/`-k graceful` invocations, whose first configuration pass the
    detached httpd parent does not count)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rotated(variants, rep):
    """The variants in the order of round rep: each goes first in turn, so
    that a drift within a round (the 2 vCPUs of a cloud machine slowing under
    sustained load: in one run plain mod_ssl, always measured last, served
    15-25 % fewer requests than either module) does not always hit the
    same one."""
    k = rep % len(variants) if variants else 0
    return list(variants[k:]) + list(variants[:k])


def pebble_ca_lines(pebble, ca):
    return [f"MDCertificateAuthority {pebble.url}", f"MDCACertificateFile {ca.cert_path}",
            "MDCertificateAgreement accepted", "MDContactEmail admin@example.org"]


class Bench:
    def __init__(self, args, cfg, ports):
        self.args, self.cfg, self.ports = args, cfg, ports
        self.work = args.workdir
        self.pebble = self.challtestsrv = self.ca = None
        self.root_pem = None
        self.rows = []

    # ------------------------------------------------------------ lifecycle
    def start_acme_servers(self):
        """Starts pebble and challtestsrv with fresh state (pebble 2.4.0's
        in-memory store deadlocks under many concurrent orders after a few
        rounds: metric 1 restarts them before each run)."""
        self.stop()
        if self.ca is None:
            self.ca = CA(os.path.join(self.work, "ca"), openssl=self.cfg.openssl).create()
        self.challtestsrv = ChallTestSrv(self.cfg, self.ports,
                                         os.path.join(self.work, "challtestsrv")).start()
        self.pebble = Pebble(self.cfg, self.ports, self.ca, os.path.join(self.work, "pebble"),
                             env={"PEBBLE_VA_NOSLEEP": "1"}).start()
        self.root_pem = os.path.join(self.work, "pebble-root.pem")
        with open(self.root_pem, "w") as f:
            f.write(self.pebble.roots_pem())

    def stop(self):
        for proc in (self.pebble, self.challtestsrv):
            if proc:
                proc.stop()
        self.pebble = self.challtestsrv = None

    def ca_cpu(self):
        """CPU seconds pebble and challtestsrv have used so far."""
        return sum(b.process_cpu(p.proc.pid) for p in (self.pebble, self.challtestsrv))

    def calibrate(self, keys=10):
        """Row 0-rsa2048-keygen: CPU seconds per RSA-2048 key generation by
        openssl on this machine, from RUSAGE_CHILDREN (nothing else runs
        as a child of this process meanwhile)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(keys):
            subprocess.run([self.cfg.openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt",
                            "rsa_keygen_bits:2048", "-out", "/dev/null"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / keys
        self.record("0-rsa2048-keygen", "openssl", keys, 0, cpu, "cpu-s", "(per key)",
                    key="rsa2048")

    def server(self, name, variant):
        root = os.path.join(self.work, "runs", name)
        shutil.rmtree(root, ignore_errors=True)
        server = b.make_server(self.cfg, self.ports, root, variant, log_level="notice")
        if self.args.module_log_level:
            server.module_log_level = self.args.module_log_level
        return server

    def record(self, metric, module, n, rep, value, unit, note="", key="p256"):
        row = {"metric": metric, "module": module, "n": n, "key": key, "rep": rep,
               "value": "" if value is None else round(value, 4), "unit": unit, "note": note,
               "load": os.getloadavg()[0]}
        self.rows.append(row)
        shown = "n/a" if value is None else f"{value:.2f} {unit}"
        print(f"[{metric}] {module:7} N={n:<6} {key:7} rep {rep}: {shown} {note}".rstrip(),
              flush=True)

    # ------------------------------------------------------------ metric 1
    def new_domains(self, tag, n):
        return [b.Domain(f"{tag}{i}.new.test", "", "") for i in range(n)]

    def new_conf(self, variant, domains, key):
        return b.vhosts_conf(variant, domains, self.ports.https,
                             ca_lines=pebble_ca_lines(self.pebble, self.ca), key=key)

    def wait_staged(self, server, module, names, timeout):
        pattern = re.compile(STAGED[module], re.M)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = server.error_log()
            if names <= set(pattern.findall(log)):
                return
            if not server.running():
                raise b.BenchError(f"httpd died:\n{log[-2000:]}")
            time.sleep(0.05)
        log = server.error_log()
        if module == "acme" and not re.search(r"ACME14\d\d ", log):
            raise NotCapable("mod_acme cannot issue yet: no renewal watchdog line (ACME14xx) "
                             f"in the log after {timeout:.0f} s")
        missing = len(names - set(pattern.findall(log)))
        raise StagingTimeout(f"{missing} of {len(names)} domains not staged after {timeout:.0f} s; "
                         f"log tail:\n{log[-1500:]}")

    def all_served(self, server, names):
        """Every name serves a certificate that verifies against pebble's
        root; 8 handshakes at a time, so that the probe itself (the same for
        both modules) adds little to the figure."""
        def one(name):
            try:
                fetch_certificate(name, server.ports.https, cafile=self.root_pem, timeout=5)
                return True
            except (OSError, ssl.SSLError):
                return False
        with ThreadPoolExecutor(max_workers=8) as pool:
            return all(pool.map(one, sorted(names)))

    def metric1(self, rep):
        for key in self.args.key_types:
            for n in self.args.issue_sizes:
                for module in rotated(self.args.modules, rep):
                    self.metric1_one(rep, key, n, module)

    def metric1_one(self, rep, key, n, module):
        """One cold issuance, with the CPU time pebble + challtestsrv and
        httpd (the `-k start`/`-k graceful` invocations, the parent and
        every child, also those that exited) used meanwhile."""
        self.start_acme_servers()           # fresh pebble state, outside the timing
        # names differ per run: pebble must not reuse an authorization
        domains = self.new_domains(f"m1r{rep}{key[0]}{module[0]}i", n)
        names = {d.name for d in domains}
        server = self.server(f"m1-{module}-{key}-{n}-{rep}", module)
        server.write_conf(self.new_conf(module, domains, key))
        try:
            ca0, invoked0 = self.ca_cpu(), _children_cpu()
            t0 = time.monotonic()
            b.timed_start(server, lambda: True, 120)
            self.wait_staged(server, module, names, 60 + 5 * n)
            staged = time.monotonic() - t0
            served = b.timed_graceful(server, lambda: self.all_served(server, names), 120 + n)
            cpu_httpd = b.tree_cpu(server.pid) + _children_cpu() - invoked0
            cpu_ca = self.ca_cpu() - ca0
            self.record("1-staged", module, n, rep, staged, "s", key=key)
            self.record("1-graceful-served", module, n, rep, served, "s", key=key)
            self.record("1-total", module, n, rep, staged + served, "s", key=key)
            self.record("1-cpu-ca", module, n, rep, cpu_ca, "cpu-s", key=key)
            self.record("1-cpu-httpd", module, n, rep, cpu_httpd, "cpu-s", key=key)
        except NotCapable as e:
            self.record("1-total", module, n, rep, None, "s", f"({e})", key=key)
        except b.BenchTimeout as e:
            # pebble may be stuck: the run failed, the benchmark goes on
            print(str(e)[:1500], file=sys.stderr)
            self.record("1-total", module, n, rep, None, "s", "timeout", key=key)
            server.stop(timeout=60)
            self.start_acme_servers()
        finally:
            server.stop(timeout=60)

    # ------------------------------------------------------------ metric 2
    def metric2_variants(self):
        return self.args.modules + (["ssl"] if self.args.floors else [])

    def metric2_new(self, rep, sets):
        """sets: CertSets of --new-n domains for the plain mod_ssl floor."""
        for key in self.args.key_types:
            for module in rotated(self.metric2_variants(), rep):
                self.metric2_new_one(rep, key, module, sets)

    def metric2_new_one(self, rep, key, module, sets):
        n = self.args.new_n
        server = self.server(f"m2new-{module}-{key}-{rep}", module)
        note = "(fallback served)"
        if module == "ssl":
            # the floor: httpd + mod_ssl loading N P-256 certificates
            domains, note = sets.domains, "(floor: N P-256 certificates)"
            server.write_conf(b.vhosts_conf("ssl", domains, self.ports.https, sets.files))
        else:
            domains = self.new_domains(f"m2r{rep}s", n)
            server.write_conf(self.new_conf(module, domains, key))

        def answers():
            try:
                b.served_sha256(server.ports.https, domains[-1].name)
                return True
            except (OSError, ssl.SSLError):
                return False
        try:
            self.record("2-start-new", module, n, rep, b.timed_start(server, answers, 120 + n),
                        "s", note, key=key)
        finally:
            server.stop(timeout=60)

    def metric2_existing(self, rep, sets):
        for module in rotated(self.metric2_variants(), rep):
            start, mem = self.existing_start(module, sets, rep)
            self.record("2-start-existing", module, sets.count, rep, start, "s")
            self.record("2-rss-parent", module, sets.count, rep, mem["parent_rss_kb"] / 1024,
                        "MB")
            self.record("2-rss-total", module, sets.count, rep,
                        (mem["parent_rss_kb"] + mem["children_rss_kb"]) / 1024, "MB",
                        f"({mem['children']} children)")
            self.record("2-pss-total", module, sets.count, rep, mem["total_pss_kb"] / 1024,
                        "MB")

    def existing_server(self, module, sets, rep, tag, extra=""):
        server = self.server(f"{tag}-{module}-{sets.count}-{rep}", module)
        if module == "acme":
            b.layout_acme(sets, os.path.join(server.root, "md"))
        elif module == "md":
            b.layout_md(sets, os.path.join(server.root, "md"))
        server.write_conf(extra + b.vhosts_conf(module, sets.domains, self.ports.https,
                                                sets.files))
        return server

    def existing_start(self, module, sets, rep):
        server = self.existing_server(module, sets, rep, "m2old")
        last = sets.last
        timeout = 120 + 0.1 * sets.count
        try:
            if not self.args.existing_cold:
                # as on a server that ran before: mod_acme has stamped its sets
                # (verified.json), both have the files in the page cache
                b.timed_start(server, lambda: self._serves(server, last), timeout)
                server.stop(timeout=60)
            start = b.timed_start(server, lambda: self._serves(server, last), timeout)
            b.settle(server)
            return start, b.memory(server)
        finally:
            server.stop(timeout=60)

    @staticmethod
    def _serves(server, domain):
        try:
            return b.served_sha256(server.ports.https, domain.name) == domain.sha256
        except (OSError, ssl.SSLError):
            return False

    # ------------------------------------------------------------ metric 3
    def metric3(self, rep, sets):
        for variant in rotated(["acme", "md", "ssl"], rep):
            # Enough workers that ab's clients never exhaust them (the event MPM then
            # closes keep-alive connections) and no cut after 100 requests: ab
            # miscounts the responses around each close as "Length" failures.
            server = self.existing_server(variant, sets, rep, "m3", extra=(
                "MaxKeepAliveRequests 0\nThreadsPerChild 32\nMaxRequestWorkers 64\n"
                "MaxSpareThreads 64\n"))
            last = sets.last
            try:
                b.timed_start(server, lambda: self._serves(server, last), 300)
                b.settle(server)
                for keepalive in (True, False):
                    metric = "3-keepalive" if keepalive else "3-handshakes"
                    try:
                        cpu0 = b.tree_cpu(server.pid)
                        rps, n = run_ab(server, last.name, self.args, keepalive)
                        cpu = b.tree_cpu(server.pid) - cpu0
                        self.record(metric, variant, sets.count, rep, rps, "req/s")
                        # httpd's CPU per request: what the module adds to the
                        # request path, less exposed than req/s to ab and httpd
                        # sharing the 2 CPUs
                        self.record(metric + "-cpu", variant, sets.count, rep,
                                    cpu / n * 1e6, "cpu-us")
                    except b.BenchError as e:
                        self.record(metric, variant, sets.count, rep, None, "req/s", f"({e})")
            finally:
                server.stop(timeout=60)

    # ------------------------------------------------------------ metric 3i
    def metric3i(self, rep, sets):
        for variant in rotated(["acme", "md", "ssl"], rep):
            self.metric3i_one(rep, sets, variant)

    def metric3i_one(self, rep, sets, variant):
        """Instructions per request under callgrind, httpd -X (one process):
        deterministic where req/s and CPU time scatter by +-20 % on a
        shared 2-vCPU VM without hardware counters. Whole process and the
        module's own .so, keep-alive and new-connection requests."""
        server = self.existing_server(variant, sets, rep, "m3i",
                                      extra="MaxKeepAliveRequests 0\n")
        out_dir = os.path.join(server.root, "callgrind")
        popen = b.callgrind_start(server, out_dir, shared_dirs=[sets.dir])
        server.pid = popen.pid              # wait_until() notices when it dies
        phase = "keepalive"
        try:
            b.wait_until(lambda: self._serves(server, sets.last), 900, server,
                         "the last certificate under callgrind")
            ab(server, sets.last.name, 200, 1, True)          # warm-up, not counted
            n = self.args.instr_requests
            for keepalive, phase, reqs in ((True, "keepalive", n),
                                           (False, "handshake", max(n // 10, 1))):
                dump = self.callgrind_phase(popen.pid, out_dir, server, sets.last.name, reqs,
                                            keepalive)
                self.record_3i(variant, sets.count, rep, phase, dump, reqs)
        except b.BenchError as e:
            print(str(e)[:1500], file=sys.stderr)
            self.record(f"3i-{phase}-ir", variant, sets.count, rep, None, "Ir/req", "(failed)")
        finally:
            b.callgrind_stop(popen)         # SIGTERM, then SIGKILL to its session
            server.pid = None

    @staticmethod
    def callgrind_phase(pid, out_dir, server, name, reqs, keepalive):
        """One counted ab run (4 clients): instrumentation on only around
        it, so that neither start-up nor warm-up is in the dump."""
        b.callgrind_control(pid, out_dir, "-i", "on")
        try:
            ab(server, name, reqs, 4, keepalive)
            return b.callgrind_dump(pid, out_dir)
        finally:
            b.callgrind_control(pid, out_dir, "-i", "off")

    def record_3i(self, variant, n, rep, phase, dump, reqs):
        """Rows 3i-<phase>-ir (whole process) and 3i-<phase>-module-ir (self
        cost of the module's .so; 0 for plain mod_ssl), per request."""
        obj = {"acme": "mod_acme.so", "md": "mod_md.so"}.get(variant)
        total, module = b.callgrind_totals(dump, obj)
        note = f"({os.path.basename(dump)})"
        self.record(f"3i-{phase}-ir", variant, n, rep, total / reqs, "Ir/req", note)
        self.record(f"3i-{phase}-module-ir", variant, n, rep, module / reqs, "Ir/req")
        if obj:
            top = ", ".join(f"{fn} {ir / reqs:.0f}" for fn, ir in b.callgrind_top(dump, obj))
            print(f"    top {obj} self Ir/req ({phase}): {top}", flush=True)


def ensure_ab():
    """ab from apache2-utils; installed when missing (the bench's own extra)."""
    if shutil.which("ab"):
        return shutil.which("ab")
    subprocess.run(["apt-get", "install", "-y", "apache2-utils"], check=True,
                   stdout=subprocess.DEVNULL)
    return shutil.which("ab") or sys.exit("ab not found after installing apache2-utils")


def run_ab(server, name, args, keepalive):
    """(requests per second, requests) of ab against the static index.html;
    SNI and Host are name (ab sends the Host header's name as SNI)."""
    n = args.requests if keepalive else max(args.requests // 10, 100)
    return ab(server, name, n, args.concurrency, keepalive), n


def ab(server, name, n, concurrency, keepalive):
    """Requests per second of n ab requests; raises BenchError on failures."""
    argv = [ensure_ab(), "-q", "-n", str(n), "-c", str(concurrency),
            "-H", f"Host: {name}", *(["-k"] if keepalive else []),
            f"https://127.0.0.1:{server.ports.https}/index.html"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600).stdout
    rps = re.search(r"Requests per second:\s+([\d.]+)", out)
    kinds = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)",
                      out)
    # "Length" failures also come with plain mod_ssl: ab miscounts a
    # keep-alive connection the server closes (the access log has every
    # request as 200). More than 1 % of them, or any other failure, is an error.
    bad = kinds and (sum(int(x) for x in kinds.group(1, 2, 4)) or int(kinds.group(3)) > n // 100)
    if not rps or bad or re.search(r"Non-2xx responses:", out):
        raise b.BenchError(f"ab failed or saw errors:\n{out}")
    return float(rps.group(1))


# Targets of issue 7: (metric, N, key) -> the least mod_md/mod_acme ratio
# (for memory and throughput the most: mod_acme may cost that much more).
TARGETS = {("1-total", 100, "rsa2048"): ">= 5", ("1-total", 100, "p256"): ">= 8",
           ("2-start-new", 100, "rsa2048"): ">= 20", ("2-start-new", 100, "p256"): ">= 20",
           ("2-start-existing", None, "p256"): ">= 3", ("2-rss-total", None, "p256"): ">= 1",
           ("3-keepalive", None, "p256"): "acme/ssl >= 0.98",
           ("3-handshakes", None, "p256"): "acme/ssl >= 0.98",
           ("3-keepalive-cpu", None, "p256"): "acme/ssl <= 1.02",
           ("3-handshakes-cpu", None, "p256"): "acme/ssl <= 1.02",
           ("3i-keepalive-ir", None, "p256"): "acme/ssl <= 1.02",
           ("3i-handshake-ir", None, "p256"): "acme/ssl <= 1.02"}


def _median(rows):
    values = [r["value"] for r in rows if r["value"] != ""]
    return statistics.median(values) if values else None


def _groups(rows):
    """{(metric, N, key): {module: [rows]}}"""
    groups = {}
    for r in rows:
        groups.setdefault((r["metric"], r["n"], r["key"]), {}).setdefault(
            r["module"], []).append(r)
    return groups


def _ratio(a, b):
    return f"{a / b:8.2f}" if a and b else f"{'':8}"


def summarize(rows, out):
    """Medians per (metric, N, key) and module, with mod_md/mod_acme,
    mod_acme/plain mod_ssl and the target where issue 7 sets one; then the
    CPU bound of each cold issuance and the machine's RSA key cost."""
    groups = _groups(rows)
    out.write(f"\n{'metric':18} {'N':>6} {'key':7} {'runs':>4} {'mod_acme':>9} {'mod_md':>9} "
              f"{'mod_ssl':>9} unit  {'md/acme':>8} {'acme/ssl':>8}  target\n")
    for (metric, n, key), mods in sorted(groups.items()):
        if not set(mods) & set(b.VARIANTS):
            continue                    # calibration: below
        med = {m: _median(rs) for m, rs in mods.items()}
        runs = max(sum(r["value"] != "" for r in rs) for rs in mods.values())  # valid runs
        unit = next(iter(mods.values()))[0]["unit"]
        cells = " ".join(f"{med[m]:9.2f}" if med.get(m) is not None else f"{'n/a':>9}"
                         for m in b.VARIANTS)
        ratios = f"{_ratio(med.get('md'), med.get('acme'))} " \
                 f"{_ratio(med.get('acme'), med.get('ssl'))}"
        target = TARGETS.get((metric, n, key)) or TARGETS.get((metric, None, key)) or ""
        out.write(f"{metric:18} {n:>6} {key:7} {runs:>4} {cells} {unit:5} {ratios}  {target}\n")
    summarize_cpu(groups, out)


def summarize_cpu(groups, out):
    """Metric 1's wall time next to its CPU bound: (CPU seconds of pebble +
    challtestsrv and of httpd) / CPUs of the machine, i.e. the least wall
    time that CPU work could take with every CPU busy."""
    ncpus = os.cpu_count() or 1
    keygen = groups.get(("0-rsa2048-keygen", 10, "rsa2048"), {}).get("openssl")
    keygen = _median(keygen) if keygen else None
    lines = []
    for (metric, n, key), mods in sorted(groups.items()):
        if metric != "1-total":
            continue
        for module in b.VARIANTS:
            wall = _median(mods.get(module, []))
            ca = _median(groups.get(("1-cpu-ca", n, key), {}).get(module, []))
            httpd = _median(groups.get(("1-cpu-httpd", n, key), {}).get(module, []))
            if wall is None or ca is None or httpd is None:
                continue
            bound = (ca + httpd) / ncpus
            rsa = f"  (N RSA keys: {n * keygen:.2f} cpu-s)" if keygen and key == "rsa2048" else ""
            lines.append(f"  {module:5} {key:7} N={n:<5} wall {wall:8.2f} s   CPU bound = "
                         f"({ca:.2f} + {httpd:.2f}) / {ncpus} = {bound:8.2f} s   "
                         f"wall/bound {wall / bound if bound else float('inf'):5.2f}{rsa}\n")
    if lines:
        out.write("\nmetric 1, CPU bound = (cpu-ca + cpu-httpd) / ncpus (medians; cpu-ca = "
                  "pebble + challtestsrv, cpu-httpd = parent, children, -k invocations):\n")
        out.writelines(lines)
    if keygen is not None:
        out.write(f"\n0-rsa2048-keygen: {keygen:.4f} cpu-s per RSA-2048 key "
                  f"(openssl genpkey, mean of 10, measured at the start of this run)\n")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("ACME_BUILD_DIR", "."),
                    help="configured build dir (its test/integration/config.ini)")
    ap.add_argument("--metrics", default="1,2,3",
                    help="1, 2 (= 2n new domains and 2e existing certificates), 3, 3i "
                         "(instructions per request under callgrind; slow, not by default)")
    ap.add_argument("--repeats", type=int, default=2, help="A B rounds per measurement")
    ap.add_argument("--issue-sizes", default="1,10,100")
    ap.add_argument("--modules", default="acme,md",
                    help="which modules to measure (e.g. acme alone while profiling)")
    ap.add_argument("--key-types", default="rsa2048,p256",
                    help="MDPrivateKeys of metrics 1 and 2 (new): rsa2048, p256")
    ap.add_argument("--new-n", type=int, default=100)
    ap.add_argument("--floors", action=argparse.BooleanOptionalAction, default=True,
                    help="metric 2 also measures plain mod_ssl (no ACME module) with the same "
                         "N vhosts and a certificate each: the floor of httpd + mod_ssl")
    ap.add_argument("--existing-n", type=int, default=10000)
    ap.add_argument("--existing-repeats", type=int, default=None,
                    help="rounds of the N=10,000 start-up (default: --repeats; it takes "
                         "minutes per round)")
    ap.add_argument("--existing-cold", action="store_true",
                    help="measure the first start of the N=10,000 layout (default: the second; "
                         "the first, unmeasured, is what a server that ran before has behind it)")
    ap.add_argument("--throughput-n", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--instr-n", type=int, default=100,
                    help="metric 3i: domains (httpd under valgrind loads them slowly)")
    ap.add_argument("--instr-requests", type=int, default=2000,
                    help="metric 3i: counted keep-alive requests (new connections: a tenth)")
    ap.add_argument("--workdir", default="/tmp/mod_acme-bench-vs")
    ap.add_argument("--module-log-level", default=None,
                    help="LogLevel of the module under test (e.g. debug, trace1: to see "
                         "where the time goes; slows it down a little)")
    ap.add_argument("--csv", default=None, help="default: WORKDIR/vs-<time>.csv")
    ap.add_argument("--port-offset", type=int,
                    default=int(os.environ.get("ACME_TEST_PORT_OFFSET", "500")))
    args = ap.parse_args(argv)
    args.metrics = {m.strip() for m in args.metrics.split(",")}
    args.issue_sizes = [int(x) for x in args.issue_sizes.split(",")]
    args.key_types = [k.strip() for k in args.key_types.split(",")]
    if args.existing_repeats is None:
        args.existing_repeats = args.repeats
    args.modules = [m.strip() for m in args.modules.split(",")]
    if any(m not in MODULES for m in args.modules):
        ap.error("--modules: acme, md")
    if any(k not in b.PKEYS for k in args.key_types):
        ap.error(f"--key-types: one of {', '.join(b.PKEYS)}")
    return args


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("run as root: httpd starts as root and drops to its User, as in production")
    cfg = TestConfig.load(os.path.join(args.build, "test", "integration", "config.ini"))
    os.environ["ACME_TEST_PORT_OFFSET"] = str(args.port_offset)
    bench = Bench(args, cfg, Ports.from_env())
    os.makedirs(args.workdir, mode=0o755, exist_ok=True)
    os.chmod(args.workdir, 0o755)
    try:
        bench.calibrate()
        bench.start_acme_servers()
        new_sets = None
        if args.floors and args.metrics & {"2", "2n"}:
            new_sets = b.CertSets(os.path.join(args.workdir, f"sets-{args.new_n}"),
                                  args.new_n).create(args.workdir)
        for rep in range(args.repeats):
            if "1" in args.metrics:
                bench.metric1(rep)
            if args.metrics & {"2", "2n"}:
                bench.start_acme_servers()      # fresh pebble state after metric 1
                bench.metric2_new(rep, new_sets)
            if args.metrics & {"2", "2e"} and rep < args.existing_repeats:
                bench.metric2_existing(rep, b.CertSets(os.path.join(
                    args.workdir, f"sets-{args.existing_n}"), args.existing_n).create(
                        args.workdir))
            if "3" in args.metrics:
                bench.metric3(rep, b.CertSets(os.path.join(
                    args.workdir, f"sets-{args.throughput_n}"), args.throughput_n).create(
                        args.workdir))
            if "3i" in args.metrics:
                bench.metric3i(rep, b.CertSets(os.path.join(
                    args.workdir, f"sets-{args.instr_n}"), args.instr_n).create(args.workdir))
    finally:
        bench.stop()
        csv_path = args.csv or os.path.join(args.workdir,
                                            f"vs-{time.strftime('%Y%m%d-%H%M%S')}.csv")
        with open(csv_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["metric", "module", "n", "key", "rep",
                                                   "value", "unit", "note", "load"])
            writer.writeheader()
            writer.writerows(bench.rows)
        summarize(bench.rows, sys.stdout)
        print(f"\nCSV: {csv_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
