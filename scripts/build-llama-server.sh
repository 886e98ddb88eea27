#!/bin/bash
# Build llama.cpp's llama-server, the inference engine `cohete deploy`
# starts, for the tests that run it (engine-llama, the deploy end-to-end
# suite). llama.cpp has no Debian package and no registry ships its
# executables; the npm package node-llama-cpp carries its complete source
# as a git bundle. Pinned by version and SHA-256 (the package's and the
# bundle's), built offline, CPU only, once: cached by the bundle's digest.
#
#   scripts/build-llama-server.sh [DIR]
#   scripts/build-llama-server.sh --where    print DIR; exit 0 when it is
#                                            complete, 1 when not (builds nothing)
#
# DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/cohete/llama-server-HEX (HEX:
# 16 hex digits of the bundle's SHA-256), where the tests look (or set
# COHETE_LLAMA_SERVER_DIR). It holds bin/llama-server, gguf-py/ (llama.cpp's
# GGUF writer, which tests/tools/tiny-gguf.py uses), models/ with the
# vocab-only ggml-vocab-llama-spm.gguf, LICENSE and BUILD-INFO. Prints DIR;
# nothing to do when it is complete. Built in a temporary directory and
# renamed into place: an interrupted build leaves nothing behind.
#
# NODE_LLAMA_CPP_TGZ=FILE uses a local copy of the package (checked
# against the same SHA-256) instead of the registry's.
#
# Portable within the build machine's kind: GGML_NATIVE=OFF (no -march=
# native); on x86-64 ggml's baseline is then AVX2, FMA, F16C and BMI2.
# Libraries are static; the executable needs only libc, libstdc++ and
# libgomp. About 5 minutes on 2 cores.
set -euo pipefail

version=3.22.1
tgz_sum=a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
bundle_sum=5f5d1105d5df040738d87b8290e5d17e7362131cdcfdb0831618e0ea528b4a51
url=https://registry.npmjs.org/node-llama-cpp/-/node-llama-cpp-$version.tgz
vocab=models/ggml-vocab-llama-spm.gguf

cache=${XDG_CACHE_HOME:-$HOME/.cache}/cohete
where=0
if [ "${1:-}" = --where ]; then
	where=1
	shift
fi
dir=${1:-$cache/llama-server-${bundle_sum:0:16}}

die() {
	echo "build-llama-server: $*" >&2
	exit 1
}

if [ -f "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi
if [ "$where" -eq 1 ]; then
	echo "$dir"
	exit 1
fi
for tool in git cmake c++ python3; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "needs $tool (scripts/deps.sh --test installs it)"
done

parent=$(dirname "$dir")
mkdir -p "$parent"
work=$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")
stage=$(mktemp -d "$parent/.llama-server-stage.XXXXXX")
trap 'rm -rf "$work" "$stage"' EXIT

# 1. The package, its digest, and the bundle inside it with its own.
python3 - "${NODE_LLAMA_CPP_TGZ:-$url}" "$tgz_sum" "$bundle_sum" \
	"$work/src.bundle" <<'PY'
import hashlib, os, shutil, sys, tarfile, urllib.request

src, want_tgz, want_bundle, dest = sys.argv[1:]
tgz = dest + ".tgz"
h = hashlib.sha256()
with open(tgz, "wb") as out:
    if src.startswith("https://"):
        f = urllib.request.urlopen(src, timeout=120)
    else:
        f = open(src, "rb")
    with f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            out.write(chunk)
if h.hexdigest() != want_tgz:
    sys.exit("build-llama-server: %s: SHA-256 %s, expected %s"
             % (src, h.hexdigest(), want_tgz))
with tarfile.open(tgz, mode="r:gz") as tar:
    m = tar.getmember("package/llama/gitRelease.bundle")
    h = hashlib.sha256()
    with tar.extractfile(m) as f, open(dest, "wb") as out:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            out.write(chunk)
os.unlink(tgz)
if h.hexdigest() != want_bundle:
    sys.exit("build-llama-server: the package's llama/gitRelease.bundle: "
             "SHA-256 %s, expected %s" % (h.hexdigest(), want_bundle))
PY

# 2. The source, configured offline: no downloads (curl, OpenSSL, the
# prebuilt web UI), no tests or examples, CPU only.
git -c advice.detachedHead=false clone --quiet "$work/src.bundle" "$work/src"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
njobs=$(nproc 2>/dev/null || echo 2)
flags=(
	-DCMAKE_BUILD_TYPE=Release
	"-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG"
	"-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG"
	-DBUILD_SHARED_LIBS=OFF
	-DGGML_NATIVE=OFF
	-DGGML_CCACHE=OFF
	-DLLAMA_OPENSSL=OFF
	-DLLAMA_BUILD_TESTS=OFF
	-DLLAMA_BUILD_EXAMPLES=OFF
	-DLLAMA_USE_PREBUILT_UI=OFF
)
echo "build-llama-server: building llama-server from node-llama-cpp $version" \
     "(about 5 minutes on 2 cores; log: $work/build.log)" >&2
start=$SECONDS
if ! { cmake -S "$work/src" -B "$work/build" "${generator[@]}" "${flags[@]}" &&
       cmake --build "$work/build" --target llama-server -j "$njobs"; } \
     >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	die "the build failed (the log's end is above)"
fi

# 3. What the tests use, checked to run, then renamed into place.
mkdir -p "$stage/bin" "$stage/models"
cp "$work/build/bin/llama-server" "$stage/bin/"
cp -r "$work/src/gguf-py" "$stage/gguf-py"
cp "$work/src/$vocab" "$stage/$vocab"
cp "$work/src/LICENSE" "$stage/LICENSE"
"$stage/bin/llama-server" --version >"$work/version" 2>&1 ||
	die "the llama-server just built does not run: $(tail -n 3 "$work/version")"
{
	echo "node-llama-cpp $version ($url)"
	echo "bundle sha256 $bundle_sum"
	echo "commit $(git -C "$work/src" rev-parse HEAD)"
	grep -E '^(version|built with)' "$work/version" || true
	echo "cmake ${flags[*]}"
	echo "built in $((SECONDS - start)) s with $njobs jobs on $(uname -m)"
} >"$stage/BUILD-INFO"
touch "$stage/.complete"
chmod 755 "$stage"
# A run beside this one may have finished first: its result stands.
[ -f "$dir/.complete" ] || rm -rf "$dir"
if ! mv -T "$stage" "$dir" 2>/dev/null && [ ! -f "$dir/.complete" ]; then
	die "cannot move the build to $dir"
fi
echo "$dir"
