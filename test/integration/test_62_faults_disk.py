"""A full disk while a renewal writes its new set: the store (MDStoreDir) is
a small tmpfs; while the job waits for the CA (a 503 with Retry-After from
harness/faulty_ca.py) the file system is filled up. The job fails with a
clear error naming what could not be written, every file in the store still
parses (writes are atomic), the live set is untouched and still served, and
once space is freed the renewal completes and its set is served after a
graceful restart."""
import errno
import json
import os
import pwd
import re
import subprocess
import time

import pytest

from harness.faulty_ca import FaultyCA
from test_20_serving import plant_set, served_serial, set_ca  # noqa: F401 (fixture)
from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged
from test_60_faults_ca import check_store, store_dir
from harness import layout

MD = "full.test"


def fill(directory):
    """Writes a file until the file system is full; returns its size."""
    path = os.path.join(directory, "zz-filler")
    size = 0
    with open(path, "wb", buffering=0) as f:
        chunk = b"\0" * 4096
        while True:
            try:
                size += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                return size


@pytest.fixture
def small_store(httpd):
    path = store_dir(httpd)
    os.makedirs(path, mode=0o755)
    rc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", path],
                        capture_output=True, text=True)
    if rc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {rc.stderr.strip()}")
    yield path
    httpd.stop()
    subprocess.run(["umount", "-l", path], capture_output=True)


def test_full_disk_during_staging(httpd, pebble, ca, challtestsrv, test_dir, set_ca,  # noqa
                                  small_store):
    acme = pebble()
    # a live set that is due (1 day of life left of 21): served, renewed at once
    key, chain, serial = set_ca.issue([MD], start=_utc_in(-20 * 86400), end=_utc_in(86400))
    plant_set(httpd, layout.LIVE, MD, {"P-256": (key, chain)})
    proxy = FaultyCA(ca, httpd.ports.acme, "/dir").start()
    try:
        proxy.set_schedule(["503"], match="^/finalize-order/")
        httpd.write_conf(renew_conf(httpd, proxy, ca, [[MD]], extra="MDRetryDelay 1s",
                                    md_extra="MDPrivateKeys secp256r1\n  MDCAChallenges http-01"))
        httpd.start()
        assert served_serial(httpd.served_certificate(MD, cafile=set_ca.root)) == serial
        # the job waits out the Retry-After: now the disk fills up
        httpd.wait_for_log(rf"ACME1483 {re.escape(MD)}: .*finaliz", timeout=60)
        filled = fill(small_store)
        mark = httpd.log_mark()
        # the job cannot save its progress: ACME0717 names the file, the
        # job's line (ACME1486: the run could not complete) the errno
        write = httpd.wait_for_log(r"^.*ACME0717 .*", timeout=30, since=mark).group(0)
        line = httpd.wait_for_log(rf"^.*ACME148[36] {re.escape(MD)}: .*", timeout=30,
                                  since=mark).group(0)
        print(f"\nfilled {filled} bytes;\n{write[:300]}\n{line[:300]}")
        assert "No space left on device" in write and f"jobs/{MD}/" in write, write
        assert "No space left on device" in line, line
        assert "ACME1481" not in httpd.error_log()[mark:]
        # the live set is still served, the store still parses
        assert served_serial(httpd.served_certificate(MD, cafile=set_ca.root)) == serial
        checked = check_store(small_store)
        errors_full = len(re.findall(rf"ACME148[36] {re.escape(MD)}: ", httpd.error_log()[mark:]))
        os.unlink(os.path.join(small_store, "zz-filler"))
        wait_staged(httpd, MD, timeout=60, since=mark)
        print(f"store files that parse while full: {checked}; errors while full: "
              f"{errors_full}; requests to the CA: {len(proxy.requests)}")
        # a full disk must not make the job spin
        assert errors_full <= 8
        httpd.graceful()
        assert issuer_is_pebble(served(httpd, MD, pebble_root(acme, test_dir)))
        assert check_store(small_store) > 0
    finally:
        proxy.stop()


def _utc_in(seconds):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() + seconds))


RO = "readonly.test"


def set_writable(directory, writable):
    """The staging group and every domain directory in it: 0755 or 0555
    (the children run as User, not root: a 0555 directory refuses them)."""
    for dirpath, dirnames, _ in os.walk(directory):
        os.chmod(dirpath, 0o755 if writable else 0o555)


def pem_files(directory):
    return {n: open(os.path.join(directory, n), "rb").read()
            for n in os.listdir(directory) if n.endswith(".pem")}


def test_readonly_staging(httpd, pebble, ca, challtestsrv, test_dir, set_ca):  # noqa: F811
    """staging/ not writable for the worker while a renewal runs: the job
    fails with the path and EACCES in the log and in md-status, the live set
    is untouched and served, and the renewal completes once it is writable."""
    if not httpd.user:
        pytest.skip("needs root (children as an unprivileged User)")
    acme = pebble()
    key, chain, serial = set_ca.issue([RO], start=_utc_in(-20 * 86400), end=_utc_in(86400))
    live = plant_set(httpd, layout.LIVE, RO, {"P-256": (key, chain)})
    live_files = pem_files(live)
    staging = os.path.join(store_dir(httpd), "staging")
    proxy = FaultyCA(ca, httpd.ports.acme, "/dir").start()
    try:
        # the job waits out a 503 on its new order: then staging/ turns read-only
        proxy.set_schedule(["503"], match="^/order-plz")
        httpd.write_conf(renew_conf(httpd, proxy, ca, [[RO]], extra="MDRetryDelay 1s\n"
                                    "<Location /md-status>\n  SetHandler md-status\n"
                                    "</Location>",
                                    md_extra="MDPrivateKeys secp256r1\n  MDCAChallenges http-01"))
        httpd.start()
        httpd.wait_for_log(rf"ACME1483 {re.escape(RO)}: ", timeout=60)
        # the domain's directory too: the key holder (root) would otherwise
        # make it, the User's, and the worker could write in it
        os.makedirs(os.path.join(staging, RO), exist_ok=True)
        pw = pwd.getpwnam(httpd.user[0])
        os.chown(os.path.join(staging, RO), pw.pw_uid, pw.pw_gid)
        set_writable(staging, False)
        mark = httpd.log_mark()
        # the job's line names what could not be written and why
        line = httpd.wait_for_log(rf"^.*ACME148[36] {re.escape(RO)}: .*Permission denied.*",
                                  timeout=60, since=mark).group(0)
        print(f"\n{line[:300]}")
        assert f"STAGING/{RO}" in line, line
        status = json.loads(httpd.get(f"http://localhost/md-status/{RO}").body)
        last = status["renewal"]["last"]
        print(f"md-status last: {last}")
        assert "Permission denied" in json.dumps(last), last
        assert status["renewal"]["errors"] >= 1
        # the live set is untouched and still served, the store still parses
        assert served_serial(httpd.served_certificate(RO, cafile=set_ca.root)) == serial
        assert pem_files(live) == live_files
        check_store(store_dir(httpd))
        errors_ro = len(re.findall(rf"ACME148[36] {re.escape(RO)}: ", httpd.error_log()[mark:]))
        set_writable(staging, True)
        wait_staged(httpd, RO, timeout=60, since=mark)
        print(f"errors while read-only: {errors_ro}; requests to the CA: {len(proxy.requests)}")
        assert errors_ro <= 8
        httpd.graceful()
        assert issuer_is_pebble(served(httpd, RO, pebble_root(acme, test_dir)))
    finally:
        set_writable(staging, True)
        proxy.stop()
