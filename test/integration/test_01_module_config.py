"""The module loads into the real httpd and its directives are checked by
`apache2 -t` (the admin's first feedback on a configuration)."""


def test_module_loads_and_config_test_passes(httpd):
    httpd.write_conf("ManagedDomain a.test b.test\n")
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert "Syntax OK" in out


def test_mdomain_alias_is_accepted(httpd):
    httpd.write_conf("MDomain c.test www.c.test\n")
    rc, out = httpd.config_test()
    assert rc == 0, out


def test_bad_renew_mode_fails_config_test(httpd):
    httpd.write_conf("ManagedDomain a.test\nMDRenewMode sometimes\n")
    rc, out = httpd.config_test()
    assert rc != 0
    assert "MDRenewMode" in out
    assert "sometimes" in out


def test_bad_domain_name_is_that_domains_error(httpd):
    # mod_md starts with it: a warning naming the domain and the name
    httpd.write_conf("ManagedDomain a_b.test\n")
    rc, out = httpd.config_test()
    assert rc == 0, out
    assert "ACME1160" in out and "ManagedDomain" in out and "a_b.test" in out, out


def test_without_module_directive_is_unknown(httpd):
    # The base configuration really is what loads the module: without the
    # LoadModule line the same directive is rejected.
    httpd.load_acme = False
    httpd.write_conf("ManagedDomain a.test\n")
    rc, out = httpd.config_test()
    assert rc != 0
    assert "ManagedDomain" in out
