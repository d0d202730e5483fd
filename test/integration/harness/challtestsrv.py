"""pebble-challtestsrv as the suite's DNS server: every name resolves to
127.0.0.1 and dns-01 TXT records are set through its management API. Its own
challenge responders stay off (they would take httpd's ports)."""
import json
import os
import time
import urllib.request

from . import dns
from .ports import ensure_free, wait_listening
from .proc import Process


class ChallTestSrvError(RuntimeError):
    """challtestsrv did not start or refused a management request."""


def _fqdn(host):
    return host if host.endswith(".") else host + "."


class ChallTestSrv:
    def __init__(self, cfg, ports, directory):
        self.cfg, self.ports, self.directory = cfg, ports, directory
        self.proc = None

    @property
    def dns_server(self):
        """(host, port) for dns.query()."""
        return ("127.0.0.1", self.ports.dns)

    def start(self, timeout=10):
        ensure_free("challtestsrv (DNS)", self.ports.dns, udp=True)
        ensure_free("challtestsrv (DNS)", self.ports.dns)
        ensure_free("challtestsrv (management)", self.ports.dns_mgmt)
        os.makedirs(self.directory, exist_ok=True)
        argv = [self.cfg.pebble_challtestsrv,
                "-dns01", f"127.0.0.1:{self.ports.dns}",
                "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-management", f"127.0.0.1:{self.ports.dns_mgmt}"]
        self.proc = Process("challtestsrv", argv,
                            os.path.join(self.directory, "challtestsrv.log")).start()
        if not wait_listening(self.ports.dns_mgmt, timeout, alive=self.proc.alive) or \
                not self._dns_answers(timeout):
            log = self.proc.log()
            self.stop()
            raise ChallTestSrvError(f"challtestsrv did not come up in {timeout}s:\n{log}")
        return self

    def _dns_answers(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if dns.a("ready.test", self.dns_server, timeout=0.5):
                    return True
            except (OSError, dns.DNSError):
                time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def stop(self):
        if self.proc:
            self.proc.stop()

    def post(self, path, body):
        """POSTs a JSON body to the management API; raises unless 200."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.ports.dns_mgmt}{path}",
                                     data=json.dumps(body).encode(), method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=5) as resp:
                return resp.read()
        except OSError as e:
            raise ChallTestSrvError(f"challtestsrv {path} {body}: {e}") from e

    def set_txt(self, host, value):
        """Adds a TXT record (e.g. host "_acme-challenge.a.test")."""
        self.post("/set-txt", {"host": _fqdn(host), "value": value})

    def clear_txt(self, host):
        """Removes all TXT records of host."""
        self.post("/clear-txt", {"host": _fqdn(host)})

    def set_a(self, host, addresses):
        """host resolves to addresses (IPv4) instead of the default 127.0.0.1."""
        self.post("/add-a", {"host": _fqdn(host), "addresses": list(addresses)})

    def clear_a(self, host):
        self.post("/clear-a", {"host": _fqdn(host)})

    def txt(self, host):
        """What the DNS server answers now for TXT host."""
        return dns.txt(host, self.dns_server)

    def log(self):
        return self.proc.log() if self.proc else ""


class ChallTestSrvHandle:
    """A test's view of the shared server: TXT records it sets are cleared
    when the test ends, so the next test starts without them."""

    def __init__(self, server):
        self.server = server
        self._txt_hosts = set()
        self._a_hosts = set()

    def __getattr__(self, name):
        return getattr(self.server, name)

    def set_txt(self, host, value):
        self._txt_hosts.add(_fqdn(host))
        self.server.set_txt(host, value)

    def clear_txt(self, host):
        self._txt_hosts.discard(_fqdn(host))
        self.server.clear_txt(host)

    def set_a(self, host, addresses):
        self._a_hosts.add(_fqdn(host))
        self.server.set_a(host, addresses)

    def cleanup(self):
        for host in sorted(self._a_hosts):
            if self.server.alive():
                self.server.clear_a(host)
        self._a_hosts.clear()
        for host in sorted(self._txt_hosts):
            if self.server.alive():
                self.server.clear_txt(host)
        self._txt_hosts.clear()
