"""A test OCSP responder for pebble's certificates (pebble 2.4.0 puts an OCSP
URL into its certificates when configured with ocspResponderURL, but answers
no OCSP itself).

It signs with pebble's intermediate key (management API /intermediate-keys/0,
certificate at /intermediates/0), so responses are signed by the issuer, as a
CA's own responder does. Each POSTed request is answered by the `openssl
ocsp` CLI from a one-line index built for the requested serial from pebble's
own view (/cert-status-by-serial/<hex>): Valid -> good, Revoked -> revoked,
not found -> unknown. nextUpdate is thisUpdate + 1 day (-ndays 1).

Run as a script, it is the responder process itself; OcspResponder starts and
stops that process (by its pid) for a test.
"""
import argparse
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from .ports import ensure_free
    from .proc import Process
except ImportError:         # run as a script
    ensure_free = Process = None


class OcspResponder:
    """The responder process for one pebble instance, on 127.0.0.1:port."""

    def __init__(self, cfg, pebble, ca, port, directory):
        self.cfg, self.pebble, self.ca, self.port = cfg, pebble, ca, port
        self.directory = directory
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout=10):
        ensure_free("ocsp responder", self.port)
        os.makedirs(self.directory, exist_ok=True)
        mgmt = self.pebble.mgmt_url
        for name, path in (("int.pem", "/intermediates/0"), ("intkey.pem",
                                                              "/intermediate-keys/0")):
            with open(os.path.join(self.directory, name), "wb") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(self.pebble._get(mgmt + path))
        argv = [sys.executable, os.path.abspath(__file__), "--port", str(self.port),
                "--dir", self.directory, "--pebble-mgmt", mgmt, "--cafile", self.ca.cert_path,
                "--openssl", getattr(self.cfg, "openssl", "openssl")]
        self.proc = Process("ocsp-responder", argv,
                            os.path.join(self.directory, "responder.log")).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"ocsp responder exited:\n{self.proc.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"ocsp responder not listening on {self.port}")

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None

    def answered(self):
        """How many requests were answered so far (by this and earlier runs)."""
        path = os.path.join(self.directory, "responder.log")
        try:
            with open(path, errors="replace") as f:
                return len(re.findall(r"^answered ", f.read(), re.M))
        except FileNotFoundError:
            return 0


# ------------------------------------------------------------------ the process

def _pebble_status(args, serial):
    ctx = ssl.create_default_context(cafile=args.cafile)
    url = f"{args.pebble_mgmt}/cert-status-by-serial/{serial}"
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError:
        return None


def _index_line(serial, status):
    if status is None:
        return None
    when = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() + 86400 * 365))
    if status.get("Status") == "Revoked":
        rev = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() - 60))
        return f"R\t{when}\t{rev},keyCompromise\t{serial}\tunknown\t/CN=revoked\n"
    return f"V\t{when}\t\t{serial}\tunknown\t/CN=valid\n"


def _answer(args, body):
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        req = os.path.join(tmp, "req.der")
        with open(req, "wb") as f:
            f.write(body)
        text = subprocess.run([args.openssl, "ocsp", "-reqin", req, "-req_text"],
                              capture_output=True, text=True).stdout
        m = re.search(r"Serial Number: ([0-9A-Fa-f]+)", text)
        if not m:
            return None
        serial = m.group(1).upper()
        index = os.path.join(tmp, "index.txt")
        with open(index, "w") as f:
            f.write(_index_line(serial, _pebble_status(args, serial)) or "")
        out = os.path.join(tmp, "resp.der")
        d = args.dir
        subprocess.run([args.openssl, "ocsp", "-index", index, "-CA", f"{d}/int.pem",
                        "-rsigner", f"{d}/int.pem", "-rkey", f"{d}/intkey.pem",
                        "-reqin", req, "-respout", out, "-ndays", "1"],
                       capture_output=True, check=True)
        with open(out, "rb") as f:
            print(f"answered {serial}", flush=True)
            return f.read()


def _handler(args):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if 0 < n <= 65536 else b""
            der = _answer(args, body) if body else None
            if der is None:
                self.send_response(400)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(der)))
            self.end_headers()
            self.wfile.write(der)

        def log_message(self, fmt, *a):
            print(fmt % a, flush=True)
    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pebble-mgmt", required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--openssl", default="openssl")
    args = ap.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), _handler(args)).serve_forever()


if __name__ == "__main__":
    main()
