"""Secrets: after a renewal with external account binding, neither the EAB
HMAC (as configured, base64url-decoded, hex or standard base64) nor any
private key of the store (its PEM body, any of its base64 lines, its DER
bytes) appears in the error log, in any status output httpd offers, or (the
HMAC) in any store file. Private keys are 0600 and root's, the account key
included (the key holder signs for the renewal workers): httpd's User cannot
read any of them; nothing secret is readable by group or others."""
import base64
import os
import pwd
import stat
import subprocess

from harness.pebble import EAB_KEYS
from test_30_renew import issuer_is_pebble, pebble_root, renew_conf, served, wait_staged

MD = "secret.test"
STATUS_LOCATIONS = {"/md-status": "md-status", "/acme-metrics": "acme-metrics"}


def hmac_forms(b64url):
    raw = base64.urlsafe_b64decode(b64url + "=" * (-len(b64url) % 4))
    return {"base64url": b64url.encode(), "raw": raw, "hex": raw.hex().encode(),
            "base64": base64.b64encode(raw).rstrip(b"="), "HEX": raw.hex().upper().encode()}


def key_forms(pem):
    """The forms of a PEM private key that would betray it."""
    lines = [l for l in pem.splitlines() if l and not l.startswith("-----")]
    body = "".join(lines)
    forms = {"pem body": body.encode(), "der": base64.b64decode(body)}
    # every full base64 line; the short last one could match by chance
    for i, line in enumerate(lines):
        if len(line) >= 40:
            forms[f"line {i}"] = line.encode()
    return forms


def private_keys(store):
    keys = {}
    for dirpath, _, files in os.walk(store):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                data = f.read()
            if b"PRIVATE KEY-----" in data:
                keys[path] = data.decode()
    return keys


def status_outputs(httpd):
    """{url: body} of every status page that answered 200."""
    out = {}
    for url in list(STATUS_LOCATIONS) + [f"/md-status/{MD}", "/server-status?auto",
                                         "/server-status"]:
        resp = httpd.get(f"http://localhost:{httpd.ports.http}{url}")
        if resp.status == 200:
            out[url] = resp.body if isinstance(resp.body, bytes) else resp.body.encode()
    return out


def readable_by(user, path):
    return subprocess.run(["runuser", "-u", user, "--", "cat", path], capture_output=True,
                          stdin=subprocess.DEVNULL).returncode == 0


def test_no_secret_in_logs_status_or_store(httpd, pebble, ca, challtestsrv, test_dir):
    acme = pebble(eab=True)
    status_conf = "".join(f"<Location {loc}>\n  SetHandler {handler}\n</Location>\n"
                          for loc, handler in STATUS_LOCATIONS.items())
    httpd.write_conf(renew_conf(httpd, acme, ca, [[MD]],
                                extra=f"MDExternalAccountBinding {acme.eab_kid} {acme.eab_hmac}")
                     + status_conf)
    httpd.start()
    wait_staged(httpd, MD)
    httpd.graceful()
    assert issuer_is_pebble(served(httpd, MD, pebble_root(acme, test_dir)))

    store = os.path.join(httpd.root, "md")
    keys = private_keys(store)
    assert any("/domains/" in k for k in keys) and any("/accounts/" in k for k in keys), keys
    with open(httpd.error_log_path, "rb") as f:
        log = f.read()
    pages = status_outputs(httpd)
    haystacks = {"error_log": log, **{f"status {u}": b for u, b in pages.items()}}
    store_files = {}
    for dirpath, _, files in os.walk(store):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                store_files[os.path.join(dirpath, name)] = f.read()

    needles = {f"EAB {kid} {form}": v for kid, h in EAB_KEYS.items()
               for form, v in hmac_forms(h).items()}
    key_needles = {f"{os.path.relpath(path, store)} {form}": v
                   for path, pem in keys.items() for form, v in key_forms(pem).items()}
    found = [(n, where) for n, v in {**needles, **key_needles}.items()
             for where, hay in haystacks.items() if v in hay]
    found += [(n, path) for n, v in needles.items() for path, data in store_files.items()
              if v in data]
    print(f"\nscanned {len(log)} bytes of error_log, {len(pages)} status outputs "
          f"({', '.join(pages) or 'none answered'}), {len(store_files)} store files "
          f"for {len(needles)} EAB forms and {len(key_needles)} forms of {len(keys)} private "
          f"keys: {len(found)} found")
    assert found == []

    user = httpd.user[0]
    uid = pwd.getpwnam(user).pw_uid
    for path in keys:
        st = os.stat(path)
        rel = os.path.relpath(path, store)
        print(f"{rel}: mode {stat.S_IMODE(st.st_mode):04o} owner uid {st.st_uid}, readable by "
              f"{user}: {readable_by(user, path)}")
        assert stat.S_IMODE(st.st_mode) & 0o077 == 0, rel
        assert st.st_uid == 0 and st.st_uid != uid and not readable_by(user, path), rel
    # the rest of an account (its URL, contact) is behind a 0700 directory
    acc = os.path.join(store, "accounts")
    assert stat.S_IMODE(os.stat(acc).st_mode) & 0o077 == 0
