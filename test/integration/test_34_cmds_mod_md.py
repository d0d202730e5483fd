"""Issue 15, item 5: MDNotifyCmd and MDMessageCmd get the same arguments and
environment from mod_acme as from Debian's real mod_md (mod_md.so 2.6,
loaded instead of mod_acme), for the same configuration and pebble. A
recording program writes, per call, its argv, environment, working
directory, user and whether stdin is open; the calls of both modules are
compared event by event: a domain renewed (renewing, renewed and its
MDNotifyCmd), one the CA refuses (errored), the activation at a graceful
restart (installed)."""
import json
import time

from test_30_renew import renew_conf
from test_33_renew_cmds import install_recorder

RECORDER = """#!/usr/bin/python3
# test aid: records how it was called, one JSON line per call
import json, os, sys
try:
    os.fstat(0)
    stdin = "open"
except OSError:
    stdin = "closed"
with open({record!r}, "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd(),
                        "uid": os.getuid(), "stdin": stdin}}) + "\\n")
"""

DOMAINS = [["ok.test"], ["blocked.test"]]


# The harness's, for an httpd with mod_acme in the sanitizer pass only
# (harness/sanitizer.py): not what either module sets.
SANITIZER_ENV = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LD_PRELOAD"}


def make_recorder(test_dir, name, user):
    return install_recorder(test_dir, name, user, RECORDER, "py")


def calls(record):
    try:
        with open(record) as f:
            return [json.loads(l) for l in f]
    except FileNotFoundError:
        return []


def wait_calls(record, want, timeout=60):
    """Waits until every argv of `want` (lists) was recorded."""
    deadline = time.monotonic() + timeout
    while True:
        seen = [c["argv"] for c in calls(record)]
        if all(w in seen for w in want):
            return calls(record)
        assert time.monotonic() < deadline, f"calls {seen}, waiting for {want}"
        time.sleep(0.2)


def run_module(httpd, acme, ca, test_dir, module):
    msg, msg_rec = make_recorder(test_dir, f"{module}-message", httpd.user)
    notify, notify_rec = make_recorder(test_dir, f"{module}-notify", httpd.user)
    extra = (f'MDMessageCmd {msg} "first arg" second\nMDNotifyCmd {notify} --flag\n'
             "MDCAChallenges http-01\n")
    if module == "md":
        httpd.load_acme = False
        httpd.extra_modules = ["md"]
        extra += f"MDStoreDir {httpd.root}/md\n"
    httpd.write_conf(renew_conf(httpd, acme, ca, DOMAINS, extra=extra))
    httpd.start()
    wait_calls(msg_rec, [["first arg", "second", "renewed", "ok.test"],
                         ["first arg", "second", "errored", "blocked.test"]])
    wait_calls(notify_rec, [["--flag", "ok.test"]])
    httpd.graceful()
    wait_calls(msg_rec, [["first arg", "second", "installed", "ok.test"]])
    time.sleep(1)
    httpd.stop()
    return calls(msg_rec), calls(notify_rec)


def by_event(recorded):
    """{argv as a tuple: the first call with it}."""
    out = {}
    for c in recorded:
        out.setdefault(tuple(c["argv"]), c)
    return out


def test_cmds_like_mod_md(make_httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble(config_overrides={"domainBlocklist": ["blocked.test"]})
    md_msg, md_notify = run_module(make_httpd(name="mod_md"), acme, ca, test_dir, "md")
    our_msg, our_notify = run_module(make_httpd(name="mod_acme"), acme, ca, test_dir, "acme")

    problems = []
    for what, ref, ours in (("MDMessageCmd", md_msg, our_msg),
                            ("MDNotifyCmd", md_notify, our_notify)):
        ref_ev, our_ev = by_event(ref), by_event(ours)
        for argv, rc in ref_ev.items():
            if argv not in our_ev:
                problems.append(f"{what} {list(argv)}: mod_md runs it, mod_acme does not")
                continue
            oc = our_ev[argv]
            # mod_md starts them with stdin closed, mod_acme on /dev/null
            # (docs/migrating-from-mod_md.md): what reads it gets an end of
            # file instead of EBADF, and the first file the program opens
            # does not become its stdin
            if oc["stdin"] != "open":
                problems.append(f"{what} {list(argv)}: stdin {oc['stdin']}")
            for key in ("cwd", "uid"):
                if rc[key] != oc[key]:
                    problems.append(f"{what} {list(argv)} {key}: mod_md {rc[key]!r}, "
                                    f"mod_acme {oc[key]!r}")
            # the environment: the same variables (values of the run's own
            # paths differ between the two servers), but for what the
            # sanitizer pass gives the httpd that loads mod_acme
            ref_env = set(rc["env"]) - SANITIZER_ENV
            our_env = set(oc["env"]) - SANITIZER_ENV
            if ref_env != our_env:
                problems.append(f"{what} {list(argv)} environment: only mod_md "
                                f"{sorted(ref_env - our_env)}, only mod_acme "
                                f"{sorted(our_env - ref_env)}")
            for key in ref_env & our_env:
                if key not in ("PWD",) and rc["env"][key] != oc["env"][key] \
                        and "mod_md" not in rc["env"][key]:
                    problems.append(f"{what} {list(argv)} ${key}: mod_md {rc['env'][key]!r}, "
                                    f"mod_acme {oc['env'][key]!r}")
        for argv in our_ev:
            if argv not in ref_ev:
                problems.append(f"{what} {list(argv)}: mod_acme runs it, mod_md does not")
    assert not problems, "\n  ".join(["differences:"] + problems)
