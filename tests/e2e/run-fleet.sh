#!/bin/bash
# `cohete run` end to end: three "Jetsons" in network namespaces, each with
# Debian's sshd (a session's COHETE_SYSROOT is its captured tree), two of
# them with `cohete agent` on their namespace address. orin-nano's tree is
# a copy whose thermal zones the test writes: hot (80 C, above the
# conservative policy's 65 C trip), then warm (60 C: the breaker is
# cooling until below 55 C), then cool (40 C). Jobs run through ssh and
# `pepita worker --stdio` on the devices; where each ran is the server
# address of its ssh session ($SSH_CONNECTION).
#
#   - while orin-nano is hot, jobs for label:lab (both) run on orin-nx
#     only, in input order, and the refusal is said with the temperature;
#     alone (--on orin-nano), its jobs fail after --wait with the reason;
#   - while it cools, the reason says so; a job that waits for it (the
#     device alone, a long --wait) runs there once it is cool;
#   - once cool, jobs for label:lab run on both; an id selects one;
#   - nano has no agent: refused with the reason (at once: it is the only
#     device chosen), run with --ungated;
#   - --memory beyond the budget is refused, within it runs;
#   - a selector that chooses nothing is a usage error.
#
# Environment (tests/meson.build): COHETE_BIN, PEPITA_BIN, COHETE_FIXTURES.
# Exit: 0 pass, 1 fail, 77 not root, no sshd/ip/python3 or no network
# namespaces here, 99 not set up.
set -u

for v in COHETE_BIN PEPITA_BIN; do
	if [ -z "${!v:-}" ] || [ ! -x "${!v}" ]; then
		echo "run-fleet.sh: $v not set or not executable" >&2
		exit 99
	fi
done
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
tag=cr$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	for n in 1 2 3; do
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

# Namespace N: a veth pair, 10.79.N.1 here and 10.79.N.2 there.
netns() {
	local n=$1 ns=$tag-$1
	ip netns add "$ns" || return 1
	ip link add "${tag}h$n" type veth peer name "${tag}n$n" || return 1
	ip link set "${tag}n$n" netns "$ns" || return 1
	ip addr add "10.79.$n.1/24" dev "${tag}h$n" || return 1
	ip link set "${tag}h$n" up || return 1
	ip -n "$ns" addr add "10.79.$n.2/24" dev "${tag}n$n" || return 1
	ip -n "$ns" link set "${tag}n$n" up || return 1
	ip -n "$ns" link set lo up
}
if ! netns 1 2>"$tmp/netns.err"; then
	echo "SKIP: cannot make a network namespace with a veth pair here: $(head -c 200 "$tmp/netns.err")"
	exit 77
fi
for n in 2 3; do
	netns "$n" || { echo "run-fleet.sh: namespace $n: setup failed"; exit 99; }
done

# orin-nano's tree is a copy: its zones are written below.
cp -a "$trees/orin-nano-8gb-super-r36" "$tmp/hot-tree" || exit 99
tree_of=([1]=$tmp/hot-tree [2]=$trees/orin-nx-16gb-r36 [3]=$trees/nano-4gb-r32)
set_temp() {
	local z
	for z in "$tmp"/hot-tree/sys/class/thermal/thermal_zone*/temp; do
		echo "$1" >"$z.new" && mv "$z.new" "$z"
	done
}
set_temp 80000

ssh-keygen -q -t ed25519 -N '' -f "$tmp/user_key" || exit 99
cp "$tmp/user_key.pub" "$tmp/authorized_keys"
chmod 600 "$tmp/authorized_keys"
mkdir -p /run/sshd
: >"$tmp/known_hosts"
for n in 1 2 3; do
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/host$n" || exit 99
	cat >"$tmp/sshd$n.conf" <<CFG
ListenAddress 10.79.$n.2
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
MaxStartups 100
MaxSessions 100
SetEnv COHETE_SYSROOT=${tree_of[$n]}
CFG
	ip netns exec "$tag-$n" "$sshd" -D -e -f "$tmp/sshd$n.conf" 2>"$tmp/sshd$n.log" &
	pids+=($!)
	echo "10.79.$n.2 $(cut -d' ' -f1,2 "$tmp/host$n.pub")" >>"$tmp/known_hosts"
done
# Agents on orin-nano and orin-nx; nano has none.
for n in 1 2; do
	ip netns exec "$tag-$n" "$COHETE_BIN" agent --listen "10.79.$n.2:9102" \
		--no-mdns --no-state-dir --sysroot "${tree_of[$n]}" --interval 200 \
		2>"$tmp/agent$n.log" &
	pids+=($!)
done

for _ in $(seq 1 100); do
	up=0
	for a in 10.79.1.2:22 10.79.2.2:22 10.79.3.2:22 10.79.1.2:9102 10.79.2.2:9102; do
		timeout 1 bash -c "exec 3<>/dev/tcp/${a%:*}/${a#*:}" 2>/dev/null && up=$((up + 1))
	done
	[ "$up" = 5 ] && break
	sleep 0.1
done
if [ "$up" != 5 ]; then
	echo "run-fleet.sh: the test hosts did not come up: $(cat "$tmp"/sshd*.log "$tmp"/agent*.log)"
	exit 99
fi

cat >"$tmp/cohete.yaml" <<YAML
version: "1.0"
fleet:
  name: bench
  devices:
    - {id: orin-nano, ip: 10.79.1.2, user: root, labels: [lab, gpu]}
    - {id: orin-nx, ip: 10.79.2.2, user: root, labels: [lab]}
    - {id: nano, ip: 10.79.3.2, user: root, labels: [old]}
agent:
  listen: 0.0.0.0:9102
YAML

# The breaker's state on device N, as its agent says it.
breaker() {
	python3 - "$1" <<'PY'
import json, sys, urllib.request
try:
    with urllib.request.urlopen("http://10.79.%s.2:9102/v1/status" % sys.argv[1],
                                timeout=2) as r:
        print(json.load(r)["breaker"]["state"])
except Exception as e:
    print("unreachable: %s" % e)
PY
}
wait_breaker() {
	local n=$1 want=$2
	for _ in $(seq 1 100); do
		[ "$(breaker "$n")" = "$want" ] && return 0
		sleep 0.1
	done
	echo "run-fleet.sh: device $n's breaker is $(breaker "$n"), not $want"
	return 1
}

out=$tmp/out
err=$tmp/err
# crun ARGS... (jobs print their argument and the device's address)
crun() {
	rc=0
	timeout 120 "$COHETE_BIN" run --config "$tmp/cohete.yaml" \
		--identity "$tmp/user_key" -o "UserKnownHostsFile=$tmp/known_hosts" \
		-o IdentitiesOnly=yes -o GlobalKnownHostsFile=/dev/null \
		--remote-pepita "$PEPITA_BIN" "$@" >"$out" 2>"$err" </dev/null || rc=$?
}
where='set -- $SSH_CONNECTION; echo "$0 $3"'

# Hot: label:lab runs on orin-nx only, every job, in input order.
wait_breaker 1 tripped || exit 99
crun --on label:lab -j 2 --joblog "$tmp/log" -- sh -c "$where" ::: 1 2 3 4 5 6 7 8
want=$(for i in 1 2 3 4 5 6 7 8; do echo "$i 10.79.2.2"; done)
if [ "$rc" = 0 ] && [ "$(cat "$out")" = "$want" ] &&
   grep -q "orin-nano: thermal breaker open (80.0 C)" "$err" &&
   [ "$(tail -n +2 "$tmp/log" | cut -f2 | sort -u)" = orin-nx ]; then
	echo "ok: orin-nano hot (80 C): label:lab's 8 jobs ran on orin-nx only, in order; the refusal said why"
else
	fail "hot device: exit $rc:"
	cat "$out" "$err"
fi

# Alone, the hot device's jobs wait --wait, then fail with the reason.
crun --on orin-nano --wait 1 -- sh -c "$where" ::: a b
if [ "$rc" = 2 ] && [ ! -s "$out" ] &&
   [ "$(grep -c 'not run (.*): orin-nano: thermal breaker open (80.0 C)$' "$err")" = 2 ]; then
	echo "ok: --on orin-nano while hot: both jobs not run, the reason given (exit 2)"
else
	fail "hot device alone: exit $rc, want 2:"
	cat "$out" "$err"
fi

# Cooling (60 C: below the trip, not yet below 55): still refused, and said so.
set_temp 60000
wait_breaker 1 cooling || fail "the breaker did not go to cooling"
crun --on orin-nano --wait 0 -- sh -c "$where" ::: a
if [ "$rc" = 1 ] &&
   grep -q "orin-nano: thermal breaker open, cooling (60.0 C, closes below 55.0 C)$" "$err"; then
	echo "ok: cooling: refused, saying when it closes"
else
	fail "cooling device: exit $rc, want 1:"
	cat "$out" "$err"
fi

# A job that waits for the device runs there once it is cool.
timeout 120 "$COHETE_BIN" run --config "$tmp/cohete.yaml" --on orin-nano --wait 60 \
	--identity "$tmp/user_key" -o "UserKnownHostsFile=$tmp/known_hosts" \
	-o IdentitiesOnly=yes -o GlobalKnownHostsFile=/dev/null \
	--remote-pepita "$PEPITA_BIN" -- sh -c "$where" ::: later \
	>"$tmp/later.out" 2>"$tmp/later.err" </dev/null &
later=$!
for _ in $(seq 1 50); do
	grep -q "its jobs go to other devices or wait" "$tmp/later.err" && break
	sleep 0.1
done
set_temp 40000
wait_breaker 1 ok || fail "the breaker did not close at 40 C"
wait "$later"
rc=$?
if [ "$rc" = 0 ] && [ "$(cat "$tmp/later.out")" = "later 10.79.1.2" ] &&
   grep -q "orin-nano: taking jobs again" "$tmp/later.err"; then
	echo "ok: a job that waited for orin-nano ran there once it cooled"
else
	fail "waiting job: exit $rc:"
	cat "$tmp/later.out" "$tmp/later.err"
fi

# Cool: label:lab's jobs run on both (one at a time each, so both are busy).
crun --on label:lab -j 1 -- sh -c "sleep 0.5; $where" ::: 1 2 3 4 5 6
if [ "$rc" = 0 ] && [ "$(cut -d' ' -f1 "$out" | tr '\n' ' ')" = "1 2 3 4 5 6 " ] &&
   [ "$(cut -d' ' -f2 "$out" | sort -u | tr '\n' ' ')" = "10.79.1.2 10.79.2.2 " ]; then
	echo "ok: cool again: label:lab's jobs ran on both devices, output in input order"
else
	fail "both cool: exit $rc:"
	cat "$out" "$err"
fi

# An id chooses one device; a label another; all three with --ungated.
crun --on orin-nano -j 3 -- sh -c "$where" ::: x y z
if [ "$rc" = 0 ] && [ "$(cut -d' ' -f2 "$out" | sort -u)" = 10.79.1.2 ]; then
	echo "ok: --on orin-nano: every job there"
else
	fail "--on orin-nano: exit $rc:"
	cat "$out" "$err"
fi

# nano has no agent: refused with the reason, at once (waiting would not
# bring one); --ungated runs it.
crun --on label:old -- sh -c "$where" ::: n
if [ "$rc" = 1 ] &&
   grep -q "nano: no agent answers at http://10.79.3.2:9102/v1/status (Connection refused)" "$err"; then
	echo "ok: nano without an agent: refused, with the reason"
else
	fail "device without an agent: exit $rc, want 1:"
	cat "$out" "$err"
fi
crun --on nano --ungated -- sh -c "$where" ::: n
if [ "$rc" = 0 ] && [ "$(cat "$out")" = "n 10.79.3.2" ]; then
	echo "ok: nano --ungated: run there"
else
	fail "--ungated: exit $rc:"
	cat "$out" "$err"
fi

# The memory budget (Orin NX 16GB: 16 GiB less the reserve).
crun --on orin-nx --memory 100000 --wait 0 -- sh -c "$where" ::: big
if [ "$rc" = 1 ] && grep -q "orin-nx: memory budget full (.* MiB free; the task needs 100000 MiB)" "$err"; then
	echo "ok: --memory beyond orin-nx's budget: refused"
else
	fail "--memory 100000: exit $rc, want 1:"
	cat "$out" "$err"
fi
crun --on orin-nx --memory 512 -- sh -c "$where" ::: small
[ "$rc" = 0 ] && [ "$(cat "$out")" = "small 10.79.2.2" ] ||
	fail "--memory 512: exit $rc: $(cat "$out" "$err")"

# Jobs from input lines; a failing job counts in the exit status.
printf '1\n2\n3\n' | timeout 60 "$COHETE_BIN" run --config "$tmp/cohete.yaml" \
	--on all --ungated --identity "$tmp/user_key" \
	-o "UserKnownHostsFile=$tmp/known_hosts" -o IdentitiesOnly=yes \
	-o GlobalKnownHostsFile=/dev/null --remote-pepita "$PEPITA_BIN" \
	-- sh -c 'echo "line $0"; [ "$0" != 2 ]' >"$out" 2>"$err"
rc=$?
if [ "$rc" = 1 ] && [ "$(cat "$out")" = $'line 1\nline 2\nline 3' ]; then
	echo "ok: input lines, in order; one failing job: exit 1"
else
	fail "input lines: exit $rc, want 1:"
	cat "$out" "$err"
fi

crun --on label:nope -- true ::: x
if [ "$rc" = 2 ] && grep -q "no device has the label 'nope'" "$err"; then
	echo "ok: a selector that chooses nothing: usage error"
else
	fail "--on label:nope: exit $rc, want 2: $(cat "$err")"
fi

# Figures (never asserted): 40 short jobs on orin-nx through the gate,
# and the anchor from the same run: the same jobs by pepita run --host
# over the same ssh, ungated.
t0=$(date +%s%N)
crun --on orin-nx -j 4 -- true ::: $(seq 1 40)
ours=$((($(date +%s%N) - t0) / 1000000))
t0=$(date +%s%N)
timeout 120 "$PEPITA_BIN" run --no-bar --remote-pepita "$PEPITA_BIN" \
	--ssh "ssh -T -o BatchMode=yes -l root -i $tmp/user_key -o UserKnownHostsFile=$tmp/known_hosts -o IdentitiesOnly=yes -o GlobalKnownHostsFile=/dev/null" \
	-S 4/10.79.2.2 true ::: $(seq 1 40) >/dev/null 2>"$err" </dev/null ||
	fail "anchor: pepita run --host: $(cat "$err")"
anchor=$((($(date +%s%N) - t0) / 1000000))
echo "40 jobs on orin-nx, 4 at once: cohete run (gated) ${ours} ms; pepita run --host" \
     "(ungated) ${anchor} ms ($(python3 -c "print('%.2f' % ($anchor / max($ours, 1)))")x)"

if [ "$failures" -gt 0 ]; then
	echo "run-fleet.sh: $failures failed"
	exit 1
fi
echo "run-fleet.sh: all passed"
