"""Serving: what mod_ssl gets for a managed domain (the fallback while there
is no certificate, a live set, static files), vhosts without a domain left
alone, the store's permissions, under every MPM.

Certificate sets are made with the openssl command line by a throwaway CA
(root + intermediate) and planted into the store directory: tests know the
filesystem layout (ServerRoot/md/<group>/<name>/<aspect>, acme_store_fs.h).
The helpers here are shared by the other test_2x_serving suites."""
import os
import pwd
import secrets
import ssl
import socket
import subprocess
import time

import pytest

from harness.tlsclient import ServedCert
from harness import layout

# No renewal runs during these tests: the sets they plant stay theirs.
QUIET = "MDInitialDelay 1d\nMDCertificateAuthority https://127.0.0.1:1/dir\n"


class SetCA:
    """Root and intermediate CA for planted certificate sets."""

    def __init__(self, directory, openssl="openssl"):
        self.dir = directory
        self.openssl = openssl
        self.root = os.path.join(directory, "root.pem")
        self.inter = os.path.join(directory, "inter.pem")
        self.inter_key = os.path.join(directory, "inter.key")

    def _run(self, *args, stdin=None):
        proc = subprocess.run([self.openssl, *args], capture_output=True, text=True,
                              input=stdin)
        if proc.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args[:2])}: {proc.stderr.strip()}")
        return proc.stdout

    def key(self, path, kind="P-256"):
        if kind.startswith("rsa"):
            opts = ["-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{kind[3:]}"]
        else:
            opts = ["-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{kind}"]
        self._run("genpkey", *opts, "-out", path)
        return path

    def create(self):
        os.makedirs(os.path.join(self.dir, "new"), exist_ok=True)
        root_key = self.key(os.path.join(self.dir, "root.key"))
        self._run("req", "-x509", "-new", "-key", root_key, "-out", self.root, "-days", "30",
                  "-subj", "/CN=serving test root",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        csr = os.path.join(self.dir, "inter.csr")
        self._run("req", "-new", "-key", self.key(self.inter_key), "-out", csr,
                  "-subj", "/CN=serving test intermediate")
        ext = os.path.join(self.dir, "inter.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:TRUE,pathlen:0\n"
                    "keyUsage=critical,keyCertSign,cRLSign\n")
        self._run("x509", "-req", "-in", csr, "-CA", self.root, "-CAkey", root_key,
                  "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", self.inter)
        with open(os.path.join(self.dir, "index.txt"), "w"):
            pass
        with open(os.path.join(self.dir, "ca.cnf"), "w") as f:
            f.write(f"[ca]\ndefault_ca = d\n[d]\ndir = {self.dir}\n"
                    "database = $dir/index.txt\nnew_certs_dir = $dir/new\n"
                    "serial = $dir/serial\ndefault_md = sha256\npolicy = any\n"
                    "unique_subject = no\n[any]\ncommonName = supplied\n")
        return self

    def issue(self, names, kind="P-256", start=None, end=None, signer=None):
        """A leaf for names (DNS); returns (key_pem, chain_pem, serial_hex).
        start/end: 'YYYYmmddHHMMSSZ' (default now .. 30 days)."""
        base = os.path.join(self.dir, f"leaf-{secrets.token_hex(4)}")
        key = self.key(base + ".key", kind)
        self._run("req", "-new", "-key", key, "-out", base + ".csr", "-subj", f"/CN={names[0]}")
        with open(base + ".ext", "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature"
                    + (",keyEncipherment" if kind.startswith("rsa") else "")
                    + "\nextendedKeyUsage=serverAuth\nsubjectAltName="
                    + ",".join(f"DNS:{n}" for n in names) + "\n")
        serial = "1" + secrets.token_hex(16).upper()[1:]    # even length, positive
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write(serial + "\n")
        dates = ["-startdate", start or time.strftime("%Y%m%d%H%M%SZ",
                                                         time.gmtime(time.time() - 3600)),
                 "-enddate", end or time.strftime("%Y%m%d%H%M%SZ",
                                                    time.gmtime(time.time() + 30 * 86400))]
        cert, cakey = signer or (self.inter, self.inter_key)
        self._run("ca", "-batch", "-config", os.path.join(self.dir, "ca.cnf"), "-notext",
                  "-cert", cert, "-keyfile", cakey, "-in", base + ".csr", "-out", base + ".pem",
                  "-extfile", base + ".ext", *dates)
        with open(key) as f:
            key_pem = f.read()
        with open(base + ".pem") as f, open(self.inter) as g:
            chain = f.read() + g.read()
        return key_pem, chain, serial.lstrip("0")


@pytest.fixture
def set_ca(test_dir, acme_config):
    return SetCA(os.path.join(test_dir, "setca"), acme_config.openssl).create()


def store_dir(httpd):
    return os.path.join(httpd.root, "md")


def plant(httpd, group, name, files, owner=None):
    """Writes files {aspect: text} into the store; private keys 0600. owner:
    a user name for the files (the worker owns staging, challenges)."""
    d = os.path.join(store_dir(httpd), group, name)
    os.makedirs(d, mode=0o755, exist_ok=True)
    uid = gid = -1
    if owner:
        pw = pwd.getpwnam(owner)
        uid, gid = pw.pw_uid, pw.pw_gid
        os.chown(d, uid, gid)
    for aspect, text in files.items():
        path = os.path.join(d, aspect)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600 if "privkey" in aspect or "key" in aspect else 0o644)
        os.chown(path, uid, gid)
    return d


def plant_set(httpd, group, name, pairs, owner=None):
    """pairs: {spec_name: (key_pem, chain_pem)} as issued by SetCA."""
    files = {}
    for spec, (key, chain) in pairs.items():
        files[layout.privkey(spec)] = key
        files[layout.pubcert(spec)] = chain
    return plant(httpd, group, name, files, owner)


def served_serial(cert: ServedCert):
    return cert.x509("-serial").strip().split("=", 1)[1].upper().lstrip("0")


def wait_served(httpd, name, serial, timeout=10):
    """The served certificate once it has `serial` (old children of a
    graceful restart may answer a moment longer); fails on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        cert = httpd.served_certificate(name)
        if served_serial(cert) == serial or time.monotonic() > deadline:
            assert served_serial(cert) == serial
            return cert
        time.sleep(0.1)


def domain_conf(httpd, names=("a.test",), keys="secp256r1", extra_md="", extra=""):
    """A managed domain with an https and an http vhost."""
    p = httpd.ports
    md = "\n".join(f"  {line}" for line in extra_md.splitlines())
    return (f"{QUIET}{httpd.md_port_map()}\nMDPrivateKeys {keys}\n{extra}\n"
            f"<MDomain {' '.join(names)}>\n{md}\n</MDomain>\n"
            f"<VirtualHost 127.0.0.1:{p.https}>\n  ServerName {names[0]}\n"
            "  SSLEngine on\n</VirtualHost>\n"
            f"<VirtualHost 127.0.0.1:{p.http}>\n  ServerName {names[0]}\n</VirtualHost>\n")


def fetch_with(port, servername, ciphers):
    """The leaf served to a TLS 1.2 client that only takes `ciphers`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(ciphers)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=servername) as tls:
            der = tls.getpeercert(binary_form=True)
    return ServedCert(der=der, pem=ssl.DER_cert_to_PEM_cert(der))


# ---------------------------------------------------------------- tests

def test_fallback_until_there_is_a_certificate(httpd):
    httpd.write_conf(domain_conf(httpd, names=("a.test", "www.a.test")))
    httpd.start()
    cert = httpd.served_certificate("a.test")
    assert "mod_acme fallback certificate" in cert.x509("-subject")
    assert sorted(cert.sans()) == ["DNS:a.test", "DNS:www.a.test"]
    assert "id-ecPublicKey" in cert.x509("-text")      # P-256: cheap to make
    # mod_ssl answers requests with 503 while it serves a fallback
    assert httpd.get("https://a.test/index.html").status == 503
    key = os.path.join(store_dir(httpd), layout.LIVE, "a.test", "fallback-privkey.pem")
    st = os.stat(key)
    assert (st.st_mode & 0o777, st.st_uid) == (0o600, 0)
    # made once: a restart serves the same certificate, from the same key
    with open(key) as f:
        key_pem = f.read()
    serial = served_serial(cert)
    httpd.graceful()
    assert served_serial(httpd.served_certificate("a.test")) == serial
    with open(key) as f:
        assert f.read() == key_pem


@pytest.mark.parametrize("damage", ["key_empty", "key_torn", "key_gone", "cert_empty",
                                    "cert_torn", "cert_gone", "both_empty"])
def test_damaged_fallback_is_made_again(httpd, damage):
    """The fallback set is saved without fsync (regenerable): whatever a crash
    leaves of it (missing, empty, torn files), the next pass makes it again."""
    httpd.write_conf(domain_conf(httpd))
    httpd.start()
    d = os.path.join(store_dir(httpd), layout.LIVE, "a.test")
    what, how = damage.split("_")
    for aspect in (["fallback-privkey.pem", "fallback-pubcert.pem"] if what == "both" else
                   ["fallback-privkey.pem" if what == "key" else "fallback-pubcert.pem"]):
        path = os.path.join(d, aspect)
        if how == "gone":
            os.unlink(path)
            continue
        with open(path, "r+") as f:
            f.truncate(0 if how == "empty" else os.path.getsize(path) // 2)
    mark = httpd.log_mark()
    httpd.graceful()
    httpd.wait_for_log(r"ACME1230 a\.test: made a fallback certificate", since=mark)
    httpd.wait_for_log(r"ACME1232 a\.test: serving the fallback certificate", since=mark)
    assert "ACME1231" not in httpd.error_log()[mark:]
    cert = httpd.served_certificate("a.test")
    assert "mod_acme fallback certificate" in cert.x509("-subject")
    assert httpd.get("https://a.test/index.html").status == 503


def test_fallback_follows_new_names_with_the_same_key(httpd):
    httpd.write_conf(domain_conf(httpd))
    httpd.start()
    old = httpd.served_certificate("a.test")
    httpd.write_conf(domain_conf(httpd, names=("a.test", "b.a.test")))
    httpd.graceful()
    deadline = time.monotonic() + 10
    while "DNS:b.a.test" not in httpd.served_certificate("a.test").sans():
        assert time.monotonic() < deadline, "fallback not re-made for the new name"
        time.sleep(0.1)
    new = httpd.served_certificate("a.test")
    pub = [c.x509("-pubkey") for c in (old, new)]
    assert pub[0] == pub[1]


@pytest.mark.parametrize("httpd", ["event", "worker", "prefork"], indirect=True)
def test_live_set_is_served(httpd, set_ca):
    key, chain, serial = set_ca.issue(["a.test", "www.a.test"])
    plant_set(httpd, layout.LIVE, "a.test", {"P-256": (key, chain)})
    httpd.write_conf(domain_conf(httpd, names=("a.test", "www.a.test")))
    httpd.start()
    for name in ("a.test", "www.a.test"):
        cert = httpd.served_certificate(name, cafile=set_ca.root)
        assert cert.verified and served_serial(cert) == serial
        assert sorted(cert.sans()) == ["DNS:a.test", "DNS:www.a.test"]
    assert len(cert.chain) == 2     # leaf + intermediate, as stored
    resp = httpd.get("https://www.a.test/index.html", cafile=set_ca.root)
    assert resp.status == 200 and "mod_acme test server" in resp.text
    assert f"ServerMPM: {httpd.mpm}" in httpd.get("/server-status?auto").text


def test_one_certificate_per_key_type(httpd, set_ca):
    ec = set_ca.issue(["a.test"], kind="P-256")
    rsa = set_ca.issue(["a.test"], kind="rsa2048")
    plant_set(httpd, layout.LIVE, "a.test", {"P-256": ec[:2], "rsa2048": rsa[:2]})
    httpd.write_conf(domain_conf(httpd, keys="secp256r1 rsa2048"))
    httpd.start()
    p = httpd.ports.https
    assert served_serial(fetch_with(p, "a.test", "ECDHE-ECDSA-AES128-GCM-SHA256")) == ec[2]
    assert served_serial(fetch_with(p, "a.test", "ECDHE-RSA-AES128-GCM-SHA256")) == rsa[2]


def test_broken_live_pair_is_left_out(httpd, set_ca):
    # a damaged rsa pair must not stop httpd (mod_ssl would refuse to start):
    # the good P-256 pair is served, the log says what is wrong
    ec = set_ca.issue(["a.test"], kind="P-256")
    rsa = set_ca.issue(["a.test"], kind="rsa2048")
    other = set_ca.issue(["a.test"], kind="rsa2048")
    plant_set(httpd, layout.LIVE, "a.test", {"P-256": ec[:2], "rsa2048": (other[0], rsa[1])})
    httpd.write_conf(domain_conf(httpd, keys="secp256r1 rsa2048"))
    httpd.start()
    assert served_serial(httpd.served_certificate("a.test")) == ec[2]
    assert "ACME1220 a.test: the live rsa2048 certificate is not served: the private key " \
           "does not match the certificate" in httpd.error_log()


def test_static_files_and_foreign_vhosts_untouched(httpd, set_ca, ca):
    key, chain, serial = set_ca.issue(["s.test"])
    files = {}
    for name, text in (("s.key", key), ("s.pem", chain)):
        files[name] = os.path.join(httpd.root, name)
        with open(files[name], "w") as f:
            f.write(text)
    other_cert, other_key = ca.issue("other.test", ["DNS:other.test"])
    p = httpd.ports
    httpd.write_conf(
        f"{QUIET}{httpd.md_port_map()}\n<MDomain s.test>\n"
        f"  MDCertificateFile {files['s.pem']}\n  MDCertificateKeyFile {files['s.key']}\n"
        f"</MDomain>\n<VirtualHost 127.0.0.1:{p.https}>\n  ServerName s.test\n"
        f"  SSLEngine on\n</VirtualHost>\n<VirtualHost 127.0.0.1:{p.https}>\n"
        f"  ServerName other.test\n  SSLEngine on\n  SSLCertificateFile {other_cert}\n"
        f"  SSLCertificateKeyFile {other_key}\n</VirtualHost>\n")
    httpd.start()
    assert served_serial(httpd.served_certificate("s.test", cafile=set_ca.root)) == serial
    other = httpd.served_certificate("other.test", cafile=ca.cert_path)
    with open(other_cert) as f:
        assert other.pem.strip() == f.read().strip()
    assert not os.path.exists(os.path.join(store_dir(httpd), layout.LIVE, "s.test"))


def test_store_permissions(httpd, set_ca):
    key, chain, serial = set_ca.issue(["a.test"])
    httpd.write_conf(domain_conf(httpd))
    httpd.start()
    user = pwd.getpwnam(httpd.user[0])
    plant_set(httpd, "staging", "a.test", {"P-256": (key, chain)}, owner=httpd.user[0])
    httpd.graceful()
    wait_served(httpd, "a.test", serial)
    base = store_dir(httpd)
    live_key = os.path.join(base, layout.LIVE, "a.test", layout.privkey("P-256"))
    st = os.stat(live_key)
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o600, 0, 0)
    for d in (layout.LIVE, os.path.join(layout.LIVE, "a.test"), "archive"):
        assert os.stat(os.path.join(base, d)).st_uid == 0, d
    for d in ("staging", "challenges", "jobs", "accounts", "tmp"):
        assert os.stat(os.path.join(base, d)).st_uid == user.pw_uid, d
    # the worker user can read the certificate but not the key
    as_worker = dict(user=user.pw_uid, group=user.pw_gid, capture_output=True)
    assert subprocess.run(["cat", live_key], **as_worker).returncode != 0
    assert subprocess.run(["cat", live_key.replace("privkey", "pubcert")],
                          **as_worker).returncode == 0
