"""The test configuration written by configure (test/integration/config.ini)."""
import configparser
import os
import re
from dataclasses import dataclass


class ConfigError(RuntimeError):
    """The test configuration is missing or names a tool that is not there."""


@dataclass(frozen=True)
class TestConfig:
    srcdir: str
    builddir: str
    module: str
    acmectl: str
    httpd: str
    httpd_modules: str
    pebble: str
    pebble_challtestsrv: str
    openssl: str
    sanitizers: bool
    asan_runtime: str
    gen_root: str

    @classmethod
    def load(cls, path=None):
        """Reads the ini named by $ACME_TEST_CONFIG (or path)."""
        path = path or os.environ.get("ACME_TEST_CONFIG")
        if not path:
            raise ConfigError("ACME_TEST_CONFIG is not set: run the suite with "
                              "`make check-integration` from a configured build directory")
        parser = configparser.ConfigParser(interpolation=None)
        if not parser.read(path):
            raise ConfigError(f"cannot read test configuration {path}")
        g = parser["global"]
        asan_runtime = _substituted(g.get("asan_runtime", ""))
        # configure may leave @sanitizers@ unsubstituted: the runtime path is
        # only set for a sanitizer build, so it decides then.
        flag = _substituted(g.get("sanitizers", ""))
        sanitizers = flag == "yes" if flag else bool(asan_runtime)
        builddir = g["builddir"]
        gen_root = os.environ.get("ACME_TEST_GEN_DIR") or os.path.join(
            builddir, "test", "integration", "gen")
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:      # each xdist worker has runtime files of its own
            gen_root = f"{gen_root}-{worker}"
        acmectl = g.get("acmectl", "") or os.path.join(builddir, "tools", "acmectl")
        return cls(srcdir=g["srcdir"], builddir=builddir, module=g["module"], acmectl=acmectl,
                   httpd=g["httpd"], httpd_modules=g["httpd_modules"],
                   pebble=_substituted(g.get("pebble", "")),
                   pebble_challtestsrv=_substituted(g.get("pebble_challtestsrv", "")),
                   openssl=_substituted(g.get("openssl", "")) or "openssl",
                   sanitizers=sanitizers, asan_runtime=asan_runtime,
                   gen_root=os.path.abspath(gen_root))

    def require(self, *names):
        """Raises ConfigError unless each named tool path exists."""
        for name in names:
            value = getattr(self, name)
            if not value or not os.path.exists(value):
                raise ConfigError(f"{name} not found ({value or 'not configured'}): "
                                  "install it (scripts/install-deps.sh) and re-run configure")


def _substituted(value):
    """An unsubstituted @VAR@ counts as empty."""
    value = value.strip()
    return "" if re.fullmatch(r"@\w+@", value) else value
