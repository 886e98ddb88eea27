#!/bin/bash
# `cohete discover --usb` against USB devices described to libudev by
# umockdev (the build machines' kernels have no USB core): a Jetson AGX
# Orin in recovery mode (tests/fixtures/usb/orin-recovery.umockdev: the
# boot ROM's APX device 0955:7023) and a booted Jetson's L4T gadget
# (jetson-gadget.umockdev: 0955:7020 with an rndis_host network interface
# usb0 and an ACM console ttyACM0, its USB serial the device-tree serial).
# Each must come out as what it is, in the table and in the JSON document;
# --save writes the gadget (the recovery-mode device has no address) into
# an inventory.
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES.
# Exit: 0 pass, 1 fail, 77 no umockdev-run or python3, 99 not set up.
set -u

if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "discover-usb.sh: COHETE_BIN not set or not executable" >&2
	exit 99
fi
if ! command -v umockdev-run >/dev/null 2>&1; then
	echo "SKIP: no umockdev-run (apt-get install umockdev)"
	exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 not installed (it reads the documents)"
	exit 77
fi
usb=${COHETE_FIXTURES:-$(cd "$(dirname "$0")" && pwd)/fixtures}/usb
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
export NO_COLOR=1
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run FIXTURE ARGS...: cohete under umockdev; rc, $tmp/out, $tmp/err
run() {
	local fixture=$1
	shift
	rc=0
	umockdev-run -d "$usb/$fixture.umockdev" -- "$COHETE_BIN" discover "$@" \
		>"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
}

# check FILE PYTHON-EXPRESSION...: each expression on the document d (the
# first device is x) must be true.
check() {
	local file=$1
	shift
	python3 - "$file" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
x = d["devices"][0] if d["devices"] else {}
bad = [e for e in sys.argv[2:] if not eval(e)]
for e in bad:
    print("  not true: " + e)
print(json.dumps(d["devices"], indent=1)[:1500] if bad else "", end="")
sys.exit(1 if bad else 0)
PY
}

run orin-recovery --usb --json
if [ "$rc" != 0 ]; then
	fail "recovery-mode Orin: exit $rc: $(cat "$tmp/err")"
elif ! check "$tmp/out" 'd["schema"] == "cohete.discover/1"' \
	'len(d["devices"]) == 1' 'x["usb"]["mode"] == "recovery"' \
	'x["usb"]["vendor_id"] == "0955" and x["usb"]["product_id"] == "7023"' \
	'x["module"] == "Jetson AGX Orin" and x["soc"] == "tegra234"' \
	'"p3701-0005" in x["usb"]["pnums"]' 'x["address"] is None' \
	'x["usb"]["net"] is None and x["usb"]["tty"] is None' \
	'x["via"] == ["usb"] and x["identified"] is False' \
	'x["ssh"]["reachable"] is None' 'x["serial"] == "1421123456789"'; then
	fail "recovery-mode Orin: wrong document"
else
	echo "ok: recovery-mode AGX Orin (0955:7023) found as such"
fi

run jetson-gadget --usb --no-ssh --json
if [ "$rc" != 0 ]; then
	fail "L4T gadget: exit $rc: $(cat "$tmp/err")"
elif ! check "$tmp/out" 'len(d["devices"]) == 1' \
	'x["usb"]["mode"] == "device" and x["usb"]["product_id"] == "7020"' \
	'x["address"] == "192.168.55.1"' 'x["usb"]["net"] == "usb0"' \
	'x["usb"]["net_driver"] == "rndis_host"' 'x["usb"]["tty"] == "ttyACM0"' \
	'x["serial"] == "1423921012345"' 'x["module"] is None'; then
	fail "L4T gadget: wrong document"
else
	echo "ok: booted Jetson's gadget: usb0 (rndis_host) at 192.168.55.1, ttyACM0"
fi

# Without --no-ssh the gadget's address is a candidate, probed over ssh
# (here nothing answers there: a failure with its reason, within --timeout).
run jetson-gadget --usb --json --timeout 1
if [ "$rc" != 0 ] || ! check "$tmp/out" 'len(d["devices"]) == 1' \
	'x["address"] == "192.168.55.1"' 'x["ssh"]["reachable"] is not None' \
	'x["via"] == ["usb"]'; then
	fail "L4T gadget, probed: exit $rc: $(cat "$tmp/err")"
else
	echo "ok: the gadget's address is probed over ssh"
fi

# The table for people says the same.
run orin-recovery --usb
if [ "$rc" != 0 ] || ! grep -q 'Jetson AGX Orin .*(recovery mode) *usb' "$tmp/out"; then
	fail "recovery-mode Orin, table: exit $rc:"
	cat "$tmp/out" "$tmp/err"
fi

# --save: the gadget is listed with connection usb, the APX device only in
# a comment; the file says where it went.
run jetson-gadget --usb --no-ssh --save "$tmp/cfg/inventory.yaml"
if [ "$rc" != 0 ] || ! grep -q "written to $tmp/cfg/inventory.yaml" "$tmp/out" ||
   ! grep -q '^      connection: usb$' "$tmp/cfg/inventory.yaml" ||
   ! grep -q '^      host: "192.168.55.1"$' "$tmp/cfg/inventory.yaml" ||
   ! grep -q '^      serial: "1423921012345"$' "$tmp/cfg/inventory.yaml"; then
	fail "--save of the gadget: exit $rc:"
	cat "$tmp/out" "$tmp/err" "$tmp/cfg/inventory.yaml" 2>/dev/null
fi
XDG_CONFIG_HOME=$tmp/xdg run orin-recovery --usb --save
if [ "$rc" != 0 ] || ! grep -q '^# not listed (no address): USB 1-4, Jetson AGX Orin in recovery mode$' \
	"$tmp/xdg/cohete/inventory.yaml" || ! grep -q '^  devices: \[\]$' "$tmp/xdg/cohete/inventory.yaml"; then
	fail "--save to \$XDG_CONFIG_HOME of the recovery-mode Orin: exit $rc:"
	cat "$tmp/out" "$tmp/err" "$tmp/xdg/cohete/inventory.yaml" 2>/dev/null
fi

if [ "$failures" -gt 0 ]; then
	echo "discover-usb.sh: $failures failed"
	exit 1
fi
echo "discover-usb.sh: all passed"
