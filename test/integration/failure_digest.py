#!/usr/bin/env python3
"""Prints why each failed or errored test of a pytest JUnit XML file failed,
a few lines each, for the end of test/run-tests.sh's output.

CI keeps only the tail of a run's output: pytest's short summary there names
a failed test but, its line being longer than the terminal, drops the reason
(an error at teardown, a sanitizer report). This puts the reason next to the
summary.

  failure_digest.py JUNIT_XML [LABEL] [--lines N] [--tests N]
"""
import argparse
import sys
import xml.etree.ElementTree as ET


def failures(path):
    """[(test id, kind, text)] of the failed and errored test cases."""
    found = []
    for case in ET.parse(path).getroot().iter("testcase"):
        for kind in ("failure", "error"):
            for elem in case.findall(kind):
                test = f"{case.get('classname', '')}::{case.get('name', '')}"
                text = (elem.text or "").strip() or (elem.get("message") or "").strip()
                found.append((test, kind, text))
    return found


def reason_lines(text, limit):
    """The lines that say most: a pytest.fail() message is the text itself;
    a traceback's reason is in its "E   " lines."""
    lines = [l.rstrip() for l in text.splitlines() if l.strip()]
    reasons = [l for l in lines if l.startswith("E ")]
    chosen = reasons or lines
    if len(chosen) > limit:
        chosen = chosen[:limit - 1] + [f"... ({len(chosen) - limit + 1} more lines)"]
    return chosen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("junit")
    ap.add_argument("label", nargs="?", default="")
    ap.add_argument("--lines", type=int, default=12)
    ap.add_argument("--tests", type=int, default=2)
    args = ap.parse_args()
    try:
        found = failures(args.junit)
    except (OSError, ET.ParseError) as e:
        print(f"{args.label}: no test results to digest ({e})")
        return 0
    for test, kind, text in found[:args.tests]:
        print(f"--- {args.label} {kind}: {test}")
        for line in reason_lines(text, args.lines):
            print(f"    {line[:300]}")
    if len(found) > args.tests:
        print(f"--- {args.label}: {len(found) - args.tests} more failed test(s), see the log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
