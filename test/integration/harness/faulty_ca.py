"""A faulty CA for tests: an HTTPS reverse proxy in front of pebble that
answers some requests wrongly, by a schedule the test sets.

It listens on 127.0.0.1 (a free port) with a certificate from the harness
CA, so the module trusts it through the same MDCACertificateFile as pebble.
Requests go on to pebble with the Host header unchanged: pebble builds every
URL it returns (directory, Location, Link, order and certificate URLs) and
checks each JWS "url" from the Host it was asked for, so all traffic keeps
going through the proxy without rewriting bodies.

The schedule is a list of fault kinds (FAULTS), one per request: request n
(counted from 0 among those whose path matches `match`, after `skip` of them
passed) gets schedule[n], later ones pass through untouched. Every request
is recorded with its arrival time, path and what was done to it.

hold() keeps one request waiting before it goes on to pebble, until the
test releases it: a pause at one step of a renewal (e.g. to kill httpd
while its request is in flight).

Python standard library only."""
import http.client
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from .https_server import https_start, https_stop

FAULTS = ("500", "503", "429", "truncated", "malformed", "content-type", "slow", "drop")
RETRY_AFTER = 3         # seconds, sent with 503 and 429
SLOW_SECONDS = 3        # below the module's 60 s transport timeout: a fast test
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


@dataclass
class Request:
    at: float           # time.time() on arrival
    method: str
    path: str
    fault: str          # "" when passed through untouched
    status: int = 0     # what the client got (0: connection dropped)
    done: float = 0.0   # time.time() when the answer was sent (or dropped)


class FaultyCA:
    def __init__(self, ca, upstream_port, directory):
        self.ca = ca
        self.upstream_port = upstream_port
        self.cert, self.key = ca.issue("faulty-ca", ["DNS:localhost", "IP:127.0.0.1"])
        self.schedule = []
        self.match = re.compile("")
        self.skip = 0
        self.requests = []
        self._matched = 0
        self._lock = threading.Lock()
        self._server = None
        self.directory = directory
        self._held = None

    # ------------------------------------------------------------ holding
    def hold(self, match, skip=0):
        """Holds the request number skip (from 0) among those whose path
        matches the regex match; returns a Hold to wait for and release."""
        held = Hold(re.compile(match), skip)
        with self._lock:
            self._held = held
        return held

    def held_path(self, path):
        with self._lock:
            return self._held is not None and self._held.path == path

    def _hold_if_matched(self, path):
        with self._lock:
            held = self._held
            if held is None or not held.match.search(path):
                return
            n = held.seen
            held.seen += 1
        if n == held.skip:
            held.path = path
            held.arrived.set()
            held.released.wait(held.limit)

    # ------------------------------------------------------------ control
    def set_schedule(self, faults, match="", skip=0):
        """Faults for the next requests whose path matches the regex match,
        after skip of them went through."""
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}, known: {FAULTS}")
        with self._lock:
            self.schedule = list(faults)
            self.match = re.compile(match)
            self.skip = skip
            self._matched = 0

    def _next_fault(self, path):
        with self._lock:
            if not self.match.search(path):
                return ""
            n = self._matched - self.skip
            self._matched += 1
            return self.schedule[n] if 0 <= n < len(self.schedule) else ""

    def _record(self, req):
        with self._lock:
            self.requests.append(req)

    def faulted(self):
        with self._lock:
            return [r for r in self.requests if r.fault]

    def max_per_second(self):
        """The most requests that arrived within any one second."""
        with self._lock:
            times = sorted(r.at for r in self.requests)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= 1.0:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}{self.directory}"

    # ------------------------------------------------------------ lifecycle
    def start(self):
        self._server = https_start(_Handler, self, self.cert, self.key)
        self.port = self._server.server_address[1]
        return self

    def stop(self):
        https_stop(self._server)
        self._server = None


class Hold:
    """One held request: `arrived` is set when it came, it goes on to the
    CA once release() is called (or after `limit` seconds)."""

    def __init__(self, match, skip, limit=300):
        self.match, self.skip, self.limit = match, skip, limit
        self.seen = 0
        self.path = None
        self.arrived = threading.Event()
        self.released = threading.Event()

    def wait(self, timeout):
        if not self.arrived.wait(timeout):
            raise TimeoutError(f"no request matching /{self.match.pattern}/ number "
                               f"{self.skip} in {timeout}s")
        return self.path

    def release(self):
        self.released.set()


class _Handler(BaseHTTPRequestHandler):
    owner = None
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, fmt, *args):     # quiet: the recorded requests say it all
        pass

    def do_GET(self):
        self._handle()

    def do_HEAD(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(at=time.time(), method=self.command, path=self.path,
                      fault=self.owner._next_fault(self.path))
        self.owner._record(req)
        self.owner._hold_if_matched(self.path)
        try:
            self._answer(req, body)
        except OSError:     # broken pipe, reset, SSL EOF
            if not self.owner.held_path(self.path):
                raise
            self.close_connection = True    # the client died while its request was held
        finally:
            req.done = time.time()

    def _answer(self, req, body):
        f = req.fault
        if f == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if f in ("500", "503", "429"):
            problem = {"500": "serverInternal", "503": "serverInternal",
                       "429": "rateLimited"}[f]
            extra = {} if f == "500" else {"Retry-After": str(RETRY_AFTER)}
            payload = (f'{{"type":"urn:ietf:params:acme:error:{problem}",'
                       f'"detail":"injected {f}","status":{f}}}').encode()
            self._send(req, int(f), [("Content-Type", "application/problem+json"),
                                     *extra.items()], payload)
            return
        status, headers, data = self._forward(body)
        if f == "slow":
            time.sleep(SLOW_SECONDS)
        elif f == "truncated" and data:
            data = data[:max(1, len(data) // 2)]
        elif f == "malformed" and data:
            data = b"{\"status\": \"valid\", ,]" + data[:8]
        elif f == "content-type":
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "text/html"))
        self._send(req, status, headers, data)

    def _forward(self, body):
        ctx = ssl.create_default_context(cafile=self.owner.ca.cert_path)
        conn = http.client.HTTPSConnection("127.0.0.1", self.owner.upstream_port, context=ctx,
                                           timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
            return resp.status, kept, data
        finally:
            conn.close()

    def _send(self, req, status, headers, data):
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        req.status = status
