#!/bin/bash
# `pepita run`'s options beyond the basics: -j's forms (+N, -N, N%, 0),
# {%} slots, --pipe (--block, -N), --results, --tag, --colsep, -m/-X, what
# is refused (exit 2, with the reason); every exit code (failed jobs, 101,
# --halt's, 2 for usage, 255 for other errors); option values that are
# missing or out of range, named with their bounds; --ssh putting -- before
# the host; the progress bar (opt-in, never mixed into output lines) and
# the warning when input is read from a terminal (both on a real pty).
#
# Environment (tests/meson.build): PEPITA_BIN.
# Exit: 0 pass, 1 fail, 99 not set up.
set -u

if [ -z "${PEPITA_BIN:-}" ] || [ ! -x "$PEPITA_BIN" ]; then
	echo "pepita-run-options.sh: PEPITA_BIN not set or not executable" >&2
	exit 99
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 99
out=$tmp/out
err=$tmp/err
failures=0
cpus=$(nproc)

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

run() {
	timeout 60 "$PEPITA_BIN" run "$@" >"$out" 2>"$err"
	rc=$?
}

expect() {	# WHAT WANT_RC WANT_OUT
	if [ "$rc" != "$2" ] || [ "$(cat "$out")" != "$3" ]; then
		fail "$1: exit $rc (want $2), output:"
		cat "$out" "$err"
	fi
}

# usage WHAT WANT_IN_STDERR ARGS...: exit 2 and the reason, nothing run
usage() {
	local what=$1 want=$2
	shift 2
	run "$@"
	if [ "$rc" != 2 ] || ! grep -qF -- "$want" "$err" || [ -s "$out" ] ||
	   grep -q 9223372036854775807 "$err"; then
		fail "$what: exit $rc (want 2), stderr '$(cat "$err")' (want '$want')"
	fi
}

# -j: the slots, as GNU parallel counts them (--dry-run's {%} cycles them).
slots() {	# -j VALUE: the most {%} of 40 jobs
	run --dry-run -j "$1" echo {%} ::: $(seq 40)
	cut -d' ' -f2 "$out" | sort -n | tail -1
}
[ "$(slots +1)" = $((cpus + 1)) ] || fail "-j +1: $(slots +1) slots, want $((cpus + 1))"
[ "$(slots -1)" = $((cpus > 1 ? cpus - 1 : 1)) ] || fail "-j -1: $(slots -1) slots"
[ "$(slots 50%)" = $(((cpus + 1) / 2)) ] || fail "-j 50%: $(slots 50%) slots"
[ "$(slots 300%)" = $((cpus * 3)) ] || fail "-j 300%: $(slots 300%) slots"
[ "$(slots 0)" = 40 ] || fail "-j 0: $(slots 0) slots for 40 jobs, want 40"
[ "$(slots 3)" = 3 ] || fail "-j 3: $(slots 3) slots"
run -j 0 echo ::: a
expect "-j 0 runs" 0 a
# -j 0 on a pipe still open: its first line runs before the pipe ends
mkfifo "$tmp/fifo"
timeout 60 "$PEPITA_BIN" run -j 0 touch <"$tmp/fifo" >"$out" 2>"$err" &
exec 7>"$tmp/fifo"
echo "$tmp/first" >&7
for _ in $(seq 1 300); do
	[ -e "$tmp/first" ] && break
	sleep 0.1
done
[ -e "$tmp/first" ] || fail "-j 0 waited for the end of its input"
exec 7>&-
wait

# Input idle (an open pipe, a terminal): a finished job's output is
# printed now, as GNU parallel does; --halt and SIGINT do not wait for it.
# wait_for FILE TEXT: up to 30 s. ended PID: it exits within 30 s (else
# it is killed); rc is its exit status.
wait_for() {
	for _ in $(seq 1 300); do
		grep -q "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}
ended() {
	for _ in $(seq 1 300); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null && fail "pepita run hung with its input idle"
	wait "$1"
	rc=$?
}
mkfifo "$tmp/fifo2" "$tmp/fifo3"
"$PEPITA_BIN" run echo got <"$tmp/fifo2" >"$out" 2>"$err" &
pid=$!
exec 7>"$tmp/fifo2"
echo first >&7
wait_for "$out" "got first" || fail "output waited for the next input line"
kill -INT "$pid"
ended "$pid"
exec 7>&-
[ "$rc" = 255 ] || fail "SIGINT with the input idle: exit $rc, want 255"
"$PEPITA_BIN" run --halt now,fail=1 sh -c 'exit $0' <"$tmp/fifo3" >"$out" 2>"$err" &
pid=$!
exec 7>"$tmp/fifo3"
echo 6 >&7
ended "$pid"
exec 7>&-
[ "$rc" = 6 ] || fail "--halt with the input idle: exit $rc, want 6"

# --pipe: blocks of whole lines to each job's stdin, nothing lost.
seq 100000 >"$tmp/nums"
run --pipe --block 10k -k cat <"$tmp/nums"
cmp -s "$out" "$tmp/nums" || fail "--pipe --block 10k: the jobs' output is not the input"
run --pipe --block 10k -k sh -c 'tail -c 1' <"$tmp/nums"
[ "$(sort -u "$out")" = "" ] && [ "$(wc -l <"$out")" -gt 40 ] ||
	fail "--pipe: a block that does not end at a line end, or too few blocks"
run --pipe -N 3 -k 'echo job {#}; cat' < <(seq 7)
expect "--pipe -N 3" 0 $'job 1\n1\n2\n3\njob 2\n4\n5\n6\njob 3\n7'
printf 'no newline' >"$tmp/nonl"
run --pipe -k cat <"$tmp/nonl"
expect "--pipe: a last line without a newline" 0 "no newline"

# --results: the plain form (GNU's tree) and a name with {#}.
run --results res sh -c 'echo out $0; echo err $0 >&2; exit 3' ::: a 'b c'
if [ "$rc" != 2 ] || [ -s "$out" ] || [ "$(cat "res/1/b c/stdout")" != "out b c" ] ||
   [ "$(cat res/1/a/stderr)" != "err a" ] || [ "$(cat res/1/a/seq)" != 1 ]; then
	fail "--results DIR: exit $rc: $(find res -type f | sort | tr '\n' ' ')"
fi
run --results 'named/{#}-{}' echo ::: x
[ "$(cat named/1-x)" = x ] && [ -f named/1-x.err ] && [ "$(cat named/1-x.seq)" = 1 ] ||
	fail "--results NAME{}: $(find named | tr '\n' ' ')"

# --tag: every line, stderr too, a last line without a newline too.
run -k --tag sh -c 'printf "l1\nl2"; echo e >&2' ::: a 'b c'
expect "--tag" 0 $'a\tl1\na\tl2b c\tl1\nb c\tl2'
[ "$(cat "$err")" = $'a\te\nb c\te' ] || fail "--tag on stderr: $(cat "$err")"

# --colsep: a regular expression, and its columns in {1} {2}.
run -k --colsep ',+' echo {2}-{1} ::: 'a,,b' 'c,d'
expect "--colsep" 0 $'b-a\nd-c'

# Refused, never misread: exit 2 and why.
usage "{= perl =}" "perl expression" echo '{= $_ =}' ::: a
usage "--results x.csv" "CSV" --results x.csv echo ::: a
usage "--pipe with :::" "--pipe reads stdin" --pipe cat ::: a
usage "--halt done=" "done= is not supported" --halt now,done=1 echo ::: a
usage "--halt never's friends" "now|soon" --halt later,fail=1 echo ::: a
usage "an unknown option" "unknown option '--eta'" --eta echo ::: a
usage "-q" "unknown option '-q'" -q echo ::: a
usage ":::+ first" ":::+ needs an input source" echo :::+ a

# Exit codes (as GNU parallel; man pepita, EXIT STATUS).
run true ::: 1 2
expect "all succeeded: 0" 0 ""
run sh -c 'exit $0' ::: 0 3 0 4 5
expect "3 failed: 3" 3 ""
run -j 8 false ::: $(seq 1 101)
expect "101 failed: 101" 101 ""
run -j 1 --halt now,fail=1 sh -c 'exit $0' ::: 0 7 0
expect "--halt now,fail=1: the failing job's status" 7 ""
run -j 1 --halt now,fail=1 sh -c 'kill -9 $$' ::: 1
expect "--halt now,fail=1, a killed job: 128 + its signal" 137 ""
run -j 1 --halt soon,fail=2 sh -c 'exit $0' ::: 0 1 2 3 4
expect "--halt soon,fail=2: the failed jobs" 2 ""
run -j 1 --halt soon,fail=50% sh -c 'exit $0' ::: 0 1 2 3 0 0
expect "--halt soon,fail=50%: their percentage" 50 ""
run -j 1 --halt now,success=1 sh -c 'exit $0' ::: 1 0 2
expect "--halt now,success=1: 0" 0 ""
run -j 1 --halt now,success=1 sh -c 'exit $0' ::: 1 2
expect "--halt now,success=1 never met: the failed jobs" 2 ""
run -j 2 --halt now,fail=1 sh -c 'if [ $0 = x ]; then exit 4; fi; sleep 300.75' ::: y x z
expect "--halt now: running jobs stopped" 4 ""
sleep 0.3
if pgrep -f 'sleep 300.75' >/dev/null; then
	fail "--halt now left a job running"
	pkill -f 'sleep 300.75'
fi
usage "usage error: 2" "unknown option" --no-such-option true ::: 1
run echo :::: "$tmp/no-such-file"
[ "$rc" = 255 ] && grep -q "no-such-file: No such file" "$err" ||
	fail "a missing input file: exit $rc (want 255): $(cat "$err")"

# Option values: missing, or out of range, named with their bounds.
usage "-j without a value" "option '-j' needs a value" -j
usage "--jobs without a value" "option '--jobs' needs a value" --jobs
usage "-N without a value" "option '-N' needs a value" -N
usage "-j too many" "from 0 to 4096" -j 99999999999999999999 true ::: 1
usage "-j 2.5" "from 0 to 4096" -j 2.5 true ::: 1
usage "-N too many" "from 0 to 1000000" -N 9223372036854775808 true ::: 1
usage "--retries 0" "from 1 to 10000" --retries 0 true ::: 1
usage "--retries too many" "from 1 to 10000" --retries 99999999999999999999 true ::: 1
usage "--timeout under 1 ms" "from 0.001" --timeout 0.0001 true ::: 1
usage "--timeout too long" "to 4000000" --timeout 1e300 true ::: 1
usage "--timeout %" "percentage" --timeout 200% true ::: 1
usage "--block too big" "to 1G" --pipe --block 9999999999999999999999 cat
usage "--halt too many" "from 1 to 1000000000" --halt now,fail=99999999999999 true ::: 1
usage "--halt 101%" "from 1 to 100" --halt now,fail=101% true ::: 1
usage "--host N/ too many" "from 1 to 4096" -S 99999999999/h true ::: 1
run --timeout 0.001 sleep 5 ::: 1
grep -q "timed out" "$err" || fail "--timeout 0.001: the job was not stopped: $(cat "$err")"

# --ssh: PROG ARGS -- HOST ...; a host that starts with - is refused.
cat >"$tmp/ssh" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$tmp/ssh.argv"
exit 255
EOF
chmod +x "$tmp/ssh"
run --ssh "$tmp/ssh -F cfg" -S somehost true ::: 1
if [ "$(head -4 "$tmp/ssh.argv" 2>/dev/null | tr '\n' ' ')" != "-F cfg -- somehost " ]; then
	fail "--ssh: argv $(tr '\n' ' ' <"$tmp/ssh.argv" 2>/dev/null), want -F cfg -- somehost ..."
fi
rm -f "$tmp/ssh.argv"
usage "--host -oProxyCommand" "cannot start with '-'" --ssh "$tmp/ssh" \
	-S '-oProxyCommand=touch PWNED' true ::: 1
usage "--host N/-o..." "cannot start with '-'" -S '2/-oProxyCommand=x' true ::: 1
[ -e "$tmp/ssh.argv" ] || [ -e PWNED ] && fail "--host -o...: ssh ran"

# A real terminal (a pty): no bar unless --bar; with it, no line holds
# both the bar and job output; reading input from the terminal warns.
cat >"$tmp/term.py" <<'EOF'
import os, pty, re, subprocess, sys, time
def screen(data):
    """The lines a terminal shows: \r, ESC[K (erase to end), \n."""
    lines, cur, col = [], [], 0
    i = 0
    while i < len(data):
        if data.startswith('\x1b[K', i):
            del cur[col:]; i += 3; continue
        c = data[i]; i += 1
        if c == '\r': col = 0
        elif c == '\n': lines.append(''.join(cur)); cur, col = [], 0
        else:
            if col < len(cur): cur[col] = c
            else: cur.append(c)
            col += 1
    lines.append(''.join(cur))
    return [l for l in lines if l]
mode, argv = sys.argv[1], sys.argv[2:]
m, s = pty.openpty()
stdin = s if mode == 'stdin' else subprocess.DEVNULL
err = subprocess.PIPE if mode == 'stdin' else s
p = subprocess.Popen(argv, stdin=stdin, stdout=s, stderr=err)
os.close(s)
if mode == 'stdin':
    time.sleep(0.5)
    os.write(m, b'a\n\x04')
data = b''
while True:
    try: chunk = os.read(m, 4096)
    except OSError: break
    if not chunk: break
    data += chunk
p.wait()
if mode == 'stdin':
    print(p.stderr.read().decode(), end='')
    print(data.decode().replace('\r', ''), end='')
else:
    print('\n'.join(screen(data.decode())))
EOF
job_out=(sh -c 'sleep 0.$0; echo job-$0' ::: 3 1 4 1 5 9 2 6)
timeout 60 python3 "$tmp/term.py" screen "$PEPITA_BIN" run --bar -j 3 "${job_out[@]}" >"$out"
bar_re='^ *[0-9]+% \[[= ]*\] [0-9]+/[0-9]+\+? done'
if [ "$(grep -c '^job-[0-9]$' "$out")" != 8 ] ||
   grep -vE -e '^job-[0-9]$' -e "$bar_re" "$out" | grep -q . ||
   ! grep -qE "$bar_re" "$out"; then
	fail "--bar on a terminal: bar and output share a line:"
	cat -A "$out"
fi
timeout 60 python3 "$tmp/term.py" screen "$PEPITA_BIN" run -j 3 "${job_out[@]}" >"$out"
if grep -qE '[0-9]+% \[' "$out" || [ "$(grep -c '^job-[0-9]$' "$out")" != 8 ]; then
	fail "a bar without --bar:"
	cat -A "$out"
fi
timeout 60 python3 "$tmp/term.py" stdin "$PEPITA_BIN" run echo got >"$out"
if ! grep -q "reading arguments from the terminal" "$out" || ! grep -q "got a" "$out"; then
	fail "input from a terminal: no warning, or no job:"
	cat "$out"
fi
run echo got < <(echo b)
grep -q "terminal" "$err" && fail "a warning about a terminal with a pipe on stdin"

if [ "$failures" -gt 0 ]; then
	echo "pepita-run-options.sh: $failures failed"
	exit 1
fi
echo "pepita-run-options.sh: all passed"
