"""Three servers on one Redis (MDSharedStore, issue 18), with a real
redis-server and pebble, where the CA's validation reaches only server A
(pebble-challtestsrv resolves every name to 127.0.0.1): 20 domains end with
20 orders and one account for the whole cluster, every server activates the
cluster's certificates by itself (MDActivation graceful) and serves the
same ones, and no private key is in Redis unsealed."""
import os
import re

import pytest

from harness.redis import RedisServer
from test_30_renew import renew_conf
from test_35_activation_graceful import served_by_pebble, wait_all_served
from test_54_short_lived import pebble_orders
from test_80_shared_store import key_file  # noqa: F401 (fixture)

DOMAINS = [f"d{i:02d}.cluster.test" for i in range(20)]


@pytest.fixture
def redis_up(ports, test_dir):
    server = RedisServer(ports.redis, os.path.join(test_dir, "redis")).start()
    yield server
    server.stop()


def pebble_accounts(acme):
    counts = re.findall(r"There are now (\d+) accounts", acme.log())
    return int(counts[-1]) if counts else 0


def test_twenty_domains_three_servers_one_order_each(make_httpd, pebble, ca, redis_up,
                                                     key_file):
    acme = pebble(fresh=True)
    servers = [make_httpd(name=n) for n in ("a", "b", "c")]
    for server, address in zip(servers, ("127.0.0.1", "127.0.0.2", "127.0.0.3")):
        server.address = address
        server.write_conf(renew_conf(server, acme, ca, [[d] for d in DOMAINS],
                                     extra=f"MDSharedStore {redis_up.url()}\n"
                                           f"MDSharedStoreKeyFile {key_file}\n"
                                           "MDActivation graceful\n"
                                           "MDActivationInterval 10s\n"))
    for server in servers:
        server.start()

    for server in servers:
        left = wait_all_served(server, DOMAINS, timeout=300)
        assert not left, f"{server.address} does not serve {left}:\n{server.error_log()[-3000:]}"
    assert pebble_orders(acme) == len(DOMAINS)
    assert pebble_accounts(acme) == 1
    for name in DOMAINS:
        served = {s.served_certificate(name).pem for s in servers}
        assert len(served) == 1, f"{name}: the servers serve different certificates"
    # every key the cluster wrote: nothing in it is a private key in clear
    keys = redis_up.keys()
    assert any(k.startswith("mod_acme:set:") for k in keys), keys
    for key in keys:
        if redis_up.cli("TYPE", key).strip() == "string":
            assert "PRIVATE KEY" not in redis_up.cli("GET", key), key
    for server in servers:
        assert served_by_pebble(server, DOMAINS[0])
