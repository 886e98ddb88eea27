#!/bin/bash
# meson install puts tools, headers, shared and static libraries, both
# .pc files and the bash and zsh completion in place, and a program outside
# the tree builds against them with pkg-config alone (shared and --static).
# Suite host.
#
#   tests/install.sh BUILDDIR
set -eu

build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet

pcdir=$(dirname "$(find "$dest" -name cohete.pc | head -n1)")
[ -f "$pcdir/cohete.pc" ] && [ -f "$pcdir/pepita.pc" ] ||
	{ echo "FAIL: cohete.pc/pepita.pc not installed" >&2; exit 1; }
for tool in cohete pepita; do
	[ -x "$(find "$dest" -path "*/bin/$tool")" ] ||
		{ echo "FAIL: $tool not installed" >&2; exit 1; }
done
for f in bash-completion/completions/pepita bash-completion/completions/cohete \
	 zsh/site-functions/_pepita zsh/site-functions/_cohete; do
	[ -f "$(find "$dest" -path "*/share/$f")" ] ||
		{ echo "FAIL: share/$f (shell completion) not installed" >&2; exit 1; }
done

cat > "$dest/consumer.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <cohete/cohete.h>
#include <pepita/pepita.h>

int main(void)
{
	struct coh_sysroot *sr;
	static struct coh_status st;
	char *json;

	if (coh_sysroot_open(&sr, NULL, NULL) < 0 ||
	    coh_status_sample(sr, NULL, &st) < 0)
		return 1;
	json = coh_status_json(&st);
	printf("%s %s\n", pep_version(), json ? "json" : "nojson");
	free(json);
	coh_sysroot_close(sr);
	return 0;
}
C

export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
libdir=$(dirname "$pcdir")
# shellcheck disable=SC2046
cc -std=gnu17 -Wall -Werror "$dest/consumer.c" -o "$dest/shared" \
	$(pkg-config --cflags --libs cohete)
pepita_bin=$(find "$dest" -path '*/bin/pepita')
want="$(LD_LIBRARY_PATH=$libdir "$pepita_bin" --version) json"
out=$(LD_LIBRARY_PATH=$libdir "$dest/shared")
[ "$out" = "$want" ] ||
	{ echo "FAIL: shared consumer printed '$out', want '$want'" >&2; exit 1; }
# shellcheck disable=SC2046
cc -std=gnu17 -Wall -Werror "$dest/consumer.c" -o "$dest/static" \
	$(pkg-config --cflags cohete) "$libdir/libcohete.a" "$libdir/libpepita.a" \
	$(pkg-config --static --libs-only-l --libs-only-other cohete | sed 's/-lcohete//; s/-lpepita//g')
"$dest/static" >/dev/null || { echo "FAIL: static consumer failed" >&2; exit 1; }
echo "installed and linked: shared and static"
