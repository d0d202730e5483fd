"""Pebble, the ACME test server: configuration, start/stop, directory and roots.

Its HTTPS listener uses a certificate from the suite's throwaway CA; the
roots it issues under come from its management API (/roots/0). Pebble's
fault knobs are environment variables (PEBBLE_WFE_NONCEREJECT,
PEBBLE_AUTHZREUSE, ...): pass them in env. PEBBLE_* variables of the calling
shell are not inherited, so a run does not depend on who started it.
"""
import json
import os
import ssl
import time
import urllib.error
import urllib.request

from .ports import ensure_free
from .proc import Process

# A known EAB key pair: kid -> base64url HMAC key (what a CA hands out).
EAB_KID = "kid-test-1"
EAB_HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
EAB_KEYS = {
    EAB_KID: EAB_HMAC,
    "kid-test-2": "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH",
}


class PebbleError(RuntimeError):
    """Pebble did not start or did not answer as expected."""


class Pebble:
    def __init__(self, cfg, ports, ca, directory, eab=False, env=None, config_overrides=None):
        self.cfg = cfg
        self.ports = ports
        self.ca = ca
        self.directory = directory
        self.eab = eab
        self.env = dict(env or {})
        self.config_overrides = dict(config_overrides or {})
        self.eab_kid = EAB_KID if eab else None
        self.eab_hmac = EAB_HMAC if eab else None
        self.proc = None
        self.config_path = os.path.join(directory, "pebble-config.json")

    @property
    def settings(self):
        """What makes two instances interchangeable (for reuse across tests)."""
        return (self.eab, json.dumps(self.env, sort_keys=True),
                json.dumps(self.config_overrides, sort_keys=True))

    @property
    def url(self):
        """The ACME directory URL a client is configured with."""
        return f"https://127.0.0.1:{self.ports.acme}/dir"

    @property
    def mgmt_url(self):
        return f"https://127.0.0.1:{self.ports.pebble_mgmt}"

    def config(self, cert, key):
        """Pebble's configuration, its listener using cert/key."""
        conf = {
            "listenAddress": f"127.0.0.1:{self.ports.acme}",
            "managementListenAddress": f"127.0.0.1:{self.ports.pebble_mgmt}",
            "certificate": cert,
            "privateKey": key,
            "httpPort": self.ports.http,
            "tlsPort": self.ports.https,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": self.eab,
        }
        if self.eab:
            conf["externalAccountMACKeys"] = dict(EAB_KEYS)
        conf.update(self.config_overrides)
        return {"pebble": conf}

    def start(self, timeout=20):
        ensure_free("pebble (ACME)", self.ports.acme)
        ensure_free("pebble (management)", self.ports.pebble_mgmt)
        os.makedirs(self.directory, exist_ok=True)
        cert, key = self.ca.issue("pebble-localhost", ["DNS:localhost", "IP:127.0.0.1"])
        with open(self.config_path, "w") as f:
            json.dump(self.config(cert, key), f, indent=2)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
        env["PEBBLE_VA_NOSLEEP"] = "1"
        env.update({k: str(v) for k, v in self.env.items()})
        argv = [self.cfg.pebble, "-config", self.config_path,
                "-dnsserver", f"127.0.0.1:{self.ports.dns}"]
        self.proc = Process("pebble", argv, os.path.join(self.directory, "pebble.log"),
                            env=env, cwd=self.directory).start()
        try:
            self._wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise PebbleError(f"pebble exited at start:\n{self.proc.log()}")
            try:
                self.directory_json()
                return
            except (OSError, urllib.error.URLError, ValueError) as e:
                last = e
                time.sleep(0.1)
        raise PebbleError(f"pebble did not answer {self.url} in {timeout}s ({last}):\n"
                          f"{self.proc.log()}")

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def stop(self):
        if self.proc:
            self.proc.stop()

    def ssl_context(self):
        """A client context that trusts pebble's listener (the throwaway CA)."""
        return ssl.create_default_context(cafile=self.ca.cert_path)

    def _get(self, url, timeout=5):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=self.ssl_context()))
        with opener.open(url, timeout=timeout) as resp:
            return resp.read()

    def directory_json(self):
        """The ACME directory document (dict)."""
        return json.loads(self._get(self.url))

    def roots_pem(self, index=0):
        """PEM of the root pebble issues under (a new one on every start)."""
        return self._get(f"{self.mgmt_url}/roots/{index}").decode()

    def intermediates_pem(self, index=0):
        return self._get(f"{self.mgmt_url}/intermediates/{index}").decode()

    def cert_status(self, serial_hex):
        """Pebble's view of a certificate (status, revocation reason) by serial."""
        return json.loads(self._get(f"{self.mgmt_url}/cert-status-by-serial/{serial_hex}"))

    def log(self):
        return self.proc.log() if self.proc else ""


class PebbleManager:
    """Keeps at most one pebble running (its ports are fixed) and reuses it
    for tests that ask for the same settings."""

    def __init__(self, cfg, ports, ca, root):
        self.cfg, self.ports, self.ca, self.root = cfg, ports, ca, root
        self.current = None
        self.started = 0

    def get(self, eab=False, env=None, config_overrides=None, fresh=False):
        wanted = Pebble(self.cfg, self.ports, self.ca, "", eab, env, config_overrides)
        cur = self.current
        if cur and not fresh and cur.alive() and cur.settings == wanted.settings:
            return cur
        self.stop()
        self.started += 1
        inst = Pebble(self.cfg, self.ports, self.ca,
                      os.path.join(self.root, f"pebble-{self.started}"),
                      eab, env, config_overrides)
        self.current = inst.start()
        return inst

    def stop(self):
        if self.current:
            self.current.stop()
            self.current = None
