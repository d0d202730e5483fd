"""Core dumps of crashed httpd children, and their stacks.

httpd makes its children dumpable when CoreDumpDirectory is set (the
harness's configuration does), so a child that a signal ends leaves a core
there, provided the core size limit allows it (allow(), run in the process
that starts httpd) and the kernel's core_pattern is a plain file name. A
test that fails on a crashed child then shows where it crashed, not only
that it did (a crash seen once in CI is otherwise lost).
"""
import glob
import os
import resource
import shutil
import subprocess

# gdb's output per core, at most: the stacks of a few dozen threads
_STACKS_MAX = 20000


def allow():
    """preexec_fn: no limit on the size of core files (httpd's own default
    keeps the soft limit of the shell, often 0)."""
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    except (ValueError, OSError):
        pass


def stacks(core_dir, binary):
    """Lines: for each core in core_dir, its path and the stacks of all its
    threads (gdb), or why there are none."""
    found = sorted(glob.glob(os.path.join(core_dir, "core*")))
    if not found:
        return [f"(no core in {core_dir}; /proc/sys/kernel/core_pattern: {_core_pattern()})"]
    gdb = shutil.which("gdb")
    lines = []
    for path in found:
        lines.append(f"== core {path}")
        if gdb is None:
            lines.append("(gdb is not installed: no stacks)")
            continue
        try:
            out = subprocess.run([gdb, "-batch", "-nx", "-ex", "thread apply all bt 40",
                                  binary, path], capture_output=True, text=True,
                                 timeout=120).stdout
        except (OSError, subprocess.SubprocessError) as e:
            out = f"(gdb failed: {e})"
        lines += out[:_STACKS_MAX].splitlines()
    return lines


def _core_pattern():
    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            return f.read().strip()
    except OSError:
        return "?"
