#!/usr/bin/python3
"""Issue 9: the cost of many managed domains that already have certificates.

For each N and variant (mod_acme, Debian's mod_md, plain mod_ssl with
SSLCertificateFile per vhost), with one name-based https vhost per domain:
  start     seconds from `apache2 -k start` until the last domain's
            certificate is served (SNI, compared by SHA-256 of the leaf)
  graceful  seconds from `apache2 -k graceful` until a child of the new
            generation (mod_status ParentServerConfigGeneration) answers
            and serves the last domain's certificate
  memory    RSS/PSS of the parent and the sum over its children, from
            /proc/<pid>/smaps_rollup, after the start has settled
Variants alternate within each repeat (A B C A B C ...); medians are printed
and every run goes into a CSV. Run as root (httpd drops to User).

mod_acme verifies a certificate set fully once and stamps it (verified.json,
acme_certset.h); sets it activated itself carry the stamp. The sets laid out
here do not, so each mod_acme ServerRoot gets one start first, outside the
measurement, that stamps them; its time is printed as the "first start".
--base-build adds the variant acme-base: mod_acme of another build (e.g. the
commit before a change), measured in the same rounds for a fair A/B.

    test/bench/bench_scale.py --build /work/build-dev            # 100, 1000, 10000
    test/bench/bench_scale.py --build /work/build-dev --quick    # 100, 1000
    test/bench/bench_scale.py --sizes 10000 --variants acme,ssl --repeats 3
    test/bench/bench_scale.py --sizes 10000 --variants acme-base,acme,ssl \
        --base-build /tmp/build-before
"""
import argparse
import csv
import os
import shutil
import statistics
import sys
import time

import benchlib as b
from harness.config import TestConfig
from harness.ports import Ports

FIELDS = ["variant", "n", "rep", "start_s", "graceful_s", "parent_rss_kb", "parent_pss_kb",
          "children", "children_rss_kb", "children_pss_kb", "total_pss_kb",
          "parent_pss_after_graceful_kb"]


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("ACME_BUILD_DIR", "."),
                    help="configured build dir (its test/integration/config.ini)")
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--quick", action="store_true", help="sizes 100,1000 only")
    ap.add_argument("--variants", default="acme,md,ssl",
                    help="of acme, md, ssl and (with --base-build) acme-base")
    ap.add_argument("--base-build", default=None,
                    help="configured build dir whose mod_acme is the variant acme-base")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--md-large-repeats", type=int, default=1,
                    help="repeats of mod_md at N >= 10000 (~144 s per config pass)")
    ap.add_argument("--workdir", default="/tmp/mod_acme-bench")
    ap.add_argument("--csv", default=None, help="default: WORKDIR/scale-<time>.csv")
    ap.add_argument("--port-offset", type=int,
                    default=int(os.environ.get("ACME_TEST_PORT_OFFSET", "300")))
    args = ap.parse_args(argv)
    args.sizes = [100, 1000] if args.quick else [int(x) for x in args.sizes.split(",")]
    args.variants = args.variants.split(",")
    for v in args.variants:
        if v not in b.VARIANTS and not (v == "acme-base" and args.base_build):
            ap.error(f"unknown variant {v}; known: {', '.join(b.VARIANTS)} "
                     f"(acme-base with --base-build)")
    return args


def prepare(cfg, ports, workdir, sets, variant, kind=None):
    """A fresh ServerRoot for variant serving sets; returns the Httpd.
    kind: the benchlib variant it is built as (default: variant itself)."""
    root = os.path.join(workdir, f"{variant}-{sets.count}")
    shutil.rmtree(root, ignore_errors=True)
    variant = kind or variant
    server = b.make_server(cfg, ports, root, variant)
    store = os.path.join(server.root, "md")
    if variant == "acme":
        b.layout_acme(sets, store)
    elif variant == "md":
        b.layout_md(sets, store)
    server.write_conf(b.vhosts_conf(variant, sets.domains, ports.https, sets.files))
    return server


def run_once(server, sets, timeout):
    """One start, memory, graceful, stop; returns the CSV row's figures."""
    last = sets.last

    def probe():
        try:
            return b.served_sha256(server.ports.https, last.name) == last.sha256
        except OSError:
            return False

    try:
        row = {"start_s": b.timed_start(server, probe, timeout)}
        b.settle(server)
        row.update(b.memory(server))
        row["graceful_s"] = b.timed_graceful(server, probe, timeout)
        row["parent_pss_after_graceful_kb"] = b.smaps_rollup(server.pid)["Pss"]
        return row
    finally:
        server.stop(timeout=60)


def first_start(server, sets, timeout):
    """One start and stop outside the measurement: mod_acme stamps the
    sets (a full check of each); returns its seconds."""
    last = sets.last
    try:
        return b.timed_start(server, lambda: _serves_last(server, last), timeout)
    finally:
        server.stop(timeout=60)


def _serves_last(server, last):
    try:
        return b.served_sha256(server.ports.https, last.name) == last.sha256
    except OSError:
        return False


def summarize(rows, out):
    """The medians per (variant, n) as a table."""
    groups = {}
    for r in rows:
        groups.setdefault((r["n"], r["variant"]), []).append(r)
    out.write(f"\n{'N':>6} {'variant':8} {'runs':>4} {'start s':>9} {'graceful s':>10} "
              f"{'parent PSS MB':>13} {'total PSS MB':>12} {'PSS kB/domain':>13}\n")
    for (n, variant), rs in sorted(groups.items()):
        def med(key):
            return statistics.median(r[key] for r in rs)
        out.write(f"{n:>6} {variant:8} {len(rs):>4} {med('start_s'):>9.2f} "
                  f"{med('graceful_s'):>10.2f} {med('parent_pss_kb') / 1024:>13.1f} "
                  f"{med('total_pss_kb') / 1024:>12.1f} {med('total_pss_kb') / n:>13.1f}\n")


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("run as root: httpd starts as root and drops to its User, as in production")
    cfg = TestConfig.load(os.path.join(args.build, "test", "integration", "config.ini"))
    base_cfg = (TestConfig.load(os.path.join(args.base_build, "test", "integration",
                                             "config.ini")) if args.base_build else None)
    os.environ["ACME_TEST_PORT_OFFSET"] = str(args.port_offset)
    ports = Ports.from_env()
    os.makedirs(args.workdir, mode=0o755, exist_ok=True)
    os.chmod(args.workdir, 0o755)
    csv_path = args.csv or os.path.join(args.workdir, f"scale-{time.strftime('%Y%m%d-%H%M%S')}.csv")
    rows = []
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for n in args.sizes:
            t = time.monotonic()
            sets = b.CertSets(os.path.join(args.workdir, f"sets-{n}"), n).create(args.workdir)
            print(f"N={n}: certificate sets ready ({time.monotonic() - t:.1f} s)", flush=True)
            servers = {v: prepare(base_cfg if v == "acme-base" else cfg, ports, args.workdir,
                                  sets, v, "acme" if v == "acme-base" else None)
                       for v in args.variants}
            timeout = 120 + n * 0.1
            for v in args.variants:
                if v.startswith("acme"):
                    print(f"N={n} {v}: first start (stamps the sets) "
                          f"{first_start(servers[v], sets, timeout * 2):.2f} s", flush=True)
            for rep in range(args.repeats):
                for v in args.variants:
                    if v == "md" and n >= 10000 and rep >= args.md_large_repeats:
                        continue
                    row = {"variant": v, "n": n, "rep": rep, **run_once(servers[v], sets,
                                                                       timeout)}
                    rows.append(row)
                    writer.writerow(row)
                    f.flush()
                    print(f"N={n} {v:5} rep {rep}: start {row['start_s']:.2f} s, graceful "
                          f"{row['graceful_s']:.2f} s, total PSS "
                          f"{row['total_pss_kb'] / 1024:.1f} MB", flush=True)
    summarize(rows, sys.stdout)
    print(f"\nCSV: {csv_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
