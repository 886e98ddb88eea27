#!/bin/bash
# `cohete discover --ssh` end to end: three network namespaces, each with
# Debian's sshd serving a captured Jetson tree (sshd_config's SetEnv
# COHETE_SYSROOT: the probe reads /proc, /sys and /etc under it), are
# identified as their trees say (module, RAM, L4T). Then three hosts that
# fail, in the same run as the three good ones: one with nothing listening
# (connection refused), one whose host key is not the one known_hosts holds
# (host key verification failed), one that accepts TCP and never answers
# (timed out at --timeout). Each is reported with its reason, and the good
# hosts are still identified in that run: the sessions run side by side,
# none waits for another. The wall time of each run is printed (never
# asserted), and --save writes the three as an inventory. One host runs
# `cohete agent`, which discover finds on its port (the others: none), and
# answers at two addresses: asked at both, it is one row (merged by the
# serial number both probes read). A host that is no Jetson (an x86 tree)
# is left out with a note, and listed with --all.
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES.
# Exit: 0 pass, 1 fail, 77 not root, no sshd/ip/python3 or no network
# namespaces here, 99 not set up.
set -u

if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "discover-ssh.sh: COHETE_BIN not set or not executable" >&2
	exit 99
fi
sshd=$(command -v sshd || echo /usr/sbin/sshd)
for tool in ssh ssh-keygen ip python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: no $tool (scripts/deps.sh --test installs the test set)"
		exit 77
	fi
done
if [ ! -x "$sshd" ]; then
	echo "SKIP: no sshd (apt-get install openssh-server)"
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: network namespaces and sshd need root"
	exit 77
fi
trees=${COHETE_FIXTURES:-$(cd "$(dirname "$0")/.." && pwd)/fixtures}/sysroots
trees=$(cd "$trees" && pwd) || exit 99
export NO_COLOR=1

tmp=$(mktemp -d) || exit 99
tag=cd$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	for n in 1 2 3 4; do
		ip netns del "$tag-$n" 2>/dev/null
		ip link del "${tag}h$n" 2>/dev/null
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

# Namespace N: a veth pair, 10.77.2N.1 here and 10.77.2N.2 there.
netns() {
	local n=$1 ns=$tag-$1
	ip netns add "$ns" || return 1
	ip link add "${tag}h$n" type veth peer name "${tag}n$n" || return 1
	ip link set "${tag}n$n" netns "$ns" || return 1
	ip addr add "10.77.2$n.1/24" dev "${tag}h$n" || return 1
	ip link set "${tag}h$n" up || return 1
	ip -n "$ns" addr add "10.77.2$n.2/24" dev "${tag}n$n" || return 1
	ip -n "$ns" link set "${tag}n$n" up || return 1
	ip -n "$ns" link set lo up
}
if ! netns 1 2>"$tmp/netns.err"; then
	echo "SKIP: cannot make a network namespace with a veth pair here: $(head -c 200 "$tmp/netns.err")"
	exit 77
fi
for n in 2 3 4; do
	netns "$n" || { echo "discover-ssh.sh: namespace $n: setup failed"; exit 99; }
done
# Host 1 has a second address, as a Jetson on Ethernet and on its USB
# gadget has two: one device, whichever way it is reached.
ip -n "$tag-1" addr add 10.77.21.3/24 dev "${tag}n1" || exit 99

ssh-keygen -q -t ed25519 -N '' -f "$tmp/user_key" || exit 99
cp "$tmp/user_key.pub" "$tmp/authorized_keys"
chmod 600 "$tmp/authorized_keys"
mkdir -p /run/sshd
: >"$tmp/known_hosts"
tree_of=([1]=orin-nano-8gb-super-r36 [2]=xavier-nx-r35 [3]=nano-4gb-r32 [4]=orin-nano-8gb-super-r36)
for n in 1 2 3 4; do
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/host$n" || exit 99
	cat >"$tmp/sshd$n.conf" <<CFG
ListenAddress 10.77.2$n.2
$([ "$n" = 1 ] && echo "ListenAddress 10.77.21.3")
Port 22
HostKey $tmp/host$n
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $tmp/sshd$n.pid
LogLevel ERROR
SetEnv COHETE_SYSROOT=$trees/${tree_of[$n]}
CFG
	ip netns exec "$tag-$n" "$sshd" -D -e -f "$tmp/sshd$n.conf" 2>"$tmp/sshd$n.log" &
	pids+=($!)
done
# known_hosts: the real keys of hosts 1-3; for host 4 another host's key.
for n in 1 2 3; do
	echo "10.77.2$n.2 $(cut -d' ' -f1,2 "$tmp/host$n.pub")" >>"$tmp/known_hosts"
done
echo "10.77.24.2 $(cut -d' ' -f1,2 "$tmp/host1.pub")" >>"$tmp/known_hosts"
echo "10.77.21.3 $(cut -d' ' -f1,2 "$tmp/host1.pub")" >>"$tmp/known_hosts"

# A workstation that is no Jetson (an x86 tree) on port 2202 of host 3.
sed -e 's/^Port 22$/Port 2202/' -e "s|^PidFile .*|PidFile $tmp/sshd5.pid|" \
	-e "s|^SetEnv .*|SetEnv COHETE_SYSROOT=$trees/x86-host|" "$tmp/sshd3.conf" >"$tmp/sshd5.conf"
ip netns exec "$tag-3" "$sshd" -D -e -f "$tmp/sshd5.conf" 2>"$tmp/sshd5.log" &
pids+=($!)
echo "[10.77.23.2]:2202 $(cut -d' ' -f1,2 "$tmp/host3.pub")" >>"$tmp/known_hosts"

# The slow host: accepts connections on 10.77.22.2:2201 and never answers.
ip netns exec "$tag-2" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.22.2", 2201)); s.listen(8)
held = []
while True:
    held.append(s.accept()[0])
' &
pids+=($!)

# Host 1 runs the agent on its default port (not announced: no mDNS here),
# so discover asks it; the other hosts refuse that port.
ip netns exec "$tag-1" "$COHETE_BIN" agent --listen 10.77.21.2:9102 --no-mdns \
	--no-state-dir --sysroot "$trees/${tree_of[1]}" 2>"$tmp/agent.log" &
pids+=($!)

# Wait until every sshd, the agent and the slow listener accept connections.
for _ in $(seq 1 100); do
	up=0
	for a in 10.77.21.2:22 10.77.22.2:22 10.77.23.2:22 10.77.24.2:22 10.77.22.2:2201 \
		 10.77.21.2:9102 10.77.23.2:2202; do
		timeout 1 bash -c "exec 3<>/dev/tcp/${a%:*}/${a#*:}" 2>/dev/null && up=$((up + 1))
	done
	[ "$up" = 7 ] && break
	sleep 0.1
done
if [ "$up" != 7 ]; then
	echo "discover-ssh.sh: the test hosts did not come up: $(cat "$tmp"/sshd*.log)"
	cat "$tmp/agent.log" 2>/dev/null
	exit 99
fi

ssh_opts=(--user root --identity "$tmp/user_key" -o "UserKnownHostsFile=$tmp/known_hosts"
	  -o IdentitiesOnly=yes -o GlobalKnownHostsFile=/dev/null)

# discover OUT ARGS...: rc, wall time in ms
discover() {
	local out=$1 t0 t1
	shift
	t0=$(date +%s%N)
	rc=0
	timeout 60 "$COHETE_BIN" discover "${ssh_opts[@]}" "$@" >"$out" 2>"$tmp/err" </dev/null || rc=$?
	t1=$(date +%s%N)
	wall_ms=$(((t1 - t0) / 1000000))
}

# check FILE EXPRESSION...: true on the document d, with by(address)
check() {
	local file=$1
	shift
	python3 - "$file" "$trees" "$@" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
trees = sys.argv[2]
def by(addr):
    m = [x for x in d["devices"] if x["address"] == addr and x["ssh"]["port"] is None]
    return m[0] if len(m) == 1 else None
def golden(tree):
    return json.load(open(os.path.join(trees, tree, "status.golden.json")))["device"]
def same(addr, tree):
    x, g = by(addr), golden(tree)
    return (x is not None and x["identified"] and x["ssh"]["reachable"] and
            x["module"] == g["module"]["name"] and
            x["module_pnum"] == g["module"]["pnum"] and
            x["mem_total_bytes"] == g["mem_total_bytes"] and
            x["l4t"] == g["l4t"] and x["jetpack"] == g["jetpack"] and
            x["serial"] == g["serial"] and x["id"] == g["hostname"])
bad = [e for e in sys.argv[3:] if not eval(e)]
for e in bad:
    print("  not true: " + e)
if bad:
    print(json.dumps(d, indent=1)[:4000])
sys.exit(1 if bad else 0)
PY
}

good=10.77.21.2,10.77.22.2,10.77.23.2
discover "$tmp/three.json" --ssh "$good" --json --timeout 5
if [ "$rc" != 0 ]; then
	fail "three hosts: exit $rc: $(cat "$tmp/err")"
	cat "$tmp/three.json"
elif check "$tmp/three.json" 'len(d["devices"]) == 3' \
	'same("10.77.21.2", "orin-nano-8gb-super-r36")' \
	'same("10.77.22.2", "xavier-nx-r35")' 'same("10.77.23.2", "nano-4gb-r32")' \
	'by("10.77.21.2")["agent"]["running"] is True' \
	'by("10.77.22.2")["agent"]["running"] is False'; then
	echo "ok: three hosts identified as their trees say (module, RAM, L4T); the agent found on one"
else
	fail "three hosts: not identified as their trees"
fi
echo "three hosts over ssh, in parallel: ${wall_ms} ms wall ($(python3 -c '
import json, sys; d = json.load(open(sys.argv[1]))
print("ssh phase %s ms; sessions %s ms" % (d["ssh_elapsed_ms"],
      ", ".join(str(x["ssh"]["elapsed_ms"]) for x in d["devices"])))' "$tmp/three.json" 2>/dev/null))"
# The anchor, what one would do by hand: the same files read over ssh,
# one host after the other (one session each, as discover's).
t0=$(date +%s%N)
for h in ${good//,/ }; do
	ssh -T -o BatchMode=yes -o ConnectTimeout=5 -l root -i "$tmp/user_key" \
		-o "UserKnownHostsFile=$tmp/known_hosts" -o IdentitiesOnly=yes \
		-o GlobalKnownHostsFile=/dev/null -- "$h" \
		'cat "$COHETE_SYSROOT/proc/device-tree/model" "$COHETE_SYSROOT/etc/nv_tegra_release"' \
		>/dev/null 2>&1 || fail "anchor: ssh $h failed"
done
serial_ms=$((($(date +%s%N) - t0) / 1000000))
echo "anchor, ssh to each host in turn: ${serial_ms} ms; discover: ${wall_ms} ms" \
     "($(python3 -c "print('%.2f' % ($serial_ms / max($wall_ms, 1)))")x)"

# The same three with a host down, a wrong host key and a silent one.
discover "$tmp/six.json" --ssh "$good,10.77.21.2:2200,10.77.24.2,10.77.22.2:2201" \
	--json --timeout 3
if [ "$rc" != 1 ]; then
	fail "six hosts: exit $rc, want 1 (three could not be identified): $(cat "$tmp/err")"
fi
if check "$tmp/six.json" 'len(d["devices"]) == 6' \
	'same("10.77.21.2", "orin-nano-8gb-super-r36")' \
	'same("10.77.22.2", "xavier-nx-r35")' 'same("10.77.23.2", "nano-4gb-r32")' \
	'[x["ssh"]["reason"] for x in d["devices"] if x["ssh"]["port"] == 2200] == ["connection refused"]' \
	'by("10.77.24.2")["ssh"]["reason"].startswith("host key verification failed")' \
	'[x["ssh"]["reason"] for x in d["devices"] if x["ssh"]["port"] == 2201][0] in ("timed out after 3 s", "no answer from the ssh server (banner exchange timed out)")' \
	'all(x["ssh"]["reachable"] is False and not x["identified"] for x in d["devices"] if x["address"] == "10.77.24.2" or x["ssh"]["port"])'; then
	echo "ok: down, wrong host key and silent hosts reported with their reasons; the good three identified in the same run"
else
	fail "six hosts: wrong reasons or results"
fi
echo "six hosts (three failing, --timeout 3): ${wall_ms} ms wall"

# The table for people, and the inventory.
discover "$tmp/table" --ssh "$good" --save "$tmp/cfg/inventory.yaml"
if [ "$rc" != 0 ] || ! grep -q "^inventory: 3 devices written to $tmp/cfg/inventory.yaml" "$tmp/table" ||
   ! grep -q '^orin-nano .*Jetson Orin Nano Super Developer Kit.*36.4.3 (JP 6.2).*yes$' "$tmp/table"; then
	fail "table and --save: exit $rc:"
	cat "$tmp/table" "$tmp/err"
fi
if [ -f "$tmp/cfg/inventory.yaml" ] && python3 - "$tmp/cfg/inventory.yaml" "$trees" <<'PY'
import json, os, re, sys
text = open(sys.argv[1]).read()
for tree in ("orin-nano-8gb-super-r36", "xavier-nx-r35", "nano-4gb-r32"):
    g = json.load(open(os.path.join(sys.argv[2], tree, "status.golden.json")))["device"]
    block = re.search(r'- id: "%s"\n((?:      .*\n)+)' % g["hostname"], text)
    want = ('connection: ssh', 'module: "%s"' % g["module"]["pnum"],
            'l4t: "%s"' % g["l4t"], "ram_mb: %d" % (g["mem_total_bytes"] // 1048576),
            'serial: "%s"' % g["serial"])
    if not block or not all(s in block.group(1) for s in want):
        print("inventory lacks %s as %s:\n%s" % (g["hostname"], want, text))
        sys.exit(1)
PY
then
	echo "ok: --save wrote the three as fleet.devices"
else
	fail "--save: the inventory is not what was found"
fi

# One device reached at two addresses is one row: merged by the serial
# number both probes read.
discover "$tmp/two.json" --ssh 10.77.21.2,10.77.21.3 --json --timeout 5
if [ "$rc" = 0 ] && python3 - "$tmp/two.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
sys.exit(0 if len(d) == 1 and d[0]["identified"] and
         d[0]["serial"] == "1423921012345" and
         d[0]["address"] in ("10.77.21.2", "10.77.21.3") else 1)
PY
then
	echo "ok: one device at two addresses is one row (merged by serial)"
else
	fail "two addresses of one device: not one row: $(cat "$tmp/two.json" "$tmp/err")"
fi

# A host that is not a Jetson is left out, with a note; --all keeps it.
discover "$tmp/other.json" --ssh 10.77.21.2,10.77.23.2:2202 --json --timeout 5
if [ "$rc" = 0 ] && python3 - "$tmp/other.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if len(d["devices"]) == 1 and d["devices"][0]["address"] == "10.77.21.2" and
         any(n["field"] == "hosts" for n in d["unavailable"]) else 1)
PY
then
	echo "ok: a host that is not a Jetson is left out, and said so"
else
	fail "not a Jetson: $(cat "$tmp/other.json" "$tmp/err")"
fi
discover "$tmp/all.json" --ssh 10.77.21.2,10.77.23.2:2202 --json --timeout 5 --all
if [ "$rc" = 0 ] && python3 - "$tmp/all.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
x = [e for e in d if e["ssh"]["port"] == 2202]
sys.exit(0 if len(d) == 2 and len(x) == 1 and x[0]["identified"] and
         x[0]["module"] is None else 1)
PY
then
	echo "ok: --all lists it too"
else
	fail "--all: $(cat "$tmp/all.json" "$tmp/err")"
fi

if [ "$failures" -gt 0 ]; then
	echo "discover-ssh.sh: $failures failed"
	exit 1
fi
echo "discover-ssh.sh: all passed"
