#!/usr/bin/python3
"""Issue 18 (MDSharedStore): N new domains on a cluster of 3 servers sharing
one Redis against the same N on 1 server, with one pebble
(PEBBLE_VA_NOSLEEP=1, fresh state per run) and pebble-challtestsrv, which
resolves every name to 127.0.0.1: the CA's validation reaches server A only,
the others (127.0.0.2, .3) rely on the cluster's shared http-01 answers.

Measured per run (wall clock):
  served_s   from the start of the first server until every server serves
             every domain with a certificate that verifies against pebble's
             root (MDActivation graceful: each server restarts itself)
  orders     orders pebble created ("Added order"), accounts it has
  per server, the orders it made (ACME0920) and the sets it took from the
             cluster (ACME1822)
Variants alternate per repeat; every run goes into a CSV. Run as root.

    test/bench/bench_cluster.py --build build --domains 100 --repeats 1
"""
import argparse
import base64
import csv
import os
import re
import shutil
import ssl
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(BENCH_DIR), "integration"))

from harness.ca import CA  # noqa: E402
from harness.challtestsrv import ChallTestSrv  # noqa: E402
from harness.config import TestConfig  # noqa: E402
from harness.httpd import Httpd  # noqa: E402
from harness.pebble import Pebble  # noqa: E402
from harness.ports import Ports  # noqa: E402
from harness.redis import RedisServer  # noqa: E402
from harness.tlsclient import fetch_certificate  # noqa: E402

ADDRESSES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


def server_conf(server, acme, ca_file, domains, shared):
    lines = [f"MDCertificateAuthority {acme.url}", f"MDCACertificateFile {ca_file}",
             "MDCertificateAgreement accepted", "MDContactEmail admin@example.org",
             "MDActivation graceful", "MDActivationInterval 10s"]
    lines += shared
    for name in domains:
        lines += [f"MDomain {name}",
                  f"<VirtualHost *:{server.ports.https}>\n  ServerName {name}\n"
                  f"  SSLEngine on\n</VirtualHost>"]
    return "\n".join(lines) + "\n"


def serves_pebble(server, name, root_pem):
    try:
        fetch_certificate(name, server.ports.https, cafile=root_pem, timeout=5,
                          address=server.address)
        return True
    except (OSError, ssl.SSLError):
        return False


class Run:
    def __init__(self, cfg, ports, work, ca, n_servers, domains):
        self.cfg, self.ports, self.work, self.ca = cfg, ports, work, ca
        self.n_servers, self.domains = n_servers, domains

    def __call__(self, timeout):
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work, mode=0o755)
        dns = ChallTestSrv(self.cfg, self.ports, os.path.join(self.work, "dns")).start()
        acme = Pebble(self.cfg, self.ports, self.ca, os.path.join(self.work, "pebble"),
                      env={"PEBBLE_VA_NOSLEEP": "1"}).start()
        redis = servers = None
        try:
            root_pem = os.path.join(self.work, "pebble-root.pem")
            with open(root_pem, "w") as f:
                f.write(acme.roots_pem())
            shared = []
            if self.n_servers > 1:
                redis = RedisServer(self.ports.redis, os.path.join(self.work, "redis")).start()
                key = os.path.join(self.work, "md-shared.key")
                fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
                shared = [f"MDSharedStore {redis.url()}", f"MDSharedStoreKeyFile {key}"]
            servers = []
            for i in range(self.n_servers):
                s = Httpd(self.cfg, self.ports, os.path.join(self.work, f"httpd-{i}"))
                s.address = ADDRESSES[i]
                s.log_level, s.module_log_level = "warn", "info"
                s.write_conf(server_conf(s, acme, self.ca.cert_path, self.domains, shared))
                servers.append(s)
            t0 = time.time()
            for s in servers:
                s.start(timeout=60)
            left = {(i, d) for i in range(len(servers)) for d in self.domains}
            deadline = t0 + timeout
            while left and time.time() < deadline:
                left = {(i, d) for i, d in left if not serves_pebble(servers[i], d, root_pem)}
                if left:
                    time.sleep(1)
            served_s = time.time() - t0
            log = acme.log()
            row = {"servers": self.n_servers, "domains": len(self.domains),
                   "served_s": round(served_s, 1) if not left else None,
                   "unserved": len(left),
                   "orders": len(re.findall(r'Added order "[^"]+" to the db', log)),
                   "accounts": max([int(x) for x in
                                    re.findall(r"There are now (\d+) accounts", log)] or [0])}
            for i, s in enumerate(servers):
                text = s.error_log()
                row[f"ordered_{i}"] = len(re.findall(r"ACME0920 ", text))
                row[f"imported_{i}"] = len(re.findall(r"ACME1822 ", text))
            return row
        finally:
            for s in servers or []:
                s.stop()
            for p in (redis, acme, dns):
                if p:
                    p.stop()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--domains", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--workdir", default="/tmp/mod_acme-bench-cluster")
    ap.add_argument("--port-offset", type=int, default=900)
    ap.add_argument("--csv", default=None)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("run as root: httpd starts as root and drops to its User, as in production")
    cfg = TestConfig.load(os.path.join(args.build, "test", "integration", "config.ini"))
    os.environ["ACME_TEST_PORT_OFFSET"] = str(args.port_offset)
    ports = Ports.from_env()
    os.makedirs(args.workdir, mode=0o755, exist_ok=True)
    os.chmod(args.workdir, 0o755)
    ca = CA(os.path.join(args.workdir, "ca"), openssl=cfg.openssl).create()
    domains = [f"c{i:04d}.cluster.bench" for i in range(args.domains)]
    rows = []
    for rep in range(args.repeats):
        order = (3, 1) if rep % 2 == 0 else (1, 3)
        for n in order:
            run = Run(cfg, ports, os.path.join(args.workdir, f"run-{n}"), ca, n, domains)
            row = dict(run(args.timeout), repeat=rep)
            print(row, flush=True)
            rows.append(row)
    path = args.csv or os.path.join(args.workdir, "bench_cluster.csv")
    keys = sorted({k for r in rows for k in r})
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    print(f"rows in {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
