#!/bin/bash
# Shell completion for pepita and cohete (docs/completion/): the commands
# offered are exactly those the tool's dispatcher lists in --help (and
# help), each command's verbs are those its --help shows, options come
# from --help, and values (targets, compressors, directories, types) where
# there is a set.
#
#   tests/completion.sh bash   the bash functions, driven as bash calls
#                              them: COMP_WORDS and COMP_CWORD set
#   tests/completion.sh zsh    the zsh functions, with compsys's output
#                              functions (compadd, _describe, _files)
#                              replaced by ones that print; and compinit
#                              finds them by their #compdef line
#
# Environment (tests/meson.build): PEPITA_BIN, COHETE_BIN, and COHETE_RUN
# (the exe wrapper) in cross builds.
# Exit: 0 pass, 1 fail, 77 zsh absent (zsh part), 99 not set up.
set -u

shell=${1:-bash}
for v in PEPITA_BIN COHETE_BIN; do
	if [ ! -x "${!v:-}" ]; then
		echo "completion.sh: $v not set or not executable: '${!v:-}'" >&2
		exit 99
	fi
done
here=$(cd "$(dirname "$0")" && pwd)
comp=$here/../docs/completion
if [ "$shell" = zsh ] && ! command -v zsh >/dev/null 2>&1; then
	echo "SKIP: no zsh (apt-get install zsh) to load _pepita and _cohete"
	exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: no python3 to read the tools' --help"
	exit 77
fi

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
# The tools by name, as a person types them (through the exe wrapper).
mkdir -p "$tmp/bin" "$tmp/work/dir-one"
for tool in pepita cohete; do
	bin=PEPITA_BIN
	[ "$tool" = cohete ] && bin=COHETE_BIN
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "${COHETE_RUN:-}" "${!bin}" >"$tmp/bin/$tool"
	chmod +x "$tmp/bin/$tool"
done
export PATH="$tmp/bin:$PATH"
cd "$tmp/work" || exit 99

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# complete LINE: the candidates (one a line, sorted) for LINE, completing
# its last word (a LINE ending in a space completes a new, empty word).
complete_bash() {
	bash --norc --noprofile -c '
		source "$1/$2.bash"
		read -ra COMP_WORDS <<<"$3"
		[[ $3 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		"_$2"
		((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "${1%% *}" "$1" | sort -u
}

# The same in zsh: compsys's functions print what they would offer (those
# that start with the word being completed, as compadd keeps).
complete_zsh() {
	zsh -f -c '
		_out() { print -rl -- ${(M)@:#${(b)PREFIX}*} }
		compadd() { [[ $1 == -- ]] && shift; _out "$@" }
		_describe() { local -a a; a=(${(P)4}); _out ${a%%:*} }
		_files() { _out *(N${${(M)1:#-/}:+/}) }
		_command_names() { _out "<command>" }
		_alternative() { _command_names; _files }
		source "$1/_$2"
		words=(${=3}); [[ $3 == *" " ]] && words+=("")
		CURRENT=$#words; PREFIX=$words[CURRENT]
		"_$2"' _ "$comp" "${1%% *}" "$1" | sort -u
}

complete_line() {
	"complete_$shell" "$@"
}

# expect LINE WANT...: the candidates for LINE are exactly WANT (sorted).
expect() {
	local line=$1 got want
	shift
	got=$(complete_line "$line" | tr '\n' ' ')
	want=
	[ $# -gt 0 ] && want=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
	if [ "$got" != "$want" ]; then
		fail "$shell: '$line': got [$got], want [$want]"
	else
		echo "ok: $shell: '$line' -> $got"
	fi
}

# expect_has LINE WANT...: the candidates for LINE include every WANT.
expect_has() {
	local line=$1 got w
	shift
	got=$(complete_line "$line")
	for w in "$@"; do
		if ! grep -qxF -- "$w" <<<"$got"; then
			fail "$shell: '$line': '$w' not offered (got: $(tr '\n' ' ' <<<"$got"))"
			return
		fi
	done
	echo "ok: $shell: '$line' offers $*"
}

# The dispatcher's commands, and each command's verbs, from --help.
for tool in pepita cohete; do
	cmds=$("$tool" --help | sed -n '/^commands:/,/^$/s/^   \([a-z][a-z-]*\) .*/\1/p')
	[ -n "$cmds" ] || fail "$tool --help lists no commands"
	got=$(complete_line "$tool " | grep -v '^-' | tr '\n' ' ')
	want=$(printf '%s\n' $cmds help | sort -u | tr '\n' ' ')
	if [ "$got" != "$want" ]; then
		fail "$shell: '$tool ': got [$got], the dispatcher has [$want]"
	else
		echo "ok: $shell: '$tool ' offers every command: $got"
	fi
	for cmd in $cmds; do
		"$tool" "$cmd" --help >"$tmp/help" 2>&1
		verbs=$(python3 - "$tool" "$cmd" "$tmp/help" <<'PY'
import re, sys
tool, cmd, path = sys.argv[1:]
text = open(path).read()
verbs = set(re.findall(r'^(?:usage:)?\s+%s %s ([a-z][a-z-]*)\b' % (tool, cmd), text, re.M))
for block in re.findall(r'^[a-z]+s:\n((?:   \S.*\n)+)', text, re.M):
    verbs.update(re.findall(r'^   ([a-z][a-z-]*) ', block, re.M))
print(' '.join(sorted(verbs)))
PY
)
		[ -z "$verbs" ] && continue
		got=$(complete_line "$tool $cmd " | grep -v '^-')
		for v in $verbs; do
			grep -qxF "$v" <<<"$got" ||
				fail "$shell: '$tool $cmd ': verb '$v' of its --help not offered"
		done
		for v in $got; do
			grep -qw -- "$v" "$tmp/help" ||
				fail "$shell: '$tool $cmd ': offers '$v', which its --help does not name"
		done
		echo "ok: $shell: '$tool $cmd ' offers its verbs: $(tr '\n' ' ' <<<"$got")"
	done
done

expect "pepita zr" zram
expect "pepita -" -h --help -V --version
expect "pepita zram s" setup swap swapoff
expect "pepita ublk add -t " null ram loop zram
expect "pepita ublk add --comp " lz4 zstd
expect_has "pepita zram setup --" --size --reset --algorithm --mem-limit --find
expect_has "pepita zram swap --r" --reset
expect_has "pepita ublk add --" --target --size --comp --queues --depth --foreground
expect "pepita help zram sw" swap swapoff
expect "pepita info --" --help --json
expect "pepita zram setup --size "
expect "cohete st" status
expect "cohete clocks " show store restore on off
expect "cohete clocks --yes --sysroot /x o" on off
expect "cohete fan --sysroot dir-one " set
expect "cohete status --sysroot dir-" dir-one
expect "cohete agent --policy " aggressive conservative
expect_has "cohete status --" --json --watch --sysroot --window-ms --help
expect_has "cohete quantize in.gguf out.gguf Q4_K" Q4_K_M Q4_K_S
expect "cohete help fa" fan
expect "cohete engine " state receive verify activate rollback
expect "cohete engine --root dir-one r" receive rollback
expect "cohete deploy --transport " auto rsync stream
expect "cohete agent --engine-launcher " auto child systemd
expect "cohete deploy --cache dir-" dir-one
expect "cohete engine state --root dir-" dir-one
expect "cohete deploy --config dir-" dir-one
expect "cohete status --fleet --identity dir-" dir-one
expect "cohete deploy --device "
expect "cohete deploy -o "
expect "cohete rollback --model "
expect_has "cohete deploy --" --plan --check --device --max-parallel --canary --keep-going \
	--timeout --transport --cache --remote-cohete --identity --ssh-option --json
expect_has "cohete rollback --" --device --model --timeout --json
expect_has "cohete engine --" --root --name --size --sha256 --model --timeout --json
expect_has "cohete status --" --fleet --identity --ssh-option
expect "cohete run --on " all
expect "cohete run --joblog dir-" dir-one
expect_has "cohete run --on all -- dir-" dir-one
expect_has "cohete run --" --on --jobs --memory --wait --ungated --retries --timeout \
	--joblog --identity --ssh-option --remote-pepita --config

if [ "$shell" = zsh ]; then
	# compinit finds both files through $fpath by their #compdef lines.
	got=$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit
		compinit -u -d "$2/zcompdump"; print -r -- $_comps[pepita] $_comps[cohete]' \
		_ "$comp" "$tmp")
	if [ "$got" = "_pepita _cohete" ]; then
		echo "ok: zsh: compinit binds _pepita and _cohete"
	else
		fail "zsh: compinit bound '$got', want '_pepita _cohete'"
	fi
	for f in _pepita _cohete; do
		zsh -n "$comp/$f" || fail "zsh -n $f"
	done
else
	for f in pepita.bash cohete.bash; do
		bash -n "$comp/$f" || fail "bash -n $f"
	done
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
exit 0
