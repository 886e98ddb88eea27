#!/bin/bash
# The cohete CLI's contract (STYLE.md §11): --version/--help, exit codes
# (0 ok, 1 failure, 2 usage), errors on stderr as "cohete: ...", --json as
# exactly one JSON document (equal to the fixture's golden file where there
# is one), COHETE_SYSROOT == --sysroot, no colour with NO_COLOR.
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES, NO_COLOR, and
# COHETE_RUN (the exe wrapper, e.g. qemu-aarch64-static) in cross builds.
# Exit: 0 pass, 1 fail, 77 skip (no fixture sysroots), 99 not set up.
set -u

if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "cli.sh: COHETE_BIN not set or not executable: '${COHETE_BIN:-}'" >&2
	exit 99
fi
fixtures=${COHETE_FIXTURES:-$(cd "$(dirname "$0")" && pwd)/fixtures}/sysroots
unset COHETE_SYSROOT
export NO_COLOR=${NO_COLOR:-1}

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err

tmo=
if command -v timeout >/dev/null 2>&1; then
	tmo="timeout 60"
fi

failures=0
checks=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
pass() {
	echo "ok: $*"
}

# c [VAR=value ...] -- args...: run cohete; sets rc, fills $out and $err.
# Any escape byte in either stream fails the check (NO_COLOR, not a tty).
c() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	shift
	checks=$((checks + 1))
	rc=0
	# shellcheck disable=SC2086  # COHETE_RUN / tmo are word lists
	env "${envs[@]+"${envs[@]}"}" $tmo ${COHETE_RUN:-} "$COHETE_BIN" "$@" \
		>"$out" 2>"$err" </dev/null || rc=$?
	if grep -q $'\033' "$out" "$err"; then
		fail "cohete $*: escape bytes in output although NO_COLOR is set"
	fi
}

show() {
	echo "  exit $rc; stdout:"
	head -n 10 "$out" | sed 's/^/    /'
	echo "  stderr:"
	head -n 10 "$err" | sed 's/^/    /'
}

# expect_rc WHAT CODE
expect_rc() {
	if [ "$rc" -ne "$2" ]; then
		fail "$1: exit $rc, expected $2"
		show
		return 1
	fi
	return 0
}

valid_json() {
	python3 -c 'import json,sys; json.load(sys.stdin)' <"$1" 2>"$tmp/json-err"
}

# untime IN OUT: IN with its "timestamp" (RFC 3339 UTC with milliseconds,
# the one thing a fixture tree cannot fix) replaced by a marker; 1 when
# the document has no such timestamp.
untime() {
	grep -Eq '^  "timestamp": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z",$' "$1" &&
		sed -E 's/^  "timestamp": "[^"]*",$/  "timestamp": "(sample time)",/' "$1" >"$2"
}

# --version: one line "cohete ...", exit 0.
c -- --version
if expect_rc "cohete --version" 0; then
	if [ "$(wc -l <"$out")" -ne 1 ] || [ "$(head -c 7 "$out")" != "cohete " ]; then
		fail "cohete --version: expected one line starting with 'cohete '"
		show
	else
		pass "cohete --version: $(cat "$out")"
	fi
fi

# Help at every level, on stdout, exit 0.
for args in "--help" "help status" "status --help"; do
	# shellcheck disable=SC2086
	c -- $args
	if expect_rc "cohete $args" 0; then
		if [ ! -s "$out" ]; then
			fail "cohete $args: nothing on stdout"
			show
		else
			pass "cohete $args"
		fi
	fi
done

# Unknown subcommand: usage error, "cohete: ..." on stderr.
c -- no-such-subcommand
if expect_rc "cohete no-such-subcommand" 2; then
	if [ "$(head -c 8 "$err")" != "cohete: " ]; then
		fail "cohete no-such-subcommand: stderr does not begin with 'cohete: '"
		show
	else
		pass "cohete no-such-subcommand: exit 2"
	fi
fi

# Unknown option: usage error.
c -- status --bogus
expect_rc "cohete status --bogus" 2 && pass "cohete status --bogus: exit 2"

# A sysroot that does not exist: the operation fails.
c -- status --sysroot /nonexistent
if expect_rc "cohete status --sysroot /nonexistent" 1; then
	if ! grep -q '^cohete: ' "$err"; then
		fail "cohete status --sysroot /nonexistent: no 'cohete: ' error on stderr"
		show
	else
		pass "cohete status --sysroot /nonexistent: exit 1"
	fi
fi

# The name a human report must show: the module's name from the JSON
# (device.module.name or similar), else the machine's model.
module_name() {
	python3 - "$1" <<'EOF'
import json, sys

doc = json.load(open(sys.argv[1]))

def names(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "module" and isinstance(v, dict):
                n = v.get("name")
                if isinstance(n, str) and n:
                    yield n
            if k == "module_name" and isinstance(v, str) and v:
                yield v
        for v in o.values():
            yield from names(v)
    elif isinstance(o, list):
        for v in o:
            yield from names(v)

found = next(names(doc), None)
if found is None:
    dev = doc.get("device") if isinstance(doc, dict) else None
    if isinstance(dev, dict) and isinstance(dev.get("model"), str):
        found = dev["model"]
print(found or "")
EOF
}

nfix=0
for dir in "$fixtures"/*/; do
	[ -d "$dir" ] || continue
	dir=${dir%/}
	name=$(basename "$dir")
	nfix=$((nfix + 1))

	c -- status --json --sysroot "$dir"
	expect_rc "cohete status --json --sysroot $name" 0 || continue
	if ! valid_json "$out"; then
		fail "cohete status --json --sysroot $name: not exactly one JSON document: $(tail -n 1 "$tmp/json-err")"
		show
		continue
	fi
	if ! untime "$out" "$tmp/json"; then
		fail "cohete status --json --sysroot $name: no RFC 3339 UTC \"timestamp\""
		show
		continue
	fi
	golden=$dir/status.golden.json
	if [ -f "$golden" ]; then
		untime "$golden" "$tmp/golden"
		if cmp -s "$tmp/json" "$tmp/golden"; then
			pass "$name: --json equals status.golden.json"
		else
			fail "$name: --json differs from $golden"
			diff -u "$tmp/golden" "$tmp/json" | head -n 40 | sed 's/^/    /'
		fi
	else
		pass "$name: --json is one JSON document (no golden file)"
	fi

	c "COHETE_SYSROOT=$dir" -- status --json
	if expect_rc "COHETE_SYSROOT=$name cohete status --json" 0; then
		untime "$out" "$tmp/json2"
		if cmp -s "$tmp/json2" "$tmp/json"; then
			pass "$name: COHETE_SYSROOT gives the same JSON as --sysroot"
		else
			fail "$name: COHETE_SYSROOT output differs from --sysroot"
			diff -u "$tmp/json" "$tmp/json2" | head -n 20 | sed 's/^/    /'
		fi
	fi

	want=$(module_name "$tmp/json")
	c -- status --sysroot "$dir"
	if expect_rc "cohete status --sysroot $name" 0; then
		if [ ! -s "$out" ]; then
			fail "cohete status --sysroot $name: nothing on stdout"
		elif [ -n "$want" ] && ! grep -q -F -- "$want" "$out"; then
			fail "cohete status --sysroot $name: no line with the module name '$want'"
			show
		else
			# shellcheck disable=SC2016  # expands: inside "${...:+...}"
			pass "$name: human report${want:+ names '$want'}"
		fi
	fi
done

# tegrastats: each real line in, one JSON object out; garbage is an error
# that names the line, and exits 1 when no line parsed.
samples=${COHETE_FIXTURES:-}/tegrastats/samples.txt
if [ -f "$samples" ]; then
	checks=$((checks + 1))
	nlines=$(grep -vc '^#' "$samples")
	# shellcheck disable=SC2086
	if grep -v '^#' "$samples" | $tmo ${COHETE_RUN:-} "$COHETE_BIN" tegrastats --json \
		>"$out" 2>"$err" &&
	   [ "$(wc -l <"$out")" -eq "$nlines" ] &&
	   python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$out"; then
		pass "tegrastats --json: $nlines lines, $nlines objects"
	else
		fail "tegrastats --json on $samples"
	fi
	checks=$((checks + 1))
	rc=0
	# shellcheck disable=SC2086
	printf 'hello\nworld\n' | $tmo ${COHETE_RUN:-} "$COHETE_BIN" tegrastats \
		>"$out" 2>"$err" || rc=$?
	if [ "$rc" -eq 1 ] && grep -q "stdin:2" "$err"; then
		pass "tegrastats: unparsable input exits 1 and names the line"
	else
		fail "tegrastats on garbage: exit $rc"
		show
	fi
fi

# power: list, refuse without --yes off a terminal, switch through the
# nvpmodel simulator on a copy of a tree and verify, 69 off a Jetson.
tree=${COHETE_FIXTURES:-}/sysroots/orin-nano-8gb-super-r36
if [ -d "$tree" ] && [ -n "${COHETE_SIM:-}" ] && command -v python3 >/dev/null; then
	copy=$tmp/tree
	cp -a "$tree/." "$copy/" 2>/dev/null || { mkdir -p "$copy" && cp -a "$tree/." "$copy/"; }
	c -- power --sysroot "$copy"
	expect_rc "power --sysroot" 0 && grep -q '^\* *2  MAXN_SUPER' "$out" &&
		pass "power lists the modes, current marked" ||
		fail "power: no '* 2 MAXN_SUPER' line"
	c -- power set 15W --sysroot "$copy" --nvpmodel "$COHETE_SIM/nvpmodel"
	expect_rc "power set without --yes" 2 && pass "power set refuses without --yes"
	c -- power set 15W --yes --sysroot "$copy" --nvpmodel "$COHETE_SIM/nvpmodel"
	if expect_rc "power set 15W --yes" 0 && grep -q 'verified' "$out" &&
	   grep -q 'pmode:0000' "$copy/var/lib/nvpmodel/status"; then
		pass "power set switches through the simulator and verifies"
	else
		fail "power set 15W: status not changed"
	fi
	c -- fan set 50% --yes --sysroot "$copy"
	if expect_rc "fan set 50%" 0 && [ "$(cat "$copy/sys/class/hwmon/hwmon0/pwm1")" = 128 ]; then
		pass "fan set 50% writes pwm 128 and verifies"
	else
		fail "fan set 50%: pwm1 is $(cat "$copy/sys/class/hwmon/hwmon0/pwm1")"
	fi
	c -- fan set 300 --yes --sysroot "$copy"
	expect_rc "fan set 300" 2 && pass "fan set rejects 300"
	c -- power --sysroot "$COHETE_FIXTURES/sysroots/x86-host"
	expect_rc "power on a non-Jetson" 69 && pass "power off a Jetson exits 69"
fi

# clocks: help, 69 without jetson_clocks, and --json as one document
# through the jetson_clocks simulator (tests/cohete/clocks.c does the rest).
c -- clocks --help
expect_rc "clocks --help" 0 && [ -s "$out" ] && pass "clocks --help"
c -- clocks --jetson-clocks "$tmp/no-jetson_clocks"
expect_rc "clocks without jetson_clocks" 69 && pass "clocks off a Jetson exits 69"
if [ -n "${COHETE_SIM:-}" ] && command -v python3 >/dev/null; then
	c -- clocks --json --jetson-clocks "$COHETE_SIM/jetson_clocks" \
		--sysroot "${COHETE_FIXTURES:-}/sysroots/orin-nano-8gb-super-r36"
	if expect_rc "clocks --json" 0 && valid_json "$out"; then
		pass "clocks --json: one JSON document"
	else
		fail "clocks --json: not one JSON document"
	fi
	c -- clocks on --jetson-clocks "$COHETE_SIM/jetson_clocks" --sysroot "$tmp"
	expect_rc "clocks on without --yes" 2 && pass "clocks on refuses without --yes"
fi

# quantize and model inspect on a small llama-layout GGUF made here;
# make_gguf FILE [NAME]: NAME is general.name (default "cli").
make_gguf() {
	python3 - "$1" "${2:-cli}" <<'PYEOF'
import struct, sys, random

random.seed(7)
def s(x):
    b = x.encode()
    return struct.pack('<Q', len(b)) + b
def kv_str(k, v): return s(k) + struct.pack('<I', 8) + s(v)
def kv_u32(k, v): return s(k) + struct.pack('<II', 4, v)
def kv_f32(k, v): return s(k) + struct.pack('<If', 6, v)
embd, ff, vocab = 256, 512, 64
tensors = [('token_embd.weight', [embd, vocab], 1), ('output_norm.weight', [embd], 0),
           ('output.weight', [embd, vocab], 1)]
for l in range(2):
    for name, shape in (('attn_norm', [embd]), ('attn_q', [embd, embd]),
                        ('attn_k', [embd, 128]), ('attn_v', [embd, 128]),
                        ('attn_output', [embd, embd]), ('ffn_norm', [embd]),
                        ('ffn_gate', [embd, ff]), ('ffn_up', [embd, ff]),
                        ('ffn_down', [ff, embd])):
        tensors.append(('blk.%d.%s.weight' % (l, name), shape, 1 if len(shape) > 1 else 0))
kvs = [kv_str('general.architecture', 'llama'), kv_str('general.name', sys.argv[2]),
       kv_u32('llama.block_count', 2), kv_u32('llama.embedding_length', embd),
       kv_u32('llama.feed_forward_length', ff), kv_u32('llama.attention.head_count', 4),
       kv_u32('llama.attention.head_count_kv', 2), kv_u32('llama.context_length', 512),
       kv_f32('llama.attention.layer_norm_rms_epsilon', 1e-5)]
infos, datas, off = b'', [], 0
for name, shape, f16 in tensors:
    n = 1
    for d in shape: n *= d
    if f16:
        data = b''.join(struct.pack('<e', random.uniform(-0.1, 0.1)) for _ in range(n))
    else:
        data = struct.pack('<%df' % n, *([1.0] * n))
    infos += s(name) + struct.pack('<I', len(shape)) + b''.join(struct.pack('<Q', d) for d in shape)
    infos += struct.pack('<IQ', 1 if f16 else 0, off)
    pad = (-len(data)) % 32
    datas.append(data + b'\0' * pad)
    off += len(data) + pad
head = b'GGUF' + struct.pack('<IQQ', 3, len(tensors), len(kvs)) + b''.join(kvs) + infos
head += b'\0' * ((-len(head)) % 32)
open(sys.argv[1], 'wb').write(head + b''.join(datas))
PYEOF
}

c -- quantize --help
expect_rc "quantize --help" 0 && [ -s "$out" ] && pass "quantize --help"
c -- model --help
expect_rc "model --help" 0 && [ -s "$out" ] && pass "model --help"
if command -v python3 >/dev/null && make_gguf "$tmp/tiny.gguf"; then
	c -- quantize "$tmp/tiny.gguf" "$tmp/q.gguf" Q9_9
	if expect_rc "quantize to an unknown type" 2 && grep -q "Q9_9" "$err"; then
		pass "quantize: an unknown type is a usage error naming it"
	fi
	c -- quantize "$tmp/missing.gguf" "$tmp/q.gguf" Q4_0
	expect_rc "quantize a missing file" 1 && [ ! -e "$tmp/q.gguf" ] &&
		pass "quantize: a missing input fails and writes nothing"
	c -- quantize "$tmp/tiny.gguf" "$tmp/q.gguf" Q4_K_M --report --threads 2
	if expect_rc "quantize Q4_K_M" 0 && grep -q "blk.1.ffn_down.weight.*Q6_K" "$out" &&
	   grep -q "rmse" "$out"; then
		pass "quantize Q4_K_M --report: per-tensor types and errors"
	else
		fail "quantize Q4_K_M --report: no Q6_K ffn_down line or no rmse"
		show
	fi
	c -- model inspect "$tmp/q.gguf" --json
	if expect_rc "model inspect --json" 0 && python3 - "$out" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc['schema'] == 'cohete.model-inspect/1', doc.get('schema')
types = {t['name']: t['type'] for t in doc['tensors']}
assert types['output.weight'] == 'Q6_K', types
assert types['blk.0.attn_q.weight'] == 'Q4_K', types
assert types['blk.0.attn_norm.weight'] == 'F32', types
md = doc['metadata']
assert md['general.file_type'] == 15, md
assert md['general.architecture'] == 'llama', md
assert md['llama.attention.layer_norm_rms_epsilon'] == float.fromhex('0x1.4f8b58p-17'), md
assert doc['parameter_count'] == 1213696, doc['parameter_count']
assert all(k.endswith('_bytes') for t in doc['tensors'] for k in t
           if k not in ('name', 'type', 'shape', 'element_count'))
lv = {l['level']: l for l in doc['memory']}
assert set(lv['Q4_K_M']) == {'level', 'weights_bytes', 'kv_bytes',
                             'compute_bytes', 'runtime_bytes', 'total_bytes'}, lv['Q4_K_M']
assert lv['Q4_K_M']['total_bytes'] > lv['Q4_K_M']['weights_bytes'] > 0
PYEOF
	then
		pass "model inspect --json: schema, real JSON values, the quantized types, _bytes keys"
	else
		fail "model inspect --json: wrong types or values, or not JSON"
		show
	fi
	c -- model inspect "$tmp/tiny.gguf"
	if expect_rc "model inspect" 0 && grep -q "21 tensors, 1.2 M parameters" "$out"; then
		pass "model inspect: a human summary, 1.2 M parameters"
	else
		fail "model inspect: no '21 tensors, 1.2 M parameters' line"
		show
	fi
	# Escape sequences in a file's strings reach no terminal (c fails on
	# an ESC byte in the output): \xNN in text, a real string in JSON.
	make_gguf "$tmp/evil.gguf" $'\e]0;title\a\e[2Jevil'
	c -- model inspect "$tmp/evil.gguf"
	if expect_rc "model inspect, escapes in general.name" 0 &&
	   grep -qF '"\x1b]0;title\x07\x1b[2Jevil"' "$out"; then
		pass "model inspect: control characters from the file shown as \\xNN"
	else
		fail "model inspect: general.name not escaped"
		show
	fi
	c -- model inspect "$tmp/evil.gguf" --json
	if expect_rc "model inspect --json, escapes in general.name" 0 &&
	   python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert d["metadata"]["general.name"] == "\x1b]0;title\x07\x1b[2Jevil"' "$out"; then
		pass "model inspect --json: control characters as JSON escapes"
	else
		fail "model inspect --json: general.name wrong"
		show
	fi
	# The input as output: refused (also through a link), the model
	# untouched; --force replaces it with the quantized model.
	cp "$tmp/tiny.gguf" "$tmp/self.gguf"
	ln -s self.gguf "$tmp/self-link.gguf"
	for o in self.gguf self-link.gguf; do
		c -- quantize "$tmp/self.gguf" "$tmp/$o" Q4_0
		if expect_rc "quantize onto its input ($o)" 1 &&
		   grep -q "is the input.*--force" "$err" && cmp -s "$tmp/self.gguf" "$tmp/tiny.gguf"; then
			pass "quantize: output $o is the input: refused, input untouched"
		else
			fail "quantize: output $o is the input"
			show
		fi
	done
	c -- quantize "$tmp/self.gguf" "$tmp/self.gguf" Q4_0 --force
	if expect_rc "quantize --force onto its input" 0 &&
	   c -- model inspect "$tmp/self.gguf" --json && expect_rc "inspect the result" 0 &&
	   python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert d["metadata"]["general.file_type"] == 2' "$out"; then
		pass "quantize --force: the input replaced by its Q4_0"
	else
		fail "quantize --force onto its input"
		show
	fi
	# The output's mode is 0666 less the umask, as for any new file.
	old_umask=$(umask)
	umask 027
	c -- quantize "$tmp/tiny.gguf" "$tmp/m.gguf" Q8_0
	umask "$old_umask"
	mode=$(stat -c %a "$tmp/m.gguf" 2>/dev/null)
	if [ "$rc" = 0 ] && [ "$mode" = 640 ]; then
		pass "quantize: output mode 640 under umask 027"
	else
		fail "quantize: output mode ${mode:-?} under umask 027 (exit $rc), want 640"
	fi
	c -- quantize "$tmp/tiny.gguf" "$tmp/a.gguf" auto --budget-mb 1
	if expect_rc "auto with 1 MiB" 1 && grep -q "no level fits" "$err" &&
	   [ ! -e "$tmp/a.gguf" ]; then
		pass "quantize auto: nothing fits 1 MiB, says what the smallest needs"
	else
		fail "quantize auto --budget-mb 1"
		show
	fi
	c -- quantize "$tmp/tiny.gguf" "$tmp/a.gguf" auto --device "Orin Nano 8GB"
	if expect_rc "auto on an Orin Nano 8GB" 0 && grep -q "auto: Q8_0" "$out"; then
		pass "quantize auto --device: a tiny model gets Q8_0"
	else
		fail "quantize auto --device \"Orin Nano 8GB\""
		show
	fi
	c -- quantize "$tmp/tiny.gguf" "$tmp/a.gguf" auto --device "Orin"
	expect_rc "auto with an ambiguous device" 2 && pass "quantize auto: an ambiguous --device is a usage error"
fi

# The shared front end (cli/cli.c), as cohete uses it: -V, "did you mean"
# for commands and for the verbs that follow options, a missing option
# value named as such, no LLONG_MAX printed as a bound, and a prompt
# answered "n" is exit 1 (declined, nothing changed), not 2.
c -- --version
version=$(cat "$out")
c -- -V
expect_rc "cohete -V" 0 && [ "$(cat "$out")" = "$version" ] &&
	pass "cohete -V: $version" || fail "cohete -V: '$(cat "$out")', want '$version'"
# expect_err WHAT CODE PATTERN: the exit code and PATTERN on stderr.
expect_err() {
	if expect_rc "$1" "$2"; then
		if grep -q -- "$3" "$err"; then
			pass "$1"
		else
			fail "$1: no '$3' on stderr"
			show
		fi
	fi
}
c -- stauts
expect_err "cohete stauts" 2 "^cohete: unknown command 'stauts'; did you mean 'status'?"
c -- tegrastat
expect_err "cohete tegrastat" 2 "did you mean 'tegrastats'?"
c -- clocks onn
expect_err "cohete clocks onn" 2 "^cohete: clocks: unknown action 'onn'; did you mean 'on'?"
c -- fan sett 50%
expect_err "cohete fan sett" 2 "^cohete: fan: unknown verb 'sett'; did you mean 'set'?"
c -- power --json sat
expect_err "cohete power sat" 2 "^cohete: power: unknown verb 'sat'; did you mean 'set'?"
c -- model inpsect x.gguf
expect_err "cohete model inpsect" 2 "did you mean 'inspect'?"
c -- status --sysroot
expect_err "cohete status --sysroot (no value)" 2 "^cohete: status: option --sysroot needs a value$"
c -- status --json --watch
expect_err "cohete status --watch (no value)" 2 "^cohete: status: option --watch needs a value$"
c -- tegrastats --count
expect_err "cohete tegrastats --count (no value)" 2 "^cohete: tegrastats: option --count needs a value$"
c -- agent --listen
expect_err "cohete agent --listen (no value)" 2 "option --listen needs a value"
c -- tegrastats --count 0
expect_err "cohete tegrastats --count 0" 2 "count: '0' is not a whole number of 1 or more"
if grep -q 9223372036854775807 "$err"; then
	fail "cohete tegrastats --count 0: LLONG_MAX printed as the bound"
fi
c -- config chek x.yaml
expect_err "cohete config chek" 2 "^cohete: config: unknown verb 'chek'; did you mean 'check'?"
c -- config check
expect_err "cohete config check (no file)" 2 "^cohete: config check: which file?"
c -- config check "${COHETE_FIXTURES:-$(dirname "$0")/fixtures}/config/seed-example.yaml"
expect_rc "cohete config check seed-example.yaml" 0 &&
	grep -q "warning: models\[0\].source: no mirror for 'pacha://models.sovereign.ai/'" "$err" &&
	pass "cohete config check: the seed example passes, with the mirror warning"
c -- config check "${COHETE_FIXTURES:-$(dirname "$0")/fixtures}/config/broken/unknown-key.yaml"
expect_err "cohete config check (broken)" 1 "unknown-key.yaml:7:7: error: fleet.devices\[0\].thermal_polcy: unknown key; did you mean 'thermal_policy'?"
c -- config check --json "${COHETE_FIXTURES:-$(dirname "$0")/fixtures}/config/broken/unknown-key.yaml"
expect_rc "cohete config check --json (broken)" 1 && valid_json "$out" &&
	pass "cohete config check --json: one document" ||
	fail "cohete config check --json: not one JSON document"
# deploy, rollback, engine and status --fleet: usage errors, before any
# device is asked or any file is touched.
fleet_yaml=${COHETE_FIXTURES:-$(dirname "$0")/fixtures}/config/valid/minimal.yaml
hex64=$(printf '%064d' 0)
c COHETE_CONFIG= -- deploy
expect_err "cohete deploy without --config" 2 "^cohete: deploy: no fleet: give --config FILE (or set COHETE_CONFIG)$"
c -- deploy --config "$fleet_yaml" --plan --check
expect_err "cohete deploy --plan --check" 2 "^cohete: deploy: --plan, --check and --build-only: choose one$"
c -- deploy --config "$fleet_yaml" --transport scp
expect_err "cohete deploy --transport scp" 2 "^cohete: deploy: --transport: 'scp': auto, rsync or stream$"
c -- deploy --config "$fleet_yaml" --device nowhere --plan
expect_err "cohete deploy --device nowhere" 2 "^cohete: deploy: --device: no device 'nowhere' in "
c -- rollback --config "$fleet_yaml" --canary orin
expect_err "cohete rollback --canary" 2 "^cohete: rollback: --plan, --check, --build-only, --canary and --max-parallel are deploy's options, not rollback's$"
c -- engine receive --size 1 --sha256 "$hex64" --root "$tmp/no-models"
expect_err "cohete engine receive without --name" 2 "^cohete: engine receive: --name is required$"
c -- engine receive --name ../escape.gguf --size 1 --sha256 "$hex64" --root "$tmp/no-models"
expect_err "cohete engine receive --name ../escape.gguf" 2 "'../escape.gguf' is not a model file name"
[ -e "$tmp/no-models" ] && fail "cohete engine receive: a usage error made $tmp/no-models"
c -- engine rollback --root "$tmp/no-models"
expect_err "cohete engine rollback without --model" 2 "^cohete: engine rollback: --model is required$"
c -- status --identity "$tmp/key"
expect_err "cohete status --identity without --fleet" 2 "^cohete: status: --identity and --ssh-option go with --fleet$"
c COHETE_CONFIG= -- status --fleet
expect_err "cohete status --fleet without --config" 2 "^cohete: status: --fleet: give --config FILE"
# run: usage errors before any device is asked; a fleet whose only device
# has no agent (orin.lan does not resolve): the job fails at once, why said.
c COHETE_CONFIG= -- run -- true ::: x
expect_err "cohete run without --config" 2 "^cohete: run: which devices? --config FILE"
c -- run --config "$fleet_yaml" --on orni -- true ::: x
expect_err "cohete run --on orni" 2 "^cohete: run: --on: no device 'orni'; did you mean 'orin'?$"
c -- run --config "$fleet_yaml" --on label:gpu -- true ::: x
expect_err "cohete run --on label:gpu" 2 "^cohete: run: --on: no device has the label 'gpu'$"
c -- run --config "$fleet_yaml" -j 0 -- true ::: x
expect_err "cohete run -j 0" 2 "^cohete: run: --jobs: '0' is not a whole number from 1 to 4096$"
c -- run --config "$fleet_yaml" -- true ::: x
expect_err "cohete run, no agent" 1 "^cohete: run: job 1 not run (true x): orin: no agent answers at http://orin.lan:9102/v1/status"
c -- help clocks
expect_rc "cohete help clocks" 0 && grep -q 'usage: cohete clocks' "$out" &&
	pass "cohete help clocks" || fail "cohete help clocks: no usage"

# run_tty ANSWER args...: cohete on a terminal (a pty), answering the
# prompt; sets rc and fills $out (everything the terminal showed).
run_tty() {
	local answer=$1
	shift
	checks=$((checks + 1))
	rc=0
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	python3 - "$answer" ${COHETE_RUN:-} "$COHETE_BIN" "$@" >"$out" 2>"$err" <<'PY' || rc=$?
import os, pty, select, sys, time
answer, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
seen, sent, end = b'', False, time.time() + 30
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if not sent and b'[y/N]' in seen:
        os.write(fd, answer.encode() + b'\n')
        sent = True
sys.stdout.write(seen.decode(errors='replace'))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
PY
}
tree=${COHETE_FIXTURES:-}/sysroots/orin-nano-8gb-super-r36
if [ -d "$tree" ] && [ -n "${COHETE_SIM:-}" ] && command -v python3 >/dev/null; then
	copy2=$tmp/tree-prompt
	mkdir -p "$copy2" && cp -a "$tree/." "$copy2/"
	before=$(cat "$copy2/var/lib/nvpmodel/status")
	run_tty n power set 15W --sysroot "$copy2" --nvpmodel "$COHETE_SIM/nvpmodel"
	if expect_rc "power set, answered n" 1 && grep -q 'declined: nothing changed' "$out" &&
	   [ "$(cat "$copy2/var/lib/nvpmodel/status")" = "$before" ]; then
		pass "power set: 'n' at the prompt exits 1 and changes nothing"
	else
		fail "power set answered n: status '$(cat "$copy2/var/lib/nvpmodel/status")'"
		show
	fi
	run_tty y power set 15W --sysroot "$copy2" --nvpmodel "$COHETE_SIM/nvpmodel"
	expect_rc "power set, answered y" 0 && grep -q 'pmode:0000' "$copy2/var/lib/nvpmodel/status" &&
		pass "power set: 'y' at the prompt switches" || fail "power set answered y"
	run_tty n clocks on --file "$tmp/dfs.conf" --jetson-clocks "$COHETE_SIM/jetson_clocks" \
		--sysroot "$copy2"
	if expect_rc "clocks on, answered n" 1 && [ ! -e "$tmp/dfs.conf" ]; then
		pass "clocks on: 'n' at the prompt exits 1 and stores nothing"
	else
		show
	fi
fi

echo "cli.sh: $checks runs, $failures failed, $nfix fixture sysroots"
if [ "$failures" -ne 0 ]; then
	exit 1
fi
if [ "$nfix" -eq 0 ]; then
	echo "SKIP: no fixture sysroots in $fixtures (the general CLI checks passed)"
	exit 77
fi
exit 0
