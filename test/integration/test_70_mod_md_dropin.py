"""Drop-in for mod_md, both ways (issue 15): Debian's real mod_md obtains the
certificates, the LoadModule line is swapped, mod_acme serves the very same
certificates from mod_md's store with no new account and no new order, renews
a changed domain on mod_md's account; swapped back, mod_md serves what
mod_acme renewed and orders nothing."""
import glob
import os
import re
import subprocess
import time

from harness import layout
from test_20_serving import served_serial, wait_served
from test_30_renew import pebble_root, renew_conf, served, served_with, wait_staged
from test_42_status_mod_md import LOCATION, compare_json, get_json

# no rejected nonces: every newAccount/newOrder POST in pebble's log is one
# the client meant
EXACT = {"PEBBLE_WFE_NONCEREJECT": "0"}
DOMAINS = [["a.test", "www.a.test"], ["b.test"], ["c.test"]]
RSA_ONLY = "ECDHE-RSA-AES128-GCM-SHA256"
EC_ONLY = "ECDHE-ECDSA-AES128-GCM-SHA256"


def conf(httpd, acme, ca, domains):
    return renew_conf(httpd, acme, ca, domains,
                      extra=(f"MDStoreDir md\nMDExternalAccountBinding {acme.eab_kid} "
                             f"{acme.eab_hmac}\nMDPrivateKeys secp256r1 RSA 2048")) + LOCATION


def statuses(httpd, names):
    """md-status/<name> (the one-domain form) of each name."""
    return {n: get_json(httpd, f"/md-status/{n}") for n in names}


def same_store_differences(ref, ours):
    """What differs in the status of one store read by mod_md and by
    mod_acme: every field of mod_md's in form (test_42's comparison), and
    what the store decides in value: names, account, CA, state, and per key
    type the live certificate's serial, fingerprint and validity."""
    report = []
    for name, r in ref.items():
        o = ours[name]
        compare_json(r, o, f"md-status/{name}", report)
        for key in ("name", "domains", "state"):
            if r.get(key) != o.get(key):
                report.append(f"{name} {key}: mod_md {r.get(key)!r}, mod_acme {o.get(key)!r}")
        for key in ("account", "urls"):
            if r["ca"].get(key) != o["ca"].get(key):
                report.append(f"{name} ca.{key}: mod_md {r['ca'].get(key)!r}, "
                              f"mod_acme {o['ca'].get(key)!r}")
        if r["cert"].get("valid") != o["cert"].get("valid"):
            report.append(f"{name} cert.valid: mod_md {r['cert'].get('valid')}, "
                          f"mod_acme {o['cert'].get('valid')}")
        for spec, entry in r["cert"].items():
            if spec == "valid":
                continue
            mine = o["cert"].get(spec, {})
            for key in ("serial", "sha256-fingerprint", "valid"):
                if entry.get(key) != mine.get(key):
                    report.append(f"{name} cert.{spec}.{key}: mod_md {entry.get(key)!r}, "
                                  f"mod_acme {mine.get(key)!r}")
    return report


def use_mod_md(httpd):
    httpd.load_acme = False
    httpd.extra_modules = ["md"]


def use_mod_acme(httpd):
    httpd.load_acme = True
    httpd.extra_modules = []


def store(httpd, *parts):
    return os.path.join(httpd.root, "md", *parts)


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def ca_posts(acme, since):
    """newAccount and newOrder requests pebble received since log offset."""
    log = acme.log()[since:]
    return (len(re.findall(r"POST /sign-me-up ", log)), len(re.findall(r"POST /order-plz ", log)))


def serials(httpd, root, names):
    """{name: (EC serial, RSA serial)} as served."""
    return {n: (served_serial(served_with(httpd, n, root, ciphers=EC_ONLY)),
                served_serial(served_with(httpd, n, root, ciphers=RSA_ONLY))) for n in names}


def test_switch_from_mod_md_and_back(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble(eab=True, env=EXACT)
    root = pebble_root(acme, test_dir)
    first = [names[0] for names in DOMAINS]

    # 1. mod_md obtains the certificates (both key types) and serves them
    use_mod_md(httpd)
    httpd.write_conf(conf(httpd, acme, ca, DOMAINS))
    httpd.start()
    for md in first:
        wait_until(lambda: all(os.path.exists(store(httpd, "staging", md, f))
                               for f in ("pubcert.pem", "pubcert.secp256r1.pem")),
                   90, f"mod_md staging {md}")
    time.sleep(1)           # mod_md writes its job file after the certificates
    httpd.graceful()
    for md in first:
        wait_until(lambda: os.path.exists(store(httpd, "domains", md, "pubcert.pem")), 30,
                   f"mod_md activating {md}")
    by_mod_md = serials(httpd, root, first)
    status_mod_md = statuses(httpd, first)
    accounts = sorted(os.listdir(store(httpd, "accounts")))
    assert len(accounts) == 1, accounts
    httpd.stop()

    # 2. the LoadModule line swapped: the same certificates, nothing new at the CA
    use_mod_acme(httpd)
    httpd.write_conf(conf(httpd, acme, ca, DOMAINS))
    mark = len(acme.log())
    log_mark = httpd.log_mark()
    httpd.start()
    assert "[md:" not in httpd.error_log()[log_mark:]
    assert serials(httpd, root, first) == by_mod_md
    for md in first:
        httpd.wait_for_log(rf"ACME1443 {re.escape(md)}: certificate valid until ",
                           since=log_mark, timeout=30)
    time.sleep(2)
    assert ca_posts(acme, mark) == (0, 0), acme.log()[mark:]
    # the same store, read by both modules: md-status agrees field by field
    report = same_store_differences(status_mod_md, statuses(httpd, first))
    assert not report, "md-status of the same store differs:\n  " + "\n  ".join(report)
    # mod_md kept the EAB HMAC in account.json (0644): gone, and the account
    # directories are private again
    assert "ACME0852" in httpd.error_log()[log_mark:]
    for dirpath, dirs, files in os.walk(store(httpd, "accounts")):
        assert os.stat(dirpath).st_mode & 0o077 == 0, dirpath
        for name in files:
            with open(os.path.join(dirpath, name)) as f:
                assert acme.eab_hmac not in f.read(), name

    # 3. a name added to a.test: renewed on mod_md's account (no newAccount)
    grown = [["a.test", "www.a.test", "new.a.test"]] + DOMAINS[1:]
    httpd.write_conf(conf(httpd, acme, ca, grown))
    mark = len(acme.log())
    log_mark = httpd.log_mark()
    httpd.graceful()
    wait_staged(httpd, "a.test", since=log_mark, timeout=90)
    assert ca_posts(acme, mark) == (0, 2), acme.log()[mark:]    # one order per key type
    assert sorted(os.listdir(store(httpd, "accounts"))) == accounts
    httpd.graceful()
    renewed = served(httpd, "new.a.test", root)
    assert "DNS:new.a.test" in renewed.sans()
    renewed_serials = serials(httpd, root, first)
    assert renewed_serials["a.test"] != by_mod_md["a.test"]
    assert {n: renewed_serials[n] for n in first[1:]} == {n: by_mod_md[n] for n in first[1:]}
    httpd.stop()

    # 4. swapped back: mod_md serves what mod_acme renewed and orders nothing
    use_mod_md(httpd)
    httpd.write_conf(conf(httpd, acme, ca, grown))
    mark = len(acme.log())
    httpd.start()
    wait_served(httpd, "a.test", renewed_serials["a.test"][0])
    assert serials(httpd, root, first) == renewed_serials
    time.sleep(5)           # mod_md's watchdog looks at every domain at its start
    assert ca_posts(acme, mark)[1] == 0, acme.log()[mark:]
    for path in glob.glob(store(httpd, "staging", "*")):
        assert not os.listdir(path), f"mod_md staged something new in {path}"


def test_first_layout_store_is_converted(httpd, pebble, ca, challtestsrv, test_dir):
    """A store mod_acme wrote in its first layout (store.json, live/,
    privkey.P-256.pem) is converted at start with no new order."""
    acme = pebble(env=EXACT)
    root = pebble_root(acme, test_dir)
    httpd.write_conf(renew_conf(httpd, acme, ca, [["a.test"]],
                                extra="MDStoreDir md\nMDPrivateKeys secp256r1 RSA 3072"))
    httpd.start()
    wait_staged(httpd, "a.test", timeout=60)
    httpd.graceful()
    serial = served_serial(served(httpd, "a.test", root))
    httpd.stop()
    # back to the first layout, as an earlier mod_acme left it
    base = store(httpd)
    os.rename(os.path.join(base, layout.LIVE), os.path.join(base, "live"))
    live = os.path.join(base, "live", "a.test")
    for kind in ("privkey", "pubcert"):
        os.rename(os.path.join(live, f"{kind}.secp256r1.pem"),
                  os.path.join(live, f"{kind}.P-256.pem"))
        os.rename(os.path.join(live, f"{kind}.pem"), os.path.join(live, f"{kind}.rsa3072.pem"))
    os.unlink(os.path.join(base, "md_store.json"))
    with open(os.path.join(base, "store.json"), "w") as f:
        f.write('{"format": 1}\n')
    mark = len(acme.log())
    log_mark = httpd.log_mark()
    httpd.start()
    assert "ACME0720" in httpd.error_log()[log_mark:]
    assert served_serial(served(httpd, "a.test", root)) == serial
    assert sorted(f for f in os.listdir(os.path.join(base, layout.LIVE, "a.test"))
                  if f.endswith(".pem")) == ["privkey.pem", "privkey.secp256r1.pem",
                                             "pubcert.pem", "pubcert.secp256r1.pem"]
    assert not os.path.exists(os.path.join(base, "store.json"))
    httpd.wait_for_log(r"ACME1443 a\.test: certificate valid until ", since=log_mark,
                       timeout=30)
    assert ca_posts(acme, mark) == (0, 0)



def leaf_serial(path):
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", path],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1].upper().lstrip("0")


def test_set_mod_md_staged_goes_live(httpd, pebble, ca, challtestsrv, test_dir):
    """mod_md staged certificates (keys encrypted with its store key) and was
    replaced before a restart activated them: mod_acme's first start
    activates that set, with no new order."""
    acme = pebble(eab=True, env=EXACT)
    root = pebble_root(acme, test_dir)
    use_mod_md(httpd)
    httpd.write_conf(conf(httpd, acme, ca, DOMAINS[:1]))
    httpd.start()
    staged = [store(httpd, "staging", "a.test", f)
              for f in ("pubcert.secp256r1.pem", "pubcert.pem")]
    wait_until(lambda: all(os.path.exists(f) for f in staged), 90, "mod_md staging a.test")
    time.sleep(1)
    httpd.stop()
    with open(store(httpd, "staging", "a.test", "privkey.secp256r1.pem")) as f:
        assert "ENCRYPTED PRIVATE KEY" in f.read()
    want = tuple(leaf_serial(f) for f in staged)

    use_mod_acme(httpd)
    httpd.write_conf(conf(httpd, acme, ca, DOMAINS[:1]))
    mark = len(acme.log())
    log_mark = httpd.log_mark()
    httpd.start()
    httpd.wait_for_log(r"ACME1214 activated new certificate for a\.test", since=log_mark)
    assert serials(httpd, root, ["a.test"])["a.test"] == want
    with open(store(httpd, layout.LIVE, "a.test", layout.privkey("P-256"))) as f:
        assert "-----BEGIN PRIVATE KEY-----" in f.read()     # mod_ssl reads it as it is
    httpd.wait_for_log(r"ACME1443 a\.test: certificate valid until ", since=log_mark,
                       timeout=30)
    assert ca_posts(acme, mark) == (0, 0), acme.log()[mark:]
