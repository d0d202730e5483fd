"""A tiny DNS client (RFC 1035 over UDP), enough to ask challtestsrv for TXT
and A records without depending on dig."""
import secrets
import socket
import struct

TYPE_A = 1
TYPE_TXT = 16


class DNSError(RuntimeError):
    """No usable answer (timeout, malformed reply, error rcode)."""


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad DNS label in {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _skip_name(msg, pos):
    """Position after the (possibly compressed) name starting at pos."""
    while True:
        if pos >= len(msg):
            raise DNSError("truncated name")
        length = msg[pos]
        if length & 0xC0 == 0xC0:
            return pos + 2
        if length == 0:
            return pos + 1
        pos += 1 + length


def _parse(msg, qid):
    if len(msg) < 12:
        raise DNSError("short reply")
    rid, flags, qd, an, _, _ = struct.unpack("!6H", msg[:12])
    if rid != qid:
        raise DNSError("reply id does not match the query")
    rcode = flags & 0xF
    if rcode not in (0, 3):         # NXDOMAIN is an empty answer, not an error
        raise DNSError(f"rcode {rcode}")
    pos = 12
    for _ in range(qd):
        pos = _skip_name(msg, pos) + 4
    answers = []
    for _ in range(an):
        pos = _skip_name(msg, pos)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        answers.append((rtype, msg[pos:pos + rdlen]))
        pos += rdlen
    return answers


def query(name, qtype, server=("127.0.0.1", 53), timeout=2.0):
    """Raw answers [(type, rdata bytes)] for name/qtype from server."""
    qid = secrets.randbelow(0x10000)
    packet = struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0) + _encode_name(name) + \
        struct.pack("!HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, server)
        try:
            reply, _ = s.recvfrom(4096)
        except socket.timeout as e:
            raise DNSError(f"no reply from {server[0]}:{server[1]} in {timeout}s") from e
    return _parse(reply, qid)


def txt(name, server, timeout=2.0):
    """The TXT records of name, each as one string (its parts joined)."""
    records = []
    for rtype, rdata in query(name, TYPE_TXT, server, timeout):
        if rtype != TYPE_TXT:
            continue
        parts, pos = [], 0
        while pos < len(rdata):
            n = rdata[pos]
            parts.append(rdata[pos + 1:pos + 1 + n].decode())
            pos += 1 + n
        records.append("".join(parts))
    return records


def a(name, server, timeout=2.0):
    """The IPv4 addresses of name."""
    return [socket.inet_ntoa(rdata) for rtype, rdata in query(name, TYPE_A, server, timeout)
            if rtype == TYPE_A and len(rdata) == 4]
