#!/bin/bash
# `pepita run` against GNU parallel on the idioms of GNU parallel's own
# tutorial (man parallel_tutorial), each with -k for a fixed order: input
# sources (::: :::: :::+ ::::+ -a --link), replacement strings ({} {.}
# {/} {//} {/.} {#} {%} {N} {-N} {N/} ...), --colsep, -m, -X, -N,
# --tag, --dryrun, --halt, --retries, --results, --pipe (--block, -N).
# Standard output, the exit status and (for --results) the files must be
# the same. Both run their shell commands with /bin/sh.
#
# Environment (tests/meson.build): PEPITA_BIN.
# Exit: 0 pass, 1 fail, 77 no GNU parallel, 99 not set up.
set -u

if [ -z "${PEPITA_BIN:-}" ] || [ ! -x "$PEPITA_BIN" ]; then
	echo "pepita-run-gnu.sh: PEPITA_BIN not set or not executable" >&2
	exit 99
fi
if ! command -v parallel >/dev/null || ! parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
	echo "SKIP: GNU parallel is not installed (apt-get install parallel)"
	exit 77
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
# GNU parallel's citation notice stays quiet with this in its HOME.
mkdir -p "$tmp/home/.parallel" "$tmp/work" && touch "$tmp/home/.parallel/will-cite"
export HOME=$tmp/home SHELL=/bin/sh
cd "$tmp/work" || exit 99
printf 'A\nB\nC\n' >abc-file
printf 'D\nE\nF\n' >def-file
printf 'f1\tf2\nA\tB\nC\tD\n' >tsv-file.tsv
seq 1000000 >num1000000
failures=0
count=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# same ARGS...: GNU parallel's stdout and exit status, and ours (stdin:
# $input). After the run, $after (a command) describes what was left.
input=/dev/null
after=:
same() {
	local g p
	count=$((count + 1))
	rm -rf outdir "$tmp/runs"
	g=$(timeout 120 parallel "$@" <"$input" 2>"$tmp/gnu.err"; echo "exit $?"; eval "$after")
	rm -rf outdir "$tmp/runs"
	p=$(timeout 120 "$PEPITA_BIN" run "$@" <"$input" 2>"$tmp/ours.err"; echo "exit $?"; eval "$after")
	rm -rf outdir "$tmp/runs"
	if [ "$g" != "$p" ]; then
		fail "parallel $*"
		diff <(echo "$g") <(echo "$p") | head -20
		head -5 "$tmp/ours.err"
	fi
}

same -k echo ::: A B C
same -k -a abc-file echo
same -k echo ::: A B C ::: D E F
same -k -a abc-file -a def-file echo
same -k echo ::: A B C :::: def-file
same -k --link echo ::: A B C ::: D E F
same -k --link echo ::: A B C D E ::: F G
same -k echo :::: abc-file :::+ G H I :::: def-file
same -k echo :::: abc-file ::: G H I ::::+ def-file
same -k echo ::: A B C D E :::+ F G
same -k ::: ls 'echo foo' pwd
same -k echo ::: A/B.C
same -k echo {} ::: A/B.C
same -k echo {.} ::: A/B.C
same -k echo {/} ::: A/B.C
same -k echo {//} ::: A/B.C
same -k echo {/.} ::: A/B.C
same -k echo {#} ::: A B C
same -k -j 1 echo {%} ::: A B C
same -k echo {1} and {2} ::: A B ::: C D
same -k echo /={1/} //={1//} /.={1/.} .={1.} ::: A/B.C D/E.F
same -k echo 1={1} 2={2} 3={3} -1={-1} -2={-2} -3={-3} ::: A B ::: C D ::: E F
same -k --colsep '\t' echo 1={1} 2={2} :::: tsv-file.tsv
same -k --jobs 4 -m echo ::: 1 2 3 4 5 6 7 8 9 10
same -k --jobs 4 -m echo pre-{}-post ::: A B C D E F G
same -k --jobs 4 -X echo pre-{}-post ::: A B C D E F G
same -k -N3 echo ::: A B C D E F G H
same -k -N3 echo 1={1} 2={2} 3={3} ::: A B C D E F G H
same -k -N0 echo foo ::: 1 2 3
same -k echo \={} ::: zsh bash ls
same -k --tag echo foo-{} ::: A B C
same -k --dryrun echo {} ::: A B C
same -k -j2 'printf "%s-start\n%s" {} {}; sleep {}; printf "%s\n" -middle; echo {}-end' \
	::: 0.3 0.2 0.1
same -k -j1 --halt soon,fail=1 'echo {}; exit {}' ::: 0 0 1 2 3
same -k -j1 --halt now,fail=1 'echo {}; exit {}' ::: 0 0 1 2 3
same -k -j1 --halt soon,fail=20% 'echo {}; exit {}' ::: 0 1 2 3 4 5 6 7 8 9
same -k -j1 --halt now,success=1 'echo {}; exit {}' ::: 1 2 3 0 4 5 6
same -k 'exit {}' ::: 0 1 2 0 3
after='sort "$tmp/runs"'
same -k --retries 3 "echo tried {} >>$tmp/runs; echo completed {}; exit {}" ::: 1 2 0
after='find outdir -type f | sort | xargs tail -n +1'
same --results outdir echo ::: A B C
same --results outdir echo ::: A B ::: C D
after=:
input=num1000000
same -k --pipe wc
same -k --pipe --block 2M wc
same -k --pipe -N140000 wc

if [ "$failures" -gt 0 ]; then
	echo "pepita-run-gnu.sh: $failures of $count differ from GNU parallel"
	exit 1
fi
echo "pepita-run-gnu.sh: all $count the same as GNU parallel"
