"""The HTTPS reverse proxy in front of pebble that the test-only fronts
(faulty_ca.FaultyCA, acme_front.AcmeFront) build on: each adds only what it
changes about pebble's answers.

A front listens on 127.0.0.1 (a free port) with a certificate from the
harness CA, so the module trusts it through the same MDCACertificateFile as
pebble. Requests go on to pebble with the Host header unchanged: pebble
builds every URL it returns (directory, Location, Link, order and
certificate URLs) and checks each JWS "url" from the Host it was asked for,
so all traffic keeps going through the front and no body needs rewriting.

Python standard library only."""
import http.client
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Hop-by-hop headers, and Content-Length: http.client and _send set their own.
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class CaProxy:
    """A front's state and lifecycle. Each connection is served by a
    `handler` (a ProxyHandler subclass) in a thread of its own: it reaches
    the front as `self.owner` and guards what it shares with it by `_lock`."""

    def __init__(self, ca, upstream_port, directory, cert_name, handler):
        self.ca = ca
        self.upstream_port = upstream_port
        self.directory = directory
        self.cert, self.key = ca.issue(cert_name, ["DNS:localhost", "IP:127.0.0.1"])
        self.handler = handler
        self._lock = threading.Lock()
        self._server = None
        self.port = 0

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}{self.directory}"

    def start(self):
        bound = type(self.handler.__name__, (self.handler,), {"owner": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
        server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
        self._server = server
        self.port = server.server_address[1]
        return self

    def stop(self):
        """Safe to call when not started or already stopped."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        self._server = None


class ProxyHandler(BaseHTTPRequestHandler):
    """Reads each request's body and hands it to _respond(body), which a
    subclass implements with _forward (to pebble) and _send (to the client)."""
    owner = None        # the CaProxy, set by CaProxy.start
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, fmt, *args):     # quiet: the fronts record what tests check
        pass

    def do_GET(self):
        self._respond(self._read_body())

    def do_HEAD(self):
        self._respond(self._read_body())

    def do_POST(self):
        self._respond(self._read_body())

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _respond(self, body):
        raise NotImplementedError

    def _forward(self, body):
        """This request as it came, sent to pebble: (status, headers, data)."""
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
