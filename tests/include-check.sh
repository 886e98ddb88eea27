#!/bin/bash
# The include check (scripts/check-includes.py, a build step) passes on the
# tree with the modules' own declarations, and fails, naming the file, the
# line and the module, on a copy where a module includes the header of one
# it did not declare, includes another library's umbrella, or where the
# declarations form a cycle.
#
#   include-check.sh SRCROOT LIB/MODULE=USES ...   (tests/meson.build)
# Exit: 0 pass, 1 fail, 99 not set up.
set -u
root=${1:?usage: include-check.sh SRCROOT DECL...}
shift
check=$root/scripts/check-includes.py
[ -x "$check" ] && [ $# -gt 0 ] || exit 99
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_fail WHAT PATTERN ROOT DECL...: the check fails, saying PATTERN.
expect_fail() {
	local what=$1 pattern=$2 dir=$3
	shift 3
	if "$check" "$dir" "$@" 2>"$tmp/err"; then
		fail "$what: the check passed"
	elif ! grep -qF -- "$pattern" "$tmp/err"; then
		fail "$what: no '$pattern' in: $(cat "$tmp/err")"
	else
		echo "ok: $what: $(head -1 "$tmp/err")"
	fi
}

if "$check" "$root" --stamp "$tmp/stamp" "$@" 2>"$tmp/err" && [ -s "$tmp/stamp" ]; then
	echo "ok: the tree passes"
else
	fail "the tree: $(cat "$tmp/err")"
fi

# A copy of the tree's sources and headers to break.
mkdir -p "$tmp/tree" && cp -a "$root/src" "$root/include" "$tmp/tree/" || exit 99
victim=$tmp/tree/src/pepita/sched/sched.c
line=$(($(wc -l <"$victim") + 1))
cp "$victim" "$tmp/sched.c"
echo '#include <pepita/zram.h>' >>"$victim"
expect_fail "an undeclared module's header" \
	"src/pepita/sched/sched.c:$line: #include <pepita/zram.h>: pepita/sched does not declare pepita/zram" \
	"$tmp/tree" "$@"
cp "$tmp/sched.c" "$victim"
echo '#include "zram/zram_priv.h"' >>"$victim"
expect_fail "an undeclared module's private header" \
	"pepita/sched does not declare pepita/zram" "$tmp/tree" "$@"
cp "$tmp/sched.c" "$victim"
echo '#include <pepita/pepita.h>' >>"$victim"
expect_fail "the umbrella header" "an umbrella header" "$tmp/tree" "$@"
cp "$tmp/sched.c" "$victim"
echo '#include <cohete/device.h>' >>"$tmp/tree/include/pepita/sched.h"
expect_fail "a public header" "include/pepita/sched.h" "$tmp/tree" "$@"
cp "$root/include/pepita/sched.h" "$tmp/tree/include/pepita/sched.h"

# Declarations alone: a cycle, and a module that does not exist.
decls=()
for d in "$@"; do
	case $d in
	pepita/core=*) decls+=("pepita/core=sched") ;;
	*) decls+=("$d") ;;
	esac
done
expect_fail "a cycle" "modules use each other in a cycle: pepita/core -> pepita/sched -> pepita/core" \
	"$tmp/tree" "${decls[@]}"
expect_fail "an unknown module" "uses pepita/nosuch, which is no module" \
	"$tmp/tree" "$@" "pepita/template=core,nosuch"

# And the broken copy, mended, passes again.
if "$check" "$tmp/tree" "$@" 2>"$tmp/err"; then
	echo "ok: the mended copy passes"
else
	fail "the mended copy: $(cat "$tmp/err")"
fi
[ $failures -eq 0 ]
