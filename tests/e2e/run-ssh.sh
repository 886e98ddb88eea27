#!/bin/bash
# `pepita run --host` end to end through OpenSSH: the test starts Debian's
# sshd on a loopback port with a generated host key, a generated user key
# and a temporary known_hosts, and runs jobs "there" (this machine, as
# another host), one of them with 20 MB of output. Then it kills the ssh
# connections while jobs run: those jobs fail over to retries on new
# connections, every job ends, nothing hangs, and no job is left running.
#
# Environment (tests/meson.build): PEPITA_BIN.
# Exit: 0 pass, 1 fail, 77 no sshd or not root (scripts/deps.sh --test
# installs openssh-server), 99 not set up.
set -u

if [ -z "${PEPITA_BIN:-}" ] || [ ! -x "$PEPITA_BIN" ]; then
	echo "run-ssh.sh: PEPITA_BIN not set or not executable" >&2
	exit 99
fi
sshd=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$sshd" ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
	echo "SKIP: no sshd/ssh (apt-get install openssh-server openssh-client)"
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: sshd for the test runs as root (privilege separation)"
	exit 77
fi

tmp=$(mktemp -d) || exit 99
sshd_pid=
cleanup() {
	[ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
	pkill -f "sleep 302.5" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# A free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_key" || exit 99
ssh-keygen -q -t ed25519 -N '' -f "$tmp/user_key" || exit 99
cp "$tmp/user_key.pub" "$tmp/authorized_keys"
chmod 600 "$tmp/authorized_keys"
echo "[127.0.0.1]:$port $(cat "$tmp/host_key.pub")" >"$tmp/known_hosts"
mkdir -p /run/sshd
cat >"$tmp/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $tmp/host_key
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $tmp/sshd.pid
LogLevel ERROR
MaxStartups 100
MaxSessions 100
CFG
"$sshd" -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.log" &
sshd_pid=$!

cat >"$tmp/ssh_config" <<CFG
Host test
	HostName 127.0.0.1
	Port $port
	User root
	IdentityFile $tmp/user_key
	IdentitiesOnly yes
	UserKnownHostsFile $tmp/known_hosts
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 10
CFG
ssh_cmd="ssh -F $tmp/ssh_config"
for _ in $(seq 1 50); do
	$ssh_cmd test true 2>/dev/null && break
	sleep 0.1
done
if ! $ssh_cmd test true 2>"$tmp/err"; then
	echo "FAIL: ssh to the test sshd: $(cat "$tmp/err" "$tmp/sshd.log")"
	exit 1
fi

out=$tmp/out
err=$tmp/err
run() {
	timeout 120 "$PEPITA_BIN" run --no-bar --ssh "$ssh_cmd" \
		--remote-pepita "$PEPITA_BIN" "$@" >"$out" 2>"$err"
	rc=$?
}

# Jobs on the host through ssh, with their output and status.
run -k -S 2/test --joblog "$tmp/log" sh -c 'echo job $0 on $(hostname) ${SSH_CONNECTION:+over ssh}' ::: 1 2 3 4
if [ "$rc" != 0 ] || [ "$(grep -c 'over ssh' "$out")" != 4 ] ||
   [ "$(tail -n +2 "$tmp/log" | cut -f2 | sort -u)" != test ]; then
	fail "jobs over ssh: exit $rc"
	cat "$out" "$err" "$tmp/log"
fi
run -S test sh -c 'exit 5' ::: x
[ "$rc" = 1 ] || fail "a failing job over ssh: exit $rc, want 1: $(cat "$err")"

# 20 MB of output from one job: more than one transport frame holds, so
# the worker streams it back in pieces; every byte arrives, the job
# succeeds and the worker lives on for the next one.
run -S test sh -c 'yes 0123456789abcde | head -c 20000000; echo $0' ::: big
want=$( (yes 0123456789abcde | head -c 20000000; echo big) | cksum)
if [ "$rc" != 0 ] || [ "$(cksum <"$out")" != "$want" ]; then
	fail "20 MB of output over ssh: exit $rc, $(wc -c <"$out") bytes: $(head -c 300 "$err")"
fi

# Kill the connections mid-run: the first attempt of each job sleeps, the
# retry (a marker file says it is one) ends at once.
script='if [ -e '"$tmp"'/m$0 ]; then echo retried $0; else touch '"$tmp"'/m$0; exec sleep 302.5; fi'
timeout 120 "$PEPITA_BIN" run --no-bar -k --retries 2 --ssh "$ssh_cmd" \
	--remote-pepita "$PEPITA_BIN" -S 3/test sh -c "$script" ::: 1 2 3 \
	>"$out" 2>"$err" &
run_pid=$!
for _ in $(seq 1 100); do
	[ "$(ls "$tmp"/m* 2>/dev/null | wc -l)" = 3 ] && break
	sleep 0.1
done
sleep 0.3
pkill -f "ssh -F $tmp/ssh_config -- test" || fail "no ssh connection to kill"
wait "$run_pid"
rc=$?
if [ "$rc" != 0 ] || [ "$(cat "$out")" != $'retried 1\nretried 2\nretried 3' ]; then
	fail "jobs whose connection died: exit $rc, want 0 and every job retried:"
	cat "$out" "$err"
fi
sleep 1
if pgrep -f "sleep 302.5" >/dev/null; then
	fail "a job whose connection died is still running on the host"
fi

if [ "$failures" -gt 0 ]; then
	echo "run-ssh.sh: $failures failed"
	exit 1
fi
echo "run-ssh.sh: all passed"
