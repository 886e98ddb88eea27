#!/usr/bin/env python3
"""Total meson test logs.

    scripts/test-summary.py build/meson-logs/testlog.json [more testlog.json ...]

Each argument is a meson testlog.json (one JSON object per line). Files that
do not exist are ignored. For each log, one line goes to stderr:

    build: 12 passed, 0 failed, 2 skipped

followed by each suite's wall time (first start to last end of its tests),
the accelerator the test VM ran on (from tests/vm/run's "accelerator:" line),
the skipped tests (with their "SKIP: ..." line where the log has the test's
output) and the failed ones. Then exactly one line goes to
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


def suite_names(entry):
    """The test's suites: its "suite" list, or (meson 1.0, which has none)
    the "project:suite1+suite2 / name" prefix of its name."""
    suites = entry.get("suite")
    if not isinstance(suites, list) or not suites:
        name = entry.get("name", "")
        if " / " not in name:
            return []
        suites = name.split(" / ", 1)[0].split(":", 1)[-1].split("+")
    return sorted({s.split(":", 1)[-1] for s in suites})


def suite_times(entries):
    """suite -> (wall seconds, test count), wall from first start to last end."""
    spans = {}
    for e in entries:
        start, dur = e.get("starttime"), e.get("duration")
        if not isinstance(start, (int, float)) or not isinstance(dur, (int, float)):
            continue
        for suite in suite_names(e):
            lo, hi, n = spans.get(suite, (start, start + dur, 0))
            spans[suite] = (min(lo, start), max(hi, start + dur), n + 1)
    return {s: (hi - lo, n) for s, (lo, hi, n) in spans.items()}


def vm_accelerators(entries):
    """The distinct "accelerator: ..." reasons tests/vm/run printed."""
    seen = []
    for e in entries:
        for field in ("stderr", "stdout"):
            for line in (e.get(field) or "").splitlines():
                if line.startswith("vm/run: accelerator: "):
                    what = line[len("vm/run: accelerator: "):].strip()
                    if what not in seen:
                        seen.append(what)
    return seen


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


def fmt_seconds(secs):
    secs = int(round(secs))
    return "%dm%02ds" % (secs // 60, secs % 60) if secs >= 60 else "%ds" % secs


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
        everything = passed + failed + skipped
        times = suite_times(everything)
        if times:
            print("  wall time: " + ", ".join(
                "%s %s (%d)" % (name, fmt_seconds(secs), n)
                for name, (secs, n) in sorted(times.items())), file=sys.stderr)
        for what in vm_accelerators(everything):
            print("  test VM accelerator: " + what, file=sys.stderr)
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
