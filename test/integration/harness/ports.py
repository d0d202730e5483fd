"""The suite's ports and the check that they are free before anything starts.

All ports move together by $ACME_TEST_PORT_OFFSET (default 0), so a second
suite (e.g. the harness's own nested run) can run next to the first one.
"""
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass


# Each pytest-xdist worker runs its own pebble, challtestsrv and httpds on
# ports moved by this much more per worker (below the +100 of the nested
# harness run and the +200 of the sanitizer pass, for up to 5 workers).
XDIST_PORT_STEP = 20


def xdist_worker():
    """This process's pytest-xdist worker number (gw3 -> 3), 0 without xdist."""
    m = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    return int(m.group(1)) if m else 0


class PortBusyError(RuntimeError):
    """A port the suite needs is held by another process."""


@dataclass(frozen=True)
class Ports:
    acme: int = 14000          # pebble ACME (directory at /dir)
    pebble_mgmt: int = 15000   # pebble management (roots, intermediates)
    dns: int = 8053            # challtestsrv DNS (udp and tcp)
    dns_mgmt: int = 8055       # challtestsrv management
    https: int = 5001          # httpd https, pebble's tls-alpn-01 target
    http: int = 5002           # httpd http, pebble's http-01 target
    redis: int = 16379         # redis-server of the cluster tests (MDSharedStore)

    @classmethod
    def from_env(cls):
        offset = int(os.environ.get("ACME_TEST_PORT_OFFSET", "0")) + XDIST_PORT_STEP * xdist_worker()
        base = cls()
        return cls(**{k: v + offset for k, v in base.__dict__.items()})


def _local_address(line):
    """The local address of an `ss -H` line ("127.0.0.2", "0.0.0.0", "*", "[::]")."""
    fields = line.split()
    local = fields[3] if len(fields) > 3 else ""
    return local.rsplit(":", 1)[0]


def holders(port, udp=False, address=None):
    """Describes who listens on port ('' if nobody), from `ss -lnp`; with
    address, only listeners that keep a bind to address:port from working
    (on that address or on all of them)."""
    flags = "-Hlunp" if udp else "-Hltnp"
    try:
        out = subprocess.run(["ss", flags, f"sport = :{port}"], capture_output=True,
                             text=True, timeout=10).stdout
    except FileNotFoundError:
        return _probe_bind(port, udp, address or "127.0.0.1")
    lines = [line for line in out.splitlines() if line.strip()]
    if address:
        lines = [line for line in lines
                 if _local_address(line) in (address, "0.0.0.0", "*", "[::]")]
        out = "\n".join(lines)
    if not lines:
        return ""
    procs = re.findall(r'\("([^"]+)",pid=(\d+)', out)
    if procs:
        return ", ".join(sorted({f"{name} (pid {pid})" for name, pid in procs}))
    return "an unknown process (run as root to see it): " + "; ".join(lines)


def _probe_bind(port, udp, address="127.0.0.1"):
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as e:
            return f"an unknown process ({e}; install iproute2 for `ss` to name it)"
    return ""


def ensure_free(what, port, udp=False, wait=10.0, address=None):
    """Raises PortBusyError naming the holder if port (on address, when
    given) is in use. A socket listed without a process (a killed server of
    the previous test that is still exiting) is given up to wait seconds to
    go away."""
    deadline = time.monotonic() + wait
    holder = holders(port, udp, address)
    while holder.startswith("an unknown process") and time.monotonic() < deadline:
        time.sleep(0.2)
        holder = holders(port, udp, address)
    if holder:
        proto = "udp" if udp else "tcp"
        where = f"{address}:{port}" if address else f"port {port}"
        raise PortBusyError(f"{what} needs {proto} {where}, but it is held by {holder}; "
                            "stop that process (or set ACME_TEST_PORT_OFFSET) and retry")


def wait_listening(port, timeout=10.0, alive=None, host="127.0.0.1"):
    """Waits until a TCP connect to port succeeds.

    alive: optional callable; when it returns False the wait ends early
    (the process we wait for has died). Returns True when connected.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False
