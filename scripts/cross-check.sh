#!/bin/bash
# The `aarch64` test (suite cross) of the native build: configure (once),
# build and test an aarch64 cross build in a sibling directory of the native
# build dir (BUILDDIR/../build-aarch64), running the unit and fixture suites
# under qemu-aarch64-static.
#
#   scripts/cross-check.sh SRCDIR BUILDDIR
#
# Exit: 0 all passed (skips allowed), 1 a failure, 77 skipped (the host is
# already aarch64, or the cross toolchain / qemu / arm64 jansson is missing:
# scripts/deps.sh --test installs them).
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 SRCDIR BUILDDIR" >&2
	exit 99
fi

srcdir=$(cd "$1" && pwd)
builddir=$(cd "$2" && pwd)
xdir=$(dirname "$builddir")/build-aarch64
crossfile=$srcdir/scripts/cross/aarch64-linux-gnu.ini
jansson_pc=/usr/lib/aarch64-linux-gnu/pkgconfig/jansson.pc

# A stale log from an earlier run must not be counted by test-summary.py.
rm -f "$xdir/meson-logs/testlog.json"

skip() {
	echo "SKIP: $*"
	exit 77
}

case "$(uname -m)" in
aarch64|arm64) skip "host is already aarch64; the native build covers it" ;;
esac
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 ||
	skip "aarch64-linux-gnu-gcc not found (apt-get install gcc-aarch64-linux-gnu)"
command -v qemu-aarch64-static >/dev/null 2>&1 ||
	skip "qemu-aarch64-static not found (apt-get install qemu-user-static)"
[ -f "$jansson_pc" ] ||
	skip "no $jansson_pc (apt-get install libjansson-dev:arm64)"

fail() {
	echo "cross-check: $*" >&2
	exit 1
}

if [ ! -f "$xdir/build.ninja" ]; then
	# shellcheck disable=SC2086  # MESON_SETUP_ARGS is a word list (Makefile)
	meson setup --cross-file "$crossfile" ${MESON_SETUP_ARGS:-} "$xdir" "$srcdir" ||
		fail "meson setup of $xdir failed"
else
	case " ${MESON_SETUP_ARGS:-} " in
	*" --werror "*) meson configure "$xdir" -Dwerror=true ||
		fail "meson configure of $xdir failed" ;;
	esac
fi
ninja -C "$xdir" || fail "aarch64 build failed"
meson test -C "$xdir" --suite unit --suite fixture --print-errorlogs ||
	fail "aarch64 unit/fixture tests failed (see $xdir/meson-logs/testlog.txt)"
exit 0
