"""MDNotifyCmd and MDMessageCmd during real renewals: argv without a shell,
the event words appended, output in the error log, run as httpd's User; the
"renewing" message can veto a renewal; a hanging program is killed."""
import os
import pwd
import re
import signal
import stat
import time

from test_30_renew import renew_conf, wait_staged

SCRIPT = """#!/bin/sh
# test aid: records its arguments and who ran it, says something, exits as told
echo "$(id -un) $*" >> "{record}"
echo "hello from the hook: $*"
echo "to stderr" >&2
case "$*" in
  *{fail_on}*) exit 3 ;;
esac
exit 0
"""


def install_recorder(test_dir, name, user, template, ext, **fields):
    """An executable script from template (formatted with record= and
    fields) and the file it records into (writable by the User)."""
    rec_dir = os.path.join(test_dir, f"{name}-out")
    os.makedirs(rec_dir, exist_ok=True)
    if user:
        pw = pwd.getpwnam(user[0])
        os.chown(rec_dir, pw.pw_uid, pw.pw_gid)
    record = os.path.join(rec_dir, "calls")
    path = os.path.join(test_dir, f"{name}.{ext}")
    with open(path, "w") as f:
        f.write(template.format(record=record, **fields))
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return path, record


def make_hook(test_dir, name, user, fail_on="NEVER"):
    """A hook script and the file it records into (writable by the User)."""
    return install_recorder(test_dir, name, user, SCRIPT, "sh", fail_on=fail_on)


def calls(record):
    try:
        with open(record) as f:
            return [l.rstrip("\n") for l in f]
    except FileNotFoundError:
        return []


def test_notify_and_message_on_renewal(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    msg, msg_rec = make_hook(test_dir, "message", httpd.user)
    notify, notify_rec = make_hook(test_dir, "notify", httpd.user)
    httpd.write_conf(renew_conf(httpd, acme, ca, [["n.test"]],
                                extra=f'MDMessageCmd {msg} "first arg"\n'
                                      f"MDNotifyCmd {notify} --flag"))
    httpd.start()
    wait_staged(httpd, "n.test")
    user = httpd.user[0] if httpd.user else pwd.getpwuid(os.geteuid()).pw_name
    deadline = time.monotonic() + 10
    while ((len(calls(msg_rec)) < 3 or not calls(notify_rec))
           and time.monotonic() < deadline):
        time.sleep(0.1)
    assert calls(msg_rec) == [f"{user} first arg renewing n.test",
                              f"{user} first arg challenge-setup:http-01:n.test n.test",
                              f"{user} first arg renewed n.test"]
    assert calls(notify_rec) == [f"{user} --flag n.test"]
    # a hook's output is logged once the module has read it, which may come
    # after the hook recorded its call
    httpd.wait_for_log(r"ACME1403 MDMessageCmd renewed n\.test: hello from the hook: first "
                       r"arg renewed n\.test", timeout=10)
    httpd.wait_for_log(r"ACME1403 MDNotifyCmd n\.test: to stderr", timeout=10)
    log = httpd.error_log()
    # notification happens once per staged set, also when the watchdog's
    # child dies and another child takes over (same generation, still staged)
    httpd.wait_for_log(r"ACME1402 MDMessageCmd renewed n\.test: done", timeout=10)
    pid = int(re.search(r"ACME1430 renewal watchdog running in pid (\d+)", log).group(1))
    mark = httpd.log_mark()
    os.kill(pid, signal.SIGKILL)
    httpd.wait_for_log(r"ACME1448 n\.test: a renewed certificate waits in staging", timeout=30,
                       since=mark)
    httpd.wait_for_log(r"ACME1482 n\.test: new certificate still staged", timeout=10, since=mark)
    assert "MDMessageCmd renewing" not in httpd.error_log()[mark:], "a finished job is not renewing"
    assert len(calls(notify_rec)) == 1
    assert "ACME1481" not in httpd.error_log()[mark:]


def test_renewing_message_vetoes(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    msg, msg_rec = make_hook(test_dir, "message", httpd.user, fail_on="renewing")
    httpd.write_conf(renew_conf(httpd, acme, ca, [["v.test"]], extra=f"MDMessageCmd {msg}"))
    httpd.start()
    httpd.wait_for_log(r"ACME1489 v\.test: MDMessageCmd renewing vetoed the renewal", timeout=20)
    assert "ACME1405 MDMessageCmd renewing v.test: exit code 3" in httpd.error_log()
    time.sleep(2)
    log = httpd.error_log()
    assert "ACME0901" not in log and "ACME0920" not in log     # no job, no order
    assert [c.split(" ", 1)[1] for c in calls(msg_rec)] == ["renewing v.test"]


def test_challenge_setup_message_fails_the_attempt(httpd, pebble, ca, challtestsrv, test_dir):
    """As mod_md: MDMessageCmd challenge-setup:<type>:<domain> runs once the
    answer is in place and before the CA is asked; a failure leaves the
    challenge unanswered and the attempt errored (a cluster could not copy
    the answer to its other nodes)."""
    acme = pebble()
    msg, msg_rec = make_hook(test_dir, "message", httpd.user, fail_on="challenge-setup")
    httpd.write_conf(renew_conf(httpd, acme, ca, [["cs.test"]], extra=f"MDMessageCmd {msg}"))
    httpd.start()
    deadline = time.monotonic() + 30
    while "errored cs.test" not in [c.split(" ", 1)[1] for c in calls(msg_rec)]:
        assert time.monotonic() < deadline, calls(msg_rec)
        time.sleep(0.2)
    assert [c.split(" ", 1)[1] for c in calls(msg_rec)][:3] == [
        "renewing cs.test", "challenge-setup:http-01:cs.test cs.test", "errored cs.test"]
    log = httpd.error_log()
    assert "ACME1405 MDMessageCmd challenge-setup:http-01:cs.test cs.test: exit code 3" in log
    assert "ACME0921" not in log                 # the CA was not asked to validate


def test_errored_message(httpd, pebble, ca, challtestsrv, test_dir):
    msg, msg_rec = make_hook(test_dir, "message", httpd.user)
    httpd.write_conf("MDCertificateAuthority https://127.0.0.1:1/dir\n"
                     f"MDMessageCmd {msg}\nMDomain err.test\n"
                     f"<VirtualHost *:{httpd.ports.https}>\n  ServerName err.test\n"
                     "  SSLEngine on\n</VirtualHost>\n")
    httpd.start()
    m = httpd.wait_for_log(r"ACME1483 err\.test: .*", timeout=30)
    assert "127.0.0.1:1" in m.group(0)
    deadline = time.monotonic() + 10
    while len(calls(msg_rec)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [c.split(" ", 1)[1] for c in calls(msg_rec)] == ["renewing err.test",
                                                             "errored err.test"]


def test_program_not_found_is_logged_and_vetoes(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble()
    httpd.write_conf(renew_conf(httpd, acme, ca, [["nf.test"]],
                                extra="MDMessageCmd no-such-program-for-mod-acme"))
    httpd.start()
    httpd.wait_for_log(r"ACME1489 nf\.test", timeout=20)
    log = httpd.error_log()
    # the reason is the exec's (ENOENT, or EACCES when a PATH entry is closed to the User)
    assert re.search(r"\(\d+\)[^:]+: ACME1400 MDMessageCmd renewing nf\.test: "
                     r"cannot run no-such-program-for-mod-acme", log), log


def _alive(pid):
    """True while pid runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(l.startswith("State:") and "Z" in l.split()[1] for l in f)
    except FileNotFoundError:
        return False


def test_hanging_command_is_killed(httpd, pebble, ca, challtestsrv, test_dir):
    """The timeout is 30 s: a "renewing" message that hangs is killed then
    and counts as a veto; its process is gone, and so is what it started."""
    acme = pebble()
    path = os.path.join(test_dir, "hang.sh")
    pid_dir = os.path.join(test_dir, "hang-out")
    os.makedirs(pid_dir, exist_ok=True)
    if httpd.user:
        pw = pwd.getpwnam(httpd.user[0])
        os.chown(pid_dir, pw.pw_uid, pw.pw_gid)
    pid_file = os.path.join(pid_dir, "pid")
    with open(path, "w") as f:
        # the pid file names this test's own sleeper: a pattern search for
        # "sleep" would also see a parallel run's (the sanitizer pass)
        # the background sleeper is what it starts and leaves: it must end too
        f.write(f"#!/bin/sh\nsleep 301 >/dev/null 2>&1 &\necho $! > {pid_file}.bg\n"
                f"echo $$ > {pid_file}\necho going to sleep\nexec sleep 300\n")
    os.chmod(path, 0o755)
    httpd.write_conf(renew_conf(httpd, acme, ca, [["h.test"]], extra=f"MDMessageCmd {path}"))
    httpd.start()
    started = time.monotonic()
    httpd.wait_for_log(r"ACME1403 MDMessageCmd renewing h\.test: going to sleep", timeout=20)
    httpd.wait_for_log(r"ACME1406 MDMessageCmd renewing h\.test: did not end in time, killed",
                       timeout=45)
    assert time.monotonic() - started >= 25
    httpd.wait_for_log(r"ACME1489 h\.test", timeout=5)
    with open(pid_file) as f:
        sleeper = int(f.read().strip())
    assert not _alive(sleeper), f"the hanging command (pid {sleeper}) still runs"
    with open(pid_file + ".bg") as f:
        started_by_it = int(f.read().strip())
    deadline = time.monotonic() + 5
    while _alive(started_by_it) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(started_by_it), f"what the command started (pid {started_by_it}) still runs"


def test_installed_message_after_activation(httpd, pebble, ca, challtestsrv, test_dir):
    # "installed" comes from the parent (root, like mod_md) once the staged
    # set went live at the graceful restart, and only then
    acme = pebble()
    msg, msg_rec = make_hook(test_dir, "message", httpd.user)
    httpd.write_conf(renew_conf(httpd, acme, ca, [["i.test"]], extra=f"MDMessageCmd {msg}"))
    httpd.start()
    wait_staged(httpd, "i.test")
    assert not [c for c in calls(msg_rec) if "installed" in c]
    httpd.graceful()
    httpd.wait_for_log(r"ACME1214 activated new certificate for i\.test", timeout=30)
    deadline = time.monotonic() + 10
    while not [c for c in calls(msg_rec) if "installed" in c] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [c for c in calls(msg_rec) if "installed" in c] == ["root installed i.test"]
