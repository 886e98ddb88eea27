#!/bin/bash
# The pepita CLI's contract (STYLE.md §11) for `pepita uring`: --help exits
# 0 at every level, unknown verbs and options exit 2, `uring probe` exits 0
# (or 69 with a reason where io_uring is unavailable: a container's seccomp
# profile, qemu-user) and `--json` prints exactly one JSON document. For
# `pepita ublk` what holds without a driver: bad options exit 2 before the
# driver is looked for, a missing backing file 1, no driver 69 (the rest
# runs in the test VM: tests/vm/ublk-*.sh). For `pepita zram`: usage
# errors (exit 2) before any device is touched, and where zram exists an
# unknown algorithm refused naming those offered, and `list --json`.
# For `pepita bench simd`: a PEPITA_SIMD tier the CPU lacks or that does
# not exist is refused with exit 2 and the reason; `--quick` runs and
# prints the tier and figures; `--quick --json` is the expected document
# (pepita.bench.simd/2). For `pepita info`: the SIMD tier (best, forced,
# refused) in the text and in --json (pepita.info/2).
#
# Environment (tests/meson.build): PEPITA_BIN, NO_COLOR, and PEPITA_RUN (the
# exe wrapper, e.g. qemu-aarch64-static) in cross builds.
# Exit: 0 pass, 1 fail, 77 the probe could not run here (other checks
# passed), 99 not set up.
set -u

if [ -z "${PEPITA_BIN:-}" ] || [ ! -x "$PEPITA_BIN" ]; then
	echo "pepita-cli.sh: PEPITA_BIN not set or not executable: '${PEPITA_BIN:-}'" >&2
	exit 99
fi
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
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# p args...: run pepita; sets rc, fills $out and $err.
p() {
	rc=0
	# shellcheck disable=SC2086  # PEPITA_RUN / tmo are word lists
	$tmo ${PEPITA_RUN:-} "$PEPITA_BIN" "$@" >"$out" 2>"$err" </dev/null || rc=$?
}

# expect CODE args...: run pepita and check its exit code.
expect() {
	local want=$1
	shift
	p "$@"
	if [ "$rc" -ne "$want" ]; then
		fail "pepita $*: exit $rc, expected $want; stderr: $(head -c 400 "$err")"
		return 1
	fi
	echo "ok: pepita $* (exit $rc)"
}

# check CODE FILE PATTERN args...: the exit code, and PATTERN in FILE
# ($out or $err) afterwards.
check() {
	local want=$1 file=$2 pattern=$3
	shift 3
	expect "$want" "$@" || return 0
	if ! grep -q -- "$pattern" "$file"; then
		fail "pepita $*: '$pattern' not in its $(basename "$file")"
	fi
}

check 0 "$out" 'usage: pepita uring' uring --help
check 0 "$out" 'usage: pepita uring' uring -h
check 0 "$out" 'probe' help uring
check 0 "$out" '--json' uring probe --help
check 0 "$out" '^ *uring ' --help
check 2 "$err" 'usage: pepita uring' uring
check 2 "$err" "pepita: uring: unknown command 'frobnicate'" uring frobnicate
check 2 "$err" "unknown option '--bogus'" uring probe --bogus
[ -s "$out" ] && fail "pepita uring probe --bogus: wrote to stdout"

check 0 "$out" 'usage: pepita ublk add' ublk --help
check 0 "$out" 'usage: pepita ublk' ublk list --help
check 2 "$err" 'usage: pepita ublk' ublk
check 2 "$err" "unknown verb 'frob'" ublk frob
check 2 "$err" "number from 1 to 4096" ublk add -t ram --size 1M --depth 0
check 2 "$err" "not a multiple of the 512-byte block size" ublk add -t ram --size 1000
check 2 "$err" "unknown target 'disk'" ublk add -t disk --size 1M
check 2 "$err" "needs --size" ublk add -t null
check 2 "$err" "is required for -t loop" ublk add -t loop
check 1 "$err" "$tmp/none" ublk add -t loop --file "$tmp/none"
if [ ! -e /dev/ublk-control ]; then
	check 69 "$err" 'no ublk driver' ublk add -t ram --size 1M
	# Without the driver there is no list to give: 69, as for add.
	check 69 "$err" 'pepita: ublk list: no ublk driver' ublk list
	[ -s "$out" ] && fail "pepita ublk list: wrote to stdout without a driver"
	check 69 "$err" 'no ublk driver' ublk list --json
	check 69 "$err" 'no ublk driver' ublk del --all
fi

check 2 "$err" "--size 'lots': not a size" ublk add -t ram --size lots
check 2 "$err" "--size '0': not a size" ublk add -t ram --size 0

# pepita zram: usage errors are found before any device is looked at.
check 0 "$out" 'usage: pepita zram' zram --help
check 0 "$out" 'usage: pepita zram' help zram
check 0 "$out" '--mem-limit' zram setup --help
check 2 "$err" 'usage: pepita zram' zram
check 2 "$err" "pepita: zram: unknown verb 'frob'" zram frob
check 2 "$err" "unknown option '--bogus'" zram list --bogus
check 2 "$err" "pepita: zram setup: --size 'lots': not a size" zram setup --size lots
check 2 "$err" "--size '0': must be above 0" zram setup --size 0
check 2 "$err" "--size '1Q': not a size" zram swap --size 1Q
check 2 "$err" "more than 2^64" zram setup --size 99999999999T
check 2 "$err" '--size is required' zram setup
check 2 "$err" 'a device or --find, not both' zram setup --size 1M --find 0
check 2 "$err" "'sda' is not a zram device" zram reset sda
check 2 "$err" 'pepita: zram swapoff: one device at most' zram swapoff 1 2
check 2 "$err" 'number from -1 to 32767' zram swap --size 1M --priority 40000
if [ -e /sys/block/zram0 ]; then
	# Refused before anything is written, so safe as root too.
	check 2 "$err" "unknown compression algorithm 'nope': the kernel offers .*lz" \
		zram setup --algorithm nope --size 1M
	expect 0 zram list
	grep -q '^NAME .*ALGORITHM .*DISKSIZE' "$out" || fail "zram list: no header"
	grep -q '^/dev/zram0 ' "$out" || fail "zram list: no /dev/zram0 row"
	expect 0 zram list --json
	if command -v python3 >/dev/null 2>&1; then
		if python3 -m json.tool "$out" >/dev/null &&
		   python3 - "$out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "pepita.zram.list/2", "schema"
assert doc["devices"], "the devices"
z = [d for d in doc["devices"] if d["name"] == "/dev/zram0"][0]
assert set(z["mm_stat"]) == {"orig_data_bytes", "compr_data_bytes",
    "mem_used_total_bytes", "mem_limit_bytes", "mem_used_max_bytes",
    "same_page_count", "compacted_page_count", "huge_page_count",
    "huge_page_since_reset_count"}, "mm_stat fields, nothing internal"
assert set(z["io_stat"]) == {"failed_read_count", "failed_write_count",
    "invalid_io_count", "notify_free_count"}, "io_stat fields, nothing internal"
assert isinstance(z["disksize_bytes"], int) and isinstance(z["algorithms"], list)
PY
		then
			echo "ok: pepita zram list --json parses"
		else
			fail "zram list --json: not the expected JSON document"
		fi
	fi
elif [ ! -e /sys/class/zram-control ]; then
	expect 0 zram list
	[ -s "$out" ] && fail "pepita zram list: devices listed without zram"
fi

# pepita bench simd: a forced tier this CPU cannot run and an unknown one
# are refused (exit 2, the reason on stderr) before any kernel runs; the
# foreign tier is chosen from the architecture `pepita info` reports, so
# the check holds under qemu-user too.
check 0 "$out" 'usage: pepita bench simd' bench simd --help
check 0 "$out" 'usage: pepita bench' help bench
check 2 "$err" 'usage: pepita bench' bench
check 2 "$err" "pepita: bench: unknown benchmark 'frob'" bench frob
check 2 "$err" "unknown option '--bogus'" bench simd --bogus
p info
case $(sed -n 's/^architecture: *//p' "$out") in
aarch64) foreign=avx512 ;;
*) foreign=neon ;;
esac
PEPITA_SIMD=$foreign check 2 "$err" "^pepita: bench simd: PEPITA_SIMD=$foreign refused: .*$foreign" \
	bench simd --quick
[ -s "$out" ] && fail "PEPITA_SIMD=$foreign pepita bench simd: wrote to stdout"
PEPITA_SIMD=bogus check 2 "$err" "unknown SIMD tier 'bogus' (scalar, sse4, avx2, avx512, neon)" \
	bench simd --quick
check 0 "$out" '^tier: *[a-z0-9]' bench simd --quick
grep -Eq '^fma peak: +[0-9.]+ GFLOP/s' "$out" || fail "bench simd --quick: no fma peak line"
grep -Eq '^ +n=[0-9]+ +t=1 +[0-9.]+ GFLOP/s' "$out" || fail "bench simd --quick: no sgemm line"
PEPITA_SIMD=scalar check 0 "$out" '^tier: *scalar$' bench simd --quick
expect 0 bench simd --quick --json
if ! command -v python3 >/dev/null 2>&1; then
	echo "note: no python3: bench simd --json not parsed"
elif python3 - "$out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "pepita.bench.simd/2", "schema"
assert doc["tier"] in ("scalar", "sse4", "avx2", "avx512", "neon"), "tier"
assert doc["thread_count"] >= 1, "thread_count"
assert doc["fma_peak_gflops"] > 0, "fma_peak_gflops"
assert doc["mem_read_gb_per_s"] > 0 and doc["mem_copy_gb_per_s"] > 0, "bandwidth"
vec = doc["vector"]
assert vec["element_count"] > 0, "vector element_count"
assert set(vec["kernels"]) == {"vadd", "vdot", "vsum", "vscale",
    "vaxpy", "vexp", "softmax"}, "vector kernels"
assert all(k["gb_per_s"] > 0 and k["bandwidth_percent"] > 0 and
           k["bandwidth"] in ("read", "copy") for k in vec["kernels"].values())
assert vec["kernels"]["vdot"]["bandwidth"] == "read", "vdot is read-bound"
assert set(doc["qdot"]["kernels"]) == {"q4_0_q8_0", "q8_0_q8_0", "q4_K_q8_K"}
assert len(doc["convert"]["kernels"]) == 4, "conversions"
assert all(k["gelem_per_s"] > 0 for part in ("convert", "qdot")
           for k in doc[part]["kernels"].values()), "gelem_per_s"
gemm = doc["sgemm"]
assert [g["thread_count"] for g in gemm][:2] == [1, doc["thread_count"]], "sgemm"
assert gemm[0]["row_count"] == gemm[1]["row_count"] > 0, "sgemm row_count"
assert all(g["gflops"] > 0 and g["peak_percent"] > 0 for g in gemm), "sgemm"
v = doc["sgemv"]
assert v["row_count"] > 0 and v["column_count"] > 0, "sgemv size"
assert v["gb_per_s"] > 0 and v["bandwidth_percent"] > 0, "sgemv"
PY
then
	echo "ok: pepita bench simd --quick --json parses"
else
	fail "bench simd --quick --json: not the expected JSON document"
fi

p uring probe
probe_rc=$rc
case $probe_rc in
0)
	grep -q '^kernel: ' "$out" || fail "uring probe: no kernel line"
	grep -Eq '^ +0 NOP +yes$' "$out" || fail "uring probe: NOP not listed as supported"
	grep -Eq '^ +46 URING_CMD +(yes|no)$' "$out" || fail "uring probe: no URING_CMD row"
	[ -s "$err" ] && fail "uring probe: wrote to stderr: $(head -c 400 "$err")"
	echo "ok: pepita uring probe (exit 0)"
	;;
69)
	grep -q '^pepita: uring probe: .*io_uring' "$err" ||
		fail "uring probe exit 69 without a reason on stderr"
	echo "note: io_uring unavailable here: $(cat "$err")"
	;;
*)
	fail "pepita uring probe: exit $probe_rc; stderr: $(head -c 400 "$err")"
	;;
esac

p uring probe --json
if [ "$rc" -ne "$probe_rc" ]; then
	fail "uring probe --json: exit $rc, text probe exited $probe_rc"
elif [ "$rc" -eq 69 ]; then
	[ -s "$out" ] && fail "uring probe --json: exit 69 but wrote to stdout"
elif ! command -v python3 >/dev/null 2>&1; then
	echo "note: no python3: --json not parsed"
elif python3 - "$out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "pepita.uring.probe/2", "schema"
assert isinstance(doc["kernel"], str) and doc["kernel"], "kernel"
assert isinstance(doc["last_op"], int), "last_op"
assert isinstance(doc["features_raw"], int), "features_raw"
assert doc["features"]["single_mmap"] is True, "features.single_mmap"
assert set(doc["setup_flags"]) == {"sqe128", "single_issuer", "coop_taskrun",
                                   "defer_taskrun", "sqpoll"}, "setup_flags"
ops = doc["opcodes"]
assert [o["op"] for o in ops] == list(range(len(ops))), "opcodes in order"
assert ops[0] == {"op": 0, "name": "NOP", "supported": True}, "NOP"
assert ops[46]["name"] == "URING_CMD", "URING_CMD"
assert len(ops) > doc["last_op"], "every opcode the kernel knows"
assert not any(o["supported"] for o in ops[doc["last_op"] + 1:]), "beyond last_op"
PY
then
	echo "ok: pepita uring probe --json parses"
else
	fail "uring probe --json: not the expected JSON document"
fi

# The shared front end (cli/cli.c), as every pepita level uses it: -V,
# "did you mean" at every level, a missing option value named as such,
# `help <command> <verb>`, the verbs listed by --help.
p --version
version=$(cat "$out")
check 0 "$out" "^$version\$" -V
check 2 "$err" "^pepita: unknown command 'zarm'; did you mean 'zram'?" zarm
check 2 "$err" "^pepita: zram: unknown verb 'setpu'; did you mean 'setup'?" zram setpu
check 2 "$err" "^pepita: ublk: unknown verb 'lst'; did you mean 'list'?" ublk lst
check 2 "$err" "^pepita: uring: unknown command 'prboe'; did you mean 'probe'?" uring prboe
check 2 "$err" "^pepita: unknown command 'xyzzy'$" xyzzy
grep -q 'did you mean' "$err" && fail "pepita xyzzy: suggested a command 2+ edits away"
check 2 "$err" "^pepita: zram setup: option --size needs a value" zram setup --size
check 2 "$err" "^pepita: zram swap: option --priority needs a value" zram swap --size 1M --priority
check 2 "$err" "^pepita: ublk add: option --size needs a value" ublk add -t ram --size
check 2 "$err" "^pepita: ublk add: option -t needs a value" ublk add -t
check 2 "$err" "^pepita: info: option '--json' takes no value" info --json=yes
check 2 "$err" "^pepita: zram setup: --priority is not an option of setup" zram setup --size 1M --priority 3
grep -q "See 'pepita zram setup --help'" "$err" || fail "zram setup --priority: no --help hint"
check 0 "$out" 'usage: pepita zram' help zram setup
check 0 "$out" '^ *probe  *what this kernel' uring --help
check 0 "$out" 'usage: pepita ublk' ublk del --help
check 0 "$out" 'usage: pepita zram' zram reset --help

# zram swap takes --reset, as setup does (checked here without touching a
# device: the bad priority after it is what is refused).
check 2 "$err" "^pepita: zram swap: --priority: '40000' is not a whole number from -1 to 32767" \
	zram swap --size 1M --reset --priority 40000
check 0 "$out" 'swap .*--reset' zram --help

# Exit codes: a zram device that does not exist is a failure (1) where
# zram exists, 69 (naming the module) where it does not; a bad name is 2.
if [ -e /sys/class/zram-control ] || [ -e /sys/block/zram0 ]; then
	check 1 "$err" "no such zram device" zram reset 1048000
	check 1 "$err" "no such zram device" zram swapoff zram1048000
else
	check 69 "$err" "zram module" zram reset 1048000
fi
check 2 "$err" "'zramx' is not a zram device" zram remove zramx

# pepita info shows the SIMD tier: the best, the one PEPITA_SIMD forces,
# or why PEPITA_SIMD was refused.
check 0 "$out" '^simd tier: *[a-z0-9]* (the best here)$' info
cp "$out" "$tmp/info-best.txt"
PEPITA_SIMD=scalar check 0 "$out" '^simd tier: *scalar (forced by PEPITA_SIMD; the best here: ' info
PEPITA_SIMD=$foreign check 0 "$out" "^simd tier: *none: PEPITA_SIMD=$foreign refused: " info

# The same in info --json (pepita.info/2), with the text's tier beside it.
text_tier=$(sed -n 's/^simd tier: *\([a-z0-9]*\) (the best here)$/\1/p' "$tmp/info-best.txt" 2>/dev/null)
expect 0 info --json && cp "$out" "$tmp/info-best.json"
PEPITA_SIMD=scalar expect 0 info --json && cp "$out" "$tmp/info-scalar.json"
PEPITA_SIMD=$foreign expect 0 info --json && cp "$out" "$tmp/info-refused.json"
if ! command -v python3 >/dev/null 2>&1; then
	echo "note: no python3: info --json not parsed"
elif python3 - "$tmp" "$foreign" "$text_tier" <<'PY'
import json, os, sys
tmp, foreign, text_tier = sys.argv[1:]
load = lambda n: json.load(open(os.path.join(tmp, "info-%s.json" % n)))
best, scalar, refused = load("best"), load("scalar"), load("refused")
TIERS = ("scalar", "sse4", "avx2", "avx512", "neon")
for d in (best, scalar, refused):
    assert d["schema"] == "pepita.info/2", "schema"
    assert d["arch"] in ("x86_64", "aarch64") and d["version"], "arch, version"
    assert d["cpu_features"] and all(isinstance(v, bool)
        for v in d["cpu_features"].values()), "cpu_features"
    assert d["online_cpu_count"] is None or d["online_cpu_count"] > 0, "cpus"
    assert "online_cpus" not in d, "the old key"
    assert d["simd"]["best_tier"] in TIERS, "best_tier"
s = best["simd"]
assert s["tier"] == s["best_tier"] == text_tier, "best: %r, text %r" % (s, text_tier)
assert s["forced"] is None and s["refused"] is None, "best: %r" % s
s = scalar["simd"]
assert s["tier"] == "scalar" and s["forced"] == "scalar", "scalar: %r" % s
assert s["refused"] is None, "scalar: %r" % s
s = refused["simd"]
assert s["tier"] is None and s["forced"] == foreign, "refused: %r" % s
assert s["refused"].startswith("PEPITA_SIMD=%s refused: " % foreign), s
PY
then
	echo "ok: pepita info --json: the tier, forced and refused"
else
	fail "info --json: not the expected document"
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
if [ "$probe_rc" -eq 69 ]; then
	echo "SKIP: uring probe: io_uring unavailable here (other checks passed)"
	exit 77
fi
exit 0
