#!/bin/bash
# The JSON convention (docs/cohete.1 and docs/pepita.1, JSON OUTPUT) on
# every JSON document the tools print here: `cohete status` on every
# fixture tree (and a few --watch lines), `cohete tegrastats` on every
# sample line and live through the simulator, `cohete clocks show`, `cohete
# power` and `cohete fan` on every tree where they answer, `cohete agent`'s
# GET /v1/status on every tree, the fleet's documents offline (`cohete
# deploy` --plan, --build-only, the deploy itself, --check, `cohete
# rollback` and `cohete status --fleet` on a file whose device does not
# answer; `cohete engine state` and `activate` on a models directory
# here), and `pepita zram list`, `pepita ublk list`, `pepita uring probe`,
# `pepita info` (also with a PEPITA_SIMD this CPU refuses) and `pepita
# bench simd --quick` on this machine.
#
# Each document must carry "schema" ("<tool>.<command>/<N>") and
# "timestamp" (RFC 3339 UTC with milliseconds), and every key that holds a
# number must end in a unit (_bytes, _mw, _mv, _ma, _mhz, _celsius,
# _percent, _ms, _s, _rpm, _count, _tokens, and rates such as _gflops,
# _gb_per_s),
# be that unit itself ("gflops"), or be one of the few unitless keys
# below (ids, indices, raw register values); no internal field (nfields)
# may show; and every key must be documented in the man page's JSON OUTPUT
# section.
#
# Environment (tests/meson.build): COHETE_BIN, PEPITA_BIN, COHETE_FIXTURES,
# COHETE_SIM, and COHETE_RUN (the exe wrapper) in cross builds.
# Exit: 0 pass, 1 fail, 77 skip (no python3), 99 not set up.
set -u

if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 not installed (it reads the documents)"
	exit 77
fi
for bin in "${COHETE_BIN:-}" "${PEPITA_BIN:-}"; do
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		echo "json-units.sh: COHETE_BIN or PEPITA_BIN not set or not executable" >&2
		exit 99
	fi
done
fixtures=${COHETE_FIXTURES:-$(cd "$(dirname "$0")" && pwd)/fixtures}
sim=${COHETE_SIM:-$(cd "$(dirname "$0")" && pwd)/sim}
unset COHETE_SYSROOT
export NO_COLOR=1

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
docs=$tmp/docs
mkdir "$docs"
man=${DOCS:-$(cd "$(dirname "$0")/../docs" && pwd)}

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

tmo=
if command -v timeout >/dev/null 2>&1; then
	tmo="timeout 60"
fi

# keep NAME KIND TOOL ARGS...: run the tool; its stdout is kept as
# $docs/NAME.KIND (KIND json: one document, jsonl: one per line). Exit 69
# (no such hardware or kernel feature here) keeps nothing; any other
# failure is one.
n=0
keep() {
	local name=$1 kind=$2 tool=$3 rc=0
	shift 3
	# shellcheck disable=SC2086  # COHETE_RUN / tmo are word lists
	$tmo ${COHETE_RUN:-} "$tool" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	case $rc in
	0)
		mv "$tmp/out" "$docs/$name.$kind"
		n=$((n + 1))
		;;
	69) ;;
	*) fail "$(basename "$tool") $*: exit $rc: $(head -c 300 "$tmp/err")" ;;
	esac
}

for dir in "$fixtures"/sysroots/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	keep "status-$name" json "$COHETE_BIN" status --json --sysroot "$dir"
	keep "power-$name" json "$COHETE_BIN" power --json --sysroot "$dir"
	keep "fan-$name" json "$COHETE_BIN" fan --json --sysroot "$dir"
	[ -f "$dir/etc/nv_tegra_release" ] &&
		keep "clocks-$name" json "$COHETE_BIN" clocks show --json \
			--jetson-clocks "$sim/jetson_clocks" --sysroot "$dir"
done

# --watch: one document per line; stopped after a few.
tree=$fixtures/sysroots/orin-nano-8gb-super-r36
# shellcheck disable=SC2086
timeout -s INT 2 ${COHETE_RUN:-} "$COHETE_BIN" status --json --watch 0.2 \
	--sysroot "$tree" >"$docs/status-watch.jsonl" 2>"$tmp/err" </dev/null

grep -v '^#' "$fixtures/tegrastats/samples.txt" | grep -v '^$' >"$tmp/samples"
# shellcheck disable=SC2086
if ${COHETE_RUN:-} "$COHETE_BIN" tegrastats --json <"$tmp/samples" \
	>"$docs/tegrastats-samples.jsonl" 2>"$tmp/err"; then
	n=$((n + 1))
else
	fail "cohete tegrastats --json on the samples: $(head -c 300 "$tmp/err")"
fi
keep tegrastats-live jsonl "$COHETE_BIN" tegrastats --json --count 2 \
	--interval 100 --tegrastats "$sim/tegrastats" --sysroot "$tree"

# `cohete agent`'s GET /v1/status on every tree, watching a process group of
# ours (so that breaker.workloads[] is not empty), over bash's /dev/tcp.
setsid sleep 300 </dev/null >/dev/null 2>&1 &
group=$!
for _ in $(seq 50); do
	[ "$(cut -d' ' -f5 "/proc/$group/stat" 2>/dev/null)" = "$group" ] && break
	sleep 0.1
done
agent_status() {
	local name=$1 sysroot=$2 port='' apid
	rm -f "$tmp/agent.err" "$tmp/resp"
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	${COHETE_RUN:-} "$COHETE_BIN" agent --sysroot "$sysroot" --listen 127.0.0.1:0 \
		--no-state-dir --workload-user "$(id -u)" --watch-pgid "$group" \
		</dev/null 2>"$tmp/agent.err" &
	apid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' \
			"$tmp/agent.err" 2>/dev/null)
		[ -n "$port" ] && break
		kill -0 "$apid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$port" ] && exec 3<>"/dev/tcp/127.0.0.1/$port"; then
		printf 'GET /v1/status HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
		cat <&3 >"$tmp/resp"
		exec 3<&-
	fi
	if [ -n "$port" ] && head -n1 "$tmp/resp" 2>/dev/null | grep -q '^HTTP/1.[01] 200 '; then
		sed '1,/^\r$/d' "$tmp/resp" >"$docs/agent-status-$name.json"
		n=$((n + 1))
	else
		fail "cohete agent on $name: no /v1/status: $(head -c 300 "$tmp/agent.err")"
	fi
	kill -TERM "$apid" 2>/dev/null
	wait "$apid"
}
for dir in "$fixtures"/sysroots/*/; do
	dir=${dir%/}
	agent_status "$(basename "$dir")" "$dir"
done
kill -KILL "$group" 2>/dev/null
wait "$group" 2>/dev/null

# /v1/status with an engine in model_engines: an agent supervising a
# models directory whose one model runs tests/engine-server.py (a stand-in
# for llama-server), asked until the engine is ready.
engines=$tmp/models
py=$(python3 -c 'import sys; print(sys.executable)')
mkdir -p "$engines/engines/tiny"
eport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '{"schema": "cohete.engine/1", "model": "tiny", "artifact": "tiny-Q4_K_M-0011223344556677.gguf", "sha256": "%s", "level": "Q4_K_M", "host": "127.0.0.1", "port": %d, "argv": ["%s", "%s", "--port", "%d", "--die-with", "%d"], "memory_max_bytes": 268435456}\n' \
	"$(printf '%064d' 0)" "$eport" "$py" "$(cd "$(dirname "$0")" && pwd)/engine-server.py" \
	"$eport" $$ \
	>"$engines/engines/tiny/v1.json"
ln -s v1.json "$engines/engines/tiny/active"
chmod -R go-w "$engines"		# the agent runs no spec others may change
# shellcheck disable=SC2086  # COHETE_RUN is a word list
${COHETE_RUN:-} "$COHETE_BIN" agent --sysroot "$tree" --listen 127.0.0.1:0 --no-state-dir \
	--no-mdns --interval 100 --engines "$engines" </dev/null 2>"$tmp/agent.err" &
apid=$!
port=
for _ in $(seq 300); do
	port=${port:-$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/agent.err")}
	if [ -n "$port" ] && exec 3<>"/dev/tcp/127.0.0.1/$port"; then
		printf 'GET /v1/status HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
		sed '1,/^\r$/d' <&3 >"$tmp/engines.json"
		exec 3<&-
		grep -q '"state": "ready"' "$tmp/engines.json" && break
	fi
	kill -0 "$apid" 2>/dev/null || break
	sleep 0.1
done
if grep -q '"state": "ready"' "$tmp/engines.json" 2>/dev/null; then
	mv "$tmp/engines.json" "$docs/agent-status-engines.json"
	n=$((n + 1))
else
	fail "cohete agent --engines: no ready engine in /v1/status: $(tail -c 300 "$tmp/agent.err")"
fi
kill -TERM "$apid" 2>/dev/null
wait "$apid"

keep zram-list json "$PEPITA_BIN" zram list --json
keep ublk-list json "$PEPITA_BIN" ublk list --json
keep uring-probe json "$PEPITA_BIN" uring probe --json
keep info json "$PEPITA_BIN" info --json
# A tier of the other architecture (the one pepita runs on, also under
# qemu-user): refused, so tier null and the reason given.
foreign=neon
grep -q '"arch": "aarch64"' "$docs/info.json" 2>/dev/null && foreign=avx512
PEPITA_SIMD=$foreign keep info-refused json "$PEPITA_BIN" info --json
keep bench-simd json "$PEPITA_BIN" bench simd --quick --json
# cohete discover on the USB devices umockdev describes to libudev.
if command -v umockdev-run >/dev/null 2>&1 && [ -z "${COHETE_RUN:-}" ]; then
	# umockdev preloads its library, so under AddressSanitizer its
	# runtime is not first in the list: told that this is fine.
	for dev in orin-recovery jetson-gadget; do
		keep "discover-$dev" json env \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
			umockdev-run -d "$fixtures/usb/$dev.umockdev" \
			-- "$COHETE_BIN" discover --usb --no-ssh --json
	done
fi

# The fleet's documents, offline. A small llama GGUF made here and a file
# whose one device does not answer (port 1 of this machine): the plan and
# the build are real, every device step fails with ssh's reason, and
# deploy, deploy --check, rollback and status --fleet print their
# documents all the same (exit 1). The device's half runs here on a
# models directory of its own: a model file received whole and one cut
# short, then an engine spec activated while this script plays the
# supervisor (`cohete agent --engines`) through the file it writes,
# ENGINES/MODEL/state.json, saying the candidate is ready.
# keep_failed NAME KIND TOOL ARGS...: as keep, for a command that exits 1
# with its document.
keep_failed() {
	local name=$1 kind=$2 tool=$3 rc=0
	shift 3
	# shellcheck disable=SC2086  # COHETE_RUN / tmo are word lists
	$tmo ${COHETE_RUN:-} "$tool" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	if [ "$rc" = 1 ] && [ -s "$tmp/out" ]; then
		mv "$tmp/out" "$docs/$name.$kind"
		n=$((n + 1))
	else
		fail "$(basename "$tool") $*: exit $rc, want 1 with a document: $(head -c 300 "$tmp/err")"
	fi
}
fleet=$tmp/fleet
mkdir -p "$fleet/root"
python3 - "$fleet/tiny.gguf" <<'PY'
import struct, sys
def s(x):
    b = x.encode()
    return struct.pack('<Q', len(b)) + b
def kv(k, t, v): return s(k) + struct.pack('<I', t) + (s(v) if t == 8 else struct.pack('<I', v))
embd, ff, vocab = 256, 512, 64
tensors = [('token_embd.weight', [embd, vocab]), ('output_norm.weight', [embd]),
           ('output.weight', [embd, vocab])]
for l in range(2):
    for name, shape in (('attn_norm', [embd]), ('attn_q', [embd, embd]),
                        ('attn_k', [embd, 128]), ('attn_v', [embd, 128]),
                        ('attn_output', [embd, embd]), ('ffn_norm', [embd]),
                        ('ffn_gate', [embd, ff]), ('ffn_up', [embd, ff]),
                        ('ffn_down', [ff, embd])):
        tensors.append(('blk.%d.%s.weight' % (l, name), shape))
kvs = [kv('general.architecture', 8, 'llama'), kv('llama.block_count', 4, 2),
       kv('llama.embedding_length', 4, embd), kv('llama.feed_forward_length', 4, ff),
       kv('llama.attention.head_count', 4, 4), kv('llama.attention.head_count_kv', 4, 2),
       kv('llama.context_length', 4, 512)]
infos, datas, off = b'', [], 0
for name, shape in tensors:
    count = 1
    for d in shape:
        count *= d
    data = struct.pack('<%df' % count, *[(i % 201 - 100) / 1000.0 for i in range(count)])
    infos += s(name) + struct.pack('<I', len(shape)) + b''.join(struct.pack('<Q', d) for d in shape)
    infos += struct.pack('<IQ', 0, off)
    datas.append(data)
    off += len(data)
head = b'GGUF' + struct.pack('<IQQ', 3, len(tensors), len(kvs)) + b''.join(kvs) + infos
head += b'\0' * ((-len(head)) % 32)
open(sys.argv[1], 'wb').write(head + b''.join(datas))
PY
cat >"$fleet/cohete.yaml" <<YAML
fleet:
  devices:
    - id: down
      host: 127.0.0.1
      port: 1
      module: p3767-0005
      memory_budget_mb: 512
models:
  - name: tiny
    source: $fleet/tiny.gguf
    quantization: auto
    context_length: 512
    devices: all
storage:
  models_dir: $fleet/root
YAML
export XDG_CACHE_HOME=$fleet/cache
fcfg=(--config "$fleet/cohete.yaml")
keep deploy-plan json "$COHETE_BIN" deploy "${fcfg[@]}" --plan --json
keep deploy-build json "$COHETE_BIN" deploy "${fcfg[@]}" --build-only --json
keep_failed deploy json "$COHETE_BIN" deploy "${fcfg[@]}" --json
keep_failed deploy-check json "$COHETE_BIN" deploy "${fcfg[@]}" --check --json
keep_failed rollback json "$COHETE_BIN" rollback "${fcfg[@]}" --json
keep_failed status-fleet json "$COHETE_BIN" status --fleet "${fcfg[@]}" --json

# The model file deploy built, received as a deploy sends it; a second
# copy cut short stays a partial.
artifact=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][0]["artifact"])' \
	"$docs/deploy-plan.json" 2>/dev/null)
built=$fleet/cache/cohete/artifacts/$artifact
if [ -z "$artifact" ] || [ ! -f "$built" ]; then
	fail "deploy built no model file ($artifact) in $fleet/cache"
else
	size=$(stat -c %s "$built")
	sum=$(sha256sum "$built" | cut -d' ' -f1)
	recv=(engine receive --root "$fleet/root" --size "$size" --sha256 "$sum")
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	${COHETE_RUN:-} "$COHETE_BIN" "${recv[@]}" --name "$artifact" <"$built" >"$tmp/recv" 2>&1 ||
		fail "engine receive: $(head -c 300 "$tmp/recv")"
	# shellcheck disable=SC2086
	head -c 4096 "$built" | ${COHETE_RUN:-} "$COHETE_BIN" "${recv[@]}" --name "cut-$artifact" \
		>/dev/null 2>&1
	[ -f "$fleet/root/.incoming/cut-$artifact.part" ] ||
		fail "engine receive, cut short: no part kept"
	printf '{"schema": "cohete.engine/1", "model": "tiny", "artifact": "%s", "sha256": "%s", "level": "Q8_0", "host": "127.0.0.1", "port": 8080, "argv": ["llama-server", "-m", "%s"], "memory_max_bytes": 536870912}' \
		"$artifact" "$sum" "$fleet/root/$artifact" >"$fleet/spec.json"
	# shellcheck disable=SC2086
	$tmo ${COHETE_RUN:-} "$COHETE_BIN" engine activate --root "$fleet/root" --timeout 30 --json \
		<"$fleet/spec.json" >"$tmp/activate" 2>"$tmp/activate.err" &
	apid=$!
	version=
	for _ in $(seq 100); do
		version=$(readlink "$fleet/root/engines/tiny/candidate" 2>/dev/null) && break
		sleep 0.1
	done
	version=${version%.json}
	now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
	printf '{"schema": "cohete.engine.state/1", "timestamp": "%s", "model": "tiny", "version": "%s", "which": "candidate", "state": "ready", "pid": %d, "port": 8080, "restart_count": 0, "since": "%s", "rss_bytes": 0, "reason": "", "start_ticks": 0}\n' \
		"$now" "$version" 0 "$now" >"$fleet/state.json"
	[ -n "$version" ] && mv "$fleet/state.json" "$fleet/root/engines/tiny/state.json"
	if wait "$apid"; then
		mv "$tmp/activate" "$docs/engine-activate.json"
		n=$((n + 1))
	else
		fail "engine activate (candidate '$version'): $(head -c 300 "$tmp/activate.err")"
	fi
fi
COHETE_SYSROOT=$tree keep engine-state json "$COHETE_BIN" engine state --root "$fleet/root" --json
unset XDG_CACHE_HOME
# Every part of the state shows: a model file, a partial, a model with its
# spec and its engine.
if [ -s "$docs/engine-state.json" ] && ! python3 - "$docs/engine-state.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = d["models"][0] if d.get("models") else {}
sys.exit(0 if d.get("artifacts") and d.get("partials") and isinstance(m.get("spec"), dict)
         and isinstance(m.get("engine"), dict) and isinstance(d.get("device"), dict) else 1)
PY
then
	fail "engine state: not every part shows: $(head -c 400 "$docs/engine-state.json")"
fi

python3 - "$docs" "$man" <<'PY' || failures=$((failures + 1))
import json, os, re, sys

UNITS = ("_bytes", "_mw", "_mv", "_ma", "_mhz", "_celsius", "_percent",
         "_ms", "_s", "_rpm", "_count", "_tokens", "_gflops", "_gb_per_s",
         "_gelem_per_s")
# Numbers without a unit: ids and indices, raw values a unit would misname.
UNITLESS = {
    "id",            # a core, zone, mode or device number
    "default_id",    # the nvpmodel mode booted into
    "pid",           # a process id
    "pgid",          # a process group id
    "op",            # an io_uring opcode number
    "last_op",       # the highest opcode the kernel knows
    "features_raw",  # the io_uring feature bit mask
    "pwm",           # the fan's raw duty level, 0..255
    "pwm_enable",    # the hwmon fan mode: 0 full, 1 manual, 2 automatic
    "queue_depth",   # requests in flight per queue
    "compression_ratio",  # original bytes per stored byte
    "port",          # a TCP port number (cohete discover: ssh, agent)
}
INTERNAL = {"nfields"}
# "<tool>.<command>/<N>": a command of two words joins them with "-"
# (config-check, deploy-plan), a verb follows with "." (zram.list).
SCHEMA = re.compile(r"^(cohete|pepita)\.[a-z]+(-[a-z]+)*(\.[a-z]+)?/[1-9][0-9]*$")
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# Objects whose keys are names (idle states, io_uring features and flags,
# CPU features, benchmarked kernels): the names are not checked, what
# they hold is.
NAMED = {"idle_states", "features", "setup_flags", "cpu_features", "kernels"}

def documented(page):
    text = open(page).read()
    section = text.split(".SH JSON OUTPUT", 1)[1].split("\n.SH ", 1)[0]
    return set(re.findall(r"[a-z][a-z0-9_]*", section.replace("\\-", "-")))

tool_words = {t: documented(os.path.join(sys.argv[2], t + ".1"))
              for t in ("cohete", "pepita")}
problems = []

def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)

def walk(where, o, words):
    if isinstance(o, dict):
        for k, v in o.items():
            path = where + "." + k
            if k not in words:
                problems.append("%s: not in the man page's JSON OUTPUT" % path)
            if k in NAMED and isinstance(v, dict):
                for name, sub in v.items():
                    walk(path + "." + name, sub, words)
                continue
            if k in INTERNAL:
                problems.append("%s: internal field" % path)
            nums = number(v) or (isinstance(v, list) and v and
                                 all(number(x) for x in v))
            unit = k.endswith(UNITS) or "_" + k in UNITS
            if nums and k not in UNITLESS and not unit:
                problems.append("%s = %r: a number without a unit suffix" %
                                (path, v if number(v) else v[:3]))
            walk(path, v, words)
    elif isinstance(o, list):
        for i, v in enumerate(o):
            walk("%s[%d]" % (where, i), v, words)

def check(name, doc):
    if not isinstance(doc, dict):
        problems.append("%s: not an object" % name)
        return
    if not SCHEMA.match(str(doc.get("schema"))):
        problems.append("%s: schema %r" % (name, doc.get("schema")))
    if not STAMP.match(str(doc.get("timestamp"))):
        problems.append("%s: timestamp %r" % (name, doc.get("timestamp")))
    tool = str(doc.get("schema")).split(".")[0]
    walk(name, doc, tool_words.get(tool, set()))

count = 0
for f in sorted(os.listdir(sys.argv[1])):
    path = os.path.join(sys.argv[1], f)
    try:
        if f.endswith(".jsonl"):
            for i, line in enumerate(open(path)):
                check("%s:%d" % (f, i + 1), json.loads(line))
                count += 1
        else:
            check(f, json.load(open(path)))
            count += 1
    except ValueError as e:
        problems.append("%s: not JSON: %s" % (f, e))
for p in problems[:40]:
    print("FAIL: " + p)
if len(problems) > 40:
    print("... and %d more" % (len(problems) - 40))
print("%d documents checked, %d problems" % (count, len(problems)))
sys.exit(1 if problems else 0)
PY

# README.md's jq example prints what it says it prints.
readme=$(cd "$(dirname "$0")/.." && pwd)/README.md
if ! command -v jq >/dev/null 2>&1; then
	echo "note: no jq: README.md's example not run"
elif [ -f "$readme" ] && [ -z "${COHETE_RUN:-}" ]; then
	python3 - "$readme" >"$tmp/example" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"\n\$ (\./build/cli/cohete status --json[^\n]*\|\n(?:    [^\n]*\n)+)(\{[^\n]*\})\n", text)
if m:
    print(m.group(1).replace("./build/cli/cohete", '"$COHETE_BIN"').strip())
    print(m.group(2))
PY
	if [ "$(wc -l <"$tmp/example")" -lt 2 ]; then
		fail "README.md: no 'cohete status --json | jq' example found"
	else
		head -n -1 "$tmp/example" >"$tmp/example.sh"
		got=$(cd "$(dirname "$readme")" && COHETE_BIN=$COHETE_BIN bash "$tmp/example.sh" 2>&1)
		if [ "$got" = "$(tail -n 1 "$tmp/example")" ]; then
			echo "ok: README.md's jq example prints what it shows"
		else
			fail "README.md's jq example prints $got"
		fi
	fi
fi

for want in status-orin-nano-8gb-super-r36.json power-orin-nano-8gb-super-r36.json \
	    fan-orin-nano-8gb-super-r36.json clocks-orin-nano-8gb-super-r36.json \
	    tegrastats-live.jsonl zram-list.json uring-probe.json info.json \
	    info-refused.json bench-simd.json; do
	[ -s "$docs/$want" ] || echo "note: no $want here (exit 69: not on this machine)"
done
[ -s "$docs/ublk-list.json" ] || echo "note: no ublk driver here: pepita ublk list not checked"
echo "json-units.sh: $n commands, $failures failed"
[ "$failures" -eq 0 ] || exit 1
exit 0
