"""The ACME core against a real pebble, driven through tools/acme-cli:
issuance via http-01 and dns-01, external account binding, revocation, key
rollover, pebble's nonce rejection and alternate chains. Every issued chain
is verified against pebble's root with `openssl verify`.

http-01 answers come from a tiny HTTP server in this process on the suite's
http port (pebble validates there); dns-01 answers from a hook script that
sets TXT records in challtestsrv. Both the server and the hook are test aids.
"""
import http.server
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from harness.ports import holders

CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@pytest.fixture
def cli(acme_config):
    path = os.path.join(acme_config.builddir, "tools", "acme-cli")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run `make` in the build directory")
    return path


class Http01Server:
    """Serves DIR/<token> at /.well-known/acme-challenge/<token>, nothing else."""

    def __init__(self, port, directory):
        self.port, self.directory = port, directory
        self.requests = []
        self.httpd = None

    def start(self, wait=300):
        # other suites share the port (httpd tests): wait for it, never kill
        deadline = time.monotonic() + wait
        while True:
            holder = holders(self.port)
            if not holder:
                try:
                    self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port),
                                                                 self._handler())
                    break
                except OSError:
                    holder = "a process that just took it"
            if time.monotonic() > deadline:
                pytest.fail(f"http-01 port {self.port} stayed busy ({holder})")
            time.sleep(1)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                token = self.path[len(CHALLENGE_PREFIX):]
                path = os.path.join(server.directory, token)
                if not self.path.startswith(CHALLENGE_PREFIX) or not TOKEN_RE.match(token) \
                        or not os.path.isfile(path):
                    self.send_error(404)
                    return
                with open(path, "rb") as f:
                    body = f.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def http01(ports, test_dir):
    directory = os.path.join(test_dir, "http01")
    os.makedirs(directory)
    server = Http01Server(ports.http, directory).start()
    yield server
    server.stop()


class Cli:
    """acme-cli bound to one pebble and one output directory."""

    def __init__(self, path, acme, ca, out):
        self.path, self.acme, self.ca, self.out = path, acme, ca, out

    def run(self, *args, timeout=180, stdin=None):
        argv = [self.path, "--directory", self.acme.url, "--ca-file", self.ca.cert_path,
                "--out", self.out, *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              input=stdin if stdin is not None else "")
        return proc.returncode, proc.stdout, proc.stderr

    def ok(self, *args):
        rc, out, err = self.run(*args)
        assert rc == 0, f"acme-cli {' '.join(args)} exited {rc}:\n{out}\n{err}"
        return out

    def file(self, name):
        return os.path.join(self.out, name)

    def read(self, name):
        with open(self.file(name)) as f:
            return f.read()


def serial_of(output):
    m = re.search(r"^serial: ([0-9A-F]+)$", output, re.M)
    assert m, output
    return m.group(1)


def openssl(cfg, *args, stdin=None):
    proc = subprocess.run([cfg.openssl, *args], input=stdin, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def verify_chain(cfg, acme, c, test_dir, root_index=0):
    """The chain in cert.pem verifies against pebble's root (roots/<index>)."""
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?",
                      c.read("cert.pem"), re.S)
    assert len(pems) >= 2, "expected the leaf and at least one intermediate"
    paths = {name: os.path.join(test_dir, name) for name in ("root.pem", "leaf.pem", "rest.pem")}
    with open(paths["root.pem"], "w") as f:
        f.write(acme.roots_pem(root_index))
    with open(paths["leaf.pem"], "w") as f:
        f.write(pems[0])
    with open(paths["rest.pem"], "w") as f:
        f.write("".join(pems[1:]))
    rc, out = openssl(cfg, "verify", "-CAfile", paths["root.pem"], "-untrusted",
                      paths["rest.pem"], paths["leaf.pem"])
    assert rc == 0 and ": OK" in out, out
    return pems


def sans_of(cfg, pem):
    rc, out = openssl(cfg, "x509", "-noout", "-ext", "subjectAltName", stdin=pem)
    assert rc == 0, out
    return sorted(re.findall(r"(?:DNS|IP Address):([^,\s]+)", out))


def issuer_cn(cfg, pem):
    rc, out = openssl(cfg, "x509", "-noout", "-issuer", "-nameopt", "multiline", stdin=pem)
    assert rc == 0, out
    return re.search(r"commonName\s*=\s*(.+)", out).group(1).strip()


def subject_cn(cfg, pem):
    rc, out = openssl(cfg, "x509", "-noout", "-subject", "-nameopt", "multiline", stdin=pem)
    return re.search(r"commonName\s*=\s*(.+)", out).group(1).strip()


def test_acme_core_issue_http01(acme_config, cli, pebble, ca, http01, test_dir):
    acme = pebble()
    c = Cli(cli, acme, ca, os.path.join(test_dir, "out"))
    out = c.ok("--agree-tos", "--contact", "mailto:admin@http01.test",
               "--http01-dir", http01.directory, "--key-type", "rsa2048",
               "issue", "http01.test", "www.http01.test", "127.0.0.1")
    assert "account:" in out and "(new)" in out
    pems = verify_chain(acme_config, acme, c, test_dir)
    assert sans_of(acme_config, pems[0]) == ["127.0.0.1", "http01.test", "www.http01.test"]
    rc, text = openssl(acme_config, "x509", "-noout", "-text", stdin=pems[0])
    assert "rsaEncryption" in text and "2048 bit" in text
    # pebble really fetched the answers, and they were removed afterwards
    assert any(p.startswith(CHALLENGE_PREFIX) for p in http01.requests)
    assert os.listdir(http01.directory) == []
    # secrets are private, the key matches the certificate
    for name in ("account.key", "privkey.pem"):
        assert stat.S_IMODE(os.stat(c.file(name)).st_mode) == 0o600, name
    rc1, mod1 = openssl(acme_config, "pkey", "-in", c.file("privkey.pem"), "-pubout")
    rc2, mod2 = openssl(acme_config, "x509", "-noout", "-pubkey", stdin=pems[0])
    assert rc1 == 0 and rc2 == 0 and mod1 == mod2
    # a second issuance reuses the account
    out = c.ok("--http01-dir", http01.directory, "issue", "again.http01.test")
    assert "account:" not in out
    verify_chain(acme_config, acme, c, test_dir)


DNS_HOOK = """#!{python}
import json, sys, urllib.request
verb, name, value = sys.argv[1:]
with open({log!r}, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
host = "_acme-challenge." + name + "."
body = {{"host": host, "value": value}} if verb == "setup" else {{"host": host}}
path = "/set-txt" if verb == "setup" else "/clear-txt"
req = urllib.request.Request("http://127.0.0.1:{port}" + path, data=json.dumps(body).encode(),
                             method="POST")
urllib.request.build_opener(urllib.request.ProxyHandler({{}})).open(req, timeout=5).read()
"""


def write_dns_hook(test_dir, mgmt_port):
    log = os.path.join(test_dir, "hook.log")
    path = os.path.join(test_dir, "dns-hook.py")
    with open(path, "w") as f:
        f.write(DNS_HOOK.format(python=sys.executable, log=log, port=mgmt_port))
    os.chmod(path, 0o755)
    return path, log


def test_acme_core_issue_dns01_with_wildcard(acme_config, cli, pebble, ca, challtestsrv,
                                             ports, test_dir):
    acme = pebble()
    hook, log = write_dns_hook(test_dir, ports.dns_mgmt)
    c = Cli(cli, acme, ca, os.path.join(test_dir, "out"))
    c.ok("--agree-tos", "--challenge", "dns-01", "--dns01-cmd", hook,
         "issue", "dns01.test", "*.dns01.test")
    pems = verify_chain(acme_config, acme, c, test_dir)
    assert sans_of(acme_config, pems[0]) == ["*.dns01.test", "dns01.test"]
    with open(log) as f:
        calls = [line.split() for line in f.read().splitlines()]
    assert sorted(call[0] for call in calls) == ["setup", "setup", "teardown", "teardown"]
    assert {call[1] for call in calls} == {"dns01.test"}
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", call[2]) for call in calls)
    assert challtestsrv.txt("_acme-challenge.dns01.test") == []


def test_acme_core_dns01_hook_failure_is_reported(cli, pebble, ca, test_dir):
    acme = pebble()
    hook = os.path.join(test_dir, "failing-hook.sh")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\necho 'no DNS API today' >&2\nexit 7\n")
    os.chmod(hook, 0o755)
    c = Cli(cli, acme, ca, os.path.join(test_dir, "out"))
    rc, out, err = c.run("--agree-tos", "--challenge", "dns-01", "--dns01-cmd", hook,
                         "issue", "hookfail.test")
    assert rc == 1, err
    assert "no DNS API today" in err and "exit 7" in err
    assert not os.path.exists(c.file("cert.pem"))


def test_acme_core_eab(cli, pebble, ca, test_dir):
    acme = pebble(eab=True)
    # the HMAC key from a file only its owner reads (a trailing newline is fine)
    hmac_file = os.path.join(test_dir, "eab.hmac")
    fd = os.open(hmac_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(acme.eab_hmac + "\n")
    good = Cli(cli, acme, ca, os.path.join(test_dir, "good"))
    out = good.ok("--agree-tos", "--eab-kid", acme.eab_kid, "--eab-hmac-file", hmac_file,
                  "register")
    assert re.search(r"^account: https://\S+ \(new\)$", out, re.M)
    # a wrong HMAC key, from stdin: the CA refuses, and the message says what failed
    wrong = acme.eab_hmac[:-4] + ("AAAA" if not acme.eab_hmac.endswith("AAAA") else "BBBB")
    bad = Cli(cli, acme, ca, os.path.join(test_dir, "bad"))
    rc, out, err = bad.run("--agree-tos", "--eab-kid", acme.eab_kid, "--eab-hmac-file", "-",
                           "register", stdin=wrong)
    assert rc == 3, err
    assert "external account binding" in err
    assert "urn:ietf:params:acme:error:unauthorized" in err and "fix config" in err
    assert not os.path.exists(bad.file("account.url"))
    assert wrong not in err and wrong not in out
    # the key itself on the command line (visible to every local user in
    # /proc/<pid>/cmdline) is refused before anything is done (issue 16)
    argv = Cli(cli, acme, ca, os.path.join(test_dir, "argv"))
    rc, out, err = argv.run("--agree-tos", "--eab-kid", acme.eab_kid, "--eab-hmac",
                            acme.eab_hmac, "register")
    assert rc == 2, err
    assert "--eab-hmac-file" in err and acme.eab_hmac not in err + out
    assert not os.path.exists(argv.out)
    # an empty or missing key file: a clear error, no account
    empty = os.path.join(test_dir, "empty.hmac")
    open(empty, "w").close()
    for path, why in ((empty, "empty"), (empty + ".missing", "No such file")):
        rc, out, err = argv.run("--agree-tos", "--eab-kid", acme.eab_kid, "--eab-hmac-file",
                                path, "register")
        assert rc == 1 and f"--eab-hmac-file {path}: {why}" in err, err
        assert not os.path.exists(argv.out)
    # none at all: refused before asking the CA, as a configuration error
    none = Cli(cli, acme, ca, os.path.join(test_dir, "none"))
    rc, out, err = none.run("--agree-tos", "register")
    assert rc == 1 and "requires External Account Binding" in err and "fix config" in err


def test_acme_core_revoke(cli, pebble, ca, http01, test_dir):
    acme = pebble()
    c = Cli(cli, acme, ca, os.path.join(test_dir, "out"))
    serial = serial_of(c.ok("--agree-tos", "--http01-dir", http01.directory,
                            "issue", "revoke.test"))
    assert acme.cert_status(serial)["Status"] == "Valid"
    c.ok("--reason", "keyCompromise", "revoke")
    status = acme.cert_status(serial)
    assert status["Status"] == "Revoked" and status["Reason"] == 1
    rc, out, err = c.run("revoke")
    assert rc == 3 and "alreadyRevoked" in err
    # by the certificate's key, without the account
    serial = serial_of(c.ok("--http01-dir", http01.directory, "issue", "revoke2.test"))
    other = Cli(cli, acme, ca, os.path.join(test_dir, "no-account"))
    other.ok("--cert", c.file("cert.pem"), "--cert-key", c.file("privkey.pem"), "revoke")
    assert acme.cert_status(serial)["Status"] == "Revoked"
    assert not os.path.exists(other.file("account.key"))


def test_acme_core_key_rollover(acme_config, cli, pebble, ca, http01, test_dir):
    acme = pebble()
    c = Cli(cli, acme, ca, os.path.join(test_dir, "out"))
    c.ok("--agree-tos", "register")
    old_key, url = c.read("account.key"), c.read("account.url")
    c.ok("--account-key-type", "P-384", "rollover")
    assert c.read("account.key") != old_key and c.read("account.url") == url
    assert not os.path.exists(c.file("account.key.new"))
    rc, text = openssl(acme_config, "pkey", "-in", c.file("account.key"), "-noout", "-text")
    assert "P-384" in text or "secp384r1" in text
    # the new key orders a certificate on the same account
    c.ok("--http01-dir", http01.directory, "issue", "rollover.test")
    verify_chain(acme_config, acme, c, test_dir)
    # the old key no longer belongs to that account
    old = Cli(cli, acme, ca, os.path.join(test_dir, "old"))
    os.makedirs(old.out, mode=0o700)
    with open(old.file("account.key"), "w") as f:
        f.write(old_key)
    out = old.ok("--agree-tos", "register")
    assert url not in out and "(new)" in out


def test_acme_core_survives_nonce_rejection(acme_config, cli, pebble, ca, http01, test_dir):
    acme = pebble(env={"PEBBLE_WFE_NONCEREJECT": "50"})
    c = Cli(cli, acme, ca, os.path.join(test_dir, "out"))
    c.ok("--agree-tos", "--http01-dir", http01.directory, "issue", "nonce.test",
         "www.nonce.test")
    verify_chain(acme_config, acme, c, test_dir)


def test_acme_core_preferred_alternate_chain(acme_config, cli, pebble, ca, http01, test_dir):
    acme = pebble(env={"PEBBLE_ALTERNATE_ROOTS": "1"})
    alt_root = subject_cn(acme_config, acme.roots_pem(1))
    assert alt_root != subject_cn(acme_config, acme.roots_pem(0))
    c = Cli(cli, acme, ca, os.path.join(test_dir, "out"))
    c.ok("--agree-tos", "--http01-dir", http01.directory, "issue", "alt.test")
    pems = verify_chain(acme_config, acme, c, test_dir, root_index=0)
    assert issuer_cn(acme_config, pems[-1]) != alt_root
    c.ok("--http01-dir", http01.directory, "--preferred-chain", alt_root, "issue", "alt.test")
    pems = verify_chain(acme_config, acme, c, test_dir, root_index=1)
    assert issuer_cn(acme_config, pems[-1]) == alt_root


def test_acme_core_unreachable_ca_is_a_network_error(cli, ca, test_dir):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    class Nowhere:
        url = f"https://127.0.0.1:{port}/dir"

    c = Cli(cli, Nowhere(), ca, os.path.join(test_dir, "out"))
    rc, out, err = c.run("--agree-tos", "register")
    assert rc == 4, err
    assert "retry" in err
