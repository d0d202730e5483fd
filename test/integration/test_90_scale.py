"""Scale: 2,000 managed domains that already have certificates load and each
name gets its own certificate (issue 9). No wall-clock assertion here: the
timings are measured by test/bench/bench_scale.py.

The certificate sets come from the benchmarks' generator (test/bench/
gen_certs.c, compiled with cc -lcrypto), planted into mod_acme's store as
domains/<md>/privkey.secp256r1.pem + pubcert.secp256r1.pem + md.json."""
import hashlib
import os
import random
import sys

import pytest


sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "bench"))
import benchlib  # noqa: E402

COUNT = 2000
SAMPLE = 20


@pytest.fixture(scope="module")
def sets(gen_root):
    """The 2,000 sets, made once for this module (about two seconds)."""
    directory = os.path.join(gen_root, "_scale_sets")
    try:
        return benchlib.CertSets(os.path.join(directory, f"sets-{COUNT}"),
                                 COUNT).create(directory)
    except benchlib.BenchError as e:
        pytest.fail(str(e))


def test_2000_domains_serve_their_own_certificates(httpd, sets):
    benchlib.layout_acme(sets, os.path.join(httpd.root, "md"))
    httpd.module_log_level = "info"     # trace2 would log every domain many times
    httpd.write_conf(benchlib.vhosts_conf("acme", sets.domains, httpd.ports.https))
    httpd.start(timeout=300)    # generous for sanitizer builds: not a measurement
    rng = random.Random(os.environ.get("ACME_TEST_SEED", "90"))
    sample = rng.sample(sets.domains, SAMPLE) + [sets.domains[0], sets.last]
    for domain in sample:
        cert = httpd.served_certificate(domain.name, cafile=sets.root)
        assert cert.verified
        assert hashlib.sha256(cert.der).hexdigest() == domain.sha256, domain.name
        assert f"DNS:{domain.name}" in cert.sans()
    log = httpd.error_log()
    for problem in ("ACME1220", "ACME1221", "ACME1222"):     # a pair left out / unreadable
        assert problem not in log
    # and a graceful restart keeps serving every name from the store
    httpd.graceful(timeout=300)
    for domain in sample[:3]:
        cert = httpd.served_certificate(domain.name, cafile=sets.root)
        assert hashlib.sha256(cert.der).hexdigest() == domain.sha256, domain.name


def test_generator_sets_are_distinct(sets):
    # the scale test only means something if every domain has its own key
    # and certificate: a served match cannot come from a shared default
    assert len({d.sha256 for d in sets.domains}) == COUNT
    assert len({d.serial for d in sets.domains}) == COUNT
    keys = set()
    for domain in random.Random(1).sample(sets.domains, 50):
        with open(sets.files(domain.name)[0], "rb") as f:
            keys.add(f.read())
    assert len(keys) == 50

