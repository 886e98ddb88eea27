#!/bin/bash
# `pepita run` never runs an argument as code: hostile names (quotes,
# $(...), backticks, newlines, spaces, a leading -, globs) go through every
# template form (a plain word, shell code among several words, a one-word
# shell command, inside "..." and '...', in $(...), appended, -X, -m,
# {1} {2}, {.} {/}, :::: files, --results) and each job prints its
# argument back unchanged, while no file named PWNED ever appears.
#
# Environment (tests/meson.build): PEPITA_BIN.
# Exit: 0 pass, 1 fail, 99 not set up.
set -u

if [ -z "${PEPITA_BIN:-}" ] || [ ! -x "$PEPITA_BIN" ]; then
	echo "pepita-run-quoting.sh: PEPITA_BIN not set or not executable" >&2
	exit 99
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 99
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

names=(
	'$(touch PWNED)' '`touch PWNED`' "'; touch PWNED; '" '"; touch PWNED; "'
	'a b  c' '-n' '--help' $'x\ny' "it's" 'back\slash' '*' '~' '$HOME'
	'a;b|c&d>e<f' ' lead' '\'"'"'"$x' '#c' '' '{}' '$(touch PWNED)\'
	'" $(touch PWNED) "' "' \$(touch PWNED) '"
)
printf '%s\n' "${names[@]}" >"$tmp/want"

# check WHAT PEPITA-RUN-ARGS...: every name printed back, in order.
check() {
	local what=$1
	shift
	timeout 60 "$PEPITA_BIN" run -k -j 4 "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" != 0 ] || ! cmp -s "$tmp/out" "$tmp/want"; then
		fail "$what: exit $rc, output differs:"
		diff "$tmp/want" "$tmp/out" | head -20
		head -5 "$tmp/err"
	fi
	if [ -e PWNED ]; then
		fail "$what: an argument ran as code (PWNED exists)"
		rm -f PWNED
	fi
}

check "plain word" printf '%s\n' {} ::: "${names[@]}"
check "plain word, appended" printf '%s\n' ::: "${names[@]}"
check "shell code among words" sh -c 'printf "%s\n" {}' ::: "${names[@]}"
check "shell code, in \"...\"" sh -c 'printf "%s\n" "{}"' ::: "${names[@]}"
check "shell code, in '...'" sh -c "printf '%s\n' '{}'" ::: "${names[@]}"
check "one-word shell command" 'printf "%s\n" {}' ::: "${names[@]}"
check "one-word, in \"...\"" 'printf "%s\n" "{}"' ::: "${names[@]}"
check "one-word, in '...'" "printf '%s\n' '{}'" ::: "${names[@]}"
check "one-word, appended" 'printf "%s\n"' ::: "${names[@]}"
check "one-word, in \$(...)" 'printf "%s\n" "$(printf "%s" {})"' ::: "${names[@]}"
check "one-word, \$(...) in \"...\"" 'x="$(printf %s {})"; printf "%s\n" "$x"' \
	::: "${names[@]}"
check "one-word, after a comment" $'printf "%s\\n" {} # {}\n' ::: "${names[@]}"
check "{1} of two sources" 'printf "%s\n" {1}' ::: "${names[@]}" ::: x
check "{2} of two sources, plain" printf '%s\n' {2} ::: x ::: "${names[@]}"
check "-X" -X printf '%s\n' {} ::: "${names[@]}"
check "-m, shell" -m 'printf "%s\n" {}' ::: "${names[@]}"
check "-N 3, shell" -N 3 'printf "%s\n" {}' ::: "${names[@]}"

# Lines of a file (no newlines in them, no empty line: names of files).
grep -v -e '^$' -e '^y$' -e '^x$' "$tmp/want" >"$tmp/lines"
cp "$tmp/lines" "$tmp/want"
check ":::: file, one-word shell" 'printf "%s\n" "{}"' :::: "$tmp/lines"
check "stdin, shell code among words" sh -c 'printf "%s\n" {}' <"$tmp/lines"

# {.} {/} {//} {/.} of a hostile path, in shell code and as plain words.
printf '%s\n' 'd $(touch PWNED)/f `x`.tar|f `x`.tar.gz|d $(touch PWNED)|f `x`.tar' \
	>"$tmp/want"
check "{.} {/} {//} {/.}, shell" 'printf "%s|%s|%s|%s\n" {.} "{/}" {//} "{/.}"' \
	::: 'd $(touch PWNED)/f `x`.tar.gz'
check "{.} {/} {//} {/.}, plain" printf '%s|%s|%s|%s\n' {.} {/} {//} {/.} \
	::: 'd $(touch PWNED)/f `x`.tar.gz'

# --results: argument values never leave the directory.
timeout 60 "$PEPITA_BIN" run --results "$tmp/res" printf '%s' ::: \
	'../../escape' '..' '.' 'a/b' >/dev/null 2>"$tmp/err"
for f in "$tmp/res/1/..\_..\_escape/stdout" "$tmp/res/1/\../stdout" \
	 "$tmp/res/1/\./stdout" "$tmp/res/1/a\_b/stdout"; do
	[ -f "$f" ] || fail "--results: no $f: $(cd "$tmp/res" && find . | sort | tr '\n' ' ')"
done
[ "$(cat "$tmp/res/1/\../stdout" 2>/dev/null)" = ".." ] ||
	fail "--results: .. not saved as \\.."
[ -e "$tmp/escape" ] && fail "--results: an argument climbed out of the directory"

# Refused, not guessed: exit 2 and the reason, nothing run.
for t in 'echo `cat {}`' 'echo ${x:-{}}' $'cat <<E\n{}\nE' 'echo $'"'x'"' {}'; do
	timeout 60 "$PEPITA_BIN" run "$t" ::: '$(touch PWNED)' >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != 2 ] || ! grep -q "cannot be quoted safely" "$tmp/err" || [ -s "$tmp/out" ]; then
		fail "refused template '$t': exit $rc, $(cat "$tmp/err" "$tmp/out")"
	fi
done
[ -e PWNED ] && fail "a refused template ran"

if [ "$failures" -gt 0 ]; then
	echo "pepita-run-quoting.sh: $failures failed"
	exit 1
fi
echo "pepita-run-quoting.sh: all passed"
