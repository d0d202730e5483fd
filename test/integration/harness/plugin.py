"""pytest fixtures of the integration suite (loaded by conftest.py, or with
`-p harness.plugin` by a suite elsewhere).

Fixtures:
  acme_config   TestConfig from $ACME_TEST_CONFIG (session)
  ports         the suite's Ports (session)
  gen_root      where runtime files go (session; see _prepare_gen_root)
  test_dir      a fresh directory for the current test under gen_root
  ca            the throwaway CA (session)
  challtestsrv  the DNS server; TXT records a test sets are cleared after it
  pebble        factory: pebble(eab=False, env={}, config_overrides={}, fresh=False)
  make_httpd    factory: make_httpd(mpm="event") -> Httpd, stopped after the test
  httpd         one Httpd (mpm by indirect parametrization, default event)
Every process is stopped by pid in fixture finalizers, also when the test
fails; pytest_sessionfinish stops anything left as a safety net.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from . import proc
from .ca import CA
from .challtestsrv import ChallTestSrv, ChallTestSrvHandle
from .config import ConfigError, TestConfig
from .httpd import Httpd, test_user
from .pebble import PebbleManager
from .ports import Ports

_httpds_key = pytest.StashKey[list]()
_all_httpds = []


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    # A CI timeout sends SIGTERM: turn it into what Ctrl-C does, so that the
    # finalizers still stop every process (they run in their own sessions
    # and do not get the terminal's signals themselves).
    signal.signal(signal.SIGTERM, _terminate)


def pytest_report_header(config):
    try:
        cfg = TestConfig.load()
    except ConfigError as e:
        return [f"mod_acme: {e}"]
    p = Ports.from_env()
    return [f"mod_acme: module {cfg.module}",
            f"mod_acme: httpd {cfg.httpd}, sanitizers {'on' if cfg.sanitizers else 'off'}",
            f"mod_acme: runtime files in {cfg.gen_root}",
            f"mod_acme: ports acme {p.acme} mgmt {p.pebble_mgmt} dns {p.dns}/{p.dns_mgmt} "
            f"https {p.https} http {p.http}"]


@pytest.fixture(scope="session")
def acme_config():
    try:
        cfg = TestConfig.load()
        cfg.require("module", "httpd")
    except ConfigError as e:
        pytest.exit(str(e), returncode=3)
    return cfg


@pytest.fixture(scope="session")
def ports():
    return Ports.from_env()


def _user_can_enter(path, user):
    """True if user can reach path (search permission on every ancestor)."""
    if os.geteuid() != 0 or user is None:
        return True
    return subprocess.run(["test", "-x", path], user=user[0], group=user[1]).returncode == 0


def _prepare_gen_root(path):
    """httpd's children (the unprivileged user) must reach the ServerRoot
    (challenge files, sanitizer reports). A build dir inside a private
    directory (mktemp -d, /root) cannot be reached: then the runtime files
    go to a fresh directory under /tmp and path becomes a symlink to it.
    Returns the real path (the one httpd's children use)."""
    user = test_user() if os.geteuid() == 0 else None
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.islink(path):
        target = os.path.realpath(path)
        os.unlink(path)
        if re.match(r"^/tmp/mod_acme-gen-\w+$", target):
            shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(path, ignore_errors=True)     # the previous session's files
    os.makedirs(path, mode=0o755)
    real = os.path.realpath(path)
    if _user_can_enter(real, user):
        return real
    shutil.rmtree(path)
    target = tempfile.mkdtemp(prefix="mod_acme-gen-", dir="/tmp")
    os.chmod(target, 0o755)
    os.symlink(target, path)
    return target


@pytest.fixture(scope="session")
def gen_root(acme_config):
    return _prepare_gen_root(acme_config.gen_root)


@pytest.fixture(scope="session")
def session_dir(gen_root):
    path = os.path.join(gen_root, "_session")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o755)
    return path


def _test_dir_name(nodeid):
    name = nodeid.replace(".py::", ".").replace("::", ".")
    return re.sub(r"[^\w.-]+", "-", name).strip("-")[:150]


@pytest.fixture
def test_dir(request, gen_root):
    path = os.path.join(gen_root, _test_dir_name(request.node.nodeid))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o755)
    return path


@pytest.fixture(scope="session")
def ca(acme_config, session_dir):
    return CA(os.path.join(session_dir, "ca"), openssl=acme_config.openssl).create()


@pytest.fixture(scope="session")
def _challtestsrv_server(acme_config, ports, session_dir):
    try:
        acme_config.require("pebble_challtestsrv")
    except ConfigError as e:
        pytest.fail(str(e))
    server = ChallTestSrv(acme_config, ports, os.path.join(session_dir, "challtestsrv"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def challtestsrv(_challtestsrv_server):
    handle = ChallTestSrvHandle(_challtestsrv_server)
    yield handle
    handle.cleanup()


@pytest.fixture(scope="session")
def _pebble_manager(acme_config, ports, ca, session_dir, _challtestsrv_server):
    try:
        acme_config.require("pebble")
    except ConfigError as e:
        pytest.fail(str(e))
    manager = PebbleManager(acme_config, ports, ca, session_dir)
    yield manager
    manager.stop()


@pytest.fixture
def pebble(_pebble_manager):
    """pebble(eab=False, env=None, config_overrides=None, fresh=False): a
    running pebble with those settings, shared with other tests asking for
    the same (fresh=True forces a new one)."""
    return _pebble_manager.get


@pytest.fixture
def make_httpd(request, acme_config, ports, test_dir):
    created = request.node.stash.setdefault(_httpds_key, [])

    def make(mpm="event", name=None):
        name = name or ("httpd" if not created else f"httpd-{len(created) + 1}")
        server = Httpd(acme_config, ports, os.path.join(test_dir, name), mpm=mpm)
        created.append(server)
        _all_httpds.append(server)
        return server

    yield make
    for server in created:
        server.stop()
    reports = [r for server in created for r in server.sanitizer_reports()]
    crashes = [(server.root, server.child_crashes()) for server in created]
    crashes = [(root, lines) for root, lines in crashes if lines]
    if reports or crashes:
        text = "\n\n".join(f"== {path}\n{body}" for path, body in reports)
        text += "".join(f"\n{root}:\n" + "\n".join(lines) for root, lines in crashes)
        pytest.fail(f"httpd crashed (sanitizer reports, children ended by a signal):\n{text}",
                    pytrace=False)


@pytest.fixture
def httpd(request, make_httpd):
    """An Httpd (not yet configured or started); parametrize indirectly with
    "prefork"/"worker" for another MPM."""
    return make_httpd(mpm=getattr(request, "param", "event"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in item.stash.get(_httpds_key, []):
            tail = "\n".join(server.error_log().splitlines()[-60:])
            report.sections.append((f"httpd error_log {server.root}", tail or "(empty)"))


def pytest_sessionfinish(session, exitstatus):
    for server in _all_httpds:
        server.stop()
    proc.stop_all()
