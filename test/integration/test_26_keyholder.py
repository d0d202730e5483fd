"""The key holder (issue 16): httpd's User also runs CGI and PHP, so no
private key and no EAB HMAC may be within its reach. The root parent forks
one key holder process that owns the keys and signs; the renewal workers in
the children ask it over a Unix socket. These tests look from the User's side
(its files, its processes' memory, its socket), and kill the key holder in
the middle of a renewal."""
import base64
import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time

import pytest

from harness.pebble import EAB_KEYS
from harness.proc import children, pid_status
from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: httpd drops to a User")

# newAccount requests the CA accepted (a request pebble refused with badNonce
# is sent again: counting what went out would count it twice)
NEW_ACCOUNT = r"ACME0402 POST https://127\.0\.0\.1:\d+/sign-me-up: HTTP 201"

# Walks the given trees as the User and prints, as JSON, every file it can
# read that holds a private key or one of the secrets given on stdin.
USER_SCAN = r"""
import json, os, sys
secrets = [s.encode() for s in json.load(sys.stdin)]
found, read = [], 0
for top in sys.argv[1:]:
    for dirpath, dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            read += 1
            if b"PRIVATE KEY-----" in data or any(s in data for s in secrets):
                found.append(path)
print(json.dumps({"read": read, "found": found}))
"""


def store_key_text(store):
    """The store key as md_store.json writes it (base64url)."""
    with open(os.path.join(store, "md_store.json")) as f:
        return json.load(f)["key"].encode()


def store_key(store):
    key64 = store_key_text(store).decode()
    return base64.urlsafe_b64decode(key64 + "=" * (-len(key64) % 4))


def private_scalars(store):
    """{path: (big-endian bytes, little-endian bytes)} of the secret number of
    every key in accounts/ and staging/ (encrypted with the store key) and
    domains/ (an EC key's private scalar, an RSA key's first prime): what a
    process holding the key has in its memory (OpenSSL keeps a BIGNUM as
    little-endian limbs)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key  # noqa
    found = {}
    for group in ("accounts", "staging", "domains"):
        for dirpath, _, files in os.walk(os.path.join(store, group)):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    data = f.read()
                if b"PRIVATE KEY-----" not in data or name.startswith("fallback"):
                    continue
                pw = store_key(store) if b"ENCRYPTED" in data else None
                key = load_pem_private_key(data, password=pw)
                if isinstance(key, ec.EllipticCurvePrivateKey):
                    n = key.private_numbers().private_value
                else:   # RSA: its first prime
                    n = key.private_numbers().p
                d = n.to_bytes((n.bit_length() + 7) // 8, "big")
                found[os.path.relpath(path, store)] = (d, d[::-1])
    return found


# Regions bigger than this are reserved, not used: AddressSanitizer's shadow
# (terabytes, read as zeros) in the sanitizer build.
REGION_MAX = 4 << 30
CHUNK = 32 << 20


def memory_holds(pid, needles):
    """The names of the needles found in the readable memory of pid (read in
    chunks that overlap by the longest needle)."""
    hits = set()
    overlap = max(len(f) for forms in needles.values() for f in forms)
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if end - start > REGION_MAX:
                continue
            at = start
            while at < end:
                try:
                    mem.seek(at)
                    chunk = mem.read(min(CHUNK + overlap, end - at))
                except (OSError, OverflowError, ValueError):
                    break
                for name, forms in needles.items():
                    for f in forms:
                        if f in chunk:
                            hits.add(name)
                            if os.environ.get("KH_DEBUG"):
                                i = chunk.find(f)
                                print("HIT", pid, name, forms.index(f), line.strip(), hex(at + i),
                                      chunk[max(0, i - 120):i + 60])
                at += CHUNK
    return hits


def as_user(httpd, code, *args, stdin=""):
    proc = subprocess.run([sys.executable, "-c", code, *args], user=httpd.user[0],
                          group=pwd.getpwnam(httpd.user[0]).pw_gid, extra_groups=[],
                          input=stdin, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def eab_conf(httpd, acme, ca, md, extra=""):
    return renew_conf(httpd, acme, ca, [[md]],
                      extra=f"MDExternalAccountBinding {acme.eab_kid} {acme.eab_hmac}\n{extra}")


def user_finds(httpd, store):
    secrets = list(EAB_KEYS.values())
    trees = [store, os.path.dirname(httpd.error_log_path), os.path.join(httpd.root, "run")]
    return json.loads(as_user(httpd, USER_SCAN, *trees, stdin=json.dumps(secrets)))


def test_user_finds_no_key_and_no_hmac(httpd, pebble, ca, challtestsrv, test_dir):
    """Staged and again after activation: a program running as the User
    reads every file it can in the store, the logs and the run directory, and
    finds no private key (plain or encrypted) and no EAB HMAC."""
    acme = pebble(eab=True)
    md = "kh1.test"
    httpd.write_conf(eab_conf(httpd, acme, ca, md))
    httpd.start()
    wait_staged(httpd, md)
    store = os.path.join(httpd.root, "md")
    assert any(p.startswith("staging/") for p in private_scalars(store))
    staged = user_finds(httpd, store)
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, md, pebble_root(acme, test_dir)))
    live = user_finds(httpd, store)
    print(f"\nthe User read {staged['read']} files with the set staged and {live['read']} "
          f"after activation")
    assert staged["read"] > 10 and live["read"] > 10     # it did look
    assert staged["found"] == [] and live["found"] == []


def eab_file(httpd, acme):
    """The EAB credentials in a root-only JSON file, as a secret belongs
    (httpd.conf is readable by everyone on Debian)."""
    path = os.path.join(httpd.root, "conf", "eab.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"kid": acme.eab_kid, "hmac": acme.eab_hmac}, f)
    return path


def test_children_hold_no_key_the_keyholder_does(httpd, pebble, ca, challtestsrv):
    """The memory of every child (the one that renewed included) holds
    neither the account key, nor the staged key, nor the EAB HMAC (read from
    its file), nor the store key; the key holder's holds the account key, the
    HMAC and the store key (so the scan finds a secret where there is one)."""
    acme = pebble(eab=True)
    md = "kh2.test"
    httpd.write_conf(renew_conf(httpd, acme, ca, [[md]],
                                extra=f"MDExternalAccountBinding {eab_file(httpd, acme)}"))
    httpd.start()
    wait_staged(httpd, md)
    store = os.path.join(httpd.root, "md")
    scalars = private_scalars(store)
    account = {p: f for p, f in scalars.items() if p.startswith("accounts/")}
    staged = {p: f for p, f in scalars.items() if p.startswith("staging/")}
    assert account and staged, scalars
    raw_hmac = base64.urlsafe_b64decode(acme.eab_hmac + "=" * (-len(acme.eab_hmac) % 4))
    needles = {**account, **staged, "EAB HMAC": (acme.eab_hmac.encode(), raw_hmac),
               "store key": (store_key(store),)}
    holder = httpd.keyholder_pid()
    workers = httpd.worker_pids()
    assert holder and workers
    for pid in workers:
        assert memory_holds(pid, needles) == set(), f"child {pid}"
    assert set(account) | {"EAB HMAC", "store key"} <= memory_holds(holder, needles)


def seal_key_file(httpd, mode=0o600):
    """MDSharedStoreKeyFile's file as `openssl rand -base64 32` writes it:
    (path, the key's 32 bytes, the file's text)."""
    path = os.path.join(httpd.root, "conf", "md-shared.key")
    raw = os.urandom(32)
    text = base64.b64encode(raw)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(text + b"\n")
    os.chmod(path, mode)
    return path, raw, text


def test_children_hold_no_seal_key_the_keyholder_does(httpd, pebble, ca, challtestsrv):
    """MDSharedStoreKeyFile's key (issue 18) is the key holder's alone, as
    the EAB HMACs: with MDSharedStore configured (Redis need not answer), no
    child's memory holds its bytes or the file's text, mod_cgid's daemon's
    neither (it runs as the User, forked before the MPM's children, and never
    wipes anything), no log holds either; the key holder's memory holds the
    bytes (so the scan finds the key where it is)."""
    acme = pebble()
    md = "kh7.test"
    httpd.extra_modules = ["cgid"]
    path, raw, text = seal_key_file(httpd)
    httpd.write_conf(renew_conf(
        httpd, acme, ca, [[md]],
        extra=f"MDSharedStore redis://127.0.0.1:{httpd.ports.redis}/0\n"
              f"MDSharedStoreKeyFile {path}"))
    httpd.start()
    # the renewal watchdog child runs and tried Redis: every child is past child_init
    httpd.wait_for_log(r"ACME1801 MDSharedStore: redis://127\.0\.0\.1:%d/0: "
                       % httpd.ports.redis, timeout=30)
    assert "ACME1173" not in httpd.error_log(), "the key file was refused"
    needles = {"seal key": (raw, raw.hex().encode()), "seal key file": (text,)}
    holder = httpd.keyholder_pid()
    workers = httpd.worker_pids()
    assert holder and workers
    # the event MPM's children have threads, mod_cgid's daemon has one
    assert len([pid for pid in workers if pid_status(pid).get("Threads") == "1"]) == 1
    for pid in workers:
        assert memory_holds(pid, needles) == set(), f"child {pid}"
    assert "seal key" in memory_holds(holder, needles)
    for dirpath, _, files in os.walk(os.path.dirname(httpd.error_log_path)):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                data = f.read()
            for forms in needles.values():
                for form in forms:
                    assert form not in data, os.path.join(dirpath, name)


def test_user_program_cannot_use_the_keyholder(httpd, pebble, ca, challtestsrv):
    """A CGI script runs as the User but is not one of httpd's children: the
    key holder closes its connection without an answer."""
    acme = pebble()
    md = "kh3.test"
    httpd.write_conf(renew_conf(httpd, acme, ca, [[md]]))
    httpd.start()
    wait_staged(httpd, md)
    sockets = [n for n in os.listdir(os.path.join(httpd.root, "run"))
               if n.startswith("mod_acme-keys.")]
    assert len(sockets) == 1, sockets
    path = os.path.join(httpd.root, "run", sockets[0])
    code = r"""
import json, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
# a socket path may be longer than sun_path: through its directory, as mod_acme
d = os.open(os.path.dirname(sys.argv[1]), os.O_PATH | os.O_DIRECTORY)
s.connect(f"/proc/self/fd/{d}/{os.path.basename(sys.argv[1])}")
req = json.dumps({"op": "domain-key", "md": sys.argv[2], "spec": "P-256", "create": False}).encode()
try:
    s.sendall(struct.pack(">I", len(req)) + req)
    print(json.dumps({"answer": s.recv(65536).decode(errors="replace")}))
except OSError as e:
    print(json.dumps({"answer": "", "error": str(e)}))
"""
    out = json.loads(as_user(httpd, code, path, md))
    assert out["answer"] == "", out
    assert re.search(r"ACME0265 acme\[keyholder\]: refused", httpd.error_log()), \
        "the refusal is logged"


def test_keyholder_killed_mid_renewal_resumes(httpd, pebble, ca, challtestsrv, test_dir):
    """SIGKILL to the key holder once the order exists: httpd's parent starts
    it again, the renewal goes on with the same account, nothing is lost."""
    acme = pebble(eab=True)
    md = "kh4.test"
    httpd.write_conf(eab_conf(httpd, acme, ca, md, extra="MDRetryDelay 1s"))
    httpd.start()
    first = httpd.keyholder_pid()
    assert first
    httpd.wait_for_log(r"ACME0401 POST https://127\.0\.0\.1:\d+/order-plz ", timeout=30)
    os.kill(first, signal.SIGKILL)
    httpd.wait_for_log(rf"ACME1443 key holder \(pid {first}\) ended \(signal 9\)", timeout=10)
    m = httpd.wait_for_log(r"ACME1440 key holder started \(pid (\d+)", timeout=10,
                           since=httpd.error_log().find("ACME1443"))
    assert int(m.group(1)) != first
    wait_staged(httpd, md, timeout=90)
    log = httpd.error_log()
    assert len(re.findall(NEW_ACCOUNT, log)) == 1, "the account of before is used"
    assert len(re.findall(r"ACME0851 ", log)) == 1, "one account key was made"
    assert len(os.listdir(os.path.join(httpd.root, "md", "accounts"))) == 1
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, md, pebble_root(acme, test_dir)))
    assert httpd.keyholder_pid() not in (None, first)


@pytest.mark.parametrize("mpm", ["event", "worker", "prefork"])
def test_keyholder_restarts_with_the_server(make_httpd, pebble, ca, challtestsrv, mpm):
    """A graceful restart ends the key holder of the old configuration and
    starts one with the new; a stop leaves none behind; under every MPM."""
    acme = pebble()
    httpd = make_httpd(mpm=mpm)
    httpd.write_conf(renew_conf(httpd, acme, ca, [["kh5.test"]]))
    httpd.start()
    first = httpd.keyholder_pid()
    assert first
    httpd.graceful()
    deadline = time.monotonic() + 10
    while httpd.keyholder_pid() in (None, first) and time.monotonic() < deadline:
        time.sleep(0.1)
    second = httpd.keyholder_pid()
    assert second not in (None, first)
    assert first not in children(httpd.pid)
    wait_staged(httpd, "kh5.test")      # it signs for this generation
    httpd.stop()
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{second}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{second}"), "the key holder outlived httpd"


def test_cgid_daemon_keeps_no_secret(httpd, pebble, ca, challtestsrv):
    """mod_cgid's daemon is forked by the parent in post_config, runs as the
    User (as every CGI script it starts) and never runs child_init: it must
    not keep the secrets the parent read from root-only files either: the
    EAB HMAC (from its file), the store key (md_store.json), the seal key of
    MDSharedStoreKeyFile, neither as bytes nor as the text they were read
    from (md_store.json's base64url key: jansson's freed buffers held it
    under ASan until the store is parsed with acme_json_secret.h). The key
    holder's memory holds all three (the scan finds a secret where there is
    one). (A secret written into httpd.conf itself, which Debian makes
    readable by everyone, is the User's to read anyway: docs/security.md.)"""
    acme = pebble(eab=True)
    md = "kh8.test"
    httpd.extra_modules = ["cgid"]
    path, raw, text = seal_key_file(httpd)
    # mod_cgid truncates a socket path longer than a sockaddr_un holds, as
    # the test's run directory under gen-gw0/ is
    sock = f"/tmp/acme-test-cgid-{os.getpid()}.sock"
    httpd.write_conf(renew_conf(httpd, acme, ca, [[md]],
                                extra=f"MDExternalAccountBinding {eab_file(httpd, acme)}\n"
                                      f"MDSharedStore redis://127.0.0.1:{httpd.ports.redis}/0\n"
                                      f"MDSharedStoreKeyFile {path}\n"
                                      f"ScriptSock {sock}"))
    httpd.start()
    httpd.wait_for_log(r"ACME1801 MDSharedStore: ", timeout=30)
    store = os.path.join(httpd.root, "md")
    raw_hmac = base64.urlsafe_b64decode(acme.eab_hmac + "=" * (-len(acme.eab_hmac) % 4))
    needles = {"EAB HMAC": (acme.eab_hmac.encode(), raw_hmac),
               "store key": (store_key(store), store_key_text(store)),
               "seal key": (raw, text)}
    daemons = [pid for pid in httpd.worker_pids() if pid_status(pid).get("Threads") == "1"]
    assert len(daemons) == 1, "no mod_cgid daemon among the children"
    assert memory_holds(daemons[0], needles) == set()
    assert memory_holds(httpd.keyholder_pid(), needles) == set(needles)
