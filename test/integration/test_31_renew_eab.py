"""Renewals with a CA that requires external account binding (pebble with
EAB): the right credentials get a certificate; a wrong HMAC or none at all is
one clear error, not a loop of fast retries, and the HMAC never appears in
the log."""
import re
import time

from harness.pebble import EAB_KEYS, EAB_KID
from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged

NEW_ACCOUNT = r"ACME0401 POST https://127\.0\.0\.1:\d+/sign-me-up "
ERROR_LINE = r"ACME1483 {md}: .*"
# The tests that count newAccount requests (ACME0401 lines: every attempt
# on the wire) run a pebble that rejects no good nonce: by default it
# rejects 5 %, the client resends such a request at once, and one refused
# binding would show as two newAccount POSTs.
EXACT = {"PEBBLE_WFE_NONCEREJECT": "0"}


def eab_conf(httpd, acme, ca, md, kid, hmac):
    binding = f"MDExternalAccountBinding {kid} {hmac}" if kid else ""
    return renew_conf(httpd, acme, ca, [[md]], extra=binding)


def assert_no_secret(log):
    for secret in EAB_KEYS.values():
        assert secret not in log


def test_eab_right_credentials(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble(eab=True)
    httpd.write_conf(eab_conf(httpd, acme, ca, "eab.test", acme.eab_kid, acme.eab_hmac))
    httpd.start()
    wait_staged(httpd, "eab.test")
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, "eab.test", pebble_root(acme, test_dir)))
    assert_no_secret(httpd.error_log())


def test_eab_wrong_hmac_is_one_clear_error(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble(eab=True, env=EXACT)
    wrong = EAB_KEYS["kid-test-2"]      # a real key, of another kid
    httpd.write_conf(eab_conf(httpd, acme, ca, "eab2.test", EAB_KID, wrong))
    httpd.start()
    m = httpd.wait_for_log(ERROR_LINE.format(md=re.escape("eab2.test")), timeout=30)
    line = m.group(0)
    assert "configuration or the CA account needs a fix" in line
    assert "external account binding" in line
    # the CA is not asked again soon: one newAccount in 10 seconds
    time.sleep(10)
    log = httpd.error_log()
    assert len(re.findall(NEW_ACCOUNT, log)) == 1, log
    assert len(re.findall(ERROR_LINE.format(md=re.escape("eab2.test")), log)) == 1
    assert "ACME0920" not in log        # no order without an account
    assert_no_secret(log)


def test_eab_required_but_not_configured(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble(eab=True, env=EXACT)
    httpd.write_conf(eab_conf(httpd, acme, ca, "eab3.test", None, None))
    httpd.start()
    m = httpd.wait_for_log(ERROR_LINE.format(md=re.escape("eab3.test")), timeout=30)
    assert "externalAccount" in m.group(0) or "external account" in m.group(0).lower()
    time.sleep(5)
    assert len(re.findall(NEW_ACCOUNT, httpd.error_log())) <= 1
