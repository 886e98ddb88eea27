#!/bin/bash
# --config FILE on the commands that take options: the file's values are
# the defaults, an option on the command line wins, and a file with errors
# stops the command (exit 2) with every error printed as FILE:LINE:COL.
# status (policy), power set (mode), fan set (PWM), clocks (program, limit),
# quantize (--for), monitor and agent (a bad file stops them before they
# start).
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES, COHETE_SIM,
# and COHETE_RUN (the exe wrapper) in cross builds.
# Exit: 0 pass, 1 fail, 77 skip (no python3 or fixtures), 99 not set up.
set -u

if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "cli-config.sh: COHETE_BIN not set or not executable" >&2
	exit 99
fi
tree=${COHETE_FIXTURES:-}/sysroots/orin-nano-8gb-super-r36
if [ ! -d "$tree" ] || [ -z "${COHETE_SIM:-}" ] || ! command -v python3 >/dev/null; then
	echo "SKIP: needs the fixture trees, the simulators and python3"
	exit 77
fi
unset COHETE_SYSROOT COHETE_CONFIG
export NO_COLOR=1

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

c() {
	rc=0
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	timeout 60 ${COHETE_RUN:-} "$COHETE_BIN" "$@" >"$out" 2>"$err" </dev/null || rc=$?
}
show() {
	echo "  exit $rc; stdout:"; head -n 8 "$out" | sed 's/^/    /'
	echo "  stderr:"; head -n 8 "$err" | sed 's/^/    /'
}
expect() {	# expect WHAT CODE PATTERN: exit CODE and PATTERN in stdout+stderr
	if [ "$rc" -ne "$2" ] || ! cat "$out" "$err" | grep -q -e "$3"; then
		fail "$1 (wanted exit $2 and /$3/)"
		show
		return 1
	fi
	pass "$1"
}

copy=$tmp/tree
mkdir -p "$copy" && cp -a "$tree/." "$copy/"

# The fixture is an Orin Nano 8GB whose hostname is not in the fleet: the
# entry that applies is the fleet's only device.
cat >"$tmp/fleet.yaml" <<YAML
version: "1.0"
fleet:
  devices:
    - id: bench-01
      connection: ssh
      host: 10.0.0.9
      thermal_policy: lab
      memory_budget_mb: 4096
      power_mode: "15W"
      inference: {context_length: 1024, parallel: 3}
thermal:
  lab: {threshold_c: 45, cooldown_c: 35, check_interval_ms: 250}
power:
  fan: 50%
  nvpmodel: $COHETE_SIM/nvpmodel
  jetson_clocks_path: $COHETE_SIM/jetson_clocks
YAML

c status --sysroot "$copy" --config "$tmp/fleet.yaml"
expect "status judges by the file's policy for this device" 0 'lab: warn 40°C, trip 45°C, resume <35°C'
c status --sysroot "$copy" --config "$tmp/fleet.yaml" --policy aggressive
expect "status: --policy on the command line wins" 0 'aggressive: warn 70°C, trip 75°C'
COHETE_CONFIG=$tmp/fleet.yaml c status --sysroot "$copy"
expect "status: COHETE_CONFIG names the file" 0 'lab: warn 40°C'
c status --sysroot "$copy" --config "$tmp/fleet.yaml" --policy nope
expect "status: an unknown policy names the file's too" 2 "policy 'nope'.*config file"

c power set --yes --sysroot "$copy" --config "$tmp/fleet.yaml"
if expect "power set takes the device's power_mode and the file's nvpmodel" 0 'verified'; then
	grep -q 'pmode:0000' "$copy/var/lib/nvpmodel/status" ||
		fail "power set: the status file does not hold mode 0 (15W)"
fi
c power set --yes --sysroot "$copy"
expect "power set without MODE or file is a usage error" 2 'set needs a MODE'

c fan set --yes --sysroot "$copy" --config "$tmp/fleet.yaml"
if expect "fan set takes power.fan" 0 'pwm set to 128'; then
	[ "$(cat "$copy/sys/class/hwmon/hwmon0/pwm1")" = 128 ] ||
		fail "fan set: pwm1 is not 128"
fi

c clocks --json --sysroot "$copy" --config "$tmp/fleet.yaml"
expect "clocks finds jetson_clocks through power.jetson_clocks_path" 0 '"schema"'
c clocks --json --sysroot "$copy" --config "$tmp/fleet.yaml" --jetson-clocks "$tmp/none"
expect "clocks: --jetson-clocks on the command line wins" 69 'none'

c quantize in.gguf out.gguf auto --for nowhere --config "$tmp/fleet.yaml"
expect "quantize --for names a device the file lacks" 2 "no device 'nowhere'"
c quantize in.gguf out.gguf auto --for bench-01
expect "quantize --for without a file" 2 'needs --config'

# agent: its section and this device's entry. The listen address, the
# interval, the policy and the budget it reports are the file's.
if command -v curl >/dev/null; then
	cat >"$tmp/agent.yaml" <<'YAML'
fleet:
  devices:
    - {id: bench-01, host: 10.0.0.9, thermal_policy: lab, memory_budget_mb: 4096}
thermal:
  lab: {threshold_c: 45, cooldown_c: 35, check_interval_ms: 250}
agent:
  listen: "127.0.0.1:0"
  interval_ms: 500
  mdns: false
YAML
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	${COHETE_RUN:-} "$COHETE_BIN" agent --config "$tmp/agent.yaml" --no-state-dir \
		--sysroot "$copy" >"$tmp/agent.out" 2>"$tmp/agent.err" &
	agent=$!
	url=
	for _ in $(seq 50); do
		url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$tmp/agent.err" | head -n1)
		[ -n "$url" ] && break
		sleep 0.1
	done
	if [ -n "$url" ] && curl -s "$url/v1/status" >"$out" &&
	   python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["breaker"]["policy"]
assert p["name"] == "lab" and p["trip_celsius"] == 45, p
assert d["budget"]["total_bytes"] == 4096 << 20, d["budget"]
assert d["agent"]["interval_ms"] == 500, d["agent"]
PY
	then
		pass "agent takes listen, interval, policy and budget from the file"
	else
		fail "agent --config: $(cat "$tmp/agent.err")"
	fi
	kill "$agent" 2>/dev/null
	wait "$agent" 2>/dev/null
fi

# A file with errors stops every command before it does anything, with
# each error at its place.
cat >"$tmp/bad.yaml" <<'YAML'
version: "1.0"
thermal:
  lab: {threshold_c: 45, cooldown_c: 55, check_interval_ms: 250}
agent:
  intervall_ms: 500
YAML
for cmd in "status" "power" "fan" "clocks" "monitor" "agent --listen 127.0.0.1:0" \
	   "quantize a.gguf b.gguf Q4_0"; do
	# shellcheck disable=SC2086  # cmd holds its arguments
	c $cmd --sysroot "$copy" --config "$tmp/bad.yaml"
	if [ "$rc" -eq 2 ] && grep -q "bad.yaml:3:.*cooldown" "$err" &&
	   grep -q "bad.yaml:5:3: error: agent.intervall_ms: unknown key; did you mean 'interval_ms'" "$err"; then
		pass "$cmd --config with errors: exit 2, every error at its line"
	else
		fail "$cmd --config with errors"
		show
	fi
done
c status --sysroot "$copy" --config "$tmp/absent.yaml"
expect "a missing file is a failure naming it" 1 'absent.yaml'

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all --config checks passed"
