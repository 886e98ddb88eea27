#!/bin/bash
# `pepita run` as GNU parallel's users expect it: ::: arguments and input
# lines, {} and its variants, commands read from input, --keep-order, exit
# status = failed jobs (101 past 100), --retries, --timeout (the job's
# children too), --joblog, --json, a missing program, 1 MiB of output per
# job, and SIGINT stopping every job. (pepita-run-options.sh: the rest of
# GNU parallel's syntax, exit codes, option values, --bar, --ssh.)
#
# Environment (tests/meson.build): PEPITA_BIN.
# Exit: 0 pass, 1 fail, 99 not set up.
set -u

if [ -z "${PEPITA_BIN:-}" ] || [ ! -x "$PEPITA_BIN" ]; then
	echo "pepita-run.sh: PEPITA_BIN not set or not executable" >&2
	exit 99
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run ARGS... [< input]: sets rc, fills $out and $err
run() {
	timeout 60 "$PEPITA_BIN" run --no-bar "$@" >"$out" 2>"$err"
	rc=$?
}

expect() {	# WHAT WANT_RC WANT_OUT
	if [ "$rc" != "$2" ] || [ "$(cat "$out")" != "$3" ]; then
		fail "$1: exit $rc (want $2), output:"
		cat "$out" "$err"
	fi
}

run -k -j 3 echo x{}y ::: a b c
expect "::: with {} and -k" 0 $'xay\nxby\nxcy'

run -k echo {.} {/} {//} {/.} {#} ::: /d/f.tar.gz
expect "replacement strings" 0 "/d/f.tar f.tar.gz /d f.tar 1"

run -k echo ::: 'it'\''s' '$HOME' 'a b'
expect "arguments are one argv entry each, never shell-expanded" 0 \
	$'it\'s\n$HOME\na b'

run -k 'echo x{}y | tr a-z A-Z' ::: ab 'c d' '$HOME'
expect "one-word command through sh, argument quoted" 0 $'XABY\nXC DY\nX$HOMEY'

run -k echo in: < <(printf 'a\nb\n')
expect "arguments from stdin, appended" 0 $'in: a\nin: b'

run -k < <(printf 'echo one\n\necho two; exit 3\n')
expect "commands from stdin: one failed" 1 $'one\ntwo'

printf '1\n2\n' >"$tmp/args"
run -k -a "$tmp/args" echo
expect "--arg-file" 0 $'1\n2'

run -j 4 false < <(seq 1 150)
expect "exit 101 when more than 100 jobs failed" 101 ""

run -j 4 sh -c 'exit $(( $0 % 2 ))' < <(seq 1 7)
expect "exit = number of failed jobs" 4 ""

# --retries: each job fails the first time (a marker file) then succeeds
run -k --retries 2 --joblog "$tmp/log" sh -c \
	'if [ -e '"$tmp"'/m$0 ]; then echo ok $0; else touch '"$tmp"'/m$0; exit 1; fi' ::: 1 2
expect "--retries" 0 $'ok 1\nok 2'
if [ "$(head -1 "$tmp/log")" != $'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand' ] ||
   [ "$(wc -l <"$tmp/log")" != 3 ] || [ "$(cut -f7 "$tmp/log" | tail -2 | sort -u)" != 0 ]; then
	fail "--joblog: header and one line per job with its exit value:"
	cat "$tmp/log"
fi

# --timeout kills the job's process group: its background sleep too
run --timeout 0.5 sh -c 'sleep 300.25 & sleep 300.25' ::: x
expect "--timeout: the job fails" 1 ""
grep -q "timed out" "$err" || fail "--timeout: no 'timed out' message: $(cat "$err")"
sleep 0.3
if pgrep -f 'sleep 300.25' >/dev/null; then
	fail "--timeout left the job's child running"
	pkill -f 'sleep 300.25'
fi

run pepita-no-such-program ::: 1
expect "missing program: a failed job" 1 ""
grep -q "pepita-no-such-program: No such file" "$err" || fail "missing program: $(cat "$err")"

run --json echo ::: a b
if [ "$rc" != 0 ] || [ "$(wc -l <"$out")" != 2 ] ||
   ! python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert o["exit"] == 0 and o["stdout"] in ("a\n", "b\n") and o["attempt_count"] == 1
    assert o["runtime_s"] >= 0 and o["start_s"] > 1e9, o
    assert not {"start", "runtime", "attempts"} & set(o), o
' "$out"; then
	fail "--json: one object per job"
	cat "$out"
fi

run -j 2 sh -c 'head -c 1048576 /dev/zero | tr "\0" $0' ::: a b
if [ "$rc" != 0 ] || [ "$(wc -c <"$out")" != 2097152 ]; then
	fail "1 MiB per job: exit $rc, $(wc -c <"$out") bytes"
fi

# SIGINT: the jobs (own process groups) are stopped, exit 255
"$PEPITA_BIN" run --no-bar -j 2 sleep ::: 301.5 301.5 301.5 >/dev/null 2>"$err" &
pid=$!
sleep 0.5
kill -INT "$pid"
wait "$pid"
rc=$?
sleep 0.3
[ "$rc" = 255 ] || fail "SIGINT: exit $rc, want 255: $(cat "$err")"
if pgrep -f 'sleep 301.5' >/dev/null; then
	fail "SIGINT left jobs running"
	pkill -f 'sleep 301.5'
fi

# --host through the worker protocol: tests/sim/ssh runs the "remote"
# pepita worker here. Jobs spread over the hosts' slots; the job log
# names each job's host.
sim_ssh=$(cd "$(dirname "$0")" && pwd)/sim/ssh
remote=(--ssh "$sim_ssh" --remote-pepita "$PEPITA_BIN")
run -k "${remote[@]}" -S 2/hostA -S hostB --joblog "$tmp/hlog" \
	sh -c 'echo $0 $PEPITA_SIM_HOST' ::: 1 2 3 4 5 6
if [ "$rc" != 0 ] || [ "$(cut -d' ' -f1 "$out" | tr '\n' ' ')" != "1 2 3 4 5 6 " ] ||
   [ "$(cut -f2 "$tmp/hlog" | tail -n +2 | sort -u | tr '\n' ' ')" != "hostA hostB " ] ||
   [ "$(cut -d' ' -f2 "$out" | tr '\n' ' ')" != "$(tail -n +2 "$tmp/hlog" | sort -n | cut -f2 | tr '\n' ' ')" ]; then
	fail "--host: exit $rc, jobs on hosts:"
	cat "$out" "$tmp/hlog" "$err"
fi
run "${remote[@]}" -S h1 sh -c 'exit 3' ::: x
expect "--host: a failing job's status comes back" 1 ""
run "${remote[@]}" -S h1 pepita-no-such-program ::: x
grep -q "pepita-no-such-program: No such file" "$err" || fail "--host: missing program: $(cat "$err")"

# The connection dies mid-job (the job kills its worker): the job fails
# over to a retry on a new connection, and nothing hangs.
rm -f "$tmp"/k*
run -k --retries 2 "${remote[@]}" -S 2/h1 sh -c \
	'if [ -e '"$tmp"'/k$0 ]; then echo ok $0; else touch '"$tmp"'/k$0; kill -9 $PPID; fi' ::: 1 2 3
expect "--host: a lost connection is retried" 0 $'ok 1\nok 2\nok 3'
run "${remote[@]}" -S h1 sh -c 'kill -9 $PPID' ::: x
expect "--host: a lost connection without retries fails the job" 1 ""
grep -q "connection" "$err" || fail "--host: no word of the lost connection: $(cat "$err")"

run --timeout -1 true ::: 1
[ "$rc" = 2 ] || fail "--timeout -1: exit $rc, want 2"
run -k ::: 'echo one' 'echo two'
expect "::: without a command: the arguments are the commands" 0 $'one\ntwo'

if [ "$failures" -gt 0 ]; then
	echo "pepita-run.sh: $failures failed"
	exit 1
fi
echo "pepita-run.sh: all passed"
