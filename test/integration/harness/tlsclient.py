"""HTTP(S) client helpers for talking to the httpd under test: every name
resolves to 127.0.0.1 (like challtestsrv does for pebble), the name still
goes into Host and SNI."""
import http.client
import socket
import ssl
import subprocess
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self):
        return self.body.decode(errors="replace")


@dataclass
class ServedCert:
    der: bytes                      # the leaf, DER
    pem: str                        # the leaf, PEM
    chain: list = field(default_factory=list)   # PEMs as sent: leaf first
    verified: bool = False          # checked against a CA and the name

    def x509(self, *fields, openssl="openssl"):
        """`openssl x509 -noout <fields>` on the leaf, e.g. ("-subject",
        "-enddate", "-ext", "subjectAltName")."""
        return subprocess.run([openssl, "x509", "-noout", *fields], input=self.pem,
                              capture_output=True, text=True, check=True).stdout

    def sans(self, openssl="openssl"):
        """The DNS names and IPs of subjectAltName, e.g. ["DNS:a.test"]."""
        text = self.x509("-ext", "subjectAltName", openssl=openssl)
        lines = [l.strip() for l in text.splitlines()[1:] if l.strip()]
        return [s.strip().replace("IP Address:", "IP:") for l in lines for s in l.split(",")]


def _context(cafile):
    if cafile:
        return ssl.create_default_context(cafile=cafile)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _chain_pems(tls_sock):
    # SSLSocket.get_unverified_chain() is public from 3.13; the underlying
    # object has it since 3.10.
    obj = getattr(tls_sock, "_sslobj", None)
    getter = getattr(obj, "get_unverified_chain", None)
    if getter is None:
        return []
    return [c.public_bytes(ssl._ssl.ENCODING_PEM) for c in getter() or []]


def fetch_certificate(servername, port, cafile=None, timeout=10, address="127.0.0.1"):
    """Connects to address:port with SNI servername; raises
    ssl.SSLCertVerificationError when cafile is given and does not verify."""
    ctx = _context(cafile)
    with socket.create_connection((address, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=servername) as tls:
            der = tls.getpeercert(binary_form=True)
            chain = _chain_pems(tls)
    pem = ssl.DER_cert_to_PEM_cert(der)
    return ServedCert(der=der, pem=pem, chain=chain or [pem], verified=bool(cafile))


def http_get(url, ports, headers=None, cafile=None, timeout=10, address="127.0.0.1"):
    """GET without following redirects; see Httpd.get."""
    u = urllib.parse.urlsplit(url)
    host = u.hostname or "localhost"
    https = u.scheme == "https"
    port = u.port or (ports.https if https else ports.http)
    hdrs = {"Host": u.netloc or host, **(headers or {})}
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        if https:
            raw = socket.create_connection((address, port), timeout=timeout)
            conn.sock = _context(cafile).wrap_socket(raw, server_hostname=host)
        conn.request("GET", path, headers=hdrs)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()
