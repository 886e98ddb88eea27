#!/bin/bash
# Engines as systemd units, with a real systemd: Debian's systemd boots as
# PID 1 of a container made here (pid, mount, network, UTS and cgroup
# namespaces) whose root is an overlay of this machine's over a tmpfs, so
# nothing it writes reaches the host (its tmpfiles units are masked as
# well: booted on the host's file system they would empty /tmp). In it,
# `cohete agent --engines` runs each engine as the transient unit
# cohete-serve@MODEL: `cohete engine activate` starts a version there
# (tests/engine-server.py stands in for llama-server), systemctl shows the
# unit active with its budget as MemoryMax= and the supervisor's pid as
# its main process; an engine that outgrows its budget is killed by
# systemd and the state says so; the agent's stop stops the unit.
#
# Environment (tests/meson.build): COHETE_BIN.
# Exit: 0 pass, 1 fail, 77 not root, no systemd, unshare or overlayfs.
set -u

if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "engine-systemd.sh: COHETE_BIN not set or not executable" >&2
	exit 99
fi
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: a container with systemd as its init needs root"
	exit 77
fi
for tool in /lib/systemd/systemd systemd-run systemctl unshare nsenter python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: no $tool (Debian's systemd package; util-linux)"
		exit 77
	fi
done
if ! grep -qw overlay /proc/filesystems; then
	echo "SKIP: no overlayfs in this kernel"
	exit 77
fi

tmp=$(mktemp -d /var/tmp/cohete-systemd.XXXXXX) || exit 99
init=
cleanup() {
	[ -n "$init" ] && kill -9 "$init" 2>/dev/null	# the namespace goes with it
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

cat >"$tmp/boot.sh" <<'EOF'
#!/bin/sh
# The container's root: this machine's, under an overlay whose upper layer
# is a tmpfs; /run and /tmp its own. Then systemd, to a target of nothing.
set -e
t=$1
mount --make-rprivate /
mkdir -p "$t/ovl" "$t/root"
mount -t tmpfs tmpfs "$t/ovl"
mkdir -p "$t/ovl/upper" "$t/ovl/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$t/ovl/upper,workdir=$t/ovl/work" "$t/root"
mount --rbind /dev "$t/root/dev"
mount -t proc proc "$t/root/proc"
mount --rbind /sys "$t/root/sys"
mount -t tmpfs tmpfs "$t/root/run"
mount -t tmpfs tmpfs "$t/root/tmp"
mkdir -p "$t/root/run/systemd/system" "$t/root/oldroot"
printf '[Unit]\nDescription=cohete test\nDefaultDependencies=no\n' \
	>"$t/root/run/systemd/system/cohete-test.target"
for u in systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service \
	 systemd-tmpfiles-clean.timer systemd-tmpfiles-clean.service; do
	ln -s /dev/null "$t/root/run/systemd/system/$u"
done
cd "$t/root"
pivot_root . oldroot
umount -l /oldroot
exec env container=cohete-test /lib/systemd/systemd --system --unit=cohete-test.target
EOF
chmod +x "$tmp/boot.sh"
unshare --pid --fork --mount --net --uts --cgroup --mount-proc "$tmp/boot.sh" "$tmp" \
	>"$tmp/boot.log" 2>&1 &
for _ in $(seq 1 100); do
	init=$(pgrep -f -n "container=cohete-test|systemd --system --unit=cohete-test" | head -n 1)
	[ -n "$init" ] && nsenter -t "$init" -a systemctl is-system-running >/dev/null 2>&1 && break
	sleep 0.1
done
in_ct() { nsenter -t "$init" -a "$@"; }
state=$(in_ct systemctl is-system-running 2>/dev/null)
case "$state" in
running|degraded) ;;
*)	echo "SKIP: systemd did not boot in a container here ($state): $(head -c 300 "$tmp/boot.log")"
	exit 77 ;;
esac

root=/srv/cohete-models
in_ct mkdir -p -m 755 "$root"
in_ct sh -c "echo model >$root/tiny.gguf"
in_ct sh -c "exec '$COHETE_BIN' agent --listen 127.0.0.1:9102 --no-mdns --no-state-dir \
	--engines $root --engine-launcher systemd >/tmp/agent.log 2>&1 </dev/null" &
agent=$!
for _ in $(seq 1 100); do
	in_ct python3 -c 'import socket; socket.create_connection(("127.0.0.1", 9102), 1)' \
		2>/dev/null && break
	sleep 0.1
done

# spec TAG MEM: an engine spec, engine-server.py on port 18080.
spec() {
	printf '{"schema":"cohete.engine/1","model":"tiny","artifact":"tiny.gguf",'
	printf '"sha256":"%064d","level":"Q4_0","host":"127.0.0.1","port":18080,' 0
	printf '"argv":["/usr/bin/python3","%s","--port","18080","--alloc-mb","400","--tag","%s"],' \
		"$here/engine-server.py" "$1"
	printf '"memory_max_bytes":%s}\n' "$2"
}
mem=$((128 << 20))
spec v1 "$mem" | in_ct "$COHETE_BIN" engine activate --root "$root" --timeout 30 --json \
	>"$tmp/act1.json" 2>"$tmp/act1.err"
rc=$?
if [ "$rc" != 0 ] || ! grep -q '"result": "activated"' "$tmp/act1.json"; then
	fail "activate as a unit: exit $rc: $(cat "$tmp/act1.json" "$tmp/act1.err")"
	in_ct cat /tmp/agent.log
fi
show=$(in_ct systemctl show cohete-serve@tiny.service -p ActiveState -p MemoryMax -p MainPID)
pid=$(in_ct "$COHETE_BIN" engine state --root "$root" --agent-port 0 --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["engine"]["pid"])')
if ! echo "$show" | grep -qx "ActiveState=active" ||
   ! echo "$show" | grep -qx "MemoryMax=$mem" || ! echo "$show" | grep -qx "MainPID=$pid"; then
	fail "the unit is not the engine: $show (the state's pid: $pid)"
else
	echo "ok: cohete engine activate runs the engine as cohete-serve@tiny.service (MemoryMax=$mem, main process $pid)"
fi

# Past its budget: the kernel, through systemd's MemoryMax=, kills it.
in_ct kill -USR1 "$pid"
why=
for _ in $(seq 1 100); do
	why=$(in_ct "$COHETE_BIN" engine state --root "$root" --agent-port 0 --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["engine"]["reason"])')
	case "$why" in *cohete-serve@tiny.service*) break ;; esac
	sleep 0.1
done
case "$why" in
# cgroup v2 names the OOM kill; v1 (this machine's memory controller) only
# a SIGKILL, with the limit.
*"over its memory budget: cohete-serve@tiny.service killed by systemd (MemoryMax=$mem)"* | \
*"cohete-serve@tiny.service: killed by signal 9 (MemoryMax=$mem)"*)
	echo "ok: an engine past its budget is killed through MemoryMax=, and the state says so: $why" ;;
*)	fail "past its budget: the state says '$why'" ;;
esac

# The agent's stop stops the unit.
kill "$agent" 2>/dev/null
in_ct sh -c 'kill $(pidof -s cohete 2>/dev/null) 2>/dev/null'
wait "$agent" 2>/dev/null
for _ in $(seq 1 100); do
	st=$(in_ct systemctl show cohete-serve@tiny.service -p ActiveState --value)
	[ "$st" != active ] && [ "$st" != activating ] && [ "$st" != deactivating ] && break
	sleep 0.1
done
if [ "$st" = active ]; then
	fail "the unit outlived the agent"
else
	echo "ok: the agent's stop stops cohete-serve@tiny.service ($st)"
fi

if [ ! -d /tmp ] || [ -n "$(find /tmp -maxdepth 0 -newer "$tmp/boot.sh" -empty 2>/dev/null)" ]; then
	fail "the host's /tmp changed under the container"
fi
[ "$failures" -gt 0 ] && { echo "$failures failure(s)"; in_ct cat /tmp/agent.log; exit 1; }
echo "all systemd checks passed"
exit 0
