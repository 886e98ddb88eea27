#!/bin/bash
# mDNS end to end between two network namespaces joined by a veth pair
# (10.78.0.1/24 and 10.78.0.2/24, nothing else on it). Each side runs its
# own `dbus-daemon --system` and `avahi-daemon --no-chroot` in a mount
# namespace with a private /run and its own avahi config (host name,
# allowed interface) and service files. Side A ("jetson-a") runs
# `cohete agent` over the Orin Nano 8GB fixture sysroot, publishing
# _cohete._tcp, Debian's sshd (published as _ssh._tcp by an avahi service
# file) and avahi's _workstation._tcp; side B browses (and announces its
# own workstation record, which is not a device found). Checked:
#   - the browse from B finds one host, jetson-a.local at 10.78.0.1 (IPv4
#     although IPv6 is on), with the agent's port, the ssh port and the
#     workstation record, and id/module/l4t/serial as the fixture has them;
#     the agent and sshd answer at the address and ports found;
#   - `cohete discover --mdns --json` finds it by mDNS and identifies it
#     over ssh (A's sshd serves the fixture tree through SetEnv
#     COHETE_SYSROOT) as the tree says: module, RAM, serial; agent running;
#   - avahi-daemon on A restarted: the agent publishes again and B finds it;
#   - a browse where no avahi-daemon runs fails at once with "avahi-daemon
#     is not running", and an agent there logs it and serves all the same;
#   - avahi-daemon on B stopped (SIGSTOP): the browse gives up at its
#     timeout, saying the daemon did not answer, instead of libdbus's 25 s.
# The time each browse took is printed (no assertion on it).
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES, MDNS_BROWSE
# (test-cohete-discover-mdns). Exit: 0 pass, 1 fail, 77 not root or a tool
# missing (scripts/deps.sh --test installs them), 99 not set up.
set -u

for v in COHETE_BIN COHETE_FIXTURES MDNS_BROWSE; do
	if [ -z "${!v:-}" ]; then
		echo "discover-mdns.sh: $v not set" >&2
		exit 99
	fi
done
skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "network namespaces and the daemons need root"
for tool in avahi-daemon dbus-daemon ip unshare nsenter python3 curl; do
	command -v "$tool" >/dev/null || skip "$tool not found (scripts/deps.sh --test)"
done
getent passwd avahi >/dev/null || skip "no avahi user (apt-get install avahi-daemon)"
getent passwd messagebus >/dev/null || skip "no messagebus user (apt-get install dbus)"

sysroot=$COHETE_FIXTURES/sysroots/orin-nano-8gb-super-r36
serial=$(tr -d '\0' <"$sysroot/proc/device-tree/serial-number")
ns_a=coh-mdns-a-$$
ns_b=coh-mdns-b-$$
veth_a=cmdnsa$$
veth_b=cmdnsb$$
tmp=$(mktemp -d) || exit 99
pids=()
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# Running, not a zombie its new parent has yet to reap.
alive() {
	local state
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Every daemon by the pid we started it with, then the namespaces (which
# take the veth pair with them), then the files.
cleanup() {
	local pid i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[i]}
		kill -CONT "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		for i in $(seq 30); do
			alive "$pid" || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	ip netns del "$ns_a" 2>/dev/null
	ip netns del "$ns_b" 2>/dev/null
	ip link del "$veth_a" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# spawn LOG CMD...: start a daemon (output to LOG) that is not this shell's
# child, so that a signal's trap runs at once instead of when some child
# exits; its pid goes to $spawned and the list cleanup kills.
spawn() {
	local log=$1
	shift
	("$@" </dev/null >>"$log" 2>&1 & echo $! >"$tmp/spawned")
	spawned=$(cat "$tmp/spawned")
	pids+=("$spawned")
}

# wait_for FILE TEXT [COUNT]: until FILE holds TEXT COUNT times (10 s).
wait_for() {	# FILE TEXT [COUNT]: up to 20 s (a loaded CI machine)
	local i
	for i in $(seq 200); do
		[ "$(grep -cF -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

# The network: two namespaces, a veth pair between them.
ip netns add "$ns_a" 2>"$tmp/err" || skip "ip netns add: $(cat "$tmp/err")"
ip netns add "$ns_b" || exit 99
ip link add "$veth_a" type veth peer name "$veth_b" 2>"$tmp/err" ||
	skip "no veth pairs: $(cat "$tmp/err")"
ip link set "$veth_a" netns "$ns_a" && ip link set "$veth_b" netns "$ns_b" || exit 99
for side in a b; do
	ns=ns_$side veth=veth_$side
	addr=10.78.0.$([ $side = a ] && echo 1 || echo 2)
	ip netns exec "${!ns}" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 2>/dev/null
	ip -n "${!ns}" link set lo up &&
	ip -n "${!ns}" addr add "$addr/24" dev "${!veth}" &&
	ip -n "${!ns}" link set "${!veth}" up || exit 99
done

# One side's system: a process that holds its mount namespace (private
# /run, our service files over /etc/avahi/services), D-Bus, avahi-daemon.
# in_ns SIDE CMD...: run CMD there. (Daemons are started with nsenter
# itself, which execs them, so that $! is theirs.)
declare -A anchor
in_ns() {
	local side=$1
	shift
	nsenter -t "${anchor[$side]}" -m -n "$@"
}

avahi_conf() {	# SIDE HOST VETH WORKSTATION
	cat >"$tmp/$1/avahi-daemon.conf" <<CONF
[server]
host-name=$2
domain-name=local
use-ipv4=yes
use-ipv6=yes
allow-interfaces=$3
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-workstation=$4
publish-hinfo=no
CONF
}

start_avahi() {	# SIDE: started once more than before
	local started
	started=$(cat "$tmp/$1/avahi.log" 2>/dev/null | grep -c "Server startup complete")
	spawn "$tmp/$1/avahi.log" nsenter -t "${anchor[$1]}" -m -n avahi-daemon \
		--no-chroot --no-rlimits -f "$tmp/$1/avahi-daemon.conf"
	eval "avahi_pid_$1=$spawned"
	wait_for "$tmp/$1/avahi.log" "Server startup complete" $((started + 1))
}

start_side() {	# SIDE NS HOST VETH WORKSTATION
	local side=$1 i
	mkdir -p "$tmp/$side/services"
	avahi_conf "$side" "$3" "$4" "$5"
	spawn "$tmp/$side/anchor.log" ip netns exec "$2" unshare -m --propagation private \
		sh -c "mount -t tmpfs -o mode=0755 tmpfs /run &&
		       mkdir -p /run/dbus /run/sshd &&
		       mount --bind '$tmp/$side/services' /etc/avahi/services &&
		       exec sleep 3600"
	anchor[$side]=$spawned
	for i in $(seq 50); do
		[ "$(cat "/proc/${anchor[$side]}/comm" 2>/dev/null)" = sleep ] && break
		alive "${anchor[$side]}" ||
			skip "unshare -m with a private /run: $(cat "$tmp/$side/anchor.log")"
		sleep 0.1
	done
	spawn "$tmp/$side/dbus.log" nsenter -t "${anchor[$side]}" -m -n \
		dbus-daemon --system --nofork --nopidfile
	for i in $(seq 50); do
		in_ns "$side" test -S /run/dbus/system_bus_socket && break
		sleep 0.1
	done
	start_avahi "$side" || {
		cat "$tmp/$side/dbus.log" "$tmp/$side/avahi.log"
		echo "FAIL: avahi-daemon on side $side did not start"
		exit 1
	}
}

# A's sshd, published by a service file as Debian's avahi would.
have_sshd=
sshd=$(command -v sshd || echo /usr/sbin/sshd)
mkdir -p "$tmp/a/services"
if [ -x "$sshd" ] && command -v ssh-keygen >/dev/null; then
	have_sshd=1
	cat >"$tmp/a/services/ssh.service" <<'XML'
<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name replace-wildcards="yes">%h</name>
  <service>
    <type>_ssh._tcp</type>
    <port>22</port>
  </service>
</service-group>
XML
else
	echo "note: no sshd: the _ssh._tcp part is left out"
fi

start_side a "$ns_a" jetson-a "$veth_a" yes
start_side b "$ns_b" browser-b "$veth_b" yes	# its own record: not a device found

if [ -n "$have_sshd" ]; then
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/a/host_key" || exit 99
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/user_key" || exit 99
	cp "$tmp/user_key.pub" "$tmp/a/authorized_keys"
	chmod 600 "$tmp/a/authorized_keys"
	echo "10.78.0.1 $(cut -d' ' -f1,2 "$tmp/a/host_key.pub")" >"$tmp/known_hosts"
	# The probe reads the fixture tree, as a real Jetson's own files.
	cat >"$tmp/a/sshd_config" <<CFG
Port 22
ListenAddress 10.78.0.1
HostKey $tmp/a/host_key
AuthorizedKeysFile $tmp/a/authorized_keys
PermitRootLogin prohibit-password
StrictModes no
SetEnv COHETE_SYSROOT=$sysroot
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile none
LogLevel ERROR
CFG
	spawn "$tmp/a/sshd.log" nsenter -t "${anchor[a]}" -m -n "$sshd" -D -e \
		-f "$tmp/a/sshd_config"
fi

spawn "$tmp/a/agent.log" nsenter -t "${anchor[a]}" -m -n "$COHETE_BIN" agent \
	--listen 10.78.0.1:0 --no-state-dir --sysroot "$sysroot"
if ! wait_for "$tmp/a/agent.log" "mDNS: published"; then
	cat "$tmp/a/agent.log"
	echo "FAIL: the agent did not publish itself"
	exit 1
fi
port=$(sed -n 's|.*listening on http://10\.78\.0\.1:\([0-9]*\);.*|\1|p' "$tmp/a/agent.log")
echo "agent on 10.78.0.1:$port: $(grep -F 'mDNS:' "$tmp/a/agent.log" | sed 's/^cohete: agent: //')"

# browse NAME TIMEOUT_MS: the browse from B into $tmp/NAME.json; its status.
browse() {
	in_ns b "$MDNS_BROWSE" "$2" >"$tmp/$1.json" 2>"$tmp/$1.err"
}

# check_found NAME: the browse found jetson-a as it is.
check_found() {
	python3 - "$tmp/$1.json" "$port" "$serial" "$have_sshd" <<'PY' || fail "$1: $(cat "$tmp/$1.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
port, serial, sshd = int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
want = {"name": "jetson-a.local", "address": "10.78.0.1", "agent_port": port,
        "workstation": True, "id": "orin-nano", "module": "p3767-0005",
        "l4t": "36.4.3", "serial": serial}
if sshd:
    want["ssh_port"] = 22
hosts = doc["hosts"]
if len(hosts) != 1:
    sys.exit(f"{len(hosts)} hosts, want jetson-a only")
bad = {k: (hosts[0].get(k), v) for k, v in want.items() if hosts[0].get(k) != v}
if bad:
    sys.exit(f"(found, want): {bad}")
print(f"found {hosts[0]['name']} at {hosts[0]['address']} in {doc['elapsed_ms']:.0f} ms")
PY
}

# 1. B finds A, and what it found answers.
if browse first 5000; then
	check_found first
else
	fail "browse from B: $(cat "$tmp/first.err")"
fi
if in_ns b curl -sf --max-time 5 "http://10.78.0.1:$port/v1/status" >"$tmp/status.json"; then
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["device"]
assert d["module"]["pnum"] == "p3767-0005" and d["l4t"] == "36.4.3", d
' "$tmp/status.json" 2>"$tmp/err" || fail "the agent found answers, but: $(cat "$tmp/err")"
else
	fail "no answer from the agent at the address and port found"
fi
if [ -n "$have_sshd" ]; then
	banner=$(in_ns b timeout 5 bash -c 'exec 3<>/dev/tcp/10.78.0.1/22; head -c 8 <&3')
	[ "$banner" = "SSH-2.0-" ] || fail "no ssh banner at 10.78.0.1:22 (got '$banner')"
fi

# 2. `cohete discover --mdns --json`: found by mDNS, identified over ssh.
if "$COHETE_BIN" discover --help >/dev/null 2>&1; then
	ssh_args=()
	[ -n "$have_sshd" ] && ssh_args=(--user root --identity "$tmp/user_key"
		-o "UserKnownHostsFile=$tmp/known_hosts" -o GlobalKnownHostsFile=/dev/null
		-o IdentitiesOnly=yes)
	if in_ns b "$COHETE_BIN" discover --mdns --json --timeout 5 "${ssh_args[@]}" \
		>"$tmp/discover.json" 2>"$tmp/discover.err"; then
		for want in 10.78.0.1 p3767-0005 36.4.3; do
			grep -qF -- "$want" "$tmp/discover.json" ||
				fail "cohete discover --mdns --json: no '$want' in $(cat "$tmp/discover.json")"
		done
		# Found by mDNS, identified over ssh as the tree says, agent seen.
		if [ -n "$have_sshd" ]; then
			python3 - "$tmp/discover.json" "$sysroot/status.golden.json" <<'PY' ||
import json, sys
d = [x for x in json.load(open(sys.argv[1]))["devices"] if x["address"] == "10.78.0.1"]
g = json.load(open(sys.argv[2]))["device"]
ok = (len(d) == 1 and d[0]["identified"] and d[0]["ssh"]["reachable"] and
      d[0]["via"] == ["mdns"] and d[0]["agent"]["running"] is True and
      d[0]["module"] == g["module"]["name"] and d[0]["serial"] == g["serial"] and
      d[0]["mem_total_bytes"] == g["mem_total_bytes"])
sys.exit(0 if ok else 1)
PY
			fail "cohete discover --mdns: not identified over ssh as the tree: $(cat "$tmp/discover.json")"
		fi
	else
		fail "cohete discover --mdns --json: $(cat "$tmp/discover.err")"
	fi
else
	echo "note: no 'cohete discover' yet: the browse was checked alone"
fi

# 3. avahi-daemon on A restarts: the agent publishes again.
kill "$avahi_pid_a"
# The old daemon gone (its pid file with it) before the new one starts.
for _ in $(seq 100); do
	alive "$avahi_pid_a" || break
	sleep 0.1
done
wait_for "$tmp/a/agent.log" "avahi-daemon went away" || fail "the agent missed the restart"
start_avahi a || fail "avahi-daemon on A did not start again: $(tail -n 5 "$tmp/a/avahi.log")"
if wait_for "$tmp/a/agent.log" "mDNS: published" 2; then
	if browse again 5000; then
		check_found again
	else
		fail "browse after the restart: $(cat "$tmp/again.err")"
	fi
else
	fail "the agent did not publish again after the restart: $(cat "$tmp/a/agent.log")"
fi

# 4. No avahi-daemon at all (an empty /run: no D-Bus either).
ip netns exec "$ns_a" unshare -m --propagation private sh -c "
	mount -t tmpfs tmpfs /run && exec '$MDNS_BROWSE' 3000" >/dev/null 2>"$tmp/none.err"
rc=$?
if [ $rc -ne 69 ] || ! grep -qF "avahi-daemon is not running" "$tmp/none.err"; then
	fail "browse without avahi-daemon: exit $rc, $(cat "$tmp/none.err")"
else
	echo "without avahi-daemon: $(cat "$tmp/none.err")"
fi
spawn "$tmp/lone.log" ip netns exec "$ns_a" unshare -m --propagation private sh -c "
	mount -t tmpfs tmpfs /run && exec '$COHETE_BIN' agent --listen 10.78.0.1:0 \
		--no-state-dir --sysroot '$sysroot'"
lone=$spawned
if wait_for "$tmp/lone.log" "mDNS: not published: avahi-daemon is not running"; then
	lport=$(sed -n 's|.*listening on http://10\.78\.0\.1:\([0-9]*\);.*|\1|p' "$tmp/lone.log")
	in_ns b curl -sf --max-time 5 "http://10.78.0.1:$lport/metrics" >/dev/null ||
		fail "the agent without avahi-daemon does not serve"
else
	fail "an agent without avahi-daemon: $(cat "$tmp/lone.log")"
fi
kill "$lone"

# 5. A daemon that does not answer: the browse gives up at its timeout.
kill -STOP "$avahi_pid_b"
browse hung 1500
rc=$?
kill -CONT "$avahi_pid_b"
if [ $rc -ne 69 ] || ! grep -qF "did not answer" "$tmp/hung.err"; then
	fail "browse with avahi-daemon stopped: exit $rc, $(cat "$tmp/hung.err")"
else
	echo "avahi-daemon stopped: $(cat "$tmp/hung.err")"
fi

if [ $failures -ne 0 ]; then
	echo "--- agent log"
	cat "$tmp/a/agent.log"
	echo "$failures failure(s)"
	exit 1
fi
echo "ok: mDNS between namespaces"
exit 0
