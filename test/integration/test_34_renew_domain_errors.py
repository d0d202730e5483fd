"""One customer's mistake keeps no other domain down (issue 15, item 3): a
domain whose configuration mod_md starts with but that cannot be managed (a
name that is no DNS name, unusable EAB values) is that domain's error, in
md-status and the error_log, while the domain next to it gets its certificate
from pebble and serves it."""
import json
import re

from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged
from test_40_status import md_status

BAD_EAB = "c2hvcnRzZWNyZXQ"       # base64url, but 11 bytes: no usable HMAC key


def _conf(httpd, acme, ca):
    https = httpd.ports.https
    return (renew_conf(httpd, acme, ca, [["good.test"]], md_extra="MDCAChallenges http-01")
            # every name of it is bad, and a vhost serves that name
            + "MDomain a!b.test\n"
            f"<VirtualHost *:{https}>\n  ServerName a!b.test\n  SSLEngine on\n</VirtualHost>\n"
            # a good name, EAB values that cannot be used
            + f"<MDomain eab.test>\n  MDExternalAccountBinding kid-1 {BAD_EAB}\n</MDomain>\n"
            f"<VirtualHost *:{https}>\n  ServerName eab.test\n  SSLEngine on\n</VirtualHost>\n"
            "<Location /md-status>\n  SetHandler md-status\n</Location>\n")


def test_bad_domains_are_their_own_error_the_good_one_is_served(httpd, pebble, ca,
                                                                 challtestsrv, test_dir):
    acme = pebble()
    httpd.write_conf(_conf(httpd, acme, ca))
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert re.search(r"ACME1160 managed domain 'a!b\.test' .*not a DNS name", out), out
    assert re.search(r"ACME1160 managed domain 'eab\.test' .*kid-1", out), out
    assert "ACME1160 managed domain 'good.test'" not in out, out

    httpd.start()
    wait_staged(httpd, "good.test")
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, "good.test", pebble_root(acme, test_dir)))
    # the bad ones' vhosts serve mod_acme's fallback (mod_ssl answers 503)
    fallback = httpd.served_certificate("eab.test")
    assert not issuer_is_pebble(fallback)
    assert httpd.get(f"https://eab.test:{httpd.ports.https}/").status == 503

    log = httpd.error_log()
    assert re.search(r"ACME1160 managed domain 'a!b\.test' .*not a DNS name", log), log
    assert re.search(r"ACME1160 managed domain 'eab\.test' .*kid-1", log), log
    assert BAD_EAB not in log
    # nothing was ever asked of the CA for them
    assert not re.search(r"acme\[md=(a!b|eab)\.test", log), log

    for name, said in (("a!b.test", "not a DNS name"), ("eab.test", "kid-1")):
        one = md_status(httpd, name)
        text = json.dumps(one)
        assert one["renew"] is False, one
        assert said in text and BAD_EAB not in text, one
    good = md_status(httpd, "good.test")
    assert good["renew"] is True and good["cert"], good
