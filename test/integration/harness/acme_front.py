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

The proxying itself (TLS, forwarding with the Host unchanged) is
ca_proxy.py's. Python standard library only."""
import base64
import datetime
import json

from .ca_proxy import CaProxy, ProxyHandler

ARI_PATH = "/renewal-info"


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) or b"null")


class AcmeFront(CaProxy):
    def __init__(self, ca, upstream_port, directory="/dir", ari=True, profiles=None):
        super().__init__(ca, upstream_port, directory, "acme-front", _Handler)
        self.ari = ari
        self.profiles = dict(profiles or {})
        self.window = None              # (start, end, explanation or None)
        self.retry_after = 1
        self.ari_error = 0              # HTTP status to answer renewalInfo with, 0: none
        self.orders = []                # payloads (dicts) of the orders pebble created
        self.reject_replaces = 0        # newOrders with "replaces" to refuse (alreadyReplaced)
        self.rejected = []              # payloads refused so
        self.ari_requests = []          # certIDs asked for

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


class _Handler(ProxyHandler):
    def _respond(self, body):
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
