"""http-01 answers shared by a cluster (MDSharedStore, issue 18), with a real
redis-server and pebble: the CA's validation reaches only one server
(pebble-challtestsrv resolves every name to 127.0.0.1, where server A
listens), while server B, on 127.0.0.2, renews. B publishes its answer,
A's link copies it into A's store and acknowledges, B asks the CA to
validate once A has it, and A answers the CA for B."""
import os
import re

import pytest

from harness.redis import RedisServer
from test_30_renew import renew_conf, wait_staged
from test_80_shared_store import key_file  # noqa: F401 (fixture)

MD = "c1.test"


@pytest.fixture
def redis_up(ports, test_dir):
    server = RedisServer(ports.redis, os.path.join(test_dir, "redis")).start()
    yield server
    server.stop()


def cluster_conf(httpd, acme, ca, redis, key_path, renew_mode):
    return renew_conf(httpd, acme, ca, [[MD]],
                      extra=f"MDSharedStore {redis.url()}\nMDSharedStoreKeyFile {key_path}\n"
                            f"MDRenewMode {renew_mode}\n")


def test_the_server_the_ca_reaches_answers_for_the_one_that_renews(make_httpd, pebble, ca,
                                                                    redis_up, key_file):
    acme = pebble()
    reached, renewing = make_httpd(name="a"), make_httpd(name="b")
    renewing.address = "127.0.0.2"
    reached.write_conf(cluster_conf(reached, acme, ca, redis_up, key_file, "manual"))
    renewing.write_conf(cluster_conf(renewing, acme, ca, redis_up, key_file, "always"))
    reached.start()
    reached.wait_for_log(r"ACME1800 MDSharedStore .* answers", timeout=30)
    renewing.start()

    wait_staged(renewing, MD, timeout=120)
    copied = reached.wait_for_log(r"ACME1813 answer for c1\.test from (\S+) copied")
    shared = renewing.wait_for_log(r"ACME1811 c1\.test: answer for c1\.test shared with the "
                                   r"cluster")
    assert copied and shared
    # the CA's requests went to A only, and A answered them from B's answer
    assert re.search(r'"GET /\.well-known/acme-challenge/\S+ HTTP/1\.1" 200 .*host=c1\.test',
                     open(os.path.join(reached.root, "logs", "access_log")).read())
    assert "acme-challenge" not in open(os.path.join(renewing.root, "logs",
                                                     "access_log")).read()
    assert "ACME1810" not in renewing.error_log()
    # both servers are members
    assert len(redis_up.keys("mod_acme:server:*")) == 2
