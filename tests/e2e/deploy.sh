#!/bin/bash
# `cohete deploy` end to end: three "Jetsons" in network namespaces, each
# with Debian's sshd serving a captured tree (Orin Nano 8GB, Orin NX 16GB,
# Nano 4GB), its own models directory (a tmpfs: the namespaces share the
# file system otherwise) and `cohete agent --engines` supervising a real
# llama.cpp llama-server (scripts/build-llama-server.sh builds it once).
# The model is a tiny random-weight GGUF made here; the devices' budgets
# make `auto` choose a different level on each.
#
#   - the plan names those levels; a fresh deploy copies, starts and
#     probes each, and a chat completion through each engine answers;
#   - a second deploy changes nothing (nothing copied, nothing restarted);
#   - status --fleet shows each device's level and engine; deploy --check
#     finds no drift, then finds the drift made by hand (an engine rolled
#     back on one device) and the next deploy repairs it;
#   - a full disk on one device (a small tmpfs) and a device that is down
#     fail with their reasons, the others are deployed all the same.
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES.
# Exit: 0 pass, 1 fail, 77 not root, no sshd/ip/python3, no llama-server
# built, no network namespaces; 99 not set up.
set -u

if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "deploy.sh: COHETE_BIN not set or not executable" >&2
	exit 99
fi
here=$(cd "$(dirname "$0")/.." && pwd)
sshd=$(command -v sshd || echo /usr/sbin/sshd)
for tool in ssh ssh-keygen ip python3 curl; do
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
	echo "SKIP: network namespaces, mounts and sshd need root"
	exit 77
fi
llama=${COHETE_LLAMA_SERVER_DIR:-$("$here/../scripts/build-llama-server.sh" --where 2>/dev/null)}
if [ -z "$llama" ] || [ ! -x "$llama/bin/llama-server" ]; then
	echo "SKIP: no llama-server built (scripts/build-llama-server.sh builds it, ~5 min; scripts/deps.sh --test runs it)"
	exit 77
fi
trees=${COHETE_FIXTURES:-$here/fixtures}/sysroots
trees=$(cd "$trees" && pwd) || exit 99
export NO_COLOR=1
unset COHETE_CONFIG

tmp=$(mktemp -d) || exit 99
chmod 755 "$tmp"
mkdir -p "$tmp/models"
FLEET_TMP=$tmp FLEET_TAG=cy$$ FLEET_MODELS=$tmp/models
. "$here/e2e/fleet-ns.sh"
# DEPLOY_KEEP=DIR keeps every command's output there (the README's are).
cleanup() {
	fleet_cleanup
	[ -n "${DEPLOY_KEEP:-}" ] && mkdir -p "$DEPLOY_KEEP" && cp "$tmp"/*.out "$tmp"/*.yaml "$DEPLOY_KEEP"/
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# The model: made here, F16, big enough that the budgets below separate
# the levels.
model=$tmp/tiny-f16.gguf
if ! /usr/bin/python3 "$here/tools/tiny-gguf.py" "$model" --layers 4 --embd 512 --ff 1536 \
	--heads 8 --type f16 --llama-dir "$llama" >"$tmp/gguf.log" 2>&1; then
	echo "deploy.sh: tiny-gguf.py failed: $(cat "$tmp/gguf.log")"
	exit 99
fi

# Devices 31, 32 and 33 (10.78.3N.2): an Orin Nano 8GB, an Orin NX 16GB
# and a Nano 4GB.
fleet_keys || exit 99
if ! fleet_device 31 "$trees/orin-nano-8gb-super-r36" 256m; then
	echo "SKIP: cannot make a network namespace with a veth pair here: $(head -c 200 "$tmp/netns31.err")"
	exit 77
fi
fleet_device 32 "$trees/orin-nx-16gb-r36" 256m || exit 99
fleet_device 33 "$trees/nano-4gb-r32" 256m || exit 99
if ! fleet_wait 31 32 33; then
	echo "deploy.sh: the devices did not come up:"
	cat "$tmp"/sshd*.log "$tmp"/agent*.log
	exit 99
fi

# The fleet's file. Budgets: the three levels auto chooses differ.
cat >"$tmp/cohete.yaml" <<YAML
version: "1.0"
fleet:
  devices:
    - id: orin-nano
      host: 10.78.31.2
      user: root
      module: p3767-0005
      memory_budget_mb: ${BUDGET1:-505}
    - id: orin-nx
      host: 10.78.32.2
      user: root
      module: p3767-0000
      memory_budget_mb: ${BUDGET2:-1200}
    - id: nano
      host: 10.78.33.2
      user: root
      module: p3448-0000
      memory_budget_mb: ${BUDGET3:-497}
models:
  - name: tiny
    source: $model
    quantization: auto
    context_length: 512
    devices: all
inference:
  port: 8080
  engine_path: $llama/bin/llama-server
  threads: 1
storage:
  models_dir: $tmp/models
YAML

export COHETE_REMOTE_COHETE=$COHETE_BIN
ssh_opts=("${fleet_ssh_opts[@]}")
cfg=(--config "$tmp/cohete.yaml")

# run NAME ARGS...: $NAME.out, $NAME.err, rc
run() {
	local name=$1
	shift
	rc=0
	timeout 300 "$COHETE_BIN" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null || rc=$?
}

# The plan: three devices, three levels.
run plan deploy "${cfg[@]}" --plan --json
if [ "$rc" != 0 ]; then
	fail "plan: exit $rc: $(cat "$tmp/plan.err" "$tmp/plan.out")"
fi
levels=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s=%s" % (i["device"], i.get("level")) for i in d["items"]))' "$tmp/plan.out" 2>/dev/null)
echo "plan: $levels"
if [ "$(echo "$levels" | tr ' ' '\n' | cut -d= -f2 | sort -u | wc -l)" != 3 ]; then
	fail "the plan does not choose three levels: $levels"
fi

# A fresh deploy.
t0=$(date +%s%N)
run deploy1 deploy "${cfg[@]}" "${ssh_opts[@]}" --transport stream --timeout 120
wall=$((($(date +%s%N) - t0) / 1000000))
cat "$tmp/deploy1.out"
if [ "$rc" != 0 ] || [ "$(grep -c ' updated ' "$tmp/deploy1.out")" != 3 ]; then
	fail "fresh deploy: exit $rc: $(cat "$tmp/deploy1.err")"
	tail -n 20 "$tmp"/agent*.log
fi
echo "fresh deploy to 3 devices: $wall ms"

# Each engine answers a chat completion, with the level the plan chose.
for n in 1 2 3; do
	if ! curl -sS -m 60 "http://10.78.3$n.2:8080/v1/chat/completions" \
		-H 'Content-Type: application/json' \
		-d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":4}' \
		>"$tmp/chat$n.json" 2>"$tmp/chat$n.err" ||
	   ! python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["choices"][0]["message"]["role"] == "assistant"' "$tmp/chat$n.json"; then
		fail "device $n: no chat completion: $(cat "$tmp/chat$n.err" "$tmp/chat$n.json")"
	fi
done
[ "$failures" = 0 ] && echo "ok: each device serves its level; a chat completion through each answers"

# Nothing changed: nothing copied, nothing restarted.
pids_before=$(for n in 1 2 3; do ip netns pids "$FLEET_TAG-3$n"; done | sort | tr '\n' ' ')
run deploy2 deploy "${cfg[@]}" "${ssh_opts[@]}"
pids_after=$(for n in 1 2 3; do ip netns pids "$FLEET_TAG-3$n"; done | sort | tr '\n' ' ')
if [ "$rc" != 0 ] || ! grep -q '^nothing to do' "$tmp/deploy2.out" ||
   [ "$(grep -c ' unchanged ' "$tmp/deploy2.out")" != 3 ]; then
	fail "second deploy: exit $rc: $(cat "$tmp/deploy2.out" "$tmp/deploy2.err")"
elif [ "$pids_before" != "$pids_after" ]; then
	fail "second deploy restarted something: $pids_before -> $pids_after"
else
	echo "ok: a second deploy changes nothing ($(tail -n 1 "$tmp/deploy2.out"))"
fi

# status --fleet and deploy --check.
run status status --fleet "${cfg[@]}" "${ssh_opts[@]}"
cat "$tmp/status.out"
if [ "$rc" != 0 ] || [ "$(grep -c ' ready ' "$tmp/status.out")" != 3 ]; then
	fail "status --fleet: exit $rc: $(cat "$tmp/status.err")"
fi
# The same as JSON: every device reachable, its breaker closed ("ok"),
# the plan's level ready, and tokens/s from the engine's own metrics (the
# chat completions above generated some).
run statusj status --fleet "${cfg[@]}" "${ssh_opts[@]}" --json
if [ "$rc" != 0 ] || ! python3 - "$tmp/statusj.out" "$tmp/plan.out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
plan = {i["device"]: i["level"] for i in json.load(open(sys.argv[2]))["items"]}
ok = len(d) == 3
for x in d:
    m = x["state"]["models"][0]
    ok &= (x["reachable"] and x["state"]["agent"]["breaker"]["state"] == "ok" and
           m["engine"]["state"] == "ready" and m["spec"]["level"] == plan[x["device"]] and
           (m["engine"]["tokens_per_s"] or 0) > 0)
sys.exit(0 if ok else 1)
PY
then
	fail "status --fleet --json: exit $rc: $(head -c 3000 "$tmp/statusj.out") $(cat "$tmp/statusj.err")"
fi
run check1 deploy "${cfg[@]}" "${ssh_opts[@]}" --check
if [ "$rc" != 0 ] || ! grep -q '^no drift' "$tmp/check1.out"; then
	fail "deploy --check on a deployed fleet: exit $rc: $(cat "$tmp/check1.out" "$tmp/check1.err")"
else
	echo "ok: status --fleet shows three ready engines; deploy --check finds no drift"
fi

# serves N: a chat completion through device N's engine answers.
serves() {
	curl -sS -m 60 "http://10.78.3$1.2:8080/v1/chat/completions" \
		-H 'Content-Type: application/json' \
		-d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}' 2>/dev/null |
		python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["choices"] else 1)' 2>/dev/null
}

in_dev() {
	local n=$1
	shift
	fleet_in "3$n" "$@"
}

# level N MODEL: the level device N's active engine runs, as it says.
level() {
	in_dev "$1" "$COHETE_BIN" engine state --root "$tmp/models" --json 2>/dev/null |
		python3 -c 'import json,sys
d = json.load(sys.stdin)
m = [x for x in d["models"] if x["model"] == sys.argv[1]]
print(m[0]["spec"]["level"] if m and m[0]["spec"] else "-")' "$2"
}

# Drift made by hand: the engine of orin-nx rolled back... to nothing
# (there is no previous version): check sees the engine down instead, by
# stopping it through a candidate that cannot start. Simplest real drift:
# a device whose power mode differs from the file's.
sed -i 's/^    - id: orin-nx$/    - id: orin-nx\n      power_mode: "15W"/' "$tmp/cohete.yaml"
run check2 deploy "${cfg[@]}" "${ssh_opts[@]}" --check
if [ "$rc" != 1 ] || ! grep -q '^orin-nx .*power mode 10W, the file wants 15W' "$tmp/check2.out"; then
	fail "deploy --check with a power mode that differs: exit $rc: $(cat "$tmp/check2.out" "$tmp/check2.err")"
else
	echo "ok: deploy --check reports the drift ($(head -n 1 "$tmp/check2.out" | tr -s ' '))"
fi
sed -i '/^      power_mode: "15W"$/d' "$tmp/cohete.yaml"

# A rolling upgrade: every device to Q4_0 (with budgets that hold it),
# one at a time, the canary first; nano's engine is made to fail (an
# option llama-server refuses), so nano rolls back to its Q2_K at once and
# the deploy exits 1, with the devices after it skipped (no --keep-going).
sed -i -e 's/^    quantization: auto$/    quantization: Q4_0/' \
	-e 's/^      memory_budget_mb: \(505\|497\)$/      memory_budget_mb: 1200/' "$tmp/cohete.yaml"
sed -i 's/^      module: p3448-0000$/      module: p3448-0000\n      inference: {engine_args: ["--no-such-option"]}/' "$tmp/cohete.yaml"
run roll deploy "${cfg[@]}" "${ssh_opts[@]}" --max-parallel 1 --canary nano --timeout 60
cat "$tmp/roll.out"
if [ "$rc" != 1 ] || ! grep -q '^nano .* rolled-back ' "$tmp/roll.out" ||
   [ "$(grep -c ' skipped  *not tried' "$tmp/roll.out")" != 2 ]; then
	fail "canary that fails: exit $rc, want 1 with nano rolled back and the others skipped: $(cat "$tmp/roll.err")"
elif ! serves 3 || [ "$(level 3 tiny)" != Q2_K ]; then
	fail "nano does not serve its old version after the rollback"
else
	echo "ok: a canary whose new engine fails rolls back at once and serves its old version; the rest is skipped"
fi
# With the file fixed, the rolling upgrade goes through.
sed -i '/^      inference: {engine_args: \["--no-such-option"\]}$/d' "$tmp/cohete.yaml"
run roll2 deploy "${cfg[@]}" "${ssh_opts[@]}" --max-parallel 1 --canary nano
if [ "$rc" != 0 ] || [ "$(grep -c ' updated ' "$tmp/roll2.out")" != 3 ]; then
	fail "rolling upgrade to Q4_0: exit $rc: $(cat "$tmp/roll2.out" "$tmp/roll2.err")"
else
	ok=1
	for n in 1 2 3; do
		serves "$n" || ok=0
		[ "$(level "$n" tiny)" = Q4_0 ] || ok=0
	done
	[ "$ok" = 1 ] && echo "ok: a rolling upgrade, canary first: every device serves Q4_0" ||
		fail "after the rolling upgrade not every device serves Q4_0"
fi

# cohete rollback: every device back on its previous version.
run rb rollback "${cfg[@]}" "${ssh_opts[@]}"
if [ "$rc" != 0 ] || [ "$(grep -c ' rolled-back ' "$tmp/rb.out")" != 3 ]; then
	fail "rollback: exit $rc: $(cat "$tmp/rb.out" "$tmp/rb.err")"
else
	echo "ok: cohete rollback puts every device back on its previous version"
fi
run check3 deploy "${cfg[@]}" "${ssh_opts[@]}" --check
if [ "$rc" != 1 ] || [ "$(grep -c 'the file wants Q4_0' "$tmp/check3.out")" != 3 ]; then
	fail "check after the rollback: exit $rc: $(cat "$tmp/check3.out" "$tmp/check3.err")"
fi

# Killed halfway (SIGKILL while it copies and starts): every device still
# serves, and no candidate outlives its deadline; a re-run finishes.
sed -i 's/^    quantization: Q4_0$/    quantization: Q5_0/' "$tmp/cohete.yaml"
"$COHETE_BIN" deploy "${cfg[@]}" "${ssh_opts[@]}" --timeout 20 >"$tmp/killed.out" 2>&1 &
victim=$!
sleep 2
kill -9 "$victim"
wait "$victim" 2>/dev/null
for _ in $(seq 1 60); do
	left=0
	for n in 1 2 3; do
		in_dev "$n" test -L "$tmp/models/engines/tiny/candidate" && left=$((left + 1))
	done
	[ "$left" = 0 ] && break
	sleep 1
done
ok=1
for n in 1 2 3; do
	serves "$n" || { ok=0; fail "device $n does not serve after the deploy was killed"; }
done
[ "$left" = 0 ] || fail "a candidate link outlived its deadline"
run resume deploy "${cfg[@]}" "${ssh_opts[@]}"
if [ "$rc" != 0 ]; then
	fail "re-run after the kill: exit $rc: $(cat "$tmp/resume.out" "$tmp/resume.err")"
elif [ "$ok" = 1 ]; then
	echo "ok: a deploy killed halfway leaves every device serving; the re-run finishes ($(tail -n 1 "$tmp/resume.out"))"
fi

# Failures stay where they are: a device whose disk is too small (a 16 MiB
# tmpfs), a device that is down (nothing listens on its ssh port), a
# model whose source answers 404, a model whose sha256 is not its file's.
# Each is a failed step with its reason; the three good devices are
# deployed (here: unchanged) in the same run, with --keep-going.
fleet_device 34 "$trees/orin-nano-8gb-super-r36" 16m || exit 99
fleet_wait 34 || { echo "deploy.sh: device 34 did not come up"; exit 99; }
mkdir -p "$tmp/www"
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" 0 >"$tmp/http.log" 2>&1 &
fleet_pids+=($!)
for _ in $(seq 1 50); do
	port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$tmp/http.log" | head -n 1)
	[ -n "$port" ] && break
	sleep 0.1
done
python3 - "$tmp/cohete.yaml" "$port" "$model" <<'PY'
import sys
path, port, model = sys.argv[1:]
text = open(path).read()
text = text.replace("models:\n", """    - id: small-disk
      host: 10.78.34.2
      user: root
      module: p3767-0005
      memory_budget_mb: 1200
    - id: down
      host: 10.78.31.2
      port: 2222
      user: root
      module: p3767-0005
      memory_budget_mb: 1200
models:
""", 1)
# The new models after tiny: its port on each device stays the same.
text = text.replace("inference:\n  port", """  - name: missing
    source: http://127.0.0.1:%s/missing.gguf
    quantization: Q4_0
    devices: [orin-nano]
  - name: tampered
    source: %s
    sha256: "%s"
    quantization: Q4_0
    devices: [orin-nx]
inference:
  port""" % (port, model, "0" * 64), 1)
open(path, "w").write(text)
PY
run bad deploy "${cfg[@]}" "${ssh_opts[@]}" --keep-going
cat "$tmp/bad.out"
want=('^orin-nano +tiny .* unchanged '
      '^orin-nx +tiny .* unchanged '
      '^nano +tiny .* unchanged '
      '^small-disk +tiny .* failed +copy: not enough space'
      '^down +tiny .* failed .*[Cc]onnection refused'
      '^orin-nano +missing .* failed .*404'
      '^orin-nx +tampered .* failed .*sha256')
ok=1
for w in "${want[@]}"; do
	grep -Eq "$w" "$tmp/bad.out" || { ok=0; fail "failures: no line like '$w'"; }
done
if [ "$rc" != 1 ]; then
	fail "failures: exit $rc, want 1: $(cat "$tmp/bad.err")"
elif [ "$ok" = 1 ]; then
	echo "ok: a full disk, a device down, a 404 and a wrong sha256 each fail with their reason; the others are deployed"
fi
for n in 1 2 3; do
	serves "$n" || fail "device 3$n stopped serving during the failures"
done

if [ "$failures" -gt 0 ]; then
	echo "$failures failure(s)"
	for n in 1 2 3; do
		echo "--- agent 3$n"; tail -n 15 "$tmp/agent3$n.log"; in_dev "$n" sh -c "tail -n 5 $tmp/models/engines/*/engine.log" 2>/dev/null
	done
	exit 1
fi
echo "all deploy checks passed"
exit 0
