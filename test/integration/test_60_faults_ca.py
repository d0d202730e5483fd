"""CA faults: a renewal through harness/faulty_ca.py, a proxy in front of
pebble that answers the first requests wrongly (500, 503 and 429 with
Retry-After, truncated or malformed JSON, a wrong content type, a slow
answer, a dropped connection). Once the faults stop, the renewal completes;
Retry-After is honoured (no request reaches the proxy before it ends); the
store holds only parseable files throughout; the module never loops tightly.

Each test prints what was faulted, how many requests were made and the
busiest second, so a run shows the numbers behind the verdict."""
import base64
import json
import os
import re
import subprocess

import pytest

from harness.faulty_ca import FAULTS, RETRY_AFTER, SLOW_SECONDS, FaultyCA
from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged

K = 2                   # faulted requests per test
# A harmless fault is scheduled for more requests than the one it hits:
# pebble refuses a request with badNonce (5 % by default) and the client
# resends it at once; the resend must still be faulted (with K slots, two
# refusals in a row left the accepted request unfaulted), and so would be
# any retry of the accepted one.
HARMLESS_SLOTS = K + 4
MAX_PER_SECOND = 20     # a renewal makes ~15 requests, ~10 of them within a second
MAX_REQUESTS = 40       # ... and a retry redoes a few: a loop would make hundreds


def store_dir(httpd):
    return os.path.join(httpd.root, "md")


def check_store(root, skip=("/locks",)):
    """Every file of the store parses: *.json as JSON, *.pem as PEM blocks
    openssl reads (an encrypted key is decrypted with the store key of
    md_store.json, as mod_md would). Returns the number of files checked;
    raises on the first broken one. Directories whose path contains one of
    skip are left out."""
    checked = 0
    store_key = None
    if os.path.exists(os.path.join(root, "md_store.json")):
        with open(os.path.join(root, "md_store.json")) as f:
            key64 = json.load(f)["key"]
        store_key = base64.urlsafe_b64decode(key64 + "=" * (-len(key64) % 4))
        assert len(store_key) == 48
    for dirpath, _, files in os.walk(root):
        if any(s in dirpath for s in skip):
            continue
        for name in files:
            path = os.path.join(dirpath, name)
            if name.endswith(".json"):
                with open(path) as f:
                    json.load(f)
            elif name.endswith(".pem"):
                check_pem(path, store_key)
            else:
                continue
            checked += 1
    return checked


def check_pem(path, store_key=None):
    with open(path) as f:
        text = f.read()
    assert "-----BEGIN " in text, path
    if "ENCRYPTED PRIVATE KEY" in text:
        # mod_md's (and now mod_acme's) account keys: PKCS#8 under the store key
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        assert store_key is not None, f"{path}: encrypted, and no md_store.json"
        load_pem_private_key(text.encode(), password=store_key)
        return
    kind = "pkey" if "PRIVATE KEY" in text else "x509"
    proc = subprocess.run(["openssl", kind, "-in", path, "-noout"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, f"{path}: {proc.stderr}"


@pytest.fixture
def faulty(ca, pebble, ports):
    acme = pebble()
    proxy = FaultyCA(ca, ports.acme, "/dir").start()
    yield proxy, acme
    proxy.stop()


def faults_conf(httpd, proxy, ca, md):
    return renew_conf(httpd, proxy, ca, [[md]], extra="MDRetryDelay 1s",
                      md_extra="MDCAChallenges http-01")


def report(kind, where, proxy, httpd):
    faulted = proxy.faulted()
    print(f"\n[{kind} on {where!r}] faulted {len(faulted)} of {len(proxy.requests)} requests "
          f"({', '.join(f'{r.method} {r.path}' for r in faulted)}); busiest second: "
          f"{proxy.max_per_second()} requests; errors logged: "
          f"{len(re.findall('ACME1483 ', httpd.error_log()))}")


def fault_gaps(proxy, kinds=FAULTS):
    """Seconds from each faulted answer to the next request."""
    reqs = sorted(proxy.requests, key=lambda r: r.at)
    return [reqs[i + 1].at - r.done for i, r in enumerate(reqs)
            if r.fault in kinds and i + 1 < len(reqs)]


def retry_after_gaps(proxy):
    """Seconds from each Retry-After answer to the next request."""
    return fault_gaps(proxy, ("503", "429"))


# faults that fail the request: each one is an error and a retry
FAILING = ("500", "503", "429", "truncated", "malformed", "drop")
CASES = [(kind, where) for kind in FAULTS for where in ("/dir", "/order-plz")]
# the certificate download: a PEM chain, not JSON
CASES += [("content-type", "/certZ/"), ("truncated", "/certZ/")]


@pytest.mark.parametrize("kind,where", CASES)
def test_renewal_completes_after_faults(httpd, faulty, ca, challtestsrv, test_dir, kind,
                                        where):
    proxy, acme = faulty
    md = f"f-{kind}-{where.strip('/')}.test".replace("content-type", "ctype").lower()
    failing = kind in FAILING
    proxy.set_schedule([kind] * (K if failing else HARMLESS_SLOTS),
                       match=f"^{where}" + ("" if where.endswith("/") else "$"))
    httpd.write_conf(faults_conf(httpd, proxy, ca, md))
    httpd.start()
    wait_staged(httpd, md, timeout=90)
    report(kind, where, proxy, httpd)
    if failing:
        assert len(proxy.faulted()) == K
    else:
        # a harmless fault (slow, a wrong Content-Type: the body is parsed for
        # what it must be, the type only logged) is not retried: one faulted
        # request the CA accepted, before it at most requests pebble itself
        # refused (it rejects 5 % of nonces; badNonce is resent at once, also
        # under the wrong Content-Type)
        statuses = [q.status for q in proxy.faulted()]
        assert [s for s in statuses if s < 400] == statuses[-1:], statuses
        assert all(s == 400 for s in statuses[:-1]), statuses
    assert check_store(store_dir(httpd)) > 0
    assert proxy.max_per_second() <= MAX_PER_SECOND
    assert len(proxy.requests) <= MAX_REQUESTS
    # after a faulted answer the job waits: MDRetryDelay 1s (jitter down to
    # 0.9), counted from the start of the failed run
    gaps = fault_gaps(proxy) if failing else []
    print("seconds from each faulted answer to the next request: "
          + ", ".join(f"{g:.2f}" for g in gaps))
    short = [g for g in gaps if g < 0.4]
    # One retry may come at once: curl's resend when a reused connection
    # closed without an answer, or a job whose failed run had already
    # lasted as long as the delay (a download after polling). The delay
    # doubles, so the next one waits.
    assert not gaps or (len(short) <= 1 and max(gaps) >= 0.85), gaps
    if kind in ("503", "429"):
        gaps = retry_after_gaps(proxy)
        print(f"seconds from a Retry-After: {RETRY_AFTER} answer to the next request: "
              + ", ".join(f"{g:.2f}" for g in gaps))
        assert len(gaps) == K and min(gaps) >= RETRY_AFTER - 0.05, gaps
    if kind == "slow":
        slow = proxy.faulted()[0]
        during = [r for r in proxy.requests if slow.at < r.at < slow.done]
        print(f"slow answer took {slow.done - slow.at:.2f}s, {len(during)} requests meanwhile")
        # waited for, not asked again in parallel
        assert slow.done - slow.at >= SLOW_SECONDS and during == []
    log = httpd.error_log()
    if failing:
        assert re.search(rf"ACME1483 {re.escape(md)}: ", log), log[-3000:]
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, md, pebble_root(acme, test_dir)))
    assert check_store(store_dir(httpd)) > 0
