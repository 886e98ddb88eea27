# shellcheck shell=sh disable=SC2034 # status is the sourcing script's
# Helpers shared by tests/vm/ublk-*.sh (sourced, not run). They run in the
# test VM's busybox sh. Each script sets OUT and ERR (files for a command's
# stdout and stderr) and keeps `failed` (its current step) and `status`.

say() { echo "$SCRIPT: $*"; }
fail() { echo "FAIL: $*" >&2; failed=1; }
# Whatever the last command printed on stderr, indented under the FAIL.
show_err() { [ -s "$ERR" ] && sed 's/^/    /' "$ERR" >&2; }

# A string / number field of a flat JSON object: json_str JSON KEY.
json_str() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\" *: *\"\([^\"]*\)\".*/\1/p"
}
json_num() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\" *: *\(-\{0,1\}[0-9][0-9]*\).*/\1/p"
}

# The state letter of PID (R, S, D, Z, ...); empty when there is no PID.
proc_state() {
	[ -r "/proc/$1/stat" ] && sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1
}

# PID runs and is not a zombie.
alive() {
	st_=$(proc_state "$1")
	[ -n "$st_" ] && [ "$st_" != Z ]
}

# What PID is doing, for a hang's report: each thread's name, state and
# system call (its number, from /proc/PID/task/T/syscall), and what it
# holds of ublk and io_uring (a ublk char node stays busy while open,
# mapped, or registered in a ring).
threads() {
	echo "  pid $1: $(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)"
	for th_ in /proc/"$1"/task/*; do
		[ -r "$th_/stat" ] || continue
		echo "    thread ${th_##*/} $(cat "$th_/comm") state $(proc_state "$1/task/${th_##*/}") syscall $(cut -d' ' -f1 "$th_/syscall" 2>/dev/null)"
	done
	for fd_ in /proc/"$1"/fd/*; do
		l_=$(readlink "$fd_" 2>/dev/null)
		case "$l_" in
		*ublk*|*io_uring*) echo "    fd ${fd_##*/} -> $l_" ;;
		esac
	done
	grep -q ublkc "/proc/$1/maps" 2>/dev/null && echo "    maps /dev/ublkc*"
	return 0
}

# Every task (kernel workers too) in uninterruptible sleep: "pid/tid comm".
blocked_tasks() {
	for th_ in /proc/[0-9]*/task/*; do
		[ "$(proc_state "${th_#/proc/}")" = D ] &&
			printf '%s %s; ' "${th_#/proc/}" "$(cat "$th_/comm" 2>/dev/null)"
	done
	echo
}

# limit SECS CMD...: run CMD for at most SECS seconds; rc (and the return
# value) is its exit status, or 124 when it was still running. Then it is
# killed if it can be: a process waiting in the kernel for a request its
# server lost cannot, and is left behind (reported with its state). Unlike
# timeout(1), the caller always gets control back.
limit() {
	secs_=$1
	shift
	"$@" &
	pid_=$!
	ticks_=$((secs_ * 10))
	while alive "$pid_" && [ "$ticks_" -gt 0 ]; do
		sleep 0.1
		ticks_=$((ticks_ - 1))
	done
	if alive "$pid_"; then
		st_=$(proc_state "$pid_")
		[ "$st_" = D ] && st_="D, waiting in the kernel"
		echo "timed out: '$*' still running after ${secs_}s (state $st_)" >&2
		threads "$pid_" >&2
		for p_ in $(server_pids); do
			[ "$p_" = "$pid_" ] || threads "$p_" >&2
		done
		echo "  tasks in D: $(blocked_tasks)" >&2
		kill -9 "$pid_" 2>/dev/null
		rc=124
		return 124
	fi
	wait "$pid_"
	rc=$?
	return "$rc"
}

# pepita with a time limit, its output in OUT and ERR; sets rc.
cli() {
	limit 60 pepita "$@" >"$OUT" 2>"$ERR"
}

# The object of device ID in `pepita ublk list --json`, on one line
# (blanks dropped); empty when the list has no such device.
dev_json() {
	cli ublk list --json || return 1
	tr -d ' \t\n' <"$OUT" | sed 's/},{/}\n{/g' | grep -E "\"id\":$1[,}]"
}

# Every live process named pepita: the servers (a CLI call has returned).
server_pids() {
	for d_ in /proc/[0-9]*; do
		[ "$(cat "$d_/comm" 2>/dev/null)" = pepita ] || continue
		alive "${d_#/proc/}" && echo "${d_#/proc/}"
	done
}

# What is left of ublk devices and servers, one line each; empty: nothing.
leftovers() {
	for f_ in /dev/ublkc* /dev/ublkb* /sys/class/ublk-char/*; do
		[ -e "$f_" ] && echo "$f_"
	done
	for p_ in $(server_pids); do
		echo "server process $p_"
	done
}

# After STEP nothing may be left. DEL_DEV returns once the char device is
# closed; the server may take a moment more to exit: wait up to 10 s.
nothing_behind() {
	i_=0
	while [ -n "$(leftovers)" ] && [ "$i_" -lt 50 ]; do
		sleep 0.2
		i_=$((i_ + 1))
	done
	left_=$(leftovers)
	[ -z "$left_" ] && return 0
	fail "$1 left behind: $(echo "$left_" | tr '\n' ' ')"
	return 1
}

# add ARGS...: `pepita ublk add --json ARGS`; sets dev_id, dev, dev_pid
# and the JSON in add_json. Its stdout goes to a file: a server that kept
# a pipe open would hang a $(...) here (ublk-lifecycle.sh checks that).
add() {
	dev_id='' dev='' dev_pid=''
	cli ublk add --json "$@"
	if [ "$rc" != 0 ]; then
		fail "pepita ublk add $*: exit $rc"; show_err; return 1
	fi
	add_json=$(cat "$OUT")
	dev_id=$(json_num "$add_json" id)
	dev=$(json_str "$add_json" block)
	dev_pid=$(json_num "$add_json" pid)
	if [ -z "$dev_id" ] || [ -z "$dev_pid" ] ||
	   [ "$dev" != "/dev/ublkb$dev_id" ]; then
		fail "pepita ublk add $*: no id, pid or /dev/ublkbN in: $add_json"
		return 1
	fi
	if [ ! -b "$dev" ]; then
		fail "pepita ublk add $*: $dev is not a block device"; return 1
	fi
	if ! alive "$dev_pid"; then
		fail "pepita ublk add $*: its server $dev_pid is not running"
		return 1
	fi
}

# del ID: `pepita ublk del ID` exits 0.
del() {
	cli ublk del "$1"
	[ "$rc" = 0 ] && return 0
	fail "pepita ublk del $1: exit $rc"
	show_err
	return 1
}

# Run SCRIPT's test_<name> functions in order; a failed one is followed by
# the script's `reset` (remove what it left) before the next.
run_steps() {
	for step_ in "$@"; do
		say "--- $step_"
		failed=0
		"test_$step_" || failed=1
		if [ "$failed" = 0 ]; then
			say "ok $step_"
			continue
		fi
		echo "FAIL: $step_ (above)" >&2
		status=1
		reset
	done
}

# The guards both scripts start with: a ublk driver, and no ublk device
# or server of anyone else's (the checks count every device there is).
require_clean_ublk() {
	if [ ! -e /dev/ublk-control ]; then
		echo "SKIP: no /dev/ublk-control (CONFIG_BLK_DEV_UBLK not set?)"
		exit 77
	fi
	if [ -n "$(leftovers)" ]; then
		echo "SKIP: ublk devices or servers exist already ($(leftovers |
			tr '\n' ' ')); this test wants a machine without (the test VM)"
		exit 77
	fi
}
