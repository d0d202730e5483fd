"""pebble answers its ACME directory over TLS from the throwaway CA, with
and without external account binding, and hands out its issuing roots."""
import json
import ssl
import urllib.error
import urllib.request

import pytest

from harness.pebble import EAB_HMAC, EAB_KID


def test_directory_without_eab(pebble):
    p = pebble()
    d = p.directory_json()
    for key in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"):
        assert d[key].startswith(f"https://127.0.0.1:{p.ports.acme}/"), key
    assert not d.get("meta", {}).get("externalAccountRequired", False)
    assert p.eab_kid is None


def test_directory_with_eab_required(pebble):
    p = pebble(eab=True)
    assert p.directory_json()["meta"]["externalAccountRequired"] is True
    assert (p.eab_kid, p.eab_hmac) == (EAB_KID, EAB_HMAC)
    # the key really is what pebble was given (tests sign EAB with it)
    with open(p.config_path) as f:
        assert json.load(f)["pebble"]["externalAccountMACKeys"][EAB_KID] == EAB_HMAC


def test_same_settings_reuse_and_new_settings_restart(pebble):
    a = pebble(env={"PEBBLE_WFE_NONCEREJECT": "0"})
    assert pebble(env={"PEBBLE_WFE_NONCEREJECT": "0"}) is a
    b = pebble(config_overrides={"certificateValidityPeriod": 300})
    assert b is not a and not a.alive() and b.alive()
    with open(b.config_path) as f:
        assert json.load(f)["pebble"]["certificateValidityPeriod"] == 300
    c = pebble(config_overrides={"certificateValidityPeriod": 300}, fresh=True)
    assert c is not b and not b.alive()


def test_roots_come_from_the_management_api(pebble, ca):
    p = pebble()
    root = p.roots_pem()
    assert root.startswith("-----BEGIN CERTIFICATE-----")
    assert p.intermediates_pem().startswith("-----BEGIN CERTIFICATE-----")
    assert root.strip() != ca.pem().strip()


def test_listener_is_only_trusted_through_the_throwaway_ca(pebble):
    p = pebble()
    with pytest.raises(urllib.error.URLError) as err:
        urllib.request.urlopen(p.url, timeout=5,
                               context=ssl.create_default_context())
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)
