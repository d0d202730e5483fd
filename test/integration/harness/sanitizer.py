"""Running the uninstrumented httpd with a sanitizer-built module.

httpd itself is not built with ASan, so the ASan runtime is preloaded
(configure records its path as asan_runtime). Reports go to files under the
ServerRoot; a test fails when any appears.
"""
import glob
import os
import re

# What ASan/UBSan print when they write to stderr instead (log_path unusable).
_STDERR_PATTERNS = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|"
                              r"runtime error: |SUMMARY: (Address|Undefined)")


def environment(cfg, log_dir):
    """Environment additions for an httpd process ({} for a plain build)."""
    if not cfg.sanitizers:
        return {}
    return {
        "LD_PRELOAD": cfg.asan_runtime,
        # allow_user_segv_handler=0: httpd installs its own SIGSEGV handler, which
        # would hide a crash (e.g. in the parent at stop) from the reports
        "ASAN_OPTIONS": (f"detect_leaks=0:abort_on_error=0:handle_segv=1:"
                         f"allow_user_segv_handler=0:log_path={log_dir}/asan"),
        "UBSAN_OPTIONS": f"print_stacktrace=1:halt_on_error=1:log_path={log_dir}/ubsan",
    }


def reports(log_dir, extra_logs=()):
    """[(path, text)] of every sanitizer report: files in log_dir, and report
    lines that ended up in other logs (e.g. httpd's error_log)."""
    found = []
    for path in sorted(glob.glob(os.path.join(log_dir, "*"))):
        with open(path, errors="replace") as f:
            text = f.read()
        if text.strip():
            found.append((path, text))
    for path in extra_logs:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        if _STDERR_PATTERNS.search(text):
            found.append((path, text))
    return found
