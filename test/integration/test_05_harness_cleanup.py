"""The harness stops everything it started when a test fails or the run is
killed, fails a test after which a sanitizer report appeared, and refuses
to start on a busy port, naming who holds it. The failing runs are nested
pytest sessions on ports shifted by an offset, next to this session."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from harness.httpd import Httpd
from harness.ports import PortBusyError, Ports, ensure_free, holders
from harness.proc import pid_alive
from harness.sanitizer import symbolize

OFFSET = 100
HERE = os.path.dirname(os.path.abspath(__file__))

RECORD = '''
import json, os, time

def _record(**pids):
    with open(os.environ["HARNESS_PIDS"], "a") as f:
        f.write(json.dumps(pids) + "\\n")
'''

FAILING_TESTS = RECORD + textwrap.dedent('''
    def test_fails_with_everything_running(pebble, challtestsrv, httpd):
        p = pebble(eab=True)
        challtestsrv.set_txt("_acme-challenge.fail.test", "x")
        httpd.write_conf("ManagedDomain fail.test\\n")
        httpd.start()
        _record(pebble=p.proc.pid, challtestsrv=challtestsrv.proc.pid,
                httpd=httpd.pid, workers=httpd.worker_pids())
        assert False, "deliberate failure"

    def test_fails_in_the_middle_of_a_graceful(pebble, httpd):
        httpd.write_conf("")
        httpd.start()
        _record(httpd=httpd.pid, workers=httpd.worker_pids())
        httpd.write_conf("MDRenewMode sometimes\\n")
        httpd.graceful()        # raises: the new configuration is invalid

    def test_passes_but_leaves_a_sanitizer_report(httpd):
        httpd.write_conf("")
        httpd.start()
        _record(httpd=httpd.pid, workers=httpd.worker_pids())
        with open(os.path.join(httpd.sanitizer_dir, "asan.4242"), "w") as f:
            f.write("==4242==ERROR: AddressSanitizer: planted report\\n")

    def test_passes_but_a_child_dies_of_a_signal(httpd):
        httpd.write_conf("")
        httpd.start()
        workers = httpd.worker_pids()
        _record(httpd=httpd.pid, workers=workers)
        # SIGABRT: a sanitizer build's runtime leaves it alone (handle_abort=0)
        os.kill(workers[0], 6)
        httpd.wait_for_log(r"AH0005[12]", timeout=10)
''')

HANGING_TEST = RECORD + textwrap.dedent('''
    def test_hangs_until_killed(pebble, challtestsrv, httpd):
        p = pebble()
        httpd.write_conf("")
        httpd.start()
        _record(pebble=p.proc.pid, challtestsrv=challtestsrv.proc.pid,
                httpd=httpd.pid, workers=httpd.worker_pids())
        time.sleep(600)
''')


def _nested_ports():
    return Ports(**{k: v + OFFSET for k, v in Ports.from_env().__dict__.items()})


def _nested(tmp_path, test_dir, source):
    """Starts a nested pytest on source; returns (Popen, pid file)."""
    tests = tmp_path / "test_nested.py"
    tests.write_text(source)
    pid_file = tmp_path / "pids.jsonl"
    offset = _nested_ports().acme - Ports().acme
    env = dict(os.environ, ACME_TEST_PORT_OFFSET=str(offset), HARNESS_PIDS=str(pid_file),
               ACME_TEST_GEN_DIR=os.path.join(test_dir, "nested-gen"), PYTHONPATH=HERE,
               PYTHONDONTWRITEBYTECODE="1")
    # the offset above already holds this xdist worker's share of ports
    env.pop("PYTEST_XDIST_WORKER", None)
    run = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "harness.plugin",
                            "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path),
                            str(tests)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, env=env, cwd=str(tmp_path), stdin=subprocess.DEVNULL)
    return run, pid_file


def _assert_nothing_left(pid_file, expected_records):
    records = [json.loads(line) for line in pid_file.read_text().splitlines()]
    assert len(records) == expected_records
    assert all(r["workers"] for r in records), "httpd had no children to check"
    pids = [pid for r in records for v in r.values()
            for pid in (v if isinstance(v, list) else [v])]
    assert [p for p in pids if pid_alive(p)] == []
    nested = _nested_ports()
    busy = {port: holders(port) for port in nested.__dict__.values() if holders(port)}
    assert busy == {} and holders(nested.dns, udp=True) == ""


def test_failing_tests_leave_nothing_running(tmp_path, test_dir):
    run, pid_file = _nested(tmp_path, test_dir, FAILING_TESTS)
    out, _ = run.communicate(timeout=300)
    assert run.returncode == 1, out
    assert "2 failed, 2 passed, 2 errors" in out, out
    assert "deliberate failure" in out and "MDRenewMode" in out, out
    assert "ERROR at teardown of test_passes_but_leaves_a_sanitizer_report" in out, out
    assert "planted report" in out, out
    assert "ERROR at teardown of test_passes_but_a_child_dies_of_a_signal" in out, out
    assert "children ended by a signal" in out, out
    assert re.search(r"AH0005[12]: child pid \d+ exit signal Abort", out), out
    # the aborted child's core (CoreDumpDirectory) and its stacks are shown;
    # a sanitizer build's runtime turns cores off, and a core_pattern that
    # pipes them elsewhere leaves none: then the failure says so
    if re.search(r"AH00051: child pid \d+ exit signal Abort", out):
        assert re.search(r"== core \S+/logs/cores/core", out), out
        if shutil.which("gdb"):
            assert "Program terminated with signal SIGABRT" in out, out
            assert re.search(r"^E? *#0 ", out, re.M), out
    else:
        assert re.search(r"AH00052: child pid \d+ exit signal Abort", out), out
        assert "(no core in " in out, out
    _assert_nothing_left(pid_file, 4)


def test_sanitizer_frames_are_symbolized(acme_config):
    """Reports are written unsymbolized (fast, before httpd's parent kills a
    slow child); reading them names each frame's function and line."""
    nm = subprocess.run(["nm", acme_config.module], capture_output=True, text=True).stdout
    addr = re.search(r"^([0-9a-f]+) t acme_drive_child_stopping$", nm, re.M).group(1)
    text = (f"==7==ERROR: AddressSanitizer: attempting double-free\n"
            f"    #0 0x7f0000001000  ({acme_config.module}+0x{int(addr, 16):x})\n"
            f"    #1 0x7f0000002000  (/nonexistent.so+0x10)\n")
    out = symbolize(text)
    assert re.search(r"#0 0x7f0000001000 in acme_drive_child_stopping \S*mod_acme_watchdog\.c:\d+",
                     out), out
    assert "#1 0x7f0000002000  (/nonexistent.so+0x10)" in out, out


def test_killed_run_leaves_nothing_running(tmp_path, test_dir):
    # What a CI timeout does: SIGTERM to pytest in the middle of a test.
    run, pid_file = _nested(tmp_path, test_dir, HANGING_TEST)
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and run.poll() is None:
        assert time.monotonic() < deadline, "the nested test did not start its servers"
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    out, _ = run.communicate(timeout=120)
    assert run.returncode != 0, out
    _assert_nothing_left(pid_file, 1)


def test_busy_port_is_refused_naming_its_holder(acme_config, ports, test_dir):
    with socket.socket() as s:
        # Earlier tests leave TIME_WAIT connections on this port; they do not
        # make it busy for a listener, so neither may they fail this bind.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", ports.http))
        s.listen()
        with pytest.raises(PortBusyError) as err:
            ensure_free("httpd (http)", ports.http)
        assert f"pid {os.getpid()}" in str(err.value)
        assert f"tcp port {ports.http}" in str(err.value)
        # and nothing is started on top of it
        server = Httpd(acme_config, ports, os.path.join(test_dir, "httpd"))
        with pytest.raises(PortBusyError):
            server.start()
        assert server.pid is None and server.read_pid() is None


def test_busy_udp_port_is_refused(ports):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", _nested_ports().dns))
        with pytest.raises(PortBusyError) as err:
            ensure_free("DNS", _nested_ports().dns, udp=True)
        assert f"pid {os.getpid()}" in str(err.value) and "udp" in str(err.value)
