"""Reusable fixtures and helpers for mod_acme's integration suites.

The pytest fixtures live in harness.plugin (loaded by conftest.py); the
modules below are plain Python and can be used outside pytest too:

- config:   the ini configure writes (module path, httpd, pebble, sanitizers)
- ports:    the fixed ports of the suite, busy-port diagnostics
- proc:     processes started by the suite, stopped by pid
- ca:       a throwaway CA made with the openssl CLI
- pebble:   the ACME server (and its EAB variants)
- challtestsrv: pebble's DNS server with TXT helpers
- dns:      a tiny DNS client (TXT and A queries)
- httpd:    a throwaway httpd ServerRoot with the built module
- sanitizer: ASan/UBSan environment and report collection
"""
