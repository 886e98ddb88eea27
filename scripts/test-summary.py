#!/usr/bin/env python3
"""Total meson test logs.

    scripts/test-summary.py build/meson-logs/testlog.json [more testlog.json ...]

Each argument is a meson testlog.json (one JSON object per line). Files that
do not exist are ignored. For each log, one line goes to stderr:

    build: 12 passed, 0 failed, 2 skipped

followed by the skipped tests (with their "SKIP: ..." line where the log has
the test's output) and the failed ones. Then exactly one line goes to
stdout, totalled over all logs:

    N passed, N failed, N skipped

Exit status 1 if any test failed, else 0.
"""

import json
import os
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}
# Everything else (FAIL, UNEXPECTEDPASS, TIMEOUT, ERROR, INTERRUPT, ...) fails.


def run_label(path):
    """build/meson-logs/testlog.json -> build"""
    d = os.path.dirname(os.path.abspath(path))
    if os.path.basename(d) == "meson-logs":
        d = os.path.dirname(d)
    return os.path.relpath(d) if not os.path.relpath(d).startswith("..") else d


def skip_reason(entry):
    for field in ("stdout", "stderr"):
        text = entry.get(field) or ""
        for line in text.splitlines():
            if line.lstrip().startswith("SKIP"):
                return line.strip()
    return ""


def test_name(entry):
    name = entry.get("name", "?")
    suites = entry.get("suite") or []
    if isinstance(suites, list) and suites:
        # "project:unit" -> "unit"
        names = sorted({s.split(":", 1)[-1] for s in suites})
        return "%s (%s)" % (name, ",".join(names))
    return name


def read_log(path):
    passed, failed, skipped = [], [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                print("%s:%d: not JSON, ignored" % (path, lineno), file=sys.stderr)
                continue
            if not isinstance(entry, dict):
                continue
            result = str(entry.get("result", "")).upper()
            if result in PASSED:
                passed.append(entry)
            elif result in SKIPPED:
                skipped.append(entry)
            else:
                failed.append(entry)
    return passed, failed, skipped


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    tp = tf = ts = 0
    found = 0
    for path in argv[1:]:
        if not os.path.isfile(path):
            continue
        found += 1
        passed, failed, skipped = read_log(path)
        tp += len(passed)
        tf += len(failed)
        ts += len(skipped)
        print("%s: %d passed, %d failed, %d skipped"
              % (run_label(path), len(passed), len(failed), len(skipped)),
              file=sys.stderr)
        for e in skipped:
            reason = skip_reason(e)
            print("  skipped: %s%s" % (test_name(e), ": " + reason if reason else ""),
                  file=sys.stderr)
        for e in failed:
            print("  FAILED: %s [%s]" % (test_name(e), e.get("result", "?")),
                  file=sys.stderr)
    if not found:
        print("test-summary: no test logs found", file=sys.stderr)
    sys.stderr.flush()
    print("%d passed, %d failed, %d skipped" % (tp, tf, ts))
    sys.stdout.flush()
    return 1 if tf else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
