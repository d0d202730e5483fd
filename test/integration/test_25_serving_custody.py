"""The root/User boundary at activation (issue 16, findings 2-4): httpd's
User (who also runs CGI/PHP) writes staging/; the root parent copies a staged
set into fresh files of its own, checks the copy fully, and never believes,
renames or chowns what the User controls. Each test has a program running
as the User do what a compromised child could, then a graceful restart."""
import json
import os
import pwd
import stat
import subprocess
import sys
import time

import pytest

from harness import layout
from test_20_serving import domain_conf, plant_set, served_serial, set_ca, store_dir  # noqa: F401
from test_20_serving import wait_served
from test_21_serving_activation import live, stage, stamp  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: httpd drops to a User")


def as_user(httpd, code, *args, wait=True):
    """Runs python `code` as httpd's User (the worker, CGI, PHP)."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], user=httpd.user[0],
                            group=pwd.getpwnam(httpd.user[0]).pw_gid, extra_groups=[],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if not wait:
        return proc
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out


def assert_live_is_roots(httpd):
    """Every entry of domains/ is root's; keys 0600 with a single link."""
    live_dir = os.path.join(store_dir(httpd), layout.LIVE)
    for root, dirs, files in os.walk(live_dir):
        for n in dirs + files:
            st = os.lstat(os.path.join(root, n))
            assert st.st_uid == 0 and st.st_gid == 0, (root, n)
            assert not stat.S_ISLNK(st.st_mode), (root, n)
            if n.startswith("privkey.") or n.endswith("key.pem"):
                assert (stat.S_IMODE(st.st_mode), st.st_nlink) == (0o600, 1), (root, n)
            assert stat.S_IMODE(st.st_mode) & 0o022 == 0, (root, n)


FORGE = r"""
import hashlib, json, os, sys
live, staging, key, chain = sys.argv[1:5]
os.makedirs(staging, exist_ok=True)
for name, text in (("privkey.secp256r1.pem", key), ("pubcert.secp256r1.pem", chain)):
    with open(os.path.join(staging, name), "w") as f:
        f.write(text)
# the live set's stamp (readable), made to vouch for these files
with open(os.path.join(live, "verified.json")) as f:
    st = json.load(f)
for p in st["pairs"]:
    p["key-sha256"] = hashlib.sha256(key.encode()).hexdigest()
    p["cert-sha256"] = hashlib.sha256(chain.encode()).hexdigest()
with open(os.path.join(staging, "verified.json"), "w") as f:
    json.dump(st, f)
print("forged")
"""


def test_forged_stamp_in_staging_is_not_believed(httpd, set_ca, live):  # noqa: F811
    """Finding 2: a stamp the User forged for a set with a key of another
    certificate, another name and an expired certificate. On 0d56a80 the
    set went live and mod_ssl refused to start."""
    base = store_dir(httpd)
    _, chain, _ = set_ca.issue(["other.test"], start=stamp(-20), end=stamp(-1))
    other_key, _, _ = set_ca.issue(["a.test"])
    staging = os.path.join(base, "staging", "a.test")
    assert as_user(httpd, FORGE, os.path.join(base, layout.LIVE, "a.test"), staging, other_key,
                   chain).strip() == "forged"
    mark = httpd.log_mark()
    httpd.graceful()
    m = httpd.wait_for_log(r"ACME1215 a\.test: staged certificate NOT activated: P-256: (.*)",
                           since=mark)
    assert "does not match" in m.group(1), m.group(0)
    assert served_serial(httpd.served_certificate("a.test")) == live
    assert httpd.get("https://a.test/index.html").status == 200
    assert not os.path.exists(staging)
    with open(os.path.join(base, "archive", "a.test.rejected-1", "rejected.json")) as f:
        assert "does not match" in json.load(f)["reason"]
    assert_live_is_roots(httpd)


def root_secret(httpd):
    """A root file 0600 on the store's file system (a hard link needs one)."""
    secret = os.path.join(store_dir(httpd), "root-secret")
    with open(secret, "w") as f:
        f.write("root's own\n")
    os.chmod(secret, 0o600)
    return secret


def assert_still_roots(path):
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600)


def test_hard_link_to_a_root_file_is_not_handed_over(httpd, set_ca, live):  # noqa: F811
    """Finding 4: a hard link in the User's groups to a root file (the User
    can make one where fs.protected_hardlinks=0; the test makes it for the
    User). The ownership walk at each start gave it to the User on 0d56a80."""
    secret = root_secret(httpd)
    jobs = os.path.join(store_dir(httpd), "jobs", "a.test")
    os.makedirs(jobs, exist_ok=True)
    os.link(secret, os.path.join(jobs, "job.json.link"))
    mark = httpd.log_mark()
    httpd.graceful()
    assert_still_roots(secret)
    assert "ACME0718 store(fs): 'job.json.link' has 2 hard links" in httpd.error_log()[mark:]
    assert served_serial(httpd.served_certificate("a.test")) == live
    os.unlink(os.path.join(jobs, "job.json.link"))
    os.unlink(secret)


def test_hard_linked_staged_set_is_refused(httpd, set_ca, live):  # noqa: F811
    """A staged set holding a hard link is refused and nothing of it is
    copied (on 0d56a80 it was renamed into live/, now domains/, as it was)."""
    base = store_dir(httpd)
    secret = root_secret(httpd)
    key, chain, serial = set_ca.issue(["a.test"])
    d = stage(httpd, {"P-256": (key, chain)})
    os.link(secret, os.path.join(d, "pubcert.pem"))
    mark = httpd.log_mark()
    httpd.graceful()
    m = httpd.wait_for_log(r"ACME1215 a\.test: staged certificate NOT activated: (.*)",
                           since=mark)
    assert "hard-linked file (pubcert.pem has 2 links)" in m.group(1), m.group(0)
    assert_still_roots(secret)
    assert served_serial(httpd.served_certificate("a.test")) == live
    rejected = os.path.join(base, "archive", "a.test.rejected-1")
    assert sorted(os.listdir(rejected)) == ["rejected.json"]
    assert_live_is_roots(httpd)
    os.unlink(secret)


KEEP_FD = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
print("open", flush=True)
sys.stdin.readline()
os.pwrite(fd, b"-----BEGIN PRIVATE KEY-----\nEVIL\n", 0)
os.fsync(fd)
print("written", flush=True)
"""


def test_open_descriptor_of_the_user_does_not_reach_the_live_key(httpd, set_ca, live):  # noqa: F811
    """Finding 3: the User opens a staged key for writing before the
    activation and writes through it afterwards. On 0d56a80 the activation
    renamed that very inode into live/; now domains/ holds root's copy."""
    base = store_dir(httpd)
    key, chain, serial = set_ca.issue(["a.test"])
    d = stage(httpd, {"P-256": (key, chain)}, {"md.json": '{"name": "a.test"}\n'})
    proc = as_user(httpd, KEEP_FD, os.path.join(d, layout.privkey("P-256")), wait=False)
    try:
        assert proc.stdout.readline().strip() == "open"
        mark = httpd.log_mark()
        httpd.graceful()
        httpd.wait_for_log(r"ACME1214 activated new certificate for a\.test", since=mark)
        wait_served(httpd, "a.test", serial)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "written"
    finally:
        proc.kill()
        proc.wait()
    live_key = os.path.join(base, layout.LIVE, "a.test", layout.privkey("P-256"))
    with open(live_key) as f:
        assert f.read() == key
    assert_live_is_roots(httpd)
    # the set stays servable: the next restart still serves it
    mark = httpd.log_mark()
    httpd.graceful()
    time.sleep(0.5)
    assert "ACME1220" not in httpd.error_log()[mark:]
    assert served_serial(httpd.served_certificate("a.test")) == serial


def test_deep_staged_tree_is_refused(httpd, set_ca, live):  # noqa: F811
    """Finding 3: the activation moved staged trees as they were (one
    deeper than the parent's walk limit left live/a.test/privkey.*.pem
    owned by the User on 0d56a80); a subdirectory in a staged set is now
    refused."""
    base = store_dir(httpd)
    key, chain, _ = set_ca.issue(["a.test"])
    d = stage(httpd, {"P-256": (key, chain)})
    as_user(httpd, "import os, sys; os.makedirs(os.path.join(sys.argv[1], 'a', 'b'))", d)
    mark = httpd.log_mark()
    httpd.graceful()
    m = httpd.wait_for_log(r"ACME1215 a\.test: staged certificate NOT activated: (.*)",
                           since=mark)
    assert "subdirectory (a)" in m.group(1), m.group(0)
    assert served_serial(httpd.served_certificate("a.test")) == live
    assert_live_is_roots(httpd)
