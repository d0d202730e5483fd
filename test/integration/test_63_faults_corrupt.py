"""Damaged store files: a live set whose certificate or key is garbage,
cut off or of another certificate is left out with a clear line (ACME1220),
httpd starts and serves the fallback certificate, and the renewal replaces
the set. A job.json that is cut off, garbage or owned by root 0600 (the
worker cannot read it) is reported and the job starts afresh (or the
ownership is repaired at start), and the renewal completes. Nothing crashes:
the server is up throughout and the store parses afterwards."""
import os
import re

import pytest

from harness.faulty_ca import FaultyCA
from test_20_serving import plant_set, set_ca  # noqa: F401 (fixture)
from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged
from test_60_faults_ca import check_store, store_dir
from harness import layout

MD_EXTRA = "MDPrivateKeys secp256r1\n  MDCAChallenges http-01"


def damage_key(key, chain, other):
    return {"garbage-cert": (key, "-----BEGIN CERTIFICATE-----\nnot base64 !!\n"
                                  "-----END CERTIFICATE-----\n"),
            "cut-cert": (key, chain[:len(chain) // 3]),
            "empty-key": ("", chain),
            "garbage-key": ("\x00\xffgarbage\n" * 20, chain),
            "other-key": (other, chain)}


@pytest.mark.parametrize("damage", ["garbage-cert", "cut-cert", "empty-key", "garbage-key",
                                    "other-key"])
def test_damaged_live_set_falls_back_then_renews(httpd, pebble, ca, challtestsrv, test_dir,
                                                 set_ca, damage):   # noqa: F811
    acme = pebble()
    md = f"dmg-{damage}.test"
    key, chain, _ = set_ca.issue([md])
    other, _, _ = set_ca.issue([md])
    plant_set(httpd, layout.LIVE, md, {"P-256": damage_key(key, chain, other)[damage]})
    httpd.write_conf(renew_conf(httpd, acme, ca, [[md]], md_extra=MD_EXTRA))
    httpd.start()
    line = httpd.wait_for_log(rf"ACME1220 {re.escape(md)}: the live P-256 certificate is not "
                              r"served: .*", timeout=10).group(0)
    print(f"\n{damage}: {line}")
    cert = httpd.served_certificate(md)
    assert "mod_acme fallback certificate" in cert.x509("-subject")
    wait_staged(httpd, md, timeout=60)
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, md, pebble_root(acme, test_dir)))
    # the damaged set went to archive/ as it was: the rest parses
    assert httpd.running() and check_store(store_dir(httpd), skip=("/locks", "/archive")) > 0
    assert "AH00052" not in httpd.error_log()       # no child died of a signal


def test_broken_pair_beside_a_served_one_is_renewed(httpd, pebble, ca, challtestsrv, test_dir,
                                                   set_ca):   # noqa: F811
    """Of two key types, the rsa2048 pair is broken (a key of another
    certificate) while the P-256 one serves: the domain is renewed now,
    not at the end of its renewal window, so that both come back."""
    acme = pebble()
    md = "dmg-one-pair.test"
    ec = set_ca.issue([md], kind="P-256")
    rsa = set_ca.issue([md], kind="rsa2048")
    other = set_ca.issue([md], kind="rsa2048")
    plant_set(httpd, layout.LIVE, md, {"P-256": ec[:2], "rsa2048": (other[0], rsa[1])})
    httpd.write_conf(renew_conf(httpd, acme, ca, [[md]],
                                md_extra="MDPrivateKeys secp256r1 rsa2048\n"
                                         "  MDCAChallenges http-01"))
    httpd.start()
    httpd.wait_for_log(rf"ACME1220 {re.escape(md)}: the live rsa2048 certificate is not served",
                       timeout=10)
    assert "mod_acme fallback certificate" not in httpd.served_certificate(md).x509("-subject")
    httpd.wait_for_log(rf"ACME1444 {re.escape(md)}: renewal due now", timeout=30)
    wait_staged(httpd, md, timeout=90)
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, md, pebble_root(acme, test_dir)))
    assert f"ACME1220 {md}" not in httpd.error_log()[httpd.error_log().rindex("AH00493"):]


def damage_job(path, how, uid_gid):
    if how == "cut":
        with open(path, "r+") as f:
            f.truncate(len(f.read()) // 2)
    elif how == "garbage":
        with open(path, "wb") as f:
            f.write(b"\x00{\"step\": 12, ]\xff")
    elif how == "root-0600":
        os.chown(path, 0, 0)
        os.chmod(path, 0o600)
    return os.stat(path)


@pytest.mark.parametrize("how", ["cut", "garbage", "root-0600"])
def test_damaged_job_restarts_or_resumes(httpd, pebble, ca, challtestsrv, test_dir, how):
    acme = pebble()
    proxy = FaultyCA(ca, httpd.ports.acme, "/dir").start()
    try:
        md = f"job-{how}.test"
        # the job stops (Retry-After) after it saved an order at finalize
        proxy.set_schedule(["503"], match="^/finalize-order/")
        httpd.write_conf(renew_conf(httpd, proxy, ca, [[md]], extra="MDRetryDelay 1s",
                                    md_extra=MD_EXTRA))
        httpd.start()
        httpd.wait_for_log(rf"ACME1483 {re.escape(md)}: ", timeout=60)
        httpd.stop()
        path = os.path.join(store_dir(httpd), "jobs", md, "job.json")
        st = damage_job(path, how, None)
        print(f"\n{how}: job.json now {st.st_size} bytes, uid {st.st_uid}, "
              f"mode {st.st_mode & 0o777:04o}")
        mark = httpd.log_mark()
        httpd.start()
        wait_staged(httpd, md, timeout=60, since=mark)
        new = httpd.error_log()[mark:]
        unusable = re.findall(rf"ACME0903 acme\[md={re.escape(md)}\]: job.json unusable.*", new)
        print("\n".join(unusable) or "no ACME0903: the job resumed")
        if how != "root-0600":
            assert unusable, new[-3000:]
        httpd.graceful()
        assert issuer_is_pebble(served(httpd, md, pebble_root(acme, test_dir)))
        assert check_store(store_dir(httpd)) > 0
        print(f"requests to the CA: {len(proxy.requests)}, faulted: {len(proxy.faulted())}")
    finally:
        proxy.stop()
