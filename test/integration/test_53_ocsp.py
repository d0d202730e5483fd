"""OCSP stapling by mod_acme (MDStapling): a pebble that names an OCSP
responder in its certificates, and the test responder signing with pebble's
intermediate key (harness/ocsp_responder.py). The responder is down at first:
the site serves without stapling and the module retries; once it is up the
response is fetched, stored (not world-writable), stapled ("Cert Status:
good" for openssl s_client -status), shown in md-status and server-status,
and MDMessageCmd hears ocsp-errored and ocsp-renewed. Then MDStapleOthers:
a vhost with its own certificate files is stapled too. Config errors of the
four directives fail `httpd -t` naming the directive."""
import glob
import json
import os
import re
import stat
import subprocess
import time

import pytest

from harness.ocsp_responder import OcspResponder
from test_30_renew import pebble_root, renew_conf, served, wait_staged
from test_33_renew_cmds import calls, make_hook

MD = "ocsp.test"
OTHER = "other.test"
LOCATIONS = "<Location /md-status>\n  SetHandler md-status\n</Location>\n"


def s_client_status(httpd, name, root):
    proc = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{httpd.ports.https}",
                           "-servername", name, "-status", "-CAfile", root],
                          input="", capture_output=True, text=True, timeout=30)
    return proc.stdout + proc.stderr


def test_stapling_good_after_responder_outage(httpd, pebble, ca, challtestsrv, test_dir,
                                              ports):
    # inside this session's (and xdist worker's) own block of ports: a
    # parallel worker's ports are 20 further, the sanitizer pass's 200
    responder_port = ports.pebble_mgmt + 7
    url = f"http://127.0.0.1:{responder_port}/"
    acme = pebble(config_overrides={"ocspResponderURL": url}, fresh=True)
    responder = OcspResponder(httpd.cfg, acme, ca, responder_port,
                              os.path.join(test_dir, "ocsp-responder"))
    # other.test: managed (without stapling) only to get a second certificate
    other_md = (f"MDomain {OTHER}\n<VirtualHost *:{httpd.ports.https}>\n"
                f"  ServerName {OTHER}\n  SSLEngine on\n</VirtualHost>\n")
    msg, msg_rec = make_hook(test_dir, "message", httpd.user)
    httpd.write_conf(renew_conf(httpd, acme, ca, [[MD]],
                                extra=f"MDRetryDelay 2s\nMDMessageCmd {msg}\n" + LOCATIONS
                                      + other_md,
                                md_extra="MDCAChallenges http-01\n  MDStapling on"))
    httpd.start()
    wait_staged(httpd, MD)
    wait_staged(httpd, OTHER)
    mark = httpd.log_mark()
    httpd.graceful()
    root = pebble_root(acme, test_dir)
    try:
        # responder down: refresh fails, the site serves, nothing stapled
        httpd.wait_for_log(rf"ACME1760 ocsp\[{re.escape(MD)}\]: refresh from {re.escape(url)} "
                           r"failed \(1 in a row\)", timeout=30, since=mark)
        assert served(httpd, MD, root).sans() == [f"DNS:{MD}"]
        out = s_client_status(httpd, MD, root)
        assert "OCSP response: no response sent" in out, out
        # responder up: retried later, fetched, stored, stapled
        responder.start()
        httpd.wait_for_log(rf"ACME1762 ocsp\[{re.escape(MD)}\]: response refreshed: good",
                           timeout=60, since=mark)
        assert responder.answered() >= 1
        out = s_client_status(httpd, MD, root)
        assert "OCSP Response Status: successful" in out, out
        assert "Cert Status: good" in out, out
    finally:
        responder.stop()
    files = glob.glob(os.path.join(httpd.root, "md", "ocsp", MD, "ocsp.rsa2048.der"))
    assert len(files) == 1, files
    assert not os.stat(files[0]).st_mode & stat.S_IWOTH
    data = json.loads(httpd.get(f"http://localhost/md-status/{MD}").body)
    assert data["stapling"] is True
    (entry,) = data["ocsp"]
    assert entry["status"] == "good" and entry["responder"] == url
    assert entry["valid"]["until"] and entry["next-refresh"] and "last-error" not in entry
    # MDMessageCmd heard both (it runs right after the log line: wait for it)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        words = [c.split(" ", 1)[1] for c in calls(msg_rec)]
        if f"ocsp-renewed {MD}" in words:
            break
        time.sleep(0.2)
    assert f"ocsp-errored {MD}" in words and f"ocsp-renewed {MD}" in words, words
    assert words.index(f"ocsp-errored {MD}") < words.index(f"ocsp-renewed {MD}")
    auto = httpd.get("http://localhost/server-status?auto").body.decode()
    assert re.search(r"^ManagedDomain\[0\]OCSP\[0\]Status: good$", auto, re.M), auto
    assert re.search(r"^ManagedDomain\[0\]OCSP\[0\]NextRefresh: \w{3}, \d\d \w{3} \d{4} ", auto, re.M), auto
    html = httpd.get("http://localhost/server-status").body.decode()
    assert "OCSP good, valid until " in html
    # stapled from memory: the responder is gone, the handshake still has it
    out = s_client_status(httpd, MD, root)
    assert "Cert Status: good" in out, out

    # MDStapleOthers (on by default): with MDStapling on globally, a vhost
    # with its own certificate files (other.test's, no longer managed) too
    live = os.path.join(httpd.root, "md", "domains", OTHER)
    other = (f"<VirtualHost *:{httpd.ports.https}>\n  ServerName {OTHER}\n  SSLEngine on\n"
             f"  SSLCertificateFile {live}/pubcert.pem\n"
             f"  SSLCertificateKeyFile {live}/privkey.pem\n</VirtualHost>\n")
    httpd.write_conf(renew_conf(httpd, acme, ca, [[MD]],
                                extra="MDStapling on\nMDRetryDelay 2s\n" + LOCATIONS + other,
                                md_extra="MDCAChallenges http-01"))
    responder.start()
    try:
        mark = httpd.log_mark()
        httpd.graceful()
        httpd.wait_for_log(r"ACME1762 ocsp\[other\.test\]: response refreshed: good",
                           timeout=60, since=mark)
        out = s_client_status(httpd, OTHER, root)
        assert "Cert Status: good" in out, out
    finally:
        responder.stop()


BAD = [
    ("MDStapling maybe", "MDStapling"),
    ("MDStapleOthers 1", "MDStapleOthers"),
    ("MDStaplingRenewWindow 100%", "MDStaplingRenewWindow"),
    ("MDStaplingKeepResponse 7dogs", "MDStaplingKeepResponse"),   # 7days is a duration (as mod_md)
]


@pytest.mark.parametrize("line,directive", BAD, ids=[b[1] for b in BAD])
def test_stapling_config_errors(httpd, line, directive):
    httpd.write_conf(f"MDomain a.test\n<MDomain b.test>\n  {line}\n</MDomain>\n")
    rc, out = httpd.config_test()
    assert rc != 0 and directive in out, out


def test_stapling_on_is_accepted(httpd):
    httpd.write_conf("MDStapling on\nMDStapleOthers off\nMDStaplingRenewWindow 2h\n"
                     "MDStaplingKeepResponse 2d\n<MDomain a.test>\n  MDStapling off\n"
                     "</MDomain>\n")
    rc, out = httpd.config_test()
    assert rc == 0, out
