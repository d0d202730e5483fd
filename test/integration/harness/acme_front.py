"""A test-only ACME front: an HTTPS reverse proxy in front of pebble 2.4.0
that adds what pebble lacks, ARI (RFC 9773) and profiles
(draft-ietf-acme-profiles). A test aid, never a CA of its own.

- GET of the directory: pebble's, plus "renewalInfo" (when ARI is on) and
  meta "profiles" (when the test set some).
- GET <renewalInfo>/<certID>: the window the test set (set_window), with
  Retry-After, or an error status (set_ari_error). Every certID asked for is
  recorded (ari_requests).
- POST newOrder: refused with 409 alreadyReplaced while reject_replaces
  lasts and it carries "replaces"; else forwarded untouched (the JWS is signed: its payload is only
  read, never changed; pebble ignores "profile" and "replaces"), the payload
  recorded (orders), and the "profile" asked for added to the order object
  returned, as a CA offering it would.

Like faulty_ca.py, requests go on with the Host header unchanged, so every
URL pebble returns points at the front and no body needs rewriting.
Python standard library only."""
import base64
import datetime
import http.client
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler

from .https_server import https_start, https_stop

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}
ARI_PATH = "/renewal-info"


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) or b"null")


class AcmeFront:
    def __init__(self, ca, upstream_port, directory="/dir", ari=True, profiles=None):
        self.ca = ca
        self.upstream_port = upstream_port
        self.directory = directory
        self.cert, self.key = ca.issue("acme-front", ["DNS:localhost", "IP:127.0.0.1"])
        self.ari = ari
        self.profiles = dict(profiles or {})
        self.window = None              # (start, end, explanation or None)
        self.retry_after = 1
        self.ari_error = 0              # HTTP status to answer renewalInfo with, 0: none
        self.orders = []                # payloads (dicts) of the orders pebble created
        self.reject_replaces = 0        # newOrders with "replaces" to refuse (alreadyReplaced)
        self.rejected = []              # payloads refused so
        self.ari_requests = []          # certIDs asked for
        self._lock = threading.Lock()
        self._server = None
        self.port = 0

    # ------------------------------------------------------------ control
    def set_window(self, start, end, explanation=None, retry_after=1):
        """renewalInfo answers [start, end) (epoch seconds) from now on."""
        with self._lock:
            self.window = (start, end, explanation)
            self.retry_after = retry_after
            self.ari_error = 0

    def set_ari_error(self, status):
        with self._lock:
            self.ari_error = status

    def order_payloads(self):
        with self._lock:
            return list(self.orders)

    def cert_ids(self):
        with self._lock:
            return list(self.ari_requests)

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


class _Handler(BaseHTTPRequestHandler):
    owner = None
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, fmt, *args):
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
        path = self.path.split("?")[0]
        if path.startswith(ARI_PATH + "/") and self.owner.ari:
            return self._renewal_info(path[len(ARI_PATH) + 1:])
        if path.endswith("/order-plz") and self.command == "POST" and self._refuse(body):
            return
        status, headers, data = self._forward(body)
        if path == self.owner.directory and status == 200:
            data = self._directory(data)
        elif path.endswith("/order-plz") and self.command == "POST":
            data = self._new_order(body, status, data)
        self._send(status, headers, data)

    def _directory(self, data):
        d = json.loads(data)
        if self.owner.ari:
            d["renewalInfo"] = f"https://{self.headers['Host']}{ARI_PATH}/"
        if self.owner.profiles:
            d.setdefault("meta", {})["profiles"] = self.owner.profiles
        return json.dumps(d).encode()

    def _refuse(self, body):
        """RFC 9773 5: 409 alreadyReplaced for a newOrder with "replaces",
        while reject_replaces lasts (pebble never sees it)."""
        payload = b64url_json(json.loads(body)["payload"])
        with self.owner._lock:
            if not (self.owner.reject_replaces > 0 and "replaces" in payload):
                return False
            self.owner.reject_replaces -= 1
            self.owner.rejected.append(payload)
        problem = {"type": "urn:ietf:params:acme:error:alreadyReplaced",
                   "detail": "injected: already replaced", "status": 409}
        self._send(409, [("Content-Type", "application/problem+json")],
                   json.dumps(problem).encode())
        return True

    def _new_order(self, body, status, data):
        payload = b64url_json(json.loads(body)["payload"])
        if status == 201:       # not a badNonce answer (pebble rejects 5% by default)
            with self.owner._lock:
                self.owner.orders.append(payload)
        if status == 201 and payload.get("profile") in self.owner.profiles:
            order = json.loads(data)
            order["profile"] = payload["profile"]
            data = json.dumps(order).encode()
        return data

    def _renewal_info(self, cert_id):
        o = self.owner
        with o._lock:
            o.ari_requests.append(cert_id)
            window, retry, error = o.window, o.retry_after, o.ari_error
        if error or window is None:
            status = error or 404
            problem = {"type": "urn:ietf:params:acme:error:serverInternal",
                       "detail": "injected renewalInfo error", "status": status}
            return self._send(status, [("Content-Type", "application/problem+json"),
                                       ("Retry-After", str(retry))],
                              json.dumps(problem).encode())
        doc = {"suggestedWindow": {"start": rfc3339(window[0]), "end": rfc3339(window[1])}}
        if window[2]:
            doc["explanationURL"] = window[2]
        self._send(200, [("Content-Type", "application/json"), ("Retry-After", str(retry))],
                   json.dumps(doc).encode())

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

    def _send(self, status, headers, data):
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
