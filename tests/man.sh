#!/bin/bash
# The man pages render without a groff warning (and without a mandoc
# warning where mandoc is installed), and their SYNOPSIS names every
# command the tool's dispatcher lists in `--help` and every verb each
# command's `--help` shows: a command added to a table but not to its page
# fails here.
#
# Environment (tests/meson.build): PEPITA_BIN, COHETE_BIN, DOCS (the docs
# folder), and COHETE_RUN (the exe wrapper) in cross builds.
# Exit: 0 pass, 1 fail, 77 no groff or python3, 99 not set up.
set -u

for v in PEPITA_BIN COHETE_BIN; do
	if [ ! -x "${!v:-}" ]; then
		echo "man.sh: $v not set or not executable: '${!v:-}'" >&2
		exit 99
	fi
done
docs=${DOCS:-$(cd "$(dirname "$0")/../docs" && pwd)}
if ! command -v groff >/dev/null 2>&1; then
	echo "SKIP: no groff to render the man pages"
	exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: no python3 to read the SYNOPSIS"
	exit 77
fi

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

for tool in pepita cohete; do
	page=$docs/$tool.1
	# -ww: every warning groff has (bad requests, fonts, breaks).
	groff -man -Tutf8 -ww "$page" >/dev/null 2>"$tmp/warn"
	if [ -s "$tmp/warn" ]; then
		fail "$tool.1: groff warnings:"
		sed 's/^/    /' "$tmp/warn"
	else
		echo "ok: $tool.1 renders without groff warnings"
	fi
	if command -v mandoc >/dev/null 2>&1; then
		if ! mandoc -Tlint -Wwarning "$page" >"$tmp/lint" 2>&1; then
			fail "$tool.1: mandoc -Tlint warnings:"
			sed 's/^/    /' "$tmp/lint"
		else
			echo "ok: $tool.1 passes mandoc -Tlint -Wwarning"
		fi
	else
		echo "note: no mandoc: $tool.1 not linted"
	fi
done

# A command's header in COMMANDS is one tagged line: a tag that goes on
# into the text below (".BR fan \" [\" set" then ".IR PWM ]") leaves a
# bracket open there.
for tool in pepita cohete; do
	groff -man -Tascii -rLL=400n -P-cbou "$docs/$tool.1" 2>/dev/null |
		sed -n '/^COMMANDS/,/^[A-Z]/p' | grep -E '^ {7}[^ ]' >"$tmp/tags"
	open=$(awk '{ o = gsub(/\[/, "["); c = gsub(/\]/, "]"); if (o != c) print }' "$tmp/tags")
	if [ -n "$open" ]; then
		fail "$tool.1: COMMANDS headers cut short: $open"
	else
		echo "ok: $tool.1: every COMMANDS header is whole"
	fi
done

# synopsis TOOL: the SYNOPSIS, one line per .br (a wide page: no wrapping).
synopsis() {
	groff -man -Tascii -rLL=400n -P-cbou "$docs/$1.1" 2>/dev/null |
		sed -n '/^SYNOPSIS/,/^[A-Z]/{/^[A-Z]/d;s/^ *//;p}'
}

for tool in pepita cohete; do
	bin=PEPITA_BIN
	[ "$tool" = cohete ] && bin=COHETE_BIN
	synopsis "$tool" >"$tmp/$tool.synopsis"
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	${COHETE_RUN:-} "${!bin}" --help >"$tmp/$tool.help" 2>&1
	# Each command's --help: its verbs, as usage lines or a listing.
	for cmd in $(sed -n '/^commands:/,/^$/s/^   \([a-z][a-z-]*\) .*/\1/p' "$tmp/$tool.help"); do
		# shellcheck disable=SC2086
		${COHETE_RUN:-} "${!bin}" "$cmd" --help >"$tmp/$tool-$cmd.help" 2>&1
	done
	python3 - "$tool" "$tmp" <<'PY' || failures=$((failures + 1))
import glob, os, re, sys

tool, tmp = sys.argv[1], sys.argv[2]
syn = open(os.path.join(tmp, tool + '.synopsis')).read().splitlines()
bad = 0
helps = sorted(glob.glob(os.path.join(tmp, tool + '-*.help')))
if not helps:
    print(f"FAIL: {tool} --help lists no commands")
    sys.exit(1)
for path in helps:
    cmd = os.path.basename(path)[len(tool) + 1:-len('.help')]
    text = open(path).read()
    verbs = set(re.findall(r'^(?:usage:)?\s+%s %s ([a-z][a-z-]*)\b' % (tool, cmd),
                           text, re.M))
    # A generated listing: "verbs:", "commands:", "benchmarks:" then rows.
    for block in re.findall(r'^[a-z]+s:\n((?:   \S.*\n)+)', text, re.M):
        verbs.update(re.findall(r'^   ([a-z][a-z-]*) ', block, re.M))
    lines = [l for l in syn if re.match(r'%s %s\b' % (tool, cmd), l)]
    if not lines:
        print(f"FAIL: {tool}.1: SYNOPSIS has no '{tool} {cmd}' line")
        bad += 1
        continue
    words = set(re.findall(r'[a-z][a-z-]*', ' '.join(lines)))
    missing = sorted(v for v in verbs if v not in words)
    if missing:
        print(f"FAIL: {tool}.1: SYNOPSIS of '{tool} {cmd}' lacks " + ', '.join(missing))
        bad += 1
    else:
        print(f"ok: {tool}.1 SYNOPSIS: {tool} {cmd}" +
              (f" ({', '.join(sorted(verbs))})" if verbs else ''))
sys.exit(1 if bad else 0)
PY
done

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
exit 0
