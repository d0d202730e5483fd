"""badNonce storms: pebble rejects half of all nonces
(PEBBLE_WFE_NONCEREJECT=50) and every renewal of several domains still
succeeds, by the client's badNonce retry with the fresh nonce of the error
answer, without the job counting an error per rejected nonce."""
import re

from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged

DOMAINS = [f"nonce{i}.test" for i in range(4)]
BAD_NONCE = r"ACME0502 badNonce from "


def test_renewals_succeed_with_half_the_nonces_rejected(httpd, pebble, ca, challtestsrv,
                                                         test_dir):
    acme = pebble(env={"PEBBLE_WFE_NONCEREJECT": "50"})
    httpd.write_conf(renew_conf(httpd, acme, ca, [[d] for d in DOMAINS],
                                extra="MDRetryDelay 1s"))
    httpd.start()
    for md in DOMAINS:
        wait_staged(httpd, md, timeout=120)
    log = httpd.error_log()
    posts = len(re.findall(r"ACME0401 POST ", log))
    rejected = len(re.findall(BAD_NONCE, log))
    errors = len(re.findall(r"ACME1483 ", log))
    print(f"\n{len(DOMAINS)} domains staged; {posts} signed POSTs, {rejected} badNonce answers retried "
          f"seen in the log, {errors} job errors")
    # pebble rejected some (50 %: with dozens of POSTs, none at all is
    # practically impossible) and the retries absorbed them
    assert rejected > 0
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    for md in DOMAINS:
        assert issuer_is_pebble(served(httpd, md, root))
