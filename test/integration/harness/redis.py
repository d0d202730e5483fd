"""A real redis-server for the cluster's tests (MDSharedStore): started by
the test on the suite's redis port of 127.0.0.1, in the test's directory, with no
persistence unless asked (persist=True: an append-only file fsynced at every
write, so a stop and start() on the same directory keeps every key, the
fencing counters included); `cli()` talks to it with redis-cli."""
import os
import shutil
import subprocess

from .ports import ensure_free, wait_listening
from .proc import Process


class RedisError(RuntimeError):
    """redis-server did not start or redis-cli failed."""


def _binary(name):
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not os.path.exists(path):
        raise RedisError(f"{name} not found: scripts/install-deps.sh installs redis-server")
    return path


class RedisServer:
    def __init__(self, port, directory, password=None, tls=None, persist=False):
        """tls: (cert_path, key_path, ca_path): the port speaks TLS only."""
        self.port, self.directory, self.password, self.tls = port, directory, password, tls
        self.persist = persist
        self.proc = None

    def url(self, password=None, host="127.0.0.1"):
        """redis[s]://[:password@]host:port/0 (password: this server's unless given)."""
        pw = self.password if password is None else password
        auth = f":{pw}@" if pw else ""
        return f"{'rediss' if self.tls else 'redis'}://{auth}{host}:{self.port}/0"

    def start(self, timeout=10):
        ensure_free("redis-server", self.port)
        os.makedirs(self.directory, exist_ok=True)
        argv = [_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "yes" if self.persist else "no",
                "--appendfsync", "always", "--dir", self.directory, "--daemonize", "no"]
        if self.password:
            argv += ["--requirepass", self.password]
        if self.tls:
            argv[argv.index("--port") + 1] = "0"
            argv += ["--tls-port", str(self.port), "--tls-cert-file", self.tls[0],
                     "--tls-key-file", self.tls[1], "--tls-auth-clients", "no"]
        self.proc = Process("redis-server", argv,
                            os.path.join(self.directory, "redis.log")).start()
        if not wait_listening(self.port, timeout, alive=self.proc.alive):
            log = self.proc.log()
            self.stop()
            raise RedisError(f"redis-server did not come up in {timeout}s:\n{log}")
        return self

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def stop(self):
        if self.proc:
            self.proc.stop()

    def cli(self, *args):
        """A redis-cli command's output (raw), raising on failure."""
        argv = [_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(self.port), "--raw"]
        if self.tls:
            argv += ["--tls", "--cacert", self.tls[2]]
        env = dict(os.environ)
        if self.password:
            env["REDISCLI_AUTH"] = self.password
        res = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=10,
                             env=env)
        if res.returncode != 0 or res.stdout.startswith("ERR"):
            raise RedisError(f"redis-cli {' '.join(args)}: {res.stdout}{res.stderr}")
        return res.stdout

    def keys(self, pattern="*"):
        return sorted(k for k in self.cli("--scan", "--pattern", pattern).splitlines() if k)
