"""Checkers for the status outputs of test_4x_status*: the JSON schema of
docs/status.md (a small JSON-schema-like validator) and a strict parser of
the Prometheus text exposition format 0.0.4. Both raise AssertionError with
the path or line that is wrong."""
import math
import os
import re

# mod_md's time form, RFC 1123 in GMT: "Sun, 06 Dec 2026 22:32:12 GMT"
TIME = {"type": "string",
        "pattern": r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep"
                   r"|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
SPEC = r"^(rsa\d+|P-\d+|secp\d+r1|[A-Za-z0-9-]+)$"
STATES = ["ok", "renewing", "staged", "errored", "expiring", "no-cert", "unknown"]


def obj(props, required=(), extra=None, key_pattern=None):
    return {"type": "object", "properties": props, "required": list(required),
            "additional": extra, "key_pattern": key_pattern}


def arr(items):
    return {"type": "array", "items": items}


VALID = obj({"from": TIME, "until": TIME}, ["from", "until"])
LEAF = {"valid": VALID, "serial": {"type": "string", "pattern": r"^-?[0-9A-F]+$"},
        "sha256-fingerprint": {"type": "string", "pattern": r"^[0-9a-f]{64}$"}}
# mod_md's issuer name ("/CN=...") and the ARI certificate id (RFC 9773)
NAMES = {"issuer-name": {"type": "string", "pattern": r"^/"},
         "ari-cert-id": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"}}
LIVE_ENTRY = obj(dict(LEAF, issuer=STR, **NAMES), ["valid", "serial", "sha256-fingerprint"])
STAGED_ENTRY = obj(dict(LEAF, **NAMES), ["valid", "serial", "sha256-fingerprint"])
CERT = obj({"valid": VALID}, extra=LIVE_ENTRY, key_pattern=SPEC)
EMPTY = obj({})
STAGED_CERT = obj({"valid": VALID}, extra=STAGED_ENTRY, key_pattern=SPEC)
WINDOW = {"type": ["string", "null"], "pattern": r"^(\d+%|\d+s)$"}
EAB = obj({"kid": STR, "hmac": {"type": "string", "enum": ["***"]}}, ["kid", "hmac"])
CA = obj({"account": {"type": "string", "pattern": r"^ACME-.+-\d{4}$"},
          "proto": {"type": "string", "enum": ["ACME"]}, "urls": arr(STR), "url": STR,
          "agreement": STR, "challenges": arr(STR),
          "eab": EAB},
         ["proto", "urls"])
RENEWAL = obj({"name": STR, "errors": {"type": "integer", "minimum": 0}, "finished": BOOL,
               "valid-from": TIME, "step": STR, "next-run": TIME, "last-success": TIME,
               "notified": BOOL, "notified-renewed": BOOL, "last-run": TIME,
               "activity": STR,
               "last": obj({"status": {"type": "integer"}, "status-description": STR,
                            "problem": STR, "detail": STR, "activity": STR,
                            "valid-from": TIME}, ["status"]),
               "cert": STAGED_CERT,
               # one-domain form only: the job's log
               "log": obj({"entries": arr(obj(
                   {"when": TIME, "type": {"type": "string",
                                           "enum": ["starting", "progress", "renewal-error",
                                                    "finished"]},
                    "status": STR, "detail": STR}, ["when", "type"]))}, ["entries"])},
              ["name", "errors", "finished", "notified", "notified-renewed", "cert"])
PRIVKEY = obj({"type": {"type": "string", "enum": ["RSA", "EC"]},
               "bits": {"type": "integer", "minimum": 2048}, "curve": STR}, ["type"])
PROFILE = obj({"name": STR, "mandatory": BOOL, "offered": BOOL}, ["name", "mandatory"])
ARI = obj({"window": obj({"start": TIME, "end": TIME}, ["start", "end"]),
           "explanation-url": STR, "next-check": TIME, "error": STR})
OCSP = obj({"sha256-fingerprint": {"type": "string", "pattern": r"^[0-9a-f]{64}$"},
            "responder": STR,
            "status": {"type": "string", "enum": ["good", "revoked", "unknown", "none"]},
            "valid": obj({"from": TIME, "until": {"type": "string"}}, ["from", "until"]),
            "next-refresh": TIME, "last-error": STR},
           ["sha256-fingerprint", "responder", "status", "next-refresh"])
SELFTEST = obj({"result": {"type": "string",
                           "enum": ["waiting", "running", "passed", "failed", "unreachable",
                                    "rollback-pending", "rolled-back"]},
                "at": TIME, "message": STR}, ["result", "at"])
DOMAIN = obj({"name": STR, "domains": arr(STR), "contacts": arr(STR),
              "transitive": {"type": "integer", "enum": [0, 1]},
              "renew-mode": {"type": "integer", "enum": [0, 1, 2]},
              "renew-window": WINDOW, "warn-window": WINDOW, "must-staple": BOOL,
              "require-https": {"type": "string", "enum": ["off", "temporary", "permanent"]},
              "state": {"type": "integer", "enum": [1, 2]},
              "state-descr": {"type": "string", "pattern": r"^certificate(\([a-z0-9]+\))? is "},
              "acme-state": {"type": "string", "enum": STATES},
              "proto": obj({"acme-tls/1": arr(STR)}, ["acme-tls/1"]),
              "privkey": arr(PRIVKEY), "profile-mandatory": BOOL, "ari-renewals": BOOL,
              "watched": BOOL, "ca": CA, "eab": EAB, "cert": CERT, "renew": BOOL, "renew-at": TIME, "renewal": RENEWAL,
              "profile": PROFILE, "renew-via-ari": BOOL, "ari": ARI,
              "stapling": BOOL, "ocsp": arr(OCSP), "self-test": SELFTEST},
             ["name", "domains", "contacts", "transitive", "renew-mode", "renew-window",
              "warn-window", "must-staple", "require-https", "state", "acme-state", "proto", "privkey",
              "profile-mandatory", "ari-renewals", "watched", "ca", "cert", "renew"])
COUNT = {"type": "integer", "minimum": 0}
SECONDS = {"type": "string", "pattern": r"^\d+s$"}
ACTIVATION = obj({"mode": {"type": "string", "enum": ["manual", "graceful"]},
                  "interval": SECONDS, "settle": SECONDS, "pending": COUNT, "next": TIME,
                  "batch": COUNT, "waiting": STR, "check-error": STR, "last-check": TIME,
                  "last": TIME, "restarts": COUNT},
                 ["mode", "restarts"])
SHARED_STORE = obj({"url": {"type": "string", "pattern": r"^rediss?://"},
                    "state": {"type": "string",
                              "enum": ["off", "connecting", "up", "down"]},
                    "since": TIME, "error": STR, "last-answer": TIME, "next-try": TIME},
                   ["url", "state"])
STATUS = obj({"version": STR, "activation": ACTIVATION, "shared-store": SHARED_STORE,
              "managed-domains": arr(DOMAIN)},
             ["version", "managed-domains"])
CERT_ENTRY = {"type": "object", "properties": LEAF, "required": [], "additional": None,
              "key_pattern": None}
CERT_STATUS = obj({"valid": VALID, "renewal": obj({"cert": STAGED_CERT}, ["cert"])},
                  extra=CERT_ENTRY, key_pattern=SPEC)

_TYPES = {"string": str, "boolean": bool, "array": list, "object": dict,
          "null": type(None)}


def _type_ok(value, t):
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _TYPES[t])


def validate(value, schema, path="$"):
    """Raises AssertionError naming the first path that breaks schema."""
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    assert any(_type_ok(value, t) for t in types), f"{path}: {value!r} is not {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if isinstance(value, str) and "pattern" in schema:
        assert re.search(schema["pattern"], value), f"{path}: {value!r} !~ {schema['pattern']}"
    if isinstance(value, int) and "minimum" in schema:
        assert value >= schema["minimum"], f"{path}: {value} < {schema['minimum']}"
    if isinstance(value, list):
        for i, item in enumerate(value):
            validate(item, schema["items"], f"{path}[{i}]")
    if isinstance(value, dict):
        for key in schema["required"]:
            assert key in value, f"{path}: {key!r} missing"
        for key, item in value.items():
            if key in schema["properties"]:
                validate(item, schema["properties"][key], f"{path}.{key}")
            else:
                assert schema["additional"], f"{path}: unexpected {key!r}"
                assert re.search(schema["key_pattern"], key), f"{path}: bad key {key!r}"
                validate(item, schema["additional"], f"{path}.{key}")


def schema_paths(schema, prefix=""):
    """Every field path of an object schema, "<keyspec>" for free keys."""
    out = []
    if schema["type"] == "array":
        return schema_paths(schema["items"], prefix)
    if schema["type"] != "object":
        return out
    for key, sub in schema["properties"].items():
        path = f"{prefix}.{key}" if prefix else key
        out.append(path)
        out += schema_paths(sub, path)
    if schema.get("additional"):
        path = f"{prefix}.<keyspec>" if prefix else "<keyspec>"
        out.append(path)
        out += schema_paths(schema["additional"], path)
    return out


def documented_paths(section):
    """The backticked first column of the field tables under the heading
    that starts with `section` in docs/status.md."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "docs", "status.md")) as f:
        text = f.read()
    start = text.index("\n## " + section)
    end = text.find("\n## ", start + 1)
    body = text[start:end if end > 0 else len(text)]
    return set(re.findall(r"^\| `([^`]+)` \|", body, re.M))


def undocumented(schema, section):
    """Schema paths docs/status.md does not describe. A "valid" object's
    from/until are described once (cert.valid), staged certificates as
    "same shape as cert"."""
    docs = documented_paths(section)
    missing = []
    for path in schema_paths(schema):
        norm = re.sub(r"^renewal\.cert", "cert", path)
        parent = norm.rsplit(".", 1)[0]
        if path in docs or norm in docs:
            continue
        if re.search(r"\.valid\.(from|until)$", norm) and parent in docs:
            continue
        if path.startswith("renewal.cert.") and section.startswith("Certificate"):
            continue
        missing.append(path)
    return missing


# ------------------------------------------------------------------ Prometheus

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({METRIC_NAME})(?:\{{((?:{LABEL_NAME}={LABEL_VALUE},?)*)\}})?"
                    r" (\S+)(?: (-?\d+))?$")
LABEL = re.compile(rf"({LABEL_NAME})=({LABEL_VALUE}),?")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def _float(text, line):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("+", ""))
    assert re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", text), f"bad value: {line!r}"
    return float(text)


def _unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v[1:-1])


def _family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ("histogram", "summary"):
            return base
    return name


def parse_metrics(text):
    """Parses strictly; returns {family: {"type", "help", "samples": [(name,
    labels dict, value)]}}."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families, types, series, closed = {}, {}, set(), set()
    current = None
    for line in text[:-1].split("\n"):
        assert line.strip() == line and line, f"blank or padded line: {line!r}"
        m = re.match(rf"^# (HELP|TYPE) ({METRIC_NAME}) (.*)$", line)
        if m:
            kind, name, rest = m.groups()
            fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
            assert not fam["samples"], f"{kind} after samples of {name}"
            key = "help" if kind == "HELP" else "type"
            assert fam[key] is None, f"second {kind} for {name}"
            if kind == "TYPE":
                assert rest in TYPES, f"bad type: {line!r}"
                types[name] = rest
            fam[key] = rest
            assert name not in closed, f"{name} interleaved with another family"
            if current and current != name:
                closed.add(current)
            current = name
            continue
        assert not line.startswith("#"), f"bad comment line: {line!r}"
        m = SAMPLE.match(line)
        assert m, f"not a sample: {line!r}"
        name, labels_text, value = m.group(1), m.group(2) or "", m.group(3)
        labels = {k: _unescape(v) for k, v in LABEL.findall(labels_text)}
        assert len(labels) == len(LABEL.findall(labels_text)), f"duplicate label: {line!r}"
        fam_name = _family_of(name, types)
        assert fam_name in types, f"sample before its TYPE: {line!r}"
        assert fam_name not in closed, f"{fam_name} interleaved: {line!r}"
        if current and current != fam_name:
            closed.add(current)
        current = fam_name
        key = (name, tuple(sorted(labels.items())))
        assert key not in series, f"duplicate series: {line!r}"
        series.add(key)
        families[fam_name]["samples"].append((name, labels, _float(value, line)))
    for name, fam in families.items():
        assert fam["type"] and fam["help"], f"{name} lacks HELP or TYPE"
        if fam["type"] == "histogram":
            _check_histogram(name, fam["samples"])
        if fam["type"] == "counter":
            assert all(v >= 0 for _, _, v in fam["samples"]), f"negative counter {name}"
    return families


def _check_histogram(name, samples):
    buckets = [(s[1]["le"], s[2]) for s in samples if s[0] == name + "_bucket"]
    count = [s[2] for s in samples if s[0] == name + "_count"]
    assert buckets and buckets[-1][0] == "+Inf", f"{name}: no +Inf bucket"
    assert len(count) == 1 and count[0] == buckets[-1][1], f"{name}: +Inf != count"
    bounds = [math.inf if le == "+Inf" else float(le) for le, _ in buckets]
    assert bounds == sorted(bounds), f"{name}: buckets out of order"
    values = [v for _, v in buckets]
    assert values == sorted(values), f"{name}: buckets not cumulative"
    assert any(s[0] == name + "_sum" for s in samples), f"{name}: no _sum"


def sample(families, family, name=None, **labels):
    """The value of one series, None when absent."""
    for n, l, v in families.get(family, {"samples": []})["samples"]:
        if n == (name or family) and l == labels:
            return v
    return None
