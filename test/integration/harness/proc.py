"""Processes started by the suite: each is stopped by its pid (never by name).

Every process runs in its own session, so its process group can be killed
as a whole when it leaves children behind. A registry of what is still
running lets the session end stop anything a finalizer missed.
"""
import os
import signal
import subprocess
import time

_running = set()


def _stat(pid):
    """The fields of /proc/<pid>/stat after the name, None if pid is gone.
    fields[i] is field i + 3 of proc(5): the name, field 2, may hold spaces
    and parentheses, so the split starts after its last ")"."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _all_stats():
    """(pid, _stat fields) of every process, in one walk of /proc."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields is not None:
                yield int(entry), fields


def pid_alive(pid):
    """True while pid exists and is not a zombie. A zombie thread-group leader
    whose other threads still run (a killed httpd child finishing an fsync)
    counts as alive: they still hold its files and listening sockets."""
    fields = _stat(pid)
    if fields is None:
        return False
    # fields[17] is num_threads (field 20)
    return fields[0] != "Z" or (len(fields) > 17 and int(fields[17]) > 1)


def pid_status(pid):
    """The fields of /proc/<pid>/status as a dict ({} if gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        return {}


def blocks_signal(pid, signum):
    """Whether the main thread of pid blocks signum (False if gone)."""
    mask = pid_status(pid).get("SigBlk")
    return mask is not None and bool(int(mask, 16) & (1 << (signum - 1)))


def age(pid):
    """Seconds since process pid started, None when it is gone."""
    fields = _stat(pid)
    if fields is None:
        return None
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    # fields[19] is the start time (field 22), in clock ticks since boot
    return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")


def children(pid):
    """Pids whose parent is pid."""
    # fields[1] is the parent pid (field 4)
    return [p for p, fields in _all_stats() if int(fields[1]) == pid]


def group_members(pgid):
    """Live pids in process group pgid."""
    # fields[2] is the process group (field 5), fields[0] the state (field 3)
    return [p for p, fields in _all_stats() if int(fields[2]) == pgid and fields[0] != "Z"]


def wait_gone(pids, timeout):
    """Waits until none of pids is alive; returns those still alive."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if pid_alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if pid_alive(p)]
    return left


def kill_group(pgid):
    """SIGKILLs what is left of process group pgid and waits for it."""
    members = group_members(pgid)
    if members:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_gone(members, 5)


class Process:
    """A long-running helper (pebble, challtestsrv) with its output in a log file."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.popen = None

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=self.env,
                                          cwd=self.cwd, start_new_session=True)
        _running.add(self)
        return self

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout=10):
        """SIGTERM, wait, then SIGKILL the process group. Safe to call twice."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        kill_group(self.popen.pid)
        if self.popen.poll() is None:
            self.popen.wait(5)
        _running.discard(self)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def __repr__(self):
        return f"<{self.name} pid={self.pid}>"


def stop_all():
    """Stops every Process still registered (the session's safety net)."""
    for proc in list(_running):
        proc.stop()
