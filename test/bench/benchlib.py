"""Shared parts of the benchmarks (test/bench/*.py) and of the scale test
(test/integration/test_90_scale.py): certificate sets made by gen_certs.c,
the store layouts of mod_acme and mod_md, one configuration per server
variant, and timing/memory probes of a running httpd.

Variants: "acme" (mod_acme), "md" (Debian's mod_md; never loaded together
with mod_acme), "ssl" (plain mod_ssl, SSLCertificateFile per vhost). All
three serve the very same files: the layouts are hard links to one set."""
import grp
import hashlib
import json
import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(BENCH_DIR), "integration"))

from harness.httpd import Httpd, HttpdError  # noqa: E402
from harness.proc import children, pid_alive  # noqa: E402

VARIANTS = ("acme", "md", "ssl")
SUFFIX = "bench.test"
# A CA nobody answers at: neither module may renew during a measurement (the
# certificates are fresh anyway, so nothing is due).
NO_CA = "https://127.0.0.1:1/dir"
_READY = "resuming normal operations"


class BenchError(RuntimeError):
    """A benchmark step failed (the message says which and why)."""


class BenchTimeout(BenchError):
    """A wait for a condition (first answer, new generation) ran out of time."""


# ------------------------------------------------------------ certificate sets

def build_gen_certs(out_dir):
    """Compiles gen_certs.c into out_dir (when missing or older than the
    source); returns the binary's path."""
    src = os.path.join(BENCH_DIR, "gen_certs.c")
    exe = os.path.join(out_dir, "gen_certs")
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(src):
        return exe
    os.makedirs(out_dir, exist_ok=True)
    proc = subprocess.run([os.environ.get("CC", "cc"), "-O2", "-Wall", "-o", exe, src,
                           "-lcrypto"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"building gen_certs failed (needs cc and libssl-dev):\n"
                         f"{proc.stderr}")
    return exe


@dataclass(frozen=True)
class Domain:
    name: str
    serial: str         # hex, as `openssl x509 -serial` prints it
    sha256: str         # of the leaf's DER: what a client compares


class CertSets:
    """COUNT domains d<i>.SUFFIX with a P-256 key and a certificate each,
    made once in directory (kept: re-used when the count matches)."""

    def __init__(self, directory, count, suffix=SUFFIX):
        self.dir, self.count, self.suffix = directory, count, suffix
        self.root = os.path.join(directory, "root.pem")
        self.domains = []

    def create(self, build_dir=None):
        manifest = os.path.join(self.dir, "manifest.tsv")
        if not self._load(manifest):
            exe = build_gen_certs(build_dir or os.path.dirname(self.dir.rstrip("/")))
            proc = subprocess.run([exe, self.dir, str(self.count), self.suffix],
                                  capture_output=True, text=True)
            if proc.returncode != 0 or not self._load(manifest):
                raise BenchError(f"gen_certs {self.count} failed: {proc.stderr}")
        return self

    def _load(self, manifest):
        try:
            with open(manifest) as f:
                rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
        except FileNotFoundError:
            return False
        if len(rows) != self.count or any(len(r) != 3 for r in rows):
            return False
        self.domains = [Domain(*r) for r in rows]
        return True

    def files(self, name):
        """(privkey path, pubcert path) of a domain."""
        d = os.path.join(self.dir, "sets", name)
        return os.path.join(d, "privkey.pem"), os.path.join(d, "pubcert.pem")

    @property
    def last(self):
        return self.domains[-1]


def _link(src, dst):
    if os.path.lexists(dst):
        os.unlink(dst)
    os.link(src, dst)


def layout_acme(sets, store_dir):
    """mod_acme's store (acme_store_fs.c, docs/operations.md):
    domains/<md>/privkey.secp256r1.pem + pubcert.secp256r1.pem + md.json (mod_md's
    file names)."""
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for d in sets.domains:
        live = os.path.join(store_dir, "domains", d.name)
        os.makedirs(live, mode=0o755, exist_ok=True)
        key, chain = sets.files(d.name)
        _link(key, os.path.join(live, "privkey.secp256r1.pem"))
        _link(chain, os.path.join(live, "pubcert.secp256r1.pem"))
        with open(os.path.join(live, "md.json"), "w") as f:
            json.dump({"name": d.name, "names": [d.name], "pkey-specs": ["P-256"],
                       "ca-url": NO_CA, "issued": issued}, f)


def layout_md(sets, store_dir):
    """mod_md 2.x's store: domains/<md>/privkey.<spec>.pem + pubcert.<spec>.pem
    + md.json (md_core.c md_to_json). The first MDPrivateKeys spec names the
    files: "secp256r1" here (only RSA keys use plain privkey.pem/pubcert.pem).
    state 2 = MD_S_COMPLETE; mod_md re-syncs the rest from httpd.conf."""
    for d in sets.domains:
        dom = os.path.join(store_dir, "domains", d.name)
        os.makedirs(dom, mode=0o755, exist_ok=True)
        key, chain = sets.files(d.name)
        _link(key, os.path.join(dom, "privkey.secp256r1.pem"))
        _link(chain, os.path.join(dom, "pubcert.secp256r1.pem"))
        with open(os.path.join(dom, "md.json"), "w") as f:
            json.dump({"name": d.name, "domains": [d.name], "contacts": [],
                       "transitive": 1, "ca": {"proto": "ACME", "urls": [NO_CA]},
                       "pkey": {"type": "EC", "curve": "secp256r1"}, "state": 2,
                       "renew-mode": 1, "must-staple": False, "stapling": False}, f)


# ------------------------------------------------------------ configurations

# MDPrivateKeys values of the key types the benchmarks compare.
PKEYS = {"p256": "secp256r1", "rsa2048": "RSA 2048"}


def vhosts_conf(variant, domains, https_port, files=None, ca_lines=None, key="p256"):
    """One name-based https vhost per domain (Domain records) on
    127.0.0.1:https_port. For the module variants every domain is an MDomain
    (ca_lines: the CA part, default a CA nobody answers at; key: a PKEYS
    name for MDPrivateKeys); for "ssl", files(name) gives the (key, chain)
    paths (CertSets.files)."""
    lines = []
    if variant in ("acme", "md"):
        lines += ca_lines if ca_lines is not None else [f"MDCertificateAuthority {NO_CA}"]
        lines.append(f"MDPrivateKeys {PKEYS[key]}")
        lines += [f"MDomain {d.name}" for d in domains]
    for d in domains:
        vh = [f"<VirtualHost 127.0.0.1:{https_port}>", f"  ServerName {d.name}",
              "  SSLEngine on"]
        if variant == "ssl":
            key, chain = files(d.name)
            vh += [f"  SSLCertificateFile {chain}", f"  SSLCertificateKeyFile {key}"]
        lines += vh + ["</VirtualHost>"]
    return "\n".join(lines) + "\n"


def make_server(cfg, ports, root, variant, log_level="warn"):
    """An Httpd (not started) for variant: mod_acme, mod_md or neither."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    server = Httpd(cfg, ports, root)
    server.log_level = log_level
    server.module_log_level = log_level
    server.load_acme = variant == "acme"
    server.extra_modules = ["md"] if variant == "md" else []
    return server


# ------------------------------------------------------------ probes

def served_sha256(port, name, timeout=5):
    """sha256 of the leaf served for SNI name (no verification)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def generation(server):
    """ParentServerConfigGeneration of the child that answers (mod_status),
    or None while nothing answers."""
    url = f"http://127.0.0.1:{server.ports.http}/server-status?auto"
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            text = resp.read().decode(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("ParentServerConfigGeneration:"):
            return int(line.split(":", 1)[1])
    return None


def _wait(cond, deadline, server, what):
    while time.monotonic() < deadline:
        if cond():
            return time.monotonic()
        if server.pid is not None and not pid_alive(server.pid):
            raise BenchError(f"httpd died while waiting for {what}:\n"
                             f"{server.error_log()[-3000:]}")
        time.sleep(0.02)
    raise BenchTimeout(f"timeout waiting for {what}:\n{server.error_log()[-3000:]}")


def wait_until(cond, timeout, server, what):
    """Waits until cond() holds; BenchError when httpd (server.pid) dies,
    BenchTimeout after timeout seconds."""
    return _wait(cond, time.monotonic() + timeout, server, what)


def _serves(server, domain):
    try:
        return served_sha256(server.ports.https, domain.name) == domain.sha256
    except (OSError, ssl.SSLError):
        return False


def _apache(server, *args, timeout):
    proc = subprocess.run([server.cfg.httpd, "-d", server.root, "-f", server.conf_path,
                           *args], capture_output=True, text=True, env=server._env(),
                          stdin=subprocess.DEVNULL, timeout=timeout)
    if proc.returncode != 0:
        raise BenchError(f"apache2 {' '.join(args)} failed ({proc.returncode}):\n"
                         f"{proc.stdout}{proc.stderr}\n{server.error_log()[-3000:]}")


def timed_start(server, probe, timeout):
    """Seconds from `apache2 -k start` until probe() (e.g. the last domain's
    certificate is served) holds."""
    if os.path.exists(server.pid_path):
        os.unlink(server.pid_path)
    t0 = time.monotonic()
    deadline = t0 + timeout
    _apache(server, "-k", "start", timeout=timeout)
    _wait(lambda: server.read_pid() is not None, deadline, server, "the pid file")
    server.pid = server.read_pid()
    return _wait(probe, deadline, server, "the first answer") - t0


def timed_graceful(server, probe, timeout):
    """Seconds from `apache2 -k graceful` until a child of the new
    generation answers and probe() holds."""
    before = generation(server)
    if before is None:
        raise BenchError("no server-status answer before the graceful restart")
    t0 = time.monotonic()
    _apache(server, "-k", "graceful", timeout=timeout)
    return _wait(lambda: (generation(server) or -1) > before and probe(),
                 t0 + timeout, server, "the new generation") - t0


def smaps_rollup(pid):
    """{"Rss": kB, "Pss": kB} of a process (zeros when it is gone)."""
    out = {"Rss": 0, "Pss": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in out:
                    out[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def memory(server):
    """RSS/PSS (kB) of the parent and the sum over its children."""
    parent = smaps_rollup(server.pid)
    kids = [smaps_rollup(pid) for pid in children(server.pid)]
    return {"parent_rss_kb": parent["Rss"], "parent_pss_kb": parent["Pss"],
            "children": len(kids),
            "children_rss_kb": sum(k["Rss"] for k in kids),
            "children_pss_kb": sum(k["Pss"] for k in kids),
            "total_pss_kb": parent["Pss"] + sum(k["Pss"] for k in kids)}


def settle(server, want_children=2, timeout=10):
    """Waits until the parent has want_children children (StartServers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(children(server.pid)) < want_children:
        time.sleep(0.1)
    time.sleep(0.5)


# ------------------------------------------------------------ CPU accounting

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """The fields of /proc/<pid>/stat after the command name (field 3 of
    proc(5) first), or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def process_cpu(pid):
    """CPU seconds (utime + stime) pid has used itself; 0 when it is gone."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK if fields else 0.0


def tree_cpu(pid):
    """CPU seconds used by pid and every descendant, living or exited: each
    process of the tree counts its own utime + stime plus cutime + cstime
    (the children it has reaped, e.g. the children of an old generation
    after a graceful restart). A zombie not reaped yet counts itself, its
    parent's cutime does not have it yet, so nothing counts twice."""
    parents, own = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields is None:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
        own[int(entry)] = sum(int(x) for x in fields[11:15])
    total, todo = 0, [pid]
    while todo:
        cur = todo.pop()
        total += own.get(cur, 0)
        todo += parents.get(cur, [])
    return total / CLK_TCK


# ------------------------------------------------------------ callgrind

def _vgdb_prefix(out_dir):
    return os.path.join(out_dir, "vgdb")


def callgrind_start(server, out_dir, shared_dirs=()):
    """httpd -X (one process, no children: every request runs in the process
    callgrind watches) under callgrind, instrumentation off until
    callgrind_control -i on: the start-up of N vhosts then runs at near
    valgrind's plain JIT speed and counts nothing. Its own session, since
    httpd SIGTERMs its process group when it stops.

    Valgrind runs as httpd's User from the start (httpd, not root, skips
    its own setuid): after an in-process setuid valgrind's gdbserver no
    longer answers vgdb, so every callgrind_control would hang. The server
    root and shared_dirs (e.g. the certificate set the store links to) are
    given to that user for it; the request path is the same."""
    os.makedirs(out_dir, exist_ok=True)
    user = {}
    if server.user and os.geteuid() == 0:
        pw = pwd.getpwnam(server.user[0])
        user = {"user": pw.pw_uid, "group": grp.getgrnam(server.user[1]).gr_gid,
                "extra_groups": []}
        for top in (server.root, *shared_dirs):
            _chown_tree(top, pw.pw_uid, user["group"])
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--vgdb-prefix={_vgdb_prefix(out_dir)}",
            f"--callgrind-out-file={out_dir}/cg.out.%p",
            server.cfg.httpd, "-d", server.root, "-f", server.conf_path, "-X"]
    with open(os.path.join(out_dir, "valgrind.log"), "w") as log:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=server._env(), start_new_session=True, **user)


def _chown_tree(top, uid, gid):
    for path, dirs, files in os.walk(top):
        for name in [path] + [os.path.join(path, f) for f in files]:
            os.chown(name, uid, gid, follow_symlinks=False)


def callgrind_control(pid, out_dir, *args, timeout=300):
    """callgrind_control (through vgdb) against one valgrind pid; raises
    BenchError when it fails, since a missed switch would leave the
    counts meaningless. It runs as the user valgrind runs as (out_dir's
    owner, see callgrind_start): vgdb as root hangs on a valgrind of
    another user."""
    st = os.stat(out_dir)
    user = {"user": st.st_uid, "group": st.st_gid, "extra_groups": []} \
        if os.geteuid() == 0 and st.st_uid != 0 else {}
    proc = subprocess.run(["callgrind_control", f"--vgdb-prefix={_vgdb_prefix(out_dir)}",
                           *args, str(pid)], capture_output=True, text=True, timeout=timeout,
                          **user)
    if proc.returncode != 0 or "Error" in proc.stdout:
        raise BenchError(f"callgrind_control {' '.join(args)} {pid} failed:\n"
                         f"{proc.stdout}{proc.stderr}")
    return proc.stdout


def callgrind_dump(pid, out_dir):
    """Dumps (and zeroes) the counters of pid; returns the new dump's path.
    The files are named by callgrind (cg.out.<pid>.<n>): the new one is the
    one that was not there before."""
    before = set(os.listdir(out_dir))
    callgrind_control(pid, out_dir, "-d")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = sorted(f for f in set(os.listdir(out_dir)) - before if f.startswith("cg.out"))
        if new:
            time.sleep(0.5)         # written by the time -d returns; be safe
            return os.path.join(out_dir, new[-1])
        time.sleep(0.1)
    raise BenchError(f"no callgrind dump of {pid} appeared in {out_dir}")


def callgrind_stop(popen, timeout=120):
    """SIGTERM to the httpd under valgrind, then SIGKILL to whatever is left
    of its session (the process group is its own: start_new_session)."""
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    popen.wait(30)


def _compressed_name(value, names):
    """Callgrind name compression: "(id) name" defines id, "(id)" refers
    to it; uncompressed names are passed through."""
    m = re.match(r"\((\d+)\)(?:\s+(.*))?$", value)
    if not m:
        return value
    if m.group(2) is not None:
        names[m.group(1)] = m.group(2)
    return names.get(m.group(1), value)


def callgrind_self_costs(path):
    """(total Ir, {(object, function): self Ir}) of one callgrind dump,
    from its fn/ob records: a cost line counts for the current function,
    except the line after calls=, which is the callee's inclusive cost.
    Parsed here rather than from callgrind_annotate's text, whose layout
    changes between valgrind versions."""
    obs, fns, costs = {}, {}, {}
    npos, ir_at, total = 1, 0, None
    ob = fn = None
    skip_next = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line[0].isdigit() or line[0] in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                fields = line.split()
                if len(fields) > npos + ir_at:
                    value = int(fields[npos + ir_at], 0)
                    costs[(ob, fn)] = costs.get((ob, fn), 0) + value
                continue
            key, _, value = line.partition("=")
            if key == "ob":
                ob = _compressed_name(value, obs)
            elif key == "cob":
                _compressed_name(value, obs)    # likewise
            elif key == "fn":
                fn = _compressed_name(value, fns)
            elif key == "cfn":
                _compressed_name(value, fns)    # may define a name fn= uses later
            elif key in ("calls", "jump", "jcnd"):
                skip_next = True
            elif line.startswith("positions:"):
                npos = len(line.split(":", 1)[1].split())
            elif line.startswith("events:"):
                ir_at = line.split(":", 1)[1].split().index("Ir")
            elif line.startswith(("totals:", "summary:")):
                total = int(line.split(":", 1)[1].split()[ir_at])
    if total is None:
        total = sum(costs.values())
    return total, costs


def callgrind_totals(path, module_object):
    """(total Ir, Ir in the module's own code) of one dump: the self cost of
    every function whose object file's basename is module_object (e.g.
    mod_acme.so; None for plain mod_ssl: 0). Self, not inclusive: what the
    module's code executes itself, not the APR/OpenSSL it calls, which the
    total catches anyway."""
    total, costs = callgrind_self_costs(path)
    module = sum(v for (ob, _fn), v in costs.items()
                 if module_object and ob and os.path.basename(ob) == module_object)
    return total, module


def callgrind_top(path, module_object, count=5):
    """The count functions of module_object with the most self Ir:
    [(function, Ir)], for seeing what the module does per request."""
    _total, costs = callgrind_self_costs(path)
    mine = [(fn, v) for (ob, fn), v in costs.items()
            if ob and os.path.basename(ob) == module_object]
    return sorted(mine, key=lambda x: -x[1])[:count]


__all__ = ["BenchError", "BenchTimeout", "CLK_TCK", "CertSets", "Domain", "HttpdError", "PKEYS",
           "VARIANTS", "build_gen_certs", "callgrind_control", "callgrind_dump",
           "callgrind_self_costs", "callgrind_start", "callgrind_stop", "callgrind_top",
           "callgrind_totals", "generation", "layout_acme", "layout_md", "make_server",
           "memory", "process_cpu", "served_sha256", "settle", "timed_graceful", "timed_start",
           "tree_cpu", "vhosts_conf", "wait_until"]
