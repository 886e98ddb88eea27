#!/bin/sh
# The life of a ublk device under `pepita ublk` (suite vm; tests/vm/run
# --smp 4 ublk-lifecycle.sh):
#   refused     bad parameters (depth 0, a size not a multiple of 512, no
#               size, an unknown target, a missing or read-only backing
#               file, no ublk driver) fail with the documented exit code
#               and a message naming the problem, and create nothing
#   add_del     add prints /dev/ublkbN alone on a line and a background
#               server serves it; --json has every documented key; del
#               leaves no /dev/ublkc*, /dev/ublkb*, /sys/class/ublk-char
#               entry or server process behind
#   stdout      the server does not hold the caller's stdout: a pipe from
#               add reaches EOF
#   foreground  SIGTERM and SIGINT stop the server, delete the device, exit 0
#   sigkill     SIGKILL of the server with I/O in flight: the I/O fails
#               instead of hanging, the device goes DEAD or away, and
#               `del --all` leaves nothing
#   recover_*   a --recovery device whose server was killed is QUIESCED;
#               `recover N` makes it LIVE with a new server (a loop
#               target's data intact), or `del --all` removes it
# Exit: 0 pass, 1 a check failed (each says which), 77 no ublk driver.
# shellcheck disable=SC2317 # test_* and reset are called indirectly
set -u

SCRIPT=ublk-lifecycle
OUT=/tmp/ublk-lc.out
ERR=/tmp/ublk-lc.err
FILE=/tmp/ublk-lc.img
PATTERN=/tmp/ublk-lc.pattern
RO=/tmp/ublk-lc-ro			# a read-only tmpfs
CONTROL=/dev/ublk-control
status=0
failed=0

# shellcheck source=tests/vm/ublk-lib.sh
. "$(dirname "$0")/ublk-lib.sh"

# Remove whatever a failed step left: the moved control node, the
# read-only mount, servers, devices (servers first: a hung one can block
# DEL_DEV).
reset() {
	[ -e "$CONTROL.away" ] && mv "$CONTROL.away" "$CONTROL"
	umount "$RO" 2>/dev/null
	for pid in $(server_pids); do
		kill -9 "$pid" 2>/dev/null
	done
	limit 60 pepita ublk del --all >/dev/null 2>&1
}
cleanup() {
	reset
	rm -f "$FILE" "$PATTERN" "$PATTERN.back"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The state of device ID in `pepita ublk list --json`; empty: not listed.
state_of() {
	json_str "$(dev_json "$1")" state
}

# wait_state ID STATE...: until the device shows one of STATEs, "gone"
# meaning no line at all; 20 s (a 6.1 kernel notices a dead server within
# 5 s). Sets st to the last state seen.
wait_state() {
	id=$1
	shift
	i=0
	while [ "$i" -lt 100 ]; do
		st=$(state_of "$id")
		for want in "$@"; do
			[ "$st" = "$want" ] && return 0
			[ "$want" = gone ] && [ -z "$st" ] && return 0
		done
		sleep 0.2
		i=$((i + 1))
	done
	fail "device $id: state ${st:-gone} after 20 s, expected $*"
	return 1
}

# refused CODE WORD ARGS...: `pepita ublk add ARGS` exits CODE, its
# message names WORD, and nothing is created.
refused() {
	code=$1 word=$2
	shift 2
	cli ublk add "$@"
	if [ "$rc" != "$code" ]; then
		fail "pepita ublk add $*: exit $rc, expected $code"; show_err
	elif ! grep -q -i -F -- "$word" "$ERR"; then
		fail "pepita ublk add $*: exit $rc, but its message does not name '$word':"
		show_err || echo "    (no message at all)" >&2
	else
		say "refused, exit $rc: add $*: $(head -n 1 "$ERR")"
	fi
	nothing_behind "refused add $*"
}

test_refused() {
	refused 2 depth -t ram --size 64M --depth 0
	refused 2 size -t ram --size 1000
	refused 2 size -t ram
	refused 2 bogus -t bogus --size 1M
	rm -f "$FILE"
	refused 1 "$FILE" -t loop --file "$FILE"
	mkdir -p "$RO"
	if ! { mount -t tmpfs tmpfs "$RO" && truncate -s 1M "$RO/ro.img" &&
	       mount -o remount,ro "$RO"; }; then
		fail "cannot make a read-only tmpfs at $RO"
		return 1
	fi
	refused 1 "$RO/ro.img" -t loop --file "$RO/ro.img"
	umount "$RO"
	# No driver: the control node moved away, as on a kernel without ublk.
	mv "$CONTROL" "$CONTROL.away" || { fail "cannot move $CONTROL"; return 1; }
	refused 69 ublk-control -t ram --size 1M
	mv "$CONTROL.away" "$CONTROL"
}

test_add_del() {
	# Plain add: the block device's path, alone on a line.
	cli ublk add -t ram --size 16M
	[ "$rc" = 0 ] || { fail "pepita ublk add -t ram --size 16M: exit $rc"; show_err; return 1; }
	dev=$(grep -E '^/dev/ublkb[0-9]+$' "$OUT")
	if [ -z "$dev" ] || [ ! -b "$dev" ]; then
		fail "pepita ublk add printed no live /dev/ublkbN line: $(cat "$OUT")"
		return 1
	fi
	id=${dev#/dev/ublkb}
	[ -c "/dev/ublkc$id" ] || fail "no /dev/ublkc$id beside $dev"
	[ -e "/sys/class/ublk-char/ublkc$id" ] || fail "no /sys/class/ublk-char/ublkc$id"
	wait_state "$id" LIVE || return 1
	limit 120 ublk-io "$dev" --ops 8 --threads 2 >/dev/null ||
		fail "$dev: random I/O failed: exit $rc (above)"
	del "$id"
	nothing_behind "add, del $id" || return 1
	say "add printed $dev, its server served I/O; del $id left nothing behind"
	check_json_add
}

# add --json: the documented keys, with the values asked for.
check_json_add() {
	add -t ram --size 16M --queues 2 --depth 32 || return 1
	for pair in "char=/dev/ublkc$dev_id" target=ram schema=pepita.ublk.add/2; do
		[ "$(json_str "$add_json" "${pair%%=*}")" = "${pair#*=}" ] ||
			fail "add --json: ${pair%%=*} is not ${pair#*=}: $add_json"
	done
	for pair in size_bytes=16777216 queue_count=2 queue_depth=32; do
		[ "$(json_num "$add_json" "${pair%%=*}")" = "${pair#*=}" ] ||
			fail "add --json: ${pair%%=*} is not ${pair#*=}: $add_json"
	done
	del "$dev_id"
	nothing_behind "add --json, del $dev_id"
}

# A server that kept the caller's stdout open would hang `$(pepita ublk
# add ...)` and every pipe: the pipe must reach EOF once add returns.
test_stdout() {
	(pepita ublk add -t null --size 1M 2>"$ERR" | cat >"$OUT") &
	pipe=$!
	i=0
	while alive "$pipe" && [ "$i" -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	if alive "$pipe"; then
		fail "pepita ublk add | cat: no EOF after 20 s: the server holds the caller's stdout"
		kill "$pipe" 2>/dev/null
	fi
	wait "$pipe" 2>/dev/null
	dev=$(grep -E '^/dev/ublkb[0-9]+$' "$OUT")
	[ -n "$dev" ] || { fail "pepita ublk add | cat: no /dev/ublkbN line: $(cat "$OUT")"; show_err; }
	cli ublk del --all
	[ "$rc" = 0 ] || { fail "pepita ublk del --all: exit $rc"; show_err; }
	nothing_behind "add | cat, del --all"
}

# stopped PID SECS: PID exits within SECS after a signal; rc is its status.
stopped() {
	i=0
	while alive "$1" && [ "$i" -lt $(($2 * 5)) ]; do
		sleep 0.2
		i=$((i + 1))
	done
	if alive "$1"; then
		fail "pid $1 still running ${2}s after the signal (state $(proc_state "$1"))"
		kill -9 "$1"
		return 1
	fi
	wait "$1"
	rc=$?
}

test_foreground() {
	for sig in TERM INT; do
		pepita ublk add -t ram --size 16M --foreground >"$OUT" 2>"$ERR" &
		pid=$!
		i=0
		while ! grep -q -E '^/dev/ublkb[0-9]+$' "$OUT" && [ "$i" -lt 600 ]; do
			alive "$pid" || break
			sleep 0.2
			i=$((i + 1))
		done
		dev=$(grep -E '^/dev/ublkb[0-9]+$' "$OUT")
		if [ -z "$dev" ] || [ ! -b "$dev" ]; then
			if alive "$pid"; then
				fail "add --foreground (SIG$sig round): no live /dev/ublkbN within 120 s"
				threads "$pid" >&2
				pepita ublk list >&2
			else
				wait "$pid"
				fail "add --foreground (SIG$sig round): the server ended (exit $?) before printing a device; stdout: $(cat "$OUT")"
			fi
			show_err
			kill -9 "$pid" 2>/dev/null
			return 1
		fi
		limit 120 ublk-io "$dev" --ops 4 --threads 2 >/dev/null ||
			fail "$dev: random I/O under --foreground failed: exit $rc (above)"
		kill -"$sig" "$pid"
		stopped "$pid" 30 || return 1
		[ "$rc" = 0 ] || { fail "add --foreground: exit $rc after SIG$sig"; show_err; }
		nothing_behind "add --foreground, SIG$sig" || return 1
		say "--foreground: SIG$sig stopped it (exit $rc) and deleted $dev"
	done
}

test_sigkill() {
	add -t ram --size 64M || return 1
	# I/O in flight when the server dies: it must fail, not hang.
	limit 60 ublk-io "$dev" --ops 100000 --threads 4 --max-kib 64 \
		--timeout 50 >/dev/null 2>/tmp/ublk-lc.io &
	io=$!
	sleep 1
	kill -9 "$dev_pid"
	wait "$io"
	io_rc=$?
	if [ "$io_rc" = 124 ] || grep -q 'timed out' /tmp/ublk-lc.io; then
		fail "I/O to $dev hung after its server was killed:"
		sed 's/^/    /' /tmp/ublk-lc.io >&2
	elif [ "$io_rc" = 0 ]; then
		fail "I/O to $dev succeeded although its server was killed"
	fi
	wait_state "$dev_id" DEAD gone || return 1
	say "SIGKILL: the I/O in flight failed ($(grep -m 1 . /tmp/ublk-lc.io)); device ${st:-gone}"
	cli ublk del --all
	[ "$rc" = 0 ] || { fail "pepita ublk del --all after SIGKILL: exit $rc"; show_err; }
	nothing_behind "SIGKILL, del --all"
}

# recovered ID OLDPID: `recover ID` brings the device back LIVE under a new
# server; sets dev_pid.
recovered() {
	cli ublk recover "$1"
	[ "$rc" = 0 ] || { fail "pepita ublk recover $1: exit $rc"; show_err; return 1; }
	wait_state "$1" LIVE || return 1
	json=$(dev_json "$1")
	dev_pid=$(json_num "$json" pid)
	if [ -z "$dev_pid" ] || [ "$dev_pid" = "$2" ] || ! alive "$dev_pid"; then
		fail "recover $1: no new live server (list --json: $json)"
		return 1
	fi
}

test_recover_loop() {
	rm -f "$FILE"
	truncate -s 32M "$FILE"
	add -t loop --file "$FILE" --recovery || return 1
	dd if=/dev/urandom of="$PATTERN" bs=1M count=8 2>/dev/null
	# O_DIRECT: each write completes once the server has written the file
	# (no flush needed for the data to outlive the server).
	limit 60 dd if="$PATTERN" of="$dev" bs=1M oflag=direct conv=notrunc 2>"$ERR"
	[ "$rc" = 0 ] || { fail "writing 8 MiB to $dev: exit $rc"; show_err; return 1; }
	old=$dev_pid
	kill -9 "$dev_pid"
	wait_state "$dev_id" QUIESCED || return 1
	[ -b "$dev" ] || { fail "$dev went away while QUIESCED"; return 1; }
	recovered "$dev_id" "$old" || return 1
	# O_DIRECT again: the bytes come from the new server, not a cache.
	limit 60 dd if="$dev" of="$PATTERN.back" bs=1M count=8 iflag=direct 2>"$ERR"
	[ "$rc" = 0 ] || { fail "reading 8 MiB from $dev after recover: exit $rc"; show_err; return 1; }
	cmp "$PATTERN" "$PATTERN.back" >"$ERR" 2>&1 ||
		{ fail "$dev: the data written before the server died differs after recover"; show_err; return 1; }
	cmp -n 8388608 "$PATTERN" "$FILE" >"$ERR" 2>&1 ||
		{ fail "$FILE does not hold the data written to $dev"; show_err; return 1; }
	limit 120 ublk-io "$dev" --ops 8 --threads 2 --seed 3 >/dev/null ||
		{ fail "$dev: random I/O after recover failed: exit $rc (above)"; return 1; }
	say "loop --recovery: kill -9, QUIESCED, recover: LIVE under pid $dev_pid, the 8 MiB intact"
	del "$dev_id"
	nothing_behind "recovered loop, del"
}

test_recover_ram() {
	add -t ram --size 16M --recovery || return 1
	old=$dev_pid
	kill -9 "$dev_pid"
	wait_state "$dev_id" QUIESCED || return 1
	recovered "$dev_id" "$old" || return 1
	limit 120 ublk-io "$dev" --ops 8 --threads 2 >/dev/null ||
		{ fail "$dev: random I/O after recover failed: exit $rc (above)"; return 1; }
	# Killed again, and this time deleted instead.
	kill -9 "$dev_pid"
	wait_state "$dev_id" QUIESCED || return 1
	cli ublk del --all
	[ "$rc" = 0 ] || { fail "pepita ublk del --all of a QUIESCED device: exit $rc"; show_err; }
	nothing_behind "QUIESCED ram, del --all" || return 1
	say "ram --recovery: recover made it LIVE; killed again, del --all removed it"
}

require_clean_ublk
run_steps refused add_del stdout foreground sigkill recover_loop recover_ram
exit "$status"
