"""A faulty CA for tests: an HTTPS reverse proxy in front of pebble that
answers some requests wrongly, by a schedule the test sets.

The proxying itself (TLS, forwarding with the Host unchanged) is
ca_proxy.py's.

The schedule is a list of fault kinds (FAULTS), one per request: request n
(counted from 0 among those whose path matches `match`, after `skip` of them
passed) gets schedule[n], later ones pass through untouched. Every request
is recorded with its arrival time, path and what was done to it.

hold() keeps one request waiting before it goes on to pebble, until the
test releases it: a pause at one step of a renewal (e.g. to kill httpd
while its request is in flight).

Python standard library only."""
import re
import socket
import threading
import time
from dataclasses import dataclass

from .ca_proxy import CaProxy, ProxyHandler

FAULTS = ("500", "503", "429", "truncated", "malformed", "content-type", "slow", "drop")
RETRY_AFTER = 3         # seconds, sent with 503 and 429
SLOW_SECONDS = 3        # below the module's 60 s transport timeout: a fast test


@dataclass
class Request:
    at: float           # time.time() on arrival
    method: str
    path: str
    fault: str          # "" when passed through untouched
    status: int = 0     # what the client got (0: connection dropped)
    done: float = 0.0   # time.time() when the answer was sent (or dropped)


class FaultyCA(CaProxy):
    def __init__(self, ca, upstream_port, directory):
        super().__init__(ca, upstream_port, directory, "faulty-ca", _Handler)
        self.schedule = []
        self.match = re.compile("")
        self.skip = 0
        self.requests = []
        self._matched = 0
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


class _Handler(ProxyHandler):
    def _respond(self, body):
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
            self._send_recorded(req, int(f), [("Content-Type", "application/problem+json"),
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
        self._send_recorded(req, status, headers, data)

    def _send_recorded(self, req, status, headers, data):
        """req.status stays 0 when the client is gone before the answer."""
        self._send(status, headers, data)
        req.status = status
