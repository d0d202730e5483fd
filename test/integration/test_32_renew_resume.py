"""A renewal survives SIGKILL of the whole server in the middle: after the
next start the job resumes at its saved step with its order (at most one
extra order, for a kill between the CA creating an order and the job saving
it) and completes.

pebble sleeps up to 15 s before it validates a challenge here (its default,
PEBBLE_VA_NOSLEEP off), so the job is waiting for the CA when the server is
killed right after it answered the challenge."""
import re

from harness.proc import kill_group
from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged

ANSWERING = r"ACME0921 acme\[md={md}\]: answering http-01 for {md}"
ORDER_CREATED = r"ACME0920 acme\[md={md} order="


def kill_all(httpd):
    """SIGKILL to the parent and every child at once (one process group)."""
    pid = httpd.pid
    assert pid and httpd.worker_pids()
    kill_group(pid)
    httpd.pid = None


def kill_while_waiting(httpd, md):
    """Starts httpd and kills it once the job answered its challenge. False
    when the job finished before the kill landed (pebble happened to validate
    at once): the caller tries another domain."""
    httpd.start()
    httpd.wait_for_log(ANSWERING.format(md=re.escape(md)), timeout=30)
    kill_all(httpd)
    return "ACME1481 " + md not in httpd.error_log()


def test_sigkill_during_renewal_resumes(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble(env={"PEBBLE_VA_NOSLEEP": "0"})
    for attempt in range(3):
        md = f"resume{attempt}.test"
        httpd.write_conf(renew_conf(httpd, acme, ca, [[md]],
                                    md_extra="MDCAChallenges http-01"))
        if kill_while_waiting(httpd, md):
            break
        httpd.stop()
    else:
        raise AssertionError("the job finished before every kill")
    mark = httpd.log_mark()
    httpd.start()
    m = httpd.wait_for_log(rf"ACME1432 {re.escape(md)}: resuming the renewal job at step "
                           rf"(\S+) \(order (\S+)\)", timeout=20, since=mark)
    assert m.group(1) in ("authz", "poll-authz"), m.group(0)
    wait_staged(httpd, md, timeout=90, since=mark)
    log = httpd.error_log()
    before = re.findall(ORDER_CREATED.format(md=re.escape(md)) + r"(\S+)\]", log[:mark])
    after = re.findall(ORDER_CREATED.format(md=re.escape(md)) + r"(\S+)\]", log[mark:])
    # the job went on with the order it had saved before the kill
    assert before == [m.group(2)], (before, m.group(0))
    # a new order only if the CA gave up on that one (it validated while
    # the server was down): at most one extra
    assert len(after) <= 1, after
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, md, pebble_root(acme, test_dir)))
