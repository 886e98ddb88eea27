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
python3 "$src/scripts/gen-usb-ids.py" "$src/data/jetson-usb.tsv" "$work/usb_ids.c"
printf '#define PEP_VERSION_STRING "fuzz"\n' > "$work/pepita-version.h"

cflags=(-g -O1 -std=gnu17 -D_GNU_SOURCE -DCOH_BUILDING_LIBRARY
	-DPEP_BUILDING_LIBRARY -fsanitize=fuzzer-no-link,address,undefined
	-fno-sanitize-recover=undefined -I"$src/include" -I"$src/src/cohete"
	-I"$src/src/pepita" -I"$work" -I"$src/tests")

sources=$(ls "$src"/src/pepita/*/*.c "$src"/src/cohete/*/*.c |
	grep -Ev '/simd/([a-z]+_(scalar|sse4|avx2|avx512|neon)|peak)\.c$|/quant/lanes\.c$')

# The libraries' objects are the same for every target: built once into
# WORKDIR/lib-KEY, KEY a digest of every source, header and flag, so the
# targets the fuzz suite runs one after the other compile them once (and a
# change anywhere builds them afresh).
key=$( { cat "$src"/include/*/*.h "$src"/src/*/*.h "$src"/src/*/*/*.h \
	"$src"/src/*/*/*.c "$work/tables.c" "$work/usb_ids.c"
	echo "${cflags[*]} $(clang --version | head -n 1)"; } 2>/dev/null |
	sha256sum | cut -c1-16)
lib=$work/lib-$key

# The SIMD tier files need their own instruction flags (as in
# src/pepita/meson.build): one object each; other architectures' skipped.
# The SIMD tiers as src/pepita/simd/meson.build builds them: each tier's
# files (scalar too) and peak.c with the tier's flags, name and width, and
# cohete's lanes.c once per vector tier.
tier_flags() {
	case "$(uname -m):$1" in
	*:scalar) echo "" ;;
	x86_64:sse4) echo "-msse4.1" ;;
	x86_64:avx2) echo "-mavx2 -mfma -mf16c" ;;
	x86_64:avx512) echo "-mavx512f -mavx512bw -mavx512vl -mavx2 -mfma -mf16c" ;;
	aarch64:neon) echo "" ;;
	*) return 1 ;;
	esac
}
tier_width() {
	case $1 in scalar) echo 1 ;; avx512) echo 16 ;; avx2) echo 8 ;; *) echo 4 ;; esac
}

build_lib() {
	local out=$1 tier flags f
	mkdir -p "$out"
	for tier in scalar sse4 avx2 avx512 neon; do
		flags=$(tier_flags "$tier") || continue
		flags="$flags -DPEP_SIMD_TIER=$tier -DPEP_SIMD_WIDTH=$(tier_width "$tier")"
		for f in "$src"/src/pepita/simd/*_"$tier".c "$src/src/pepita/simd/peak.c"; do
			# shellcheck disable=SC2086
			clang "${cflags[@]}" $flags -c "$f" -o "$out/simd-$(basename "$f" .c)_$tier.o"
		done
		[ "$tier" = scalar ] && continue
		# shellcheck disable=SC2086
		clang "${cflags[@]}" $flags -ffp-contract=off \
			-c "$src/src/cohete/quant/lanes.c" -o "$out/simd-lanes_$tier.o"
	done
	# Two compilers at a time: the machines have two cores or more.
	printf '%s\n' $sources "$work/tables.c" "$work/usb_ids.c" |
		xargs -P "$(nproc)" -I{} sh -c \
			'f=$1; shift; o=$(echo "$f" | tr / _); exec "$@" -c "$f" -o "'"$out"'/$o.o"' \
			sh {} clang "${cflags[@]}"
}

if [ ! -d "$lib" ]; then
	rm -rf "$work"/lib-* "$work/simd"
	build_lib "$lib.tmp"
	mv "$lib.tmp" "$lib"
fi
clang "${cflags[@]}" -fsanitize=fuzzer "$lib"/*.o "$src/tests/fuzz/$target.c" \
	-ljansson -lmicrohttpd -luring -llz4 -lzstd -lyaml -ludev \
	-lavahi-client -lavahi-common -lcurl -lm -lpthread -o "$work/fuzz-$target"

cd "$work"
echo "fuzz-$target: ${seconds}s over $src/tests/fuzz/corpus/$target"
"./fuzz-$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
	-print_final_stats=1 "corpus-$target" "$src/tests/fuzz/corpus/$target"
