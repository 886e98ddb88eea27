#!/bin/bash
# The README's first promise, checked from nothing: on a fresh Debian 12
# root that has only make (what a user types `make run` with) and this
# source tree, `make run` installs what it needs, builds, and prints the
# status; and it installs none of the test packages.
#
#   scripts/fresh-root-check.sh [SUITE]     (default: bookworm)
#
# Needs root, mmdebstrap (scripts/deps.sh --test) and Debian's archive.
# The root is made with mmdebstrap in a temporary directory, gets this tree
# as git sees it (tracked and untracked files, not ignored ones: no build
# directory), and is removed on exit. Prints one "fresh-root: ..." verdict
# line; exit 0 pass, 1 fail, 77 skip (with the reason).
set -euo pipefail

srcroot=$(cd "$(dirname "$0")/.." && pwd)
suite=${1:-bookworm}

skip() { echo "SKIP: fresh-root: $*"; exit 77; }
fail() { echo "fresh-root: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root (mmdebstrap, chroot)"
command -v mmdebstrap >/dev/null 2>&1 || skip "no mmdebstrap (scripts/deps.sh --test installs it)"
command -v unshare >/dev/null 2>&1 || skip "no unshare (util-linux)"
# shellcheck disable=SC1091
distro=$(. /etc/os-release && echo "${ID:-}")
[ "$distro" = debian ] || skip "makes a Debian root from Debian's archive; this machine runs $distro"

root=$(mktemp -d "${TMPDIR:-/var/tmp}/pepita-fresh-root.XXXXXX")
trap 'rm -rf --one-file-system "$root"' EXIT

start=$SECONDS
echo "fresh-root: mmdebstrap --variant=minbase --include=make $suite"
mmdebstrap --quiet --variant=minbase --include=make "$suite" "$root" ||
	fail "mmdebstrap could not make a $suite root"

mkdir -p "$root/src"
(cd "$srcroot" && git ls-files -z --cached --others --exclude-standard |
	tar --null -T - -cf -) | tar -xf - -C "$root/src"

log=$root/make-run.log
set +e
# A private mount namespace: the root's proc, sys and dev go away with it.
unshare --mount --propagation private -- /bin/bash -c '
	set -e
	root=$1
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
	exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 /bin/bash -c "cd /src && make run"
' fresh-root "$root" > "$log" 2>&1
rc=$?
set -e
tail -n 40 "$log"
[ "$rc" -eq 0 ] || fail "make run exited $rc on a fresh $suite root (log above)"
grep -q '^Kernel ' "$log" || fail "make run printed no status (no Kernel line)"
for f in bin/busybox usr/bin/qemu-system-x86_64 usr/bin/clang; do
	[ ! -e "$root/$f" ] || fail "make run installed a test tool: /$f"
done
echo "fresh-root: ok: make run on a fresh $suite root built and printed the status in $((SECONDS - start))s"
