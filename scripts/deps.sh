#!/bin/bash
# Install the Debian/Ubuntu packages that building (and, with --test,
# testing) pepita + cohete needs. Idempotent: when everything is present it
# prints "deps: all present" and returns in well under a second.
#
#   scripts/deps.sh          build dependencies
#   scripts/deps.sh --test   also the test/CI set (cross toolchain, qemu,
#                            clang + its sanitizer runtime, valgrind, the
#                            test VM's set below, llama.cpp's quantizer
#                            through scripts/fetch-llama.sh and its
#                            llama-server through scripts/build-llama-server.sh)
#   scripts/deps.sh --vm     the test VM's set only: qemu, busybox-static,
#                            Debian's linux-source-6.1 and what building a
#                            kernel needs (x86-64 Debian hosts)
#
# Works on Debian 12 and Ubuntu 22.04/24.04 (incl. NVIDIA L4T on Jetson).
# On an aarch64 host the arm64 cross set is not needed and is skipped.
set -eu

export DEBIAN_FRONTEND=noninteractive

BASE_PKGS="meson ninja-build pkg-config gcc libjansson-dev liburing-dev liblz4-dev libzstd-dev libmicrohttpd-dev libncurses-dev libyaml-dev libavahi-client-dev libudev-dev libcurl4-openssl-dev python3"
# libopenblas-dev, libblis-dev: bench/simd's anchors (dlopen at run time).
# libunistring-dev: `pkg-config --static cohete` names -lunistring (through
# libmicrohttpd's gnutls), which tests/install.sh links against; so do
# libnghttp2-dev librtmp-dev libssh2-1-dev libpsl-dev libkrb5-dev
# libldap2-dev for libcurl's.
# zsh, mandoc: tests/completion.sh's zsh part, tests/man.sh's lint.
# mmdebstrap: scripts/fresh-root-check.sh (make run on a fresh Debian 12 root).
# jq, curl: tests/readme.sh runs the README's jq and curl examples.
# avahi-daemon, dbus, iproute2: the mDNS discovery test (namespaces with
# their own daemons); umockdev: the USB discovery test; python3-jsonschema:
# an independent check of `cohete config schema`. cmake, git, python3-numpy:
# building llama-server from source and the tiny models its tests run
# (scripts/build-llama-server.sh, tests/tools/tiny-gguf.py). nginx-light: the web
# server the fleet build's downloads are tested against. rsync: one of
# `cohete deploy`'s two ways to copy a model (the deploy suite uses both).
TEST_PKGS="avahi-daemon dbus iproute2 umockdev python3-jsonschema clang valgrind mmdebstrap tmux prometheus libunistring-dev libtbb-dev g++ openssh-server openssh-client parallel libopenblas-dev libblis-dev zsh mandoc jq curl cmake git python3-numpy nginx-light rsync libnghttp2-dev librtmp-dev libssh2-1-dev libpsl-dev libkrb5-dev libldap2-dev"
CROSS_PKGS="gcc-aarch64-linux-gnu qemu-user-static libc6-dev:arm64 libjansson-dev:arm64 liburing-dev:arm64 libmicrohttpd-dev:arm64 libncurses-dev:arm64 liblz4-dev:arm64 libzstd-dev:arm64 libyaml-dev:arm64 libavahi-client-dev:arm64 libudev-dev:arm64 libcurl4-openssl-dev:arm64"
VM_PKGS="qemu-system-x86 busybox-static linux-source-6.1 make flex bison bc libelf-dev cpio xz-utils e2fsprogs fio"

usage() {
	echo "usage: $0 [--test | --vm]" >&2
	exit 2
}

want_test=0
want_vm=0
for arg in "$@"; do
	case "$arg" in
	--test) want_test=1; want_vm=1 ;;
	--vm) want_vm=1 ;;
	-h|--help) echo "usage: $0 [--test | --vm]"; exit 0 ;;
	*) usage ;;
	esac
done

all_args="$*"
here=$(cd "$(dirname "$0")" && pwd)
srcroot=$(dirname "$here")

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi

native=$(dpkg --print-architecture)

die() {
	echo "deps: $*" >&2
	exit 1
}

need_root() {
	if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
		die "not root and sudo not found; run as root: $0 $all_args"
	fi
}

# Print the packages of "$@" that are not "install ok installed". An
# unqualified name matches the native architecture (Multi-Arch: same
# packages are listed as name:arch by dpkg-query).
missing_of() {
	local status p
	status=$(dpkg-query -W -f='${binary:Package}\t${Status}\n' "$@" 2>/dev/null || true)
	for p in "$@"; do
		if ! printf '%s\n' "$status" | grep -q -x -F \
			-e "$p	install ok installed" \
			-e "$p:$native	install ok installed"; then
			printf '%s ' "$p"
		fi
	done
}

apt_updated=0
apt_update() {
	if [ "$apt_updated" -eq 0 ]; then
		echo "deps: apt-get update"
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
		apt_updated=1
	fi
}

apt_install() {
	echo "deps: installing: $*"
	$SUDO env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

enable_arm64() {
	if dpkg --print-foreign-architectures | grep -q -x arm64; then
		return 0
	fi
	echo "deps: dpkg --add-architecture arm64"
	$SUDO dpkg --add-architecture arm64
	apt_updated=0
}

# meson.build's meson_version; Ubuntu 22.04 (L4T R36) ships 0.61, too old:
# fall back to pip for the invoking user (Makefile puts ~/.local/bin first).
meson_min=$(sed -n "s/.*meson_version:[[:space:]]*'>=[[:space:]]*\([0-9.]*\)'.*/\1/p" \
	"$srcroot/meson.build" 2>/dev/null | head -n1)
meson_min=${meson_min:-0.63}

meson_too_old() {
	local v
	v=$(PATH="${HOME:-/nonexistent}/.local/bin:$PATH" meson --version 2>/dev/null) || return 1
	dpkg --compare-versions "$v" lt "$meson_min"
}

installed_any=0

# 1. Packages by name.
pkgs=$BASE_PKGS
if [ "$want_test" -eq 1 ]; then
	pkgs="$pkgs $TEST_PKGS"
	# shellcheck disable=SC1091
	distro=$(. /etc/os-release && echo "${ID:-}")
	if [ "$native" = arm64 ]; then
		:	# a Jetson: no cross toolchain needed, suite cross skips
	elif [ "$distro" = ubuntu ]; then
		# Ubuntu serves arm64 from another mirror (ports); we do not
		# rewrite a machine's apt sources, so the cross suite skips.
		echo "deps: Ubuntu on $native: arm64 cross packages not installed" \
		     "(the cross suite will skip)"
	else
		pkgs="$pkgs $CROSS_PKGS"
	fi
fi
# The test VM runs an x86-64 Debian 12 kernel source; elsewhere suite vm
# skips (the kernel tests still run natively in suite host).
if [ "$want_vm" -eq 1 ]; then
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	if [ "$native" = amd64 ] && [ "$codename" = bookworm ]; then
		pkgs="$pkgs $VM_PKGS"
	else
		echo "deps: test VM packages are for x86-64 Debian 12 (suite vm will skip)"
	fi
fi
# shellcheck disable=SC2086
missing=$(missing_of $pkgs)
if [ -n "$missing" ]; then
	need_root
	case " $missing" in
	*:arm64*) enable_arm64 ;;
	esac
	apt_update
	# shellcheck disable=SC2086
	apt_install $missing
	installed_any=1
fi

# 2. clang's sanitizer/libFuzzer runtime: libclang-rt-N-dev on Debian 12 and
# Ubuntu 24.04; on Ubuntu 22.04 it ships inside libclang-common-14-dev.
if [ "$want_test" -eq 1 ]; then
	major=$(clang --version 2>/dev/null |
		sed -n 's/.*clang version \([0-9][0-9]*\)\..*/\1/p' | head -n1)
	[ -n "$major" ] || die "clang --version did not give a version"
	rt_have=0
	if [ -z "$(missing_of "libclang-rt-$major-dev")" ]; then
		rt_have=1
	else
		for f in /usr/lib/llvm-"$major"/lib/clang/*/lib/linux/libclang_rt.asan-*.a \
			 /usr/lib/llvm-"$major"/lib/clang/*/lib/*/libclang_rt.asan.a; do
			if [ -f "$f" ]; then rt_have=1; break; fi
		done
	fi
	if [ "$rt_have" -eq 0 ]; then
		need_root
		rt_pkg=
		for _ in 1 2; do
			for p in "libclang-rt-$major-dev" libclang-rt-dev; do
				cand=$(apt-cache policy "$p" 2>/dev/null |
					awk '/Candidate:/ { print $2 }')
				if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
					rt_pkg=$p
					break 2
				fi
			done
			[ "$apt_updated" -eq 1 ] && break
			apt_update
		done
		if [ -n "$rt_pkg" ]; then
			apt_install "$rt_pkg"
			installed_any=1
		else
			echo "deps: warning: no clang runtime package for clang $major" \
			     "(ASan/libFuzzer with clang unavailable)" >&2
		fi
	fi
fi

# 3. A meson new enough for meson.build.
if meson_too_old; then
	if [ -n "$(missing_of python3-pip)" ]; then
		need_root
		apt_update
		apt_install python3-pip
	fi
	echo "deps: installing: meson>=$meson_min (pip --user; distribution meson is older)"
	python3 -m pip install --user -q "meson>=$meson_min"
	installed_any=1
fi

# 4. llama.cpp's quantizer, the reference of test cohete-quant-llama and
# the anchor of bench/quant (no package: the npm registry's build, cached
# under ~/.cache). Not fatal: without it that test skips and says why.
if [ "$want_test" -eq 1 ]; then
	if ! "$here/fetch-llama.sh" >/dev/null; then
		echo "deps: warning: llama.cpp's libllama not fetched" \
		     "(test cohete-quant-llama will skip)" >&2
	fi
fi

# 5. llama.cpp's llama-server, the engine the engine-llama test and the
# deploy end-to-end suite run: no package has it, so it is built from the
# source in the npm registry's node-llama-cpp, once (about 5 minutes on 2
# cores), and cached under ~/.cache. Not fatal: those tests skip and say why.
if [ "$want_test" -eq 1 ]; then
	if ! "$here/build-llama-server.sh" >/dev/null; then
		echo "deps: warning: llama-server not built" \
		     "(tests engine-llama and e2e-deploy will skip)" >&2
	fi
fi

if [ "$installed_any" -eq 0 ]; then
	echo "deps: all present"
fi
