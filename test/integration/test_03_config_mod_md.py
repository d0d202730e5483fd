"""mod_md next to mod_acme, and configurations judged the way the real mod_md
(Debian's mod_md.so) judges them."""
import re

import pytest


def _load_line_no(httpd, module):
    lines = open(httpd.conf_path).read().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if line.startswith(f"LoadModule {module} "))


@pytest.mark.parametrize("md_first", [True, False], ids=["md-first", "acme-first"])
def test_both_modules_loaded_fails_naming_both_lines(httpd, md_first):
    httpd.extra_modules = ["md"]
    httpd.write_conf("MDomain a.test\n")
    if not md_first:        # mod_md's line after ours
        conf = open(httpd.conf_path).read().splitlines()
        md_line = next(l for l in conf if l.startswith("LoadModule md_module "))
        conf.remove(md_line)
        at = next(i for i, l in enumerate(conf) if l.startswith("LoadModule acme_module "))
        conf.insert(at + 1, md_line)
        open(httpd.conf_path, "w").write("\n".join(conf) + "\n")
    rc, out = httpd.config_test()
    assert rc != 0, out
    assert "ACME1150 mod_md and mod_acme are both loaded" in out, out
    md_no, acme_no = _load_line_no(httpd, "md_module"), _load_line_no(httpd, "acme_module")
    assert re.search(r"'LoadModule md_module \S+/mod_md\.so' \(" + re.escape(httpd.conf_path)
                     + f":{md_no}\\)", out), out
    assert re.search(r"'LoadModule acme_module \S+' \(" + re.escape(httpd.conf_path)
                     + f":{acme_no}\\)", out), out
    assert "remove the md_module line to use mod_acme" in out, out


def test_both_modules_loaded_fails_even_without_md_directives(httpd):
    httpd.extra_modules = ["md"]
    httpd.port_map = False
    httpd.write_conf("")
    rc, out = httpd.config_test()
    assert rc != 0 and "ACME1150" in out, out


def test_mod_md_alone_is_not_refused(httpd):
    # the check is about both: mod_md alone (our module not loaded) starts
    httpd.load_acme = False
    httpd.extra_modules = ["md"]
    httpd.write_conf("MDomain a.test\n")
    rc, out = httpd.config_test()
    assert rc == 0, out

