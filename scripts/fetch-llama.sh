#!/bin/bash
# Fetch llama.cpp's libllama, as node-llama-cpp builds it, from the npm
# registry: the anchor of bench/quant and the reference of the test
# cohete-quant-llama (our quantized files must be byte-identical to
# llama.cpp's). llama.cpp has no Debian package; this is its official
# build in a package registry. Pinned by version and SHA-256.
#
#   scripts/fetch-llama.sh [DIR]
#
# DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/cohete/llama.cpp-node-VERSION,
# where the test and the benchmark look (or set COHETE_LLAMA_DIR). Prints
# DIR. Nothing to do if it is there already; exits 0 with a note on a
# machine without a build (neither x86-64 nor aarch64).
set -euo pipefail

version=3.22.1
case "$(uname -m)" in
x86_64) arch=x64
	sum=0d953e1503d5ab4608d8ed5b739132308c81ac05ffeb760d2a7f30e08a9f90e0 ;;
aarch64) arch=arm64
	sum=39c76b998e35ed2f236c01472fc79eda0fc558b1c8b535023c2d7ded8c327cc4 ;;
*)	echo "fetch-llama: no node-llama-cpp build for $(uname -m)" >&2
	exit 0 ;;
esac
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/cohete/llama.cpp-node-$version}
url=https://registry.npmjs.org/@node-llama-cpp/linux-$arch/-/linux-$arch-$version.tgz

if [ -f "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$dir"
python3 - "$url" "$sum" "$dir" "bins/linux-$arch/" <<'PY'
import hashlib, io, os, sys, tarfile, urllib.request

url, want, dest, prefix = sys.argv[1:]
data = urllib.request.urlopen(url, timeout=120).read()
got = hashlib.sha256(data).hexdigest()
if got != want:
    sys.exit("fetch-llama: %s: SHA-256 %s, expected %s" % (url, got, want))
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
    for m in tar.getmembers():
        name = m.name.split("/", 1)[-1]
        base = os.path.basename(name)
        # libllama and the two ggml libraries it links; the per-CPU
        # compute backends are not needed to quantize.
        if not m.isfile() or not (name == "LICENSE" or (
                name.startswith(prefix) and
                base.startswith(("libllama.", "libggml.", "libggml-base.")))):
            continue
        tmp = os.path.join(dest, "." + base + ".part")
        with open(tmp, "wb") as f:
            f.write(tar.extractfile(m).read())
        os.chmod(tmp, 0o755)
        os.replace(tmp, os.path.join(dest, base))
PY
touch "$dir/.complete"
echo "$dir"
