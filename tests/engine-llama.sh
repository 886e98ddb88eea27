#!/bin/bash
# llama.cpp's llama-server runs what `cohete deploy --plan` plans for it.
#
# A random-weight llama model is made (tests/tools/tiny-gguf.py: 4 layers,
# n_embd 256, n_ff 2048, F16, 48 MB), and a fleet of three devices gets the
# memory budgets that make `auto` choose Q8_0, Q4_K_M and Q2_K: each budget
# is the estimate of its level (`cohete model inspect --json`) rounded up to
# a MiB, checked to be below the next larger level's. Then for each device,
# as the plan says: its level is quantized by `cohete quantize` to the
# plan's file, llama-server is started with the plan's command line word
# for word (options llama-server refused would fail here), answers
# /health and a chat completion, and its peak resident memory (VmHWM) is
# within the device's budget. Each server is stopped by its pid.
#
# llama-server is built from source by scripts/build-llama-server.sh
# (scripts/deps.sh --test runs it) and cached; without it, or without
# Debian's python3-numpy, this test skips (77) and says so.
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_RUN;
# COHETE_LLAMA_SERVER_DIR overrides the cache directory.
# Exit: 0 pass, 1 fail, 77 skip, 99 not set up.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcroot=$(dirname "$here")
if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "engine-llama.sh: COHETE_BIN not set or not executable: '${COHETE_BIN:-}'" >&2
	exit 99
fi
dir=${COHETE_LLAMA_SERVER_DIR:-$("$srcroot/scripts/build-llama-server.sh" --where)}
if [ ! -x "$dir/bin/llama-server" ]; then
	echo "SKIP: no llama-server in $dir (scripts/build-llama-server.sh builds it; scripts/deps.sh --test runs that)"
	exit 77
fi
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	echo "SKIP: /usr/bin/python3 has no numpy (Debian: apt-get install python3-numpy)"
	exit 77
fi
command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl"; exit 77; }

CONTEXT=512
LEVELS="Q8_0 Q4_K_M Q2_K"

tmp=$(mktemp -d) || exit 99
pid=
# shellcheck disable=SC2317  # run by the trap
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

cohete() {
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	${COHETE_RUN:-} "$COHETE_BIN" "$@"
}

# field DEVICE KEY: that key of the plan's item for DEVICE; argv's words
# end in NUL.
field() {
	python3 - "$tmp/plan.json" "$1" "$2" <<'PY'
import json, sys
path, device, key = sys.argv[1:]
item = [i for i in json.load(open(path))["items"] if i["device"] == device][0]
v = item[key]
if isinstance(v, list):
    sys.stdout.write("".join(w + "\0" for w in v))
else:
    print(json.dumps(v) if isinstance(v, bool) else v)
PY
}

# 1. The model, and budgets from its estimates.
/usr/bin/python3 "$here/tools/tiny-gguf.py" --llama-dir "$dir" \
	--layers 4 --embd 256 --ff 2048 --heads 4 --type f16 "$tmp/tiny.gguf" ||
	{ echo "FAIL: tiny-gguf.py could not write the model"; exit 1; }
cohete model inspect "$tmp/tiny.gguf" --json --context "$CONTEXT" >"$tmp/inspect.json" ||
	{ echo "FAIL: cohete model inspect"; exit 1; }
# budget LEVEL: MiB that fit LEVEL's estimate and not the level above it.
# shellcheck disable=SC2086  # LEVELS is a word list
budgets=$(python3 - "$tmp/inspect.json" $LEVELS <<'PY'
import json, sys
mib = 1 << 20
d = json.load(open(sys.argv[1]))
ladder = ["Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S",
          "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K"]
total = {m["level"]: m["total_bytes"] for m in d["memory"]}
for level in sys.argv[2:]:
    b = -(-total[level] // mib)
    i = ladder.index(level)
    if i and b * mib >= total[ladder[i - 1]]:
        sys.exit("no whole MiB fits %s (%d) and not %s (%d): the model "
                 "no longer separates them" % (level, total[level],
                                               ladder[i - 1],
                                               total[ladder[i - 1]]))
    print(b + (64 if i == 0 else 0))
PY
) || { echo "FAIL: budgets"; exit 1; }
read -r b_nx b_nano8 b_nano4 <<<"${budgets//$'\n'/ }"
echo "model: $(stat -c %s "$tmp/tiny.gguf") bytes; budgets (MiB): orin-nx $b_nx, orin-nano $b_nano8, nano $b_nano4"

# Three free ports on loopback.
read -r p1 p2 p3 <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')"

mkdir -p "$tmp/models"
cat >"$tmp/cohete.yaml" <<EOF
version: "1.0"
fleet:
  name: engine-llama
  devices:
    - {id: orin-nx, host: 127.0.0.1, port: 2201, module: p3767-0000,
       memory_budget_mb: $b_nx, inference: {port: $p1}}
    - {id: orin-nano, host: 127.0.0.1, port: 2202, module: p3767-0003,
       memory_budget_mb: $b_nano8, inference: {port: $p2}}
    - {id: nano, host: 127.0.0.1, port: 2203, module: p3448-0000,
       memory_budget_mb: $b_nano4, inference: {port: $p3, threads: 1}}
models:
  - {name: tiny, source: tiny.gguf, quantization: auto, context_length: $CONTEXT}
inference:
  host: 127.0.0.1
  engine_path: $dir/bin/llama-server
storage:
  models_dir: $tmp/models
EOF
cohete deploy --config "$tmp/cohete.yaml" --plan --json >"$tmp/plan.json" ||
	{ echo "FAIL: cohete deploy --plan"; cat "$tmp/plan.json"; exit 1; }

# 2. Each device's plan, run.
# health PORT: wait for {"status":"ok"} while the server lives.
health() {
	local i
	for ((i = 0; i < 600; i++)); do
		curl -sf "http://127.0.0.1:$1/health" 2>/dev/null | grep -q '"ok"' && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# run DEVICE WANT: plan, quantize, serve, ask, measure.
run() {
	local dev=$1 want=$2 level path port budget hwm argv

	level=$(field "$dev" level)
	[ "$level" = "$want" ] || { fail "$dev: the plan chose $level, not $want"; return; }
	[ "$(field "$dev" fits)" = true ] ||
		{ fail "$dev: the plan says $level does not fit"; return; }
	path=$(field "$dev" path)
	port=$(field "$dev" port)
	budget=$(field "$dev" budget_bytes)
	cohete quantize "$tmp/tiny.gguf" "$path" "$level" >"$tmp/q.out" 2>&1 ||
		{ fail "$dev: cohete quantize $level: $(tail -n 3 "$tmp/q.out")"; return; }
	mapfile -d '' -t argv < <(field "$dev" argv)
	echo "$dev: ${argv[*]}"
	"${argv[@]}" >"$tmp/$dev.log" 2>&1 &
	pid=$!
	if ! health "$port"; then
		fail "$dev: llama-server did not become healthy on port $port:"
		tail -n 20 "$tmp/$dev.log"
		kill -KILL "$pid" 2>/dev/null
		pid=
		return
	fi
	if ! curl -sf "http://127.0.0.1:$port/v1/chat/completions" \
		-H 'Content-Type: application/json' \
		-d '{"messages":[{"role":"user","content":"Hello"}],"max_tokens":8}' \
		>"$tmp/$dev.answer"; then
		fail "$dev: no chat completion"
	elif ! python3 - "$tmp/$dev.answer" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
text = a["choices"][0]["message"]["content"]
assert isinstance(text, str) and a["usage"]["completion_tokens"] >= 1, a
PY
	then
		fail "$dev: the completion is not an answer: $(head -c 300 "$tmp/$dev.answer")"
	fi
	hwm=$(awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$pid/status")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	pid=
	echo "$dev: $level $(stat -c %s "$path") bytes; llama-server peak RSS $((hwm >> 20)) MiB of a $((budget >> 20)) MiB budget"
	[ "$hwm" -le "$budget" ] ||
		fail "$dev: llama-server's peak RSS $hwm bytes is over the budget $budget"
}

run orin-nx Q8_0
run orin-nano Q4_K_M
run nano Q2_K

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "engine-llama: pass"
exit 0
