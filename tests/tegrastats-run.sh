#!/bin/bash
# `cohete tegrastats` running tegrastats itself: against tests/sim/tegrastats
# on a copy of a fixture tree. Lines arrive as the program prints them (a
# temperature changed in the tree shows up in a later line), --count stops
# it, SIGINT stops it, a closed reader (`| head`) stops it quietly, and a
# cohete killed with SIGKILL takes the program with it. Nothing may be left
# running. A missing program is exit 69.
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES, COHETE_SIM,
# COHETE_RUN (the exe wrapper in cross builds).
# Exit: 0 pass, 1 fail, 77 skip, 99 not set up.
set -u

if [ -z "${COHETE_BIN:-}" ] || [ -z "${COHETE_SIM:-}" ] || [ -z "${COHETE_FIXTURES:-}" ]; then
	echo "tegrastats-run.sh: COHETE_BIN, COHETE_SIM and COHETE_FIXTURES must be set" >&2
	exit 99
fi
if ! command -v python3 >/dev/null; then
	echo "SKIP: python3 (the simulator's interpreter) is not installed"
	exit 77
fi
unset COHETE_SYSROOT
export NO_COLOR=1
sim=$COHETE_SIM/tegrastats
tmp=$(mktemp -d) || exit 99
tree=$tmp/tree
cp -a "$COHETE_FIXTURES/sysroots/orin-nano-8gb-super-r36/." "$tree/" || exit 99

sim_pids() {
	pgrep -f "^python3 $sim|$sim --interval" || true
}
cleanup() {
	local p
	for p in $(sim_pids); do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# ts ARGS...: run cohete tegrastats on the tree; output in $tmp/out, $tmp/err
ts() {
	rc=0
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	timeout 30 ${COHETE_RUN:-} "$COHETE_BIN" tegrastats --tegrastats "$sim" \
		--sysroot "$tree" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
}

# Values the JSON must carry, taken from the tree itself.
ram_total=$(awk '/^MemTotal:/ { print int($2 / 1024) }' "$tree/proc/meminfo")
vdd_in_mv=$(cat "$tree/sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040/hwmon/hwmon2/in1_input")
zone=$tree/sys/devices/virtual/thermal/thermal_zone5	# tj-thermal

# 1. --count: exactly N JSON objects with the tree's values, exit 0.
ts --json --count 3 --interval 100
if [ "$rc" -ne 0 ] || [ "$(wc -l <"$tmp/out")" -ne 3 ]; then
	fail "--count 3: exit $rc, $(wc -l <"$tmp/out") lines"; cat "$tmp/err"
fi
python3 - "$tmp/out" "$ram_total" "$vdd_in_mv" <<'PY' || fail "JSON values differ from the tree"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ram_total, vdd_in_mv = int(sys.argv[2]), int(sys.argv[3])
for d in lines:
    assert d["schema"] == "cohete.tegrastats/2", d["schema"]
    assert d["ram"]["total_bytes"] == ram_total << 20, d["ram"]
    temps = {t["name"]: t["temp_celsius"] for t in d["temps"]}
    assert temps["tj"] == 48.625, temps
    rails = {r["name"]: r for r in d["rails"]}
    assert rails["VDD_IN"]["cur_mw"] == vdd_in_mv * 238 // 1000, rails["VDD_IN"]
    assert len(d["cpu"]) == 6, d["cpu"]
PY

# 2. Lines are read as they come: heat tj while it runs.
( sleep 1.5; echo 91250 >"$zone/temp" ) &
heater=$!
ts --json --count 8 --interval 300
wait "$heater"
python3 - "$tmp/out" <<'PY' || fail "a temperature changed in the tree did not show up"
import json, sys
tj = [{t["name"]: t["temp_celsius"] for t in json.loads(l)["temps"]}["tj"]
      for l in open(sys.argv[1])]
assert tj[0] == 48.625 and tj[-1] == 91.25, tj
PY
echo 48625 >"$zone/temp"

# 3. SIGINT stops cohete and the program, exit 0.
# shellcheck disable=SC2086
${COHETE_RUN:-} "$COHETE_BIN" tegrastats --tegrastats "$sim" --sysroot "$tree" \
	--interval 100 >"$tmp/out" 2>"$tmp/err" </dev/null &
pid=$!
sleep 1
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "SIGINT: exit $rc"
[ -s "$tmp/out" ] || fail "SIGINT: no lines before it"
sleep 0.3
[ -z "$(sim_pids)" ] || fail "SIGINT left the simulator running: $(sim_pids)"

# 4. A reader that goes away: `| head -n 1` ends quietly, exit 0.
set -o pipefail
rc=0
# shellcheck disable=SC2086
${COHETE_RUN:-} "$COHETE_BIN" tegrastats --tegrastats "$sim" --sysroot "$tree" \
	--interval 100 2>"$tmp/err" </dev/null | head -n 1 >/dev/null || rc=$?
set +o pipefail
[ "$rc" -eq 0 ] || fail "| head -n 1: exit $rc"
[ -s "$tmp/err" ] && fail "| head -n 1: printed on stderr: $(cat "$tmp/err")"
sleep 0.3
[ -z "$(sim_pids)" ] || fail "| head left the simulator running"

# 5. cohete killed outright: the program dies with it.
# shellcheck disable=SC2086
${COHETE_RUN:-} "$COHETE_BIN" tegrastats --tegrastats "$sim" --sysroot "$tree" \
	--interval 100 >/dev/null 2>&1 </dev/null &
pid=$!
sleep 1
[ -n "$(sim_pids)" ] || fail "SIGKILL case: the simulator was not running"
kill -9 "$pid"
wait "$pid" 2>/dev/null
for _ in $(seq 20); do [ -z "$(sim_pids)" ] && break; sleep 0.1; done
[ -z "$(sim_pids)" ] || fail "SIGKILL of cohete left the simulator running"

# 6. Errors: no such program (69), the program failing (1, its message).
ts --count 1
rc_ok=$rc
rc=0
# shellcheck disable=SC2086
${COHETE_RUN:-} "$COHETE_BIN" tegrastats --tegrastats "$tmp/none" --count 1 \
	>/dev/null 2>"$tmp/err" </dev/null || rc=$?
[ "$rc" -eq 69 ] || fail "missing program: exit $rc, expected 69"
grep -q "$tmp/none" "$tmp/err" || fail "missing program: error does not name it"
rc=0
# shellcheck disable=SC2086
env -u COHETE_SYSROOT ${COHETE_RUN:-} "$COHETE_BIN" tegrastats --tegrastats "$sim" \
	--count 1 >/dev/null 2>"$tmp/err" </dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "failing program: exit $rc, expected 1"
grep -q "exited with status 1.*COHETE_SYSROOT" "$tmp/err" ||
	fail "failing program: its stderr is not quoted: $(cat "$tmp/err")"
[ "$rc_ok" -eq 0 ] || fail "plain run: exit $rc_ok"

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all tegrastats-run checks passed"
