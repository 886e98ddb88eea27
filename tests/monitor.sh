#!/bin/bash
# `cohete monitor` on a real terminal: tmux servers of our own (one socket
# each) run it against fixture trees; capture-pane shows what it drew.
#
# Checks: the panes and values from the tree (taken from `cohete status
# --json` on the same tree, not hard-coded), every graph's scale (0-100%,
# the temperature's whole degrees around the tree's, at least 10 °C) and
# the guard's state on the screen, an 80x24 layout and a resize to it, `q`, Ctrl-C and SIGTERM exit 0 with the terminal restored (alternate
# screen left, no UI left on it), `p` where it is not permitted says why
# (no nvpmodel; the live machine without root), the power menu and fan
# prompt change a copy of a tree through the nvpmodel simulator, and off
# a terminal or with an unusable TERM it exits 1 with a message. The one
# colour rule (the policy's: green below its warning, yellow up to its trip,
# red at it) in the monitor and in `cohete status` alike, on copies of the
# tree heated to 62 and 71 °C, read back from the screen's colours.
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES, COHETE_SIM,
# and COHETE_RUN in cross builds (skipped: qemu-user under tmux adds
# nothing the native run does not check).
# Exit: 0 pass, 1 fail, 77 skip, 99 not set up.
set -u

if [ -n "${COHETE_RUN:-}" ]; then
	echo "SKIP: cross build (COHETE_RUN=$COHETE_RUN): the monitor is checked natively"
	exit 77
fi
if ! command -v tmux >/dev/null 2>&1; then
	echo "SKIP: tmux not installed (the monitor needs a terminal to draw on)"
	exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 not installed (reads the expected values from --json)"
	exit 77
fi
if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "monitor.sh: COHETE_BIN not set or not executable: '${COHETE_BIN:-}'" >&2
	exit 99
fi
fixtures=${COHETE_FIXTURES:-$(cd "$(dirname "$0")" && pwd)/fixtures}/sysroots
tree=$fixtures/orin-nano-8gb-super-r36
if [ ! -d "$tree" ]; then
	echo "monitor.sh: no fixture tree at $tree" >&2
	exit 99
fi
unset COHETE_SYSROOT TMUX

tmp=$(mktemp -d) || exit 99
sockets=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	for s in "${sockets[@]+"${sockets[@]}"}"; do
		tmux -L "$s" kill-server 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
pass() {
	echo "ok: $*"
}

# start NAME COLS ROWS CMD...: a tmux server of its own running CMD (under
# sh, then "rc=N" into $tmp/NAME.rc, then a sleep that keeps the pane so
# it can be read after the monitor has gone).
start() {
	local name=$1 cols=$2 rows=$3 cmd
	shift 3
	cmd=$(printf '%q ' "$@")
	sockets+=("cohete-mon-$$-$name")
	tmux -L "cohete-mon-$$-$name" -f /dev/null new-session -d -s mon \
		-x "$cols" -y "$rows" \
		"env TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 $cmd 2>$tmp/$name.err;
		 echo rc=\$? >$tmp/$name.rc; sleep 120"
}

t() {
	tmux -L "cohete-mon-$$-$1" "${@:2}"
}

screen() {
	t "$1" capture-pane -p -t mon >"$tmp/$1.screen" 2>/dev/null
}

# wait_for NAME TEXT: poll the screen until TEXT shows (10 s at most).
wait_for() {
	for _ in $(seq 100); do
		screen "$1"
		grep -qF -- "$2" "$tmp/$1.screen" && return 0
		sleep 0.1
	done
	return 1
}

# wait_exit NAME: until the monitor's exit status is written (10 s at most).
wait_exit() {
	for _ in $(seq 100); do
		[ -s "$tmp/$1.rc" ] && return 0
		sleep 0.1
	done
	return 1
}

show() {
	echo "  screen of $1:"
	sed 's/^/    /' "$tmp/$1.screen"
	if [ -s "$tmp/$1.err" ]; then
		echo "  stderr:"
		sed 's/^/    /' "$tmp/$1.err"
	fi
}

# expect_exit NAME WHAT: exit 0, the alternate screen left, no UI on the screen.
expect_exit() {
	if ! wait_exit "$1"; then
		fail "$2: the monitor did not exit"
		screen "$1"
		show "$1"
		return
	fi
	screen "$1"
	if [ "$(cat "$tmp/$1.rc")" != rc=0 ]; then
		fail "$2: $(cat "$tmp/$1.rc"), expected rc=0"
		show "$1"
	elif [ "$(t "$1" display-message -p -t mon '#{alternate_on}')" != 0 ]; then
		fail "$2: the alternate screen is still on"
	elif grep -qE 'Thermal|q quit' "$tmp/$1.screen"; then
		fail "$2: the UI is still on the screen"
		show "$1"
	else
		pass "$2: exit 0, terminal restored"
	fi
}

# The values the monitor must show, from the library's own JSON.
"$COHETE_BIN" status --json --sysroot "$tree" >"$tmp/status.json" ||
	{ echo "monitor.sh: cohete status --json failed" >&2; exit 99; }
mapfile -t want < <(python3 - "$tmp/status.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
hot = [z for z in d['thermal']['zones'] if z['zone'] == d['thermal']['hottest']][0]
rail = d['power']['rails'][0]
print(d['device']['model'])
print('%.1f' % hot['temp_celsius'])
print(rail['name'])
print('%.2fV' % (rail['voltage_mv'] / 1000))
print(d['power']['mode']['name'])
print('%d MHz' % d['cpu']['cores'][0]['cur_mhz'])
print('%.1f GiB' % (d['memory']['total_bytes'] / 2**30))
EOF
)
if [ "${#want[@]}" -ne 7 ]; then
	echo "monitor.sh: could not read the expected values from --json" >&2
	exit 99
fi
# The temperature graph's scale: the breaker's input (tj) in whole degrees,
# 5 °C either side of a steady reading.
read -r temp_lo temp_hi < <(python3 - "$tmp/status.json" <<'EOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
tj = [z for z in d['thermal']['zones'] if z['name'] == 'tj'][0]['temp_celsius']
print(math.floor(tj - 5), math.ceil(tj + 5))
EOF
)

# scales NAME: the screen shows the load graphs' 0..100% and the
# temperature graph's temp_lo..temp_hi °C, on one row or at the top and
# the bottom of a taller graph.
scales() {
	local s=$tmp/$1.screen
	{ grep -qF -- "0-100%" "$s" || { grep -qF "100%" "$s" && grep -q " 0%" "$s"; }; } &&
	{ grep -qF -- "$temp_lo-$temp_hi°C" "$s" ||
	  { grep -qF " $temp_hi°C" "$s" && grep -qF " $temp_lo°C" "$s"; }; }
}

# fg NAME TEXT: the foreground colour (SGR 30-37, or 39 for none) the
# screen, captured with its escape sequences, draws TEXT's first cell in.
fg() {
	t "$1" capture-pane -p -e -t mon >"$tmp/$1.ansi" 2>/dev/null
	python3 - "$tmp/$1.ansi" "$2" <<'EOF'
import re, sys
screen, text = open(sys.argv[1], encoding='utf-8').read(), sys.argv[2]
at = screen.find(text)
color = '39'
for m in re.finditer(r'\x1b\[([0-9;]*)m', screen[:max(at, 0)]):
    for code in (m.group(1) or '0').split(';'):
        if code in ('0', '39') or (code.isdigit() and 30 <= int(code) <= 37):
            color = '39' if code == '0' else code
print(color if at >= 0 else 'absent')
EOF
}

# 1. 120x40: the panes and the tree's values; a resize to 80x24; q.
start main 120 40 "$COHETE_BIN" monitor --sysroot "$tree"
if ! wait_for main "Thermal"; then
	fail "monitor did not draw within 10 s"
	show main
else
	missing=
	for text in " CPU " " GPU " " Memory " " Thermal " " Power " "${want[@]}" \
		    "q quit" " guard OK, trip 65°C "; do
		grep -qF -- "$text" "$tmp/main.screen" || missing="$missing '$text'"
	done
	if [ -n "$missing" ]; then
		fail "120x40: not on the screen:$missing"
		show main
	else
		pass "120x40: panes, model, temperature, rail, mode, clock, memory, guard"
	fi
	if scales main; then
		pass "120x40: graph scales 0-100% and $temp_lo..$temp_hi °C"
	else
		fail "120x40: no graph scales (0-100%, $temp_lo..$temp_hi °C)"
		show main
	fi
	if t main resize-window -t mon -x 80 -y 24 2>/dev/null; then
		if wait_for main "Thermal" && screen main &&
		   grep -q 'CPU .*Thermal' "$tmp/main.screen" &&
		   grep -qF "${want[2]}" "$tmp/main.screen" &&
		   [ "$(wc -l <"$tmp/main.screen")" -le 24 ]; then
			pass "resize to 80x24 redraws the layout"
		else
			fail "after a resize to 80x24 the layout is not redrawn"
			show main
		fi
	else
		echo "note: this tmux cannot resize-window; resize not checked"
	fi
	t main send-keys -t mon q
	expect_exit main "q"
fi

# 2. 80x24 from the start; p without an nvpmodel says why; Ctrl-C quits.
start small 80 24 "$COHETE_BIN" monitor --sysroot "$tree" --nvpmodel "$tmp/no-nvpmodel"
if ! wait_for small "Power"; then
	fail "80x24: monitor did not draw within 10 s"
	show small
else
	screen small
	if grep -q 'needs 60x18' "$tmp/small.screen" ||
	   ! grep -qF "${want[1]}" "$tmp/small.screen" ||
	   ! grep -qF "${want[4]}" "$tmp/small.screen" ||
	   ! grep -qF "guard OK" "$tmp/small.screen" || ! scales small; then
		fail "80x24: layout incomplete (values, guard, scales)"
		show small
	else
		pass "80x24: every pane drawn with values, the guard and the scales"
	fi
	t small send-keys -t mon p
	if wait_for small "power mode not permitted: $tmp/no-nvpmodel"; then
		pass "p without nvpmodel: 'not permitted' and why"
	else
		fail "p without nvpmodel: no 'not permitted' message"
		show small
	fi
	t small send-keys -t mon C-c
	expect_exit small "Ctrl-C"
fi

# 3. The live machine without root: p and f say that root is needed.
live_cmd=()
if [ "$(id -u)" -ne 0 ]; then
	live_cmd=("$COHETE_BIN" monitor)
elif command -v setpriv >/dev/null 2>&1 &&
     setpriv --reuid=65534 --regid=65534 --clear-groups \
	     test -x "$COHETE_BIN" 2>/dev/null; then
	live_cmd=(setpriv --reuid=65534 --regid=65534 --clear-groups
		  "$COHETE_BIN" monitor)
fi
if [ "${#live_cmd[@]}" -eq 0 ]; then
	echo "note: root without setpriv, or the binary is out of nobody's reach:"
	echo "      the live check without root is skipped"
else
	start live 100 30 "${live_cmd[@]}"
	if wait_for live "q quit"; then
		t live send-keys -t mon p
		if wait_for live "power mode not permitted: needs root"; then
			pass "p on the live machine without root: needs root"
		else
			fail "p without root: no 'needs root' message"
			show live
		fi
		t live send-keys -t mon q
		expect_exit live "q (live, not root)"
	else
		fail "live monitor did not draw within 10 s"
		show live
	fi
fi

# 4. Permitted: a copy of the tree, the nvpmodel simulator, the fan's PWM.
if [ -n "${COHETE_SIM:-}" ] && [ -x "$COHETE_SIM/nvpmodel" ]; then
	copy=$tmp/tree
	mkdir -p "$copy" && cp -a "$tree/." "$copy/"
	start rw 120 40 "$COHETE_BIN" monitor --sysroot "$copy" --nvpmodel "$COHETE_SIM/nvpmodel"
	if wait_for rw "q quit"; then
		t rw send-keys -t mon p
		if wait_for rw "Enter switch"; then
			t rw send-keys -t mon Up Enter
			if wait_for rw "power mode: 25W (1), verified" &&
			   grep -q 'pmode:0001' "$copy/var/lib/nvpmodel/status" &&
			   wait_for rw "mode 25W (1)"; then
				pass "p, Up, Enter: switched to 25W through nvpmodel, verified"
			else
				fail "power menu: the switch to 25W did not happen"
				show rw
			fi
		else
			fail "p: the power menu did not open"
			show rw
		fi
		t rw send-keys -t mon f
		wait_for rw "> _" && t rw send-keys -t mon 5 0 % Enter
		if wait_for rw "fan: pwm set to 128/255" &&
		   [ "$(cat "$copy/sys/class/hwmon/hwmon0/pwm1")" = 128 ]; then
			pass "f, 50%, Enter: fan pwm 128, verified"
		else
			fail "fan prompt: pwm1 is $(cat "$copy/sys/class/hwmon/hwmon0/pwm1")"
			show rw
		fi
		t rw send-keys -t mon q
		expect_exit rw "q (after a switch)"
	else
		fail "monitor on a copy did not draw within 10 s"
		show rw
	fi
else
	echo "note: COHETE_SIM not set: power menu and fan not exercised"
fi

# 5. One colour rule: copies of the tree with tj at 62 °C (between the
# conservative policy's warning, 60, and its trip, 65) and at 71 °C (above
# the trip). The other zones stay near 48 °C: green. Colour on (no NO_COLOR).
zone=sys/devices/virtual/thermal/thermal_zone5	# tj-thermal
for heat in 62000:33:WARN 71000:31:TRIPPED; do
	mc=${heat%%:*} want_fg=${heat#*:} want_fg=${want_fg%%:*} state=${heat##*:}
	hot=$tmp/hot$mc
	mkdir -p "$hot" && cp -a "$tree/." "$hot/" && echo "$mc" >"$hot/$zone/temp"
	deg="$((mc / 1000)).0°C"
	start "mon$mc" 80 24 env -u NO_COLOR "$COHETE_BIN" monitor --sysroot "$hot"
	if wait_for "mon$mc" "guard $state" &&
	   [ "$(fg "mon$mc" "tj $deg")" = "$want_fg" ] &&
	   [ "$(fg "mon$mc" "47.7°C")" = 32 ]; then
		pass "monitor at $deg: guard $state, tj in colour $want_fg, 47.7 °C green"
	else
		fail "monitor at $deg: tj $(fg "mon$mc" "tj $deg") (want $want_fg), 47.7 °C $(fg "mon$mc" "47.7°C") (want 32)"
		show "mon$mc"
	fi
	t "mon$mc" send-keys -t mon q
	start "st$mc" 100 40 env -u NO_COLOR "$COHETE_BIN" status --sysroot "$hot"
	if wait_for "st$mc" "tj-thermal" &&
	   [ "$(fg "st$mc" "tj-thermal")" = "$want_fg" ] &&
	   [ "$(fg "st$mc" "tj $deg")" = "$want_fg" ] &&
	   [ "$(fg "st$mc" "gpu-thermal")" = 32 ]; then
		pass "status at $deg: tj in colour $want_fg as in the monitor, 48.6 °C green"
	else
		fail "status at $deg: tj-thermal $(fg "st$mc" "tj-thermal") (want $want_fg), gpu-thermal $(fg "st$mc" "gpu-thermal") (want 32)"
		show "st$mc"
	fi
done

# 6. SIGTERM: the terminal is restored, exit 0.
start sig 80 24 "$COHETE_BIN" monitor --sysroot "$tree"
if ! wait_for sig "q quit"; then
	fail "monitor (for SIGTERM) did not draw within 10 s"
	show sig
elif ! command -v pgrep >/dev/null 2>&1; then
	echo "note: no pgrep: SIGTERM not checked"
	t sig send-keys -t mon q
else
	shell=$(t sig display-message -p -t mon '#{pane_pid}')
	pid=$(pgrep -P "$shell" | head -n 1)
	if [ -n "$pid" ] && kill -TERM "$pid"; then
		expect_exit sig "SIGTERM"
	else
		fail "SIGTERM: no monitor process under the pane's shell $shell"
	fi
fi

# 7. An unusable TERM on a terminal: exit 1 with a message.
start term 80 24 env TERM=no-such-terminal "$COHETE_BIN" monitor --sysroot "$tree"
if wait_exit term && [ "$(cat "$tmp/term.rc")" = rc=1 ] &&
   grep -q "TERM 'no-such-terminal' is not usable" "$tmp/term.err"; then
	pass "unusable TERM: exit 1 with a message"
else
	fail "unusable TERM: $(cat "$tmp/term.rc" 2>/dev/null), stderr: $(cat "$tmp/term.err")"
fi

# 8. Off a terminal, and usage.
rc=0
"$COHETE_BIN" monitor --sysroot "$tree" </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
if [ "$rc" -eq 1 ] && grep -q 'cohete: monitor: standard output is not a terminal' "$tmp/err" &&
   [ ! -s "$tmp/out" ]; then
	pass "stdout not a terminal: exit 1 with a message"
else
	fail "stdout not a terminal: exit $rc, stderr: $(cat "$tmp/err")"
fi
rc=0
"$COHETE_BIN" monitor --rate 11 >"$tmp/out" 2>"$tmp/err" || rc=$?
if [ "$rc" -eq 2 ] && grep -q -- '--rate' "$tmp/err"; then
	pass "--rate 11: exit 2"
else
	fail "--rate 11: exit $rc"
fi
rc=0
"$COHETE_BIN" monitor --help >"$tmp/out" 2>"$tmp/err" || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^usage: cohete monitor' "$tmp/out"; then
	pass "--help: exit 0"
else
	fail "--help: exit $rc"
fi
rc=0
"$COHETE_BIN" monitor --policy lukewarm >"$tmp/out" 2>"$tmp/err" || rc=$?
if [ "$rc" -eq 2 ] && grep -q "lukewarm" "$tmp/err"; then
	pass "--policy lukewarm: exit 2 naming it"
else
	fail "--policy lukewarm: exit $rc"
fi

if [ "$failures" -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
exit 0
