"""MDSharedStore, the link to the cluster's Redis (issue 18), with a real
redis-server: a server that starts while Redis is down starts and serves,
holds its renewals back and says why (log, md-status, server-status,
metrics); once Redis answers it announces itself there and the renewal
runs. A wrong password is an error that names MDSharedStore and never shows
the password, logged once however often the link retries."""
import base64
import os
import re
import time

import pytest

from harness.ca import CA
from harness.redis import RedisServer
from test_30_renew import renew_conf, wait_staged
from test_40_status import LOCATIONS, md_status, metrics, server_status

MD = "shared.test"


@pytest.fixture
def key_file(test_dir):
    path = os.path.join(test_dir, "md-shared.key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    return path


@pytest.fixture
def redis(ports, test_dir):
    made = []

    def make(password=None):
        server = RedisServer(ports.redis, os.path.join(test_dir, f"redis-{len(made)}"),
                             password=password)
        made.append(server)
        return server
    yield make
    for server in made:
        server.stop()


def shared_conf(httpd, acme, ca, url, key_file):
    return renew_conf(httpd, acme, ca, [[MD]],
                      extra=f"MDSharedStore {url}\nMDSharedStoreKeyFile {key_file}\n"
                            "MDCheckInterval 2s\n" + LOCATIONS)


def shared_status(httpd):
    return md_status(httpd).get("shared-store")


def wait_shared(httpd, state, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        st = shared_status(httpd)
        if st and st["state"] == state:
            return st
        assert time.monotonic() < deadline, f"shared store stays {st}"
        time.sleep(0.2)


def shared_up(httpd):
    """(state label, value) of the one acme_shared_store_up sample."""
    samples = metrics(httpd)["acme_shared_store_up"]["samples"]
    assert len(samples) == 1, samples
    _, labels, value = samples[0]
    return labels["state"], value


def job_file(httpd):
    return os.path.join(httpd.root, "md", "jobs", MD, "job.json")


def test_down_at_start_serves_waits_then_renews_when_redis_answers(httpd, pebble, ca, redis,
                                                                     key_file):
    server = redis()            # not started yet: nothing listens on its port
    acme = pebble()
    httpd.write_conf(shared_conf(httpd, acme, ca, server.url(), key_file))
    httpd.start()

    # serving does not wait for Redis: the fallback certificate is served
    assert httpd.served_certificate(MD).pem
    st = wait_shared(httpd, "down")
    assert st["url"] == server.url() and "next-try" in st and st["error"], st
    line = httpd.wait_for_log(r"ACME1801 MDSharedStore: redis://127\.0\.0\.1:%d/0: .*"
                              r"renewals wait" % server.port)
    assert line
    assert shared_up(httpd) == ("down", 0)
    auto = server_status(httpd, auto=True)
    assert f"SharedStore: {server.url()}\nSharedStoreState: down" in auto, auto
    # the domain is due (it has no certificate), but no job starts while the
    # shared store is down: the link has retried in the meantime
    first_try = st["next-try"]
    wait_until(lambda: shared_status(httpd)["next-try"] != first_try, "a second attempt")
    assert not os.path.exists(job_file(httpd))

    server.start()
    wait_shared(httpd, "up")
    assert httpd.wait_for_log(r"ACME1800 MDSharedStore redis://127\.0\.0\.1:%d/0 answers "
                              r"again" % server.port)
    members = server.keys("mod_acme:server:*")
    assert len(members) == 1, members
    ttl = int(server.cli("PTTL", members[0]))
    assert 0 < ttl <= 30000, ttl
    assert shared_up(httpd) == ("up", 1)
    wait_staged(httpd, MD, timeout=90)
    # one warning for the whole outage, however often the link retried
    assert len(re.findall(r"ACME1801", httpd.error_log())) == 1


def test_wrong_password_is_an_error_naming_the_directive(httpd, pebble, ca, redis, key_file):
    secret = "wrong-Pa55word-xyzzy"
    server = redis(password="right-password-4711").start()
    acme = pebble()
    httpd.write_conf(shared_conf(httpd, acme, ca, server.url(password=secret), key_file))
    httpd.start()

    st = wait_shared(httpd, "down")
    assert re.search(r"WRONGPASS|invalid password", st["error"]), st
    line = httpd.wait_for_log(r"\[acme:error\].*ACME1801 MDSharedStore: "
                              r"redis://:\*\*\*@127\.0\.0\.1:%d/0: " % server.port)
    assert line
    first_try = st["next-try"]
    wait_until(lambda: shared_status(httpd)["next-try"] != first_try, "a second attempt")
    log = httpd.error_log()
    assert len(re.findall(r"ACME1801", log)) == 1, log
    assert not os.path.exists(job_file(httpd))
    for text in (log, server_status(httpd, auto=True), server_status(httpd),
                 str(md_status(httpd)), str(metrics(httpd))):
        assert secret not in text
    assert server.keys() == []


@pytest.mark.parametrize("problem", ["mode", "symlink"])
def test_unsafe_key_file_is_named_at_config_test_and_start(httpd, pebble, ca, key_file,
                                                          problem):
    """MDSharedStoreKeyFile is read as the key holder reads it
    (acme_seal_key_load): a file group or others may read, or a symbolic
    link, is refused with the loader's words and fix at `httpd -t` and at
    start; the server starts and serves, the shared store off for the run.
    The key itself is in no message."""
    acme = pebble()
    with open(key_file, "rb") as f:
        text = f.read().strip()
    if problem == "mode":
        os.chmod(key_file, 0o644)
        path = key_file
        why = f"mode 0644 lets group or others in: chmod 600 {path}"
    else:
        path = key_file + ".link"
        os.symlink(key_file, path)
        why = "is a symbolic link: name the file itself"
    url = "redis://127.0.0.1:%d/0" % httpd.ports.redis
    httpd.write_conf(shared_conf(httpd, acme, ca, url, path))
    expected = (f"ACME1173 MDSharedStore {url} is off for this run: MDSharedStoreKeyFile: "
                f"seal key file {path}: {why}")
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert expected in out, out
    assert text.decode() not in out
    httpd.start()
    assert expected in httpd.error_log()
    assert wait_shared(httpd, "off")["error"].startswith("MDSharedStoreKeyFile: seal key file")
    assert httpd.served_certificate(MD).pem
    assert text.decode() not in httpd.error_log()


def wait_until(pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"no {what} within {timeout}s"
        time.sleep(0.2)


def test_rediss_trusts_the_ca_file_and_names_a_certificate_it_does_not(make_httpd, pebble,
                                                                        ca, redis, key_file,
                                                                        test_dir):
    # Redis over TLS with a certificate of the suite's throwaway CA: trusted
    # through MDSharedStoreCACertificateFile; a server given another CA file
    # says why it does not link (an error, TLS will not mend itself)
    cert, key = ca.issue("redis-tls", ["IP:127.0.0.1"])
    server = redis()
    server.tls = (cert, key, ca.cert_path)
    server.start()
    other = CA(os.path.join(test_dir, "other-ca"), openssl=ca.openssl).create()
    acme = pebble()
    good, bad = make_httpd(), make_httpd()
    bad.address = "127.0.0.2"
    for httpd, ca_file in ((good, ca.cert_path), (bad, other.cert_path)):
        httpd.write_conf(shared_conf(httpd, acme, ca, server.url(), key_file)
                         + f"MDSharedStoreCACertificateFile {ca_file}\n")
        httpd.start()
    assert wait_shared(good, "up")["url"].startswith("rediss://127.0.0.1:")
    st = wait_shared(bad, "down")
    assert re.search(r"certificate|verify", st["error"]), st
    assert bad.wait_for_log(r"\[acme:error\].*ACME1801 MDSharedStore: rediss://127\.0\.0\.1:%d/0: "
                            % server.port)
    assert len(server.keys("mod_acme:server:*")) == 1
