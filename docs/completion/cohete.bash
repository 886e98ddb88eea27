# bash completion for cohete                                -*- shell-script -*-
#
# Commands and verbs come from the tables below (tests/completion.sh checks
# them against `cohete --help`); options from the command's own --help, so
# they never go stale; values where there is a fixed set or a file. A
# cohete verb may follow options (`cohete clocks --yes on`).

_cohete_commands="agent clocks config deploy discover engine fan model monitor power quantize rollback run status tegrastats help"

_cohete_verbs()
{
	case $1 in
	clocks) echo "show store restore on off" ;;
	config) echo "check show schema init" ;;
	engine) echo "state receive verify activate rollback" ;;
	fan | power) echo "set" ;;
	model) echo "inspect" ;;
	esac
}

# _cohete_options PROGRAM COMMAND: the options `PROGRAM COMMAND --help`
# shows, one a line; "NAME VALUE" for those that take a value.
_cohete_options()
{
	"$@" --help 2>/dev/null |
		grep -E '^(usage:|[[:space:]]+(-|cohete |\[))' |
		grep -oE -- '(^|[[:space:],[])--?[[:alnum:]][[:alnum:]-]*( [A-Z][A-Z0-9]*)?' |
		sed -E 's/^[[:space:],[]//' | sort -u
}

# _cohete_types PROGRAM: the quantization types its quantize --help names.
_cohete_types()
{
	"$1" quantize --help 2>/dev/null |
		grep -oE '\<(I?Q[0-9]_[0-9A-Z_]*[0-9A-Z]|B?F(16|32))\>' | sort -u
	echo auto
}

# _cohete_value OPTION COMMAND: complete OPTION's value; 1 if not ours.
# Device ids, model names and ssh options (-o but config's) are free text.
_cohete_value()
{
	local cur=${COMP_WORDS[COMP_CWORD]}

	case $1 in
	--sysroot | --state-dir | --cache | --root | --engines)
		COMPREPLY=($(compgen -d -- "$cur")) ;;
	--file | --token-file | --tegrastats | --nvpmodel | --jetson-clocks | --identity | --config | \
	--inventory | --output | --joblog | --remote-pepita)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	--on)
		COMPREPLY=($(compgen -W "all" -- "$cur")) ;;
	-o)
		[[ $2 == config ]] || return 1
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	--policy)
		COMPREPLY=($(compgen -W "conservative aggressive" -- "$cur")) ;;
	--transport)
		COMPREPLY=($(compgen -W "auto rsync stream" -- "$cur")) ;;
	--engine-launcher)
		COMPREPLY=($(compgen -W "auto child systemd" -- "$cur")) ;;
	*)
		return 1 ;;
	esac
	return 0
}

_cohete()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local prog=${COMP_WORDS[0]} cmd verbs opts i w
	local -a operands=()

	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "$_cohete_commands -h --help -V --version" -- "$cur"))
		return 0
	fi
	cmd=${COMP_WORDS[1]}
	if [[ $cmd == help ]]; then
		if ((COMP_CWORD == 2)); then
			COMPREPLY=($(compgen -W "${_cohete_commands% help}" -- "$cur"))
		fi
		return 0
	fi
	_cohete_value "$prev" "$cmd" && return 0
	opts=$(_cohete_options "$prog" "$cmd")
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(cut -d' ' -f1 <<<"$opts" | sort -u)" -- "$cur"))
		return 0
	fi
	if [[ $prev == -* ]] && grep -q -- "^$prev " <<<"$opts"; then
		return 0		# a number, a name: nothing to offer
	fi
	# The words so far that are neither options nor their values.
	for ((i = 2; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -* ]]; then
			grep -q -- "^$w " <<<"$opts" && ((i++))
			continue
		fi
		operands+=("$w")
	done
	verbs=$(_cohete_verbs "$cmd")
	if [[ -n $verbs && ${#operands[@]} -eq 0 ]]; then
		COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
		return 0
	fi
	case "$cmd ${#operands[@]}" in
	"quantize 0" | "quantize 1" | "model 1" | "clocks 1" | "discover 0" | "config 1")
		COMPREPLY+=($(compgen -f -- "$cur")) ;;
	"quantize 2")
		COMPREPLY=($(compgen -W "$(_cohete_types "$prog")" -- "$cur")) ;;
	"run "*)
		COMPREPLY=($(compgen -c -f -W "::: ::::" -- "$cur")) ;;
	esac
	return 0
}

complete -F _cohete cohete
