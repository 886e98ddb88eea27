#!/bin/bash
# Build a libFuzzer target with clang (ASan + UBSan) and run it for a bounded
# time over its corpus. Run by the meson test `fuzz-<target>` (suite fuzz).
#
#   scripts/fuzz.sh SRCDIR WORKDIR TARGET SECONDS
#
# Exit: 0 no crash, 1 a crash (the reproducer is left in WORKDIR), 77 when
# clang or its libFuzzer runtime is missing (scripts/deps.sh --test).
set -eu

if [ $# -ne 4 ]; then
	echo "usage: $0 SRCDIR WORKDIR TARGET SECONDS" >&2
	exit 99
fi
src=$(cd "$1" && pwd)
work=$2
target=$3
seconds=$4

command -v clang >/dev/null 2>&1 || { echo "SKIP: clang not found"; exit 77; }
mkdir -p "$work/corpus-$target"
probe=$work/probe.c
echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' > "$probe"
if ! clang -fsanitize=fuzzer "$probe" -o "$work/probe" 2>/dev/null; then
	echo "SKIP: clang has no libFuzzer runtime (libclang-rt-dev)"
	exit 77
fi

python3 "$src/scripts/gen-tables.py" "$src/data/jetson-modules.tsv" \
	"$src/data/l4t-jetpack.tsv" "$work/tables.c"
printf '#define PEP_VERSION_STRING "fuzz"\n' > "$work/pepita-version.h"

# Every library source with coverage, so the fuzzer sees inside the parsers.
sources=$(ls "$src"/src/pepita/*/*.c "$src"/src/cohete/*/*.c)
# shellcheck disable=SC2086
clang -g -O1 -std=gnu17 -D_GNU_SOURCE -DCOH_BUILDING_LIBRARY -DPEP_BUILDING_LIBRARY \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$src/include" -I"$src/src/cohete" -I"$src/src/pepita" -I"$work" \
	-I"$src/tests" \
	$sources "$work/tables.c" "$src/tests/fuzz/$target.c" \
	-ljansson -lmicrohttpd -luring -llz4 -lzstd -lpthread -o "$work/fuzz-$target"

cd "$work"
echo "fuzz-$target: ${seconds}s over $src/tests/fuzz/corpus/$target"
"./fuzz-$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
	-print_final_stats=1 "corpus-$target" "$src/tests/fuzz/corpus/$target"
