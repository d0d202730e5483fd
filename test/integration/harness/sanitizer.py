"""Running the uninstrumented httpd with a sanitizer-built module.

httpd itself is not built with ASan, so the ASan runtime is preloaded
(configure records its path as asan_runtime). Reports go to files under the
ServerRoot; a test fails when any appears.

The runtime writes them unsymbolized (symbolize=0): symbolizing in the dying
process takes seconds, and httpd's parent SIGKILLs a child that is slow to
exit, which left reports cut after their first line. reports() symbolizes
the frames afterwards with llvm-symbolizer (addr2line where it is missing).
"""
import glob
import os
import re
import shutil
import subprocess

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
                         f"allow_user_segv_handler=0:symbolize=0:log_path={log_dir}/asan"),
        "UBSAN_OPTIONS": (f"print_stacktrace=1:halt_on_error=1:symbolize=0:"
                          f"log_path={log_dir}/ubsan"),
    }


# An unsymbolized frame: "    #3 0x7f12c0a1b2c3  (/path/mod_acme.so+0x1b2c3)"
_FRAME = re.compile(r"^(\s*#\d+ 0x[0-9a-f]+)\s+\((\S+)\+(0x[0-9a-f]+)\)\s*$", re.M)


def _symbolize_object(obj, offsets):
    """{offset: "function file:line"} for offsets into obj ({} if no tool)."""
    tool = shutil.which("llvm-symbolizer")
    if tool:
        argv = [tool, f"--obj={obj}", "--functions=linkage", "--inlining=false"]
    elif shutil.which("addr2line"):
        argv = ["addr2line", "-f", "-C", "-e", obj]
    else:
        return {}
    try:
        out = subprocess.run(argv, input="\n".join(offsets) + "\n", capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    lines = [l for l in out.splitlines() if l.strip()]
    pairs = list(zip(lines[0::2], lines[1::2]))
    return {off: f"{fn} {loc}" for off, (fn, loc) in zip(offsets, pairs)}


def symbolize(text):
    """text with each unsymbolized frame given its function and source line."""
    wanted = {}
    for m in _FRAME.finditer(text):
        wanted.setdefault(m.group(2), []).append(m.group(3))
    names = {}
    for obj, offsets in wanted.items():
        if os.path.exists(obj):
            for off, where in _symbolize_object(obj, sorted(set(offsets))).items():
                names[(obj, off)] = where

    def frame(m):
        where = names.get((m.group(2), m.group(3)))
        return f"{m.group(1)} in {where} ({m.group(2)}+{m.group(3)})" if where else m.group(0)
    return _FRAME.sub(frame, text)


def reports(log_dir, extra_logs=()):
    """[(path, text)] of every sanitizer report: files in log_dir, and report
    lines that ended up in other logs (e.g. httpd's error_log)."""
    found = []
    for path in sorted(glob.glob(os.path.join(log_dir, "*"))):
        with open(path, errors="replace") as f:
            text = f.read()
        if text.strip():
            found.append((path, symbolize(text)))
    for path in extra_logs:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        if _STDERR_PATTERNS.search(text):
            found.append((path, text))
    return found
