"""The harness stops everything it started when a test fails, and fails a
test after which a sanitizer report appeared: a nested pytest run of
deliberately failing tests leaves no process and no busy port behind. It
runs on ports shifted by an offset, next to this session."""
import json
import os
import subprocess
import sys
import textwrap

from harness.ports import Ports, holders
from harness.proc import pid_alive

OFFSET = 100

FAILING_TESTS = textwrap.dedent('''
    import json, os

    def _record(**pids):
        with open(os.environ["HARNESS_PIDS"], "a") as f:
            f.write(json.dumps(pids) + "\\n")

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
''')


def _nested_ports():
    return Ports(**{k: v + OFFSET for k, v in Ports.from_env().__dict__.items()})


def test_failing_tests_leave_nothing_running(tmp_path, test_dir):
    tests = tmp_path / "test_nested_failure.py"
    tests.write_text(FAILING_TESTS)
    pid_file = tmp_path / "pids.jsonl"
    here = os.path.dirname(os.path.abspath(__file__))
    offset = _nested_ports().acme - Ports().acme
    env = dict(os.environ, ACME_TEST_PORT_OFFSET=str(offset), HARNESS_PIDS=str(pid_file),
               ACME_TEST_GEN_DIR=os.path.join(test_dir, "nested-gen"), PYTHONPATH=here,
               PYTHONDONTWRITEBYTECODE="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "harness.plugin",
                          "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path),
                          str(tests)], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), stdin=subprocess.DEVNULL, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "2 failed, 1 passed, 1 error" in out, out
    assert "deliberate failure" in out and "MDRenewMode" in out, out
    assert "ERROR at teardown of test_passes_but_leaves_a_sanitizer_report" in out, out
    assert "planted report" in out, out

    records = [json.loads(line) for line in pid_file.read_text().splitlines()]
    assert len(records) == 3, out
    pids = [pid for r in records for v in r.values()
            for pid in (v if isinstance(v, list) else [v])]
    assert all(r["workers"] for r in records), "httpd had no children to check"
    assert [p for p in pids if pid_alive(p)] == []

    nested = _nested_ports()
    busy = {port: holders(port) for port in nested.__dict__.values() if holders(port)}
    assert busy == {} and holders(nested.dns, udp=True) == ""
