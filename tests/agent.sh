#!/bin/bash
# `cohete agent` serves /metrics that the Prometheus project's own parser
# and linter accept: `promtool check metrics` (Debian: prometheus) must
# print nothing and exit 0 for every fixture tree and for this machine. The
# agent runs as a process on an ephemeral port, and a plain GET over bash's
# /dev/tcp fetches the page. Also: SIGTERM stops it with exit 0.
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES, COHETE_RUN.
# Exit: 0 pass, 1 fail, 77 skip (no promtool), 99 not set up.
set -u

if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "agent.sh: COHETE_BIN not set or not executable: '${COHETE_BIN:-}'" >&2
	exit 99
fi
if ! command -v promtool >/dev/null 2>&1; then
	echo "SKIP: promtool not found (Debian/Ubuntu: apt-get install prometheus)"
	exit 77
fi
fixtures=${COHETE_FIXTURES:-$(cd "$(dirname "$0")" && pwd)/fixtures}/sysroots
unset COHETE_SYSROOT

tmp=$(mktemp -d) || exit 99
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# promtool must reject what is broken, or its silence proves nothing.
printf '# TYPE x gauge\nx{a="b} 1\n' | promtool check metrics >/dev/null 2>&1 &&
	fail "promtool accepted a broken label"
printf '# HELP x_total x\n# TYPE x_total gauge\nx_total 1\n' |
	promtool check metrics >/dev/null 2>&1 &&
	fail "promtool accepted a gauge named _total"

# fetch PORT PATH: the body of a GET, or nothing when the status is not 200.
fetch() {
	local status
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >&3
	cat <&3 >"$tmp/resp"
	exec 3<&-
	status=$(head -n1 "$tmp/resp" | tr -d '\r' | cut -d' ' -f2)
	[ "$status" = 200 ] || return 1
	sed '1,/^\r$/d' "$tmp/resp"
}

# check NAME ROOT: start the agent on ROOT, check /metrics, stop it.
check() {
	local name=$1 sysroot=$2 port= rc
	# The previous agent's line must not be read as this one's: the
	# background job truncates the file only once it runs.
	rm -f "$tmp/err"
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	${COHETE_RUN:-} "$COHETE_BIN" agent --sysroot "$sysroot" --listen 127.0.0.1:0 \
		--interval 100 --state-dir "$tmp/state" 2>"$tmp/err" &
	pid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/err")
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$port" ]; then
		fail "$name: the agent did not start"
		cat "$tmp/err"
		wait "$pid"
		pid=
		return
	fi
	if ! fetch "$port" /metrics >"$tmp/metrics" || ! [ -s "$tmp/metrics" ]; then
		fail "$name: GET /metrics failed"
	elif ! promtool check metrics <"$tmp/metrics" >"$tmp/lint" 2>&1 ||
	     [ -s "$tmp/lint" ]; then
		fail "$name: promtool check metrics:"
		cat "$tmp/lint"
	elif ! grep -q '^cohete_breaker_state{state="ok"} [01]$' "$tmp/metrics"; then
		fail "$name: no breaker state in /metrics"
	else
		echo "ok: $name: $(grep -vc '^#' "$tmp/metrics") series pass promtool"
	fi
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	pid=
	[ "$rc" = 0 ] || fail "$name: exit $rc after SIGTERM, want 0"
}

for tree in "$fixtures"/*/; do
	check "$(basename "$tree")" "$tree"
done
check "this machine" /

[ "$failures" = 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
