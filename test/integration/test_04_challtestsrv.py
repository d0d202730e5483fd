"""challtestsrv: every name resolves to 127.0.0.1, TXT records set through
its management API are answered by its DNS server and cleared again."""
from harness import dns
from harness.challtestsrv import ChallTestSrvHandle


def test_any_name_resolves_to_loopback(challtestsrv):
    assert dns.a("anything.example.test", challtestsrv.dns_server) == ["127.0.0.1"]


def test_set_txt_then_query_then_clear(challtestsrv):
    host = "_acme-challenge.dns.test"
    assert challtestsrv.txt(host) == []
    challtestsrv.set_txt(host, "token-value-1")
    challtestsrv.set_txt(host, "token-value-2")
    assert sorted(challtestsrv.txt(host)) == ["token-value-1", "token-value-2"]
    assert challtestsrv.txt("_acme-challenge.other.test") == []
    challtestsrv.clear_txt(host)
    assert challtestsrv.txt(host) == []


def test_records_a_test_leaves_are_cleared_after_it(challtestsrv):
    # What the fixture's finalizer does for every test: a second handle on
    # the same server stands for an earlier test that left a record behind.
    earlier = ChallTestSrvHandle(challtestsrv.server)
    earlier.set_txt("_acme-challenge.left.test", "left-behind")
    assert challtestsrv.txt("_acme-challenge.left.test") == ["left-behind"]
    earlier.cleanup()
    assert challtestsrv.txt("_acme-challenge.left.test") == []
