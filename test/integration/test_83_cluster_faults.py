"""Faults of a cluster on one Redis (MDSharedStore, issue 18), with real
httpd servers, a real redis-server and pebble behind harness/faulty_ca.py.

1. The server holding a domain's lease is SIGKILLed (parent and children)
   mid-renewal, while its finalize request is held: its lease is short and
   was kept alive while the run lasted (the key's expiry is seen going up,
   never above 30 s), so another server takes over once it expires, finishes
   the job and the cluster serves the certificate, with at most one extra
   order.
2. redis-server is stopped while renewals are under way and started again
   on the same port, with its data (append-only file) or empty: every domain
   ends with one certificate served by both servers, the set in Redis
   matches it, the link logged the outage and the recovery.

Neither asserts a duration: each waits for a condition with a generous
limit."""
import json
import os
import re
import time
from types import SimpleNamespace

import pytest

from harness.faulty_ca import FaultyCA
from harness.proc import kill_group
from harness.redis import RedisServer
from test_30_renew import renew_conf
from test_35_activation_graceful import served_by_pebble, wait_all_served
from test_54_short_lived import pebble_orders
from test_80_shared_store import key_file  # noqa: F401 (fixture)

NS = "mod_acme"
LEASE_TTL_MS = 30000
ADDRESSES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
FINALIZE = r"^/finalize-order/"
EXACT = {"PEBBLE_WFE_NONCEREJECT": "0"}


def cluster(make_httpd, proxy, ca, redis, key_file, domains, n):
    servers = [make_httpd(name=name) for name in "abc"[:n]]
    for server, address in zip(servers, ADDRESSES):
        server.address = address
        server.write_conf(renew_conf(server, proxy, ca, [[d] for d in domains],
                                     extra=f"MDSharedStore {redis.url()}\n"
                                           f"MDSharedStoreKeyFile {key_file}\n"
                                           "MDActivation graceful\n"
                                           "MDActivationInterval 10s\n"
                                           "MDRetryDelay 5s\n"))
    for server in servers:
        server.start()
    return servers


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def lease(redis, domain):
    """("<token> <host>:<pid>", PTTL in ms) of the domain's lease, or None."""
    value = redis.cli("GET", f"{NS}:lease:{domain}").strip()
    if not value:
        return None
    return value, int(redis.cli("PTTL", f"{NS}:lease:{domain}").strip())


def check_set(redis, servers, domain):
    """The cluster's set of the domain is whole and what every server serves."""
    record = json.loads(redis.cli("GET", f"{NS}:set:{domain}"))
    assert record["v"] == 1 and record["token"] >= 1 and record["id"], record.keys()
    files = record["files"]
    chains = {k: v for k, v in files.items() if k.startswith("pubcert")}
    keys = {k: v for k, v in files.items() if k.startswith("privkey")}
    assert chains and len(keys) == len(chains), sorted(files)
    assert all("PRIVATE KEY" not in v for v in keys.values())
    assert json.loads(files["md.json"])["name"] == domain
    fence = int(redis.cli("GET", f"{NS}:fence:{domain}").strip())
    assert record["token"] <= fence
    for server in servers:
        leaf = server.served_certificate(domain).pem
        assert any(leaf.strip() in chain for chain in chains.values()), \
            f"{server.address} serves a certificate not in the cluster's set of {domain}"


def no_crashes(servers):
    for server in servers:
        assert not server.child_crashes(), server.child_crashes()
        assert "AH00052" not in server.error_log()
        assert not server.sanitizer_reports()


@pytest.fixture
def proxy(ca, ports):
    front = FaultyCA(ca, ports.acme, "/dir").start()
    yield front
    front.stop()


def test_lease_holder_killed_mid_renewal(make_httpd, pebble, ca, ports, proxy, challtestsrv,
                                         test_dir, key_file):
    domain = "kill.cluster.test"
    acme = pebble(env=EXACT, fresh=True)
    redis = RedisServer(ports.redis, os.path.join(test_dir, "redis")).start()
    try:
        held = proxy.hold(FINALIZE)
        servers = cluster(make_httpd, proxy, ca, redis, key_file, [domain], 3)
        held.wait(180)

        # the lease is short and kept alive while the run waits: its expiry
        # goes up twice, with the same holder and token
        value, last = wait_for(lambda: lease(redis, domain), 10, "the domain's lease")
        renewals, deadline = 0, time.monotonic() + 120
        while renewals < 2:
            assert time.monotonic() < deadline, "the lease was not renewed while its run lasted"
            time.sleep(0.5)
            now = lease(redis, domain)
            assert now is not None, "the lease expired while its holder was alive"
            assert now[0] == value, "the lease changed hands while its holder was alive"
            assert 0 < now[1] <= LEASE_TTL_MS, f"lease ttl {now[1]} ms"
            if now[1] > last + 500:
                renewals += 1
            last = now[1]

        holder_pid = int(value.split()[1].rsplit(":", 1)[1])
        victim = next(s for s in servers if s.pid == holder_pid)
        survivors = [s for s in servers if s is not victim]
        kill_group(victim.pid)
        victim.pid = None
        held.release()      # the CA finalizes although its client is gone
        # the CA's validation reaches a survivor from now on
        challtestsrv.set_a(domain, [survivors[0].address])

        for server in survivors:
            left = wait_all_served(server, [domain], timeout=240)
            assert not left, f"{server.address} does not serve {domain}:\n" \
                             f"{server.error_log()[-3000:]}"
        orders = pebble_orders(acme)
        print(f"\norders created for {domain}: {orders}")
        assert 1 <= orders <= 2
        check_set(redis, survivors, domain)
        served = {s.served_certificate(domain).pem for s in survivors}
        assert len(served) == 1
        no_crashes(survivors)
    finally:
        redis.stop()


@pytest.mark.parametrize("restart", ["kept", "empty"])
def test_redis_stopped_during_renewals(make_httpd, pebble, ca, ports, proxy, challtestsrv,
                                       test_dir, key_file, restart):
    """kept: the restarted Redis has every key (append-only file); empty:
    it lost them all (also the fencing counters), as a replaced one."""
    domains = [f"r{i}.cluster.test" for i in range(4)]
    acme = pebble(env=EXACT, fresh=True)
    redis = RedisServer(ports.redis, os.path.join(test_dir, "redis"),
                        persist=restart == "kept").start()
    try:
        held = proxy.hold(FINALIZE)
        servers = cluster(make_httpd, proxy, ca, redis, key_file, domains, 2)
        held.wait(180)      # the first order exists, its finalize waits
        marks = [s.log_mark() for s in servers]
        redis.stop()
        for server, mark in zip(servers, marks):
            server.wait_for_log(r"ACME1801 MDSharedStore: ", timeout=60, since=mark)
        held.release()      # that renewal ends while Redis is away
        wait_for(lambda: any(r.path.startswith("/certZ/") for r in proxy.requests)
                 or held.released.is_set(), 60, "the held renewal to go on")
        time.sleep(5)       # the outage lasts (not an assertion)
        marks = [s.log_mark() for s in servers]
        redis.start()
        for server, mark in zip(servers, marks):
            server.wait_for_log(r"ACME1800 MDSharedStore .* answers again", timeout=120,
                                since=mark)

        for server in servers:
            left = wait_all_served(server, domains, timeout=300)
            assert not left, f"{server.address} does not serve {left}:\n" \
                             f"{server.error_log()[-4000:]}"
        for domain in domains:
            wait_for(lambda: len({s.served_certificate(domain).pem for s in servers}) == 1,
                     180, f"both servers to serve the same certificate for {domain}")
            wait_for(lambda: redis.cli("EXISTS", f"{NS}:set:{domain}").strip() == "1", 120,
                     f"the cluster's set of {domain}")
            check_set(redis, servers, domain)
        orders = pebble_orders(acme)
        print(f"\n{restart}: orders created for {len(domains)} domains: {orders}")
        assert orders <= 2 * len(domains)
        no_crashes(servers)
    finally:
        redis.stop()
