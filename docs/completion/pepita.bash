# bash completion for pepita                                -*- shell-script -*-
#
# Commands and verbs come from the tables below (tests/completion.sh checks
# them against `pepita --help`); options from the command's own --help, so
# they never go stale; values where there is a fixed set or a file.

_pepita_commands="info ublk zram run worker uring bench help"

# _pepita_verbs COMMAND: its verbs; nothing for a command without verbs.
_pepita_verbs()
{
	case $1 in
	ublk) echo "add list del recover" ;;
	zram) echo "list setup reset remove swap swapoff" ;;
	uring) echo "probe" ;;
	bench) echo "simd" ;;
	esac
}

# _pepita_options PROGRAM WORDS...: the options `PROGRAM WORDS... --help`
# shows, one a line; "NAME VALUE" for those that take a value.
_pepita_options()
{
	"$@" --help 2>/dev/null |
		grep -E '^(usage:|[[:space:]]+(-|pepita ))' |
		grep -oE -- '(^|[[:space:],[])--?[[:alnum:]][[:alnum:]-]*( [A-Z][A-Z0-9]*)?' |
		sed -E 's/^[[:space:],[]//' | sort -u
}

_pepita_zram_devices()
{
	local d
	for d in /sys/block/zram*; do
		[[ -e $d ]] && echo "/dev/${d##*/}"
	done
}

_pepita_ublk_ids()
{
	local d
	for d in /dev/ublkc*; do
		[[ -e $d ]] && echo "${d#/dev/ublkc}"
	done
}

# The algorithms the kernel's zram offers (as in "lzo [lz4] zstd").
_pepita_zram_algorithms()
{
	local f
	for f in /sys/block/zram*/comp_algorithm; do
		[[ -r $f ]] && tr -d '[]' <"$f" | tr ' ' '\n'
	done | sort -u
}

# _pepita_value COMMAND OPTION: complete OPTION's value; 1 if not ours.
_pepita_value()
{
	local cur=${COMP_WORDS[COMP_CWORD]}

	case "$1 $2" in
	"ublk -t" | "ublk --target")
		COMPREPLY=($(compgen -W "null ram loop zram" -- "$cur")) ;;
	"ublk --comp")
		COMPREPLY=($(compgen -W "lz4 zstd" -- "$cur")) ;;
	"zram -a" | "zram --algorithm")
		COMPREPLY=($(compgen -W "$(_pepita_zram_algorithms)" -- "$cur")) ;;
	"ublk --file" | "run -a" | "run --arg-file" | "run --joblog")
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	"run --ssh")
		COMPREPLY=($(compgen -c -- "$cur")) ;;
	*)
		return 1 ;;
	esac
	return 0
}

# Words after the command (and its verb) that are not options: devices,
# a command to run, files.
_pepita_operands()
{
	local cur=${COMP_WORDS[COMP_CWORD]}

	case "$1 $2" in
	"zram setup" | "zram swap" | "zram reset" | "zram remove" | "zram swapoff")
		COMPREPLY=($(compgen -W "$(_pepita_zram_devices)" -- "$cur")) ;;
	"ublk del")
		COMPREPLY=($(compgen -W "--all $(_pepita_ublk_ids)" -- "$cur")) ;;
	"ublk recover")
		COMPREPLY=($(compgen -W "$(_pepita_ublk_ids)" -- "$cur")) ;;
	"worker "*)
		COMPREPLY=($(compgen -W "--stdio" -- "$cur")) ;;
	"run "*)
		COMPREPLY=($(compgen -c -f -W "::: ::::" -- "$cur")) ;;
	"ublk "* | "zram "* | "info "* | "uring "* | "bench "*)
		;;
	*)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}

_pepita()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local prog=${COMP_WORDS[0]} cmd verb= verbs opts

	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "$_pepita_commands -h --help -V --version" -- "$cur"))
		return 0
	fi
	cmd=${COMP_WORDS[1]}
	if [[ $cmd == help ]]; then
		if ((COMP_CWORD == 2)); then
			COMPREPLY=($(compgen -W "${_pepita_commands% help}" -- "$cur"))
		elif ((COMP_CWORD == 3)); then
			COMPREPLY=($(compgen -W "$(_pepita_verbs "${COMP_WORDS[2]}")" -- "$cur"))
		fi
		return 0
	fi
	verbs=$(_pepita_verbs "$cmd")
	if [[ -n $verbs ]]; then
		if ((COMP_CWORD == 2)); then
			COMPREPLY=($(compgen -W "$verbs -h --help" -- "$cur"))
			return 0
		fi
		verb=${COMP_WORDS[2]}
	fi
	_pepita_value "$cmd" "$prev" && return 0
	opts=$(_pepita_options "$prog" "$cmd" $verb)
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(cut -d' ' -f1 <<<"$opts" | sort -u)" -- "$cur"))
		return 0
	fi
	# The value of an option we know nothing more about: a number, a size.
	if [[ $prev == -* ]] && grep -q -- "^$prev " <<<"$opts"; then
		return 0
	fi
	_pepita_operands "$cmd" "$verb"
	return 0
}

complete -F _pepita pepita
