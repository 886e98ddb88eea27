#!/bin/bash
# README.md's commands, run as the README shows them. Every command in its
# code blocks (a line after "$ " with its continuation lines, which end in
# "\" or "|" or leave a quote open; every line of a ```sh block) is looked
# up in the table below, first match wins, and a command no row matches
# fails the test: a new README command must be classified here. Actions:
#
#   run          run it; exit status 0, and where the README shows output
#                below it, that output exactly (trailing blanks stripped)
#   fails        run it; exit status 1, and its output, standard output
#                then standard error, exactly as shown (a checker's report)
#   host:WHY     run it; exit status 0; the output is this machine's (WHY)
#   live:WHY     runs until stopped (WHY): 3 s under timeout, then it must
#                still have been running or have exited 0, having printed
#   tty:WHY      full-screen: 3 s in a pseudo-terminal (script(1)), then it
#                must still have been running
#   args:WHY     cannot run here (WHY); run where it can change nothing
#                (without sudo, as user nobody when we are root): its
#                arguments must be accepted (exit status not 2, usage)
#   agent        `cohete agent ... &`: started in the background (the
#                shell's job 1); the curl rows after it go to it
#   curl         run it against that agent; exit status 0 and every HTTP
#                response 2xx (a command ending in "&": its responses
#                within 10 s, and the process group it registers is
#                stopped at the end)
#   agent-stop   `kill %1`: SIGTERM to the agent, which must exit 0
#   skip:WHY     not run here (printed)
#
# A row may name a set-up: "jetson" runs the command as on a Jetson, the
# simulators of tests/sim first on PATH and COHETE_SYSROOT a copy of the
# orin-nano-8gb-super-r36 fixture tree; "logs" puts two .log files in the
# directory.
#
# Commands run from a directory that mirrors the source root (a link for
# each top-level entry), with ./build the build directory under test, so
# `./build/cli/cohete` is what `make run` builds, and with NO_COLOR=1;
# every stage of a pipeline must succeed (a SIGPIPE upstream of head
# aside). Normalised before running, and only so: "sudo " is
# dropped (what needs root is skipped, or an args row run unprivileged);
# /etc/cohete/ becomes a directory of the test; the agent listens
# on an ephemeral loopback port (--listen 127.0.0.1:0) and localhost:9102
# in later commands becomes that port. Every command runs under a timeout.
# The README must also never run `cohete`/`pepita` from PATH: `make run`
# puts them in ./build/cli, not on PATH.
#
#   tests/readme.sh BUILDDIR [README]       (or README_MD=README)
#
# Exit: 0 pass, 1 fail, 99 not set up.
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-}
readme=${2:-${README_MD:-$src/README.md}}
if [ -z "$build" ] || [ ! -x "$build/cli/cohete" ] || [ ! -x "$build/cli/pepita" ]; then
	echo "readme.sh: usage: readme.sh BUILDDIR [README]: no cli/cohete and cli/pepita in '$build'" >&2
	exit 99
fi
build=$(cd "$build" && pwd)
if [ ! -r "$readme" ]; then
	echo "readme.sh: cannot read $readme" >&2
	exit 99
fi

# pattern (ERE over the command on one line)	action	[set-up]
rules=()
rule() { rules+=("$1" "$2" "${3:-}"); }

rule '^make (run|check)( |$)' \
	'skip:installs packages and builds the tree this test runs on (make check runs this test)'
rule '^\./build/cli/cohete status --sysroot tests/fixtures/sysroots/[a-z0-9-]+$' run
rule '^\./build/cli/cohete status --json --sysroot tests/fixtures/sysroots/[a-z0-9-]+ \| jq ' run
rule '^\./build/cli/cohete status$' 'host:this machine'"'"'s status'
rule '^\./build/cli/cohete power --sysroot tests/fixtures/sysroots/[a-z0-9-]+$' run
rule '^sudo \./build/cli/cohete power set ' \
	'skip:root on a Jetson (tests/cohete/power-set.c runs it against the nvpmodel simulator)'
rule '^tegrastats \| \./build/cli/cohete tegrastats --json$' \
	'live:tegrastats runs until stopped' jetson
rule '^grep -v .* tests/fixtures/tegrastats/[a-z0-9_.-]+ \| head -[0-9]+ \| \./build/cli/cohete tegrastats$' run
rule '^\./build/cli/cohete monitor( |$)' 'tty:the monitor runs until q' jetson
rule '^sudo \./build/cli/cohete clocks (on|off)( |$)' \
	'skip:root on a Jetson, pins its clocks (tests/cohete/clocks.c runs it against the jetson_clocks simulator)'
rule '^\./build/cli/cohete clocks show( |$)' run jetson
rule '^\(umask 077; head -c 32 /dev/urandom \| base64 > agent\.token\)$' run
rule '^\./build/cli/cohete agent .*&$' agent
rule '^(setsid sh -c .)?curl .*localhost:9102/' curl
rule '^kill %1( |$)' agent-stop
rule '^truncate -s [0-9]+[KMG] [a-z]+\.img$' run
rule '^(sudo )?\./build/cli/pepita ublk ' 'args:root and a kernel with the ublk driver'
rule '^(sudo )?\./build/cli/pepita zram .*(setup|swap|swapoff|remove|reset) ' \
	'args:root and a kernel with zram'
rule '^\./build/cli/pepita zram list' 'skip:shows the zram devices set up above (root, a kernel with zram)'
rule '^\./build/cli/pepita run -j [0-9]+ gzip -9 ::: \*\.log$' run logs
rule '^(find .* \| )?\./build/cli/pepita run .*ffmpeg' 'skip:needs ffmpeg and .wav files'
rule '^\./build/cli/pepita run .* convert .*\*\.jpg' 'skip:needs ImageMagick (convert) and .jpg files'
rule '^seq [0-9]+ \| \./build/cli/pepita run --pipe ' run
rule '^\./build/cli/pepita run .*-S [0-9]+/[a-z]' 'skip:needs ssh hosts (network)'
rule '^\./build/cli/pepita info$' 'host:this CPU'"'"'s features'
rule '^\./build/cli/pepita bench simd$' \
	'skip:a benchmark: every CPU for seconds, figures of this machine (tests/pepita-cli.sh runs --quick)'
rule '^\./build/cli/cohete (quantize|model inspect) ' 'args:a GGUF model file'
rule '^\./build/cli/cohete discover --ssh ' \
	'skip:Jetsons on the network (tests/e2e/discover-ssh.sh runs it against sshd in namespaces)'
rule '^\./build/cli/cohete run --config ' \
	'skip:jobs on a fleet of Jetsons over ssh (tests/e2e/run-fleet.sh runs them against sshd and agents in namespaces)'
rule '^\./build/cli/cohete (deploy|status --fleet) ' \
	'skip:a fleet of Jetsons over ssh (tests/e2e/deploy.sh runs these against sshd, agents and llama-server in namespaces)'
rule '^\./build/cli/cohete config init$' 'skip:writes cohete.yaml from the inventory discover saved (tests/config-schema.sh runs config init)'
rule '^\./build/cli/cohete config check tests/fixtures/config/broken/' fails

export NO_COLOR=1
unset COHETE_SYSROOT
tmp=$(mktemp -d) || exit 99
chmod 755 "$tmp"
work=$tmp/src
tool_probe=$work/build/cli/pepita	# what nobody must reach for args rows
agent_pgid=
bg_pgids=
cleanup() {
	local g
	[ -n "$agent_pgid" ] && kill -KILL -- "-$agent_pgid" 2>/dev/null
	for g in $bg_pgids; do kill -KILL -- "-$g" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' TERM INT HUP

mkdir -p "$work" "$tmp/bin" "$tmp/etc/cohete" "$tmp/home" || exit 99
for e in "$src"/* "$src"/.[!.]*; do
	[ -e "$e" ] || continue
	case ${e##*/} in build | build-* | .git) continue ;; esac
	ln -s "$e" "$work/${e##*/}" || exit 99
done
ln -s "$build" "$work/build" || exit 99

# curl records each response's status for the curl rows.
real_curl=$(command -v curl || true)
cat >"$tmp/bin/curl" <<EOF
#!/bin/sh
exec "$real_curl" -w '%{stderr}readme-http-status %{http_code}\n' "\$@"
EOF
chmod 755 "$tmp/bin/curl"

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
	return 1
}

# --- extraction ---------------------------------------------------------
# cmds[k]: the command as written; lines[k]: its README line; shown[k]: the
# output the README shows below it.
cmds=()
lines=()
shown=()

# complete TEXT: whether TEXT is a whole command (no "\" or "|" at its end,
# no quote left open).
complete() {
	case $1 in *\\ | *\| | *'&&') return 1 ;; esac
	bash -n <<<"$1" 2>/dev/null
}

fence_re='^```(.*)$'
mapfile -t md <"$readme"
n=${#md[@]}
i=0
fence=
collect=-1	# the command whose output the lines below are
while [ "$i" -lt "$n" ]; do
	l=${md[i]}
	i=$((i + 1))
	if [[ $l =~ $fence_re ]]; then
		collect=-1
		if [ -z "$fence" ]; then
			case ${BASH_REMATCH[1]} in
			sh | bash | shell) fence='sh' ;;
			'' | console | text) fence=plain ;;
			*) fence=other ;;
			esac
		else
			fence=
		fi
		continue
	fi
	case $fence in '' | other) continue ;; esac
	if [ "$fence" = sh ]; then
		[[ $l =~ ^[[:space:]]*(#|$) ]] && continue
		c=$l
	elif [[ $l == '$ '* ]]; then
		c=${l#\$ }
	else
		[ "$collect" -ge 0 ] && shown[collect]+="$l"$'\n'
		continue
	fi
	lines+=("$i")
	while ! complete "$c" && [ "$i" -lt "$n" ] && [[ ! ${md[i]} =~ $fence_re ]]; do
		c+=$'\n'"${md[i]}"
		i=$((i + 1))
	done
	cmds+=("$c")
	shown+=("")
	# a ```sh block shows no output
	[ "$fence" = plain ] && collect=$((${#cmds[@]} - 1))
done
if [ "${#cmds[@]}" -eq 0 ]; then
	fail "no commands found in $readme"
fi

# --- running ------------------------------------------------------------
agent_port=

# normalise TEXT: the command as the test runs it (see the header).
normalise() {
	local c=$1
	c=${c//sudo /}
	c=${c//\/etc\/cohete\//$tmp/etc/cohete/}
	if [ -n "$agent_port" ]; then
		c=${c//localhost:9102/127.0.0.1:$agent_port}
		c=${c//127.0.0.1:9102/127.0.0.1:$agent_port}
	fi
	printf '%s' "$c"
}

# setup NAME: the environment words for env(1).
setup_env() {
	case $1 in
	logs)
		printf 'a log\n' >"$work/a.log" && printf 'another\n' >"$work/b.log" ||
			return 1
		printf '%s\n' "PATH=$tmp/bin:$PATH"
		;;
	jetson)
		if [ ! -d "$tmp/jetson" ]; then
			cp -a "$src/tests/fixtures/sysroots/orin-nano-8gb-super-r36/." \
				"$tmp/jetson/" || return 1
		fi
		printf '%s\n' "PATH=$src/tests/sim:$tmp/bin:$PATH" "COHETE_SYSROOT=$tmp/jetson"
		;;
	*)
		printf '%s\n' "PATH=$tmp/bin:$PATH"
		;;
	esac
}

# execute SECONDS SETUP TEXT: run TEXT in $work; rc, $tmp/out, $tmp/err.
execute() {
	local secs=$1 env
	mapfile -t env < <(setup_env "$2")
	# Every stage of the pipeline must succeed, as with pipefail, but a
	# stage that a later one stopped reading (head) may die of SIGPIPE
	# (141): a person's shell takes that pipeline as a success too.
	printf '%s\n%s\n' "$3" '__ps=("${PIPESTATUS[@]}") __rc=$?
[ "${#__ps[@]}" -gt 0 ] || exit "$__rc"	# a job put in the background
for __s in "${__ps[@]:0:${#__ps[@]}-1}"; do
	[ "$__s" = 0 ] || [ "$__s" = 141 ] || exit "$__s"
done
exit "${__ps[-1]}"' >"$tmp/cmd.sh"
	rc=0
	(cd "$work" && env "${env[@]}" HOME="$tmp/home" timeout -k 5 "$secs" \
		bash "$tmp/cmd.sh" </dev/null >"$tmp/out" 2>"$tmp/err") || rc=$?
}

show_err() {
	sed 's/^/    /' "$tmp/err" | grep -v readme-http-status | head -20
}

act_run() {
	local want_rc=${5:-0}

	execute 30 "$2" "$1"
	[ "$want_rc" -ne 0 ] && cat "$tmp/err" >>"$tmp/out"
	if [ "$rc" -ne "$want_rc" ]; then
		fail "$where: exit status $rc: $1"
		show_err
		return 1
	fi
	[ "$3" = host ] && return 0
	if [ -n "$4" ] &&
	   ! diff -u <(printf '%s' "$4" | sed 's/[[:space:]]*$//') \
		     <(sed 's/[[:space:]]*$//' "$tmp/out") >"$tmp/diff"; then
		fail "$where: the output differs from the README's (-README +now): $1"
		sed 's/^/    /' "$tmp/diff"
		return 1
	fi
	return 0
}

act_live() {
	execute 3 "$2" "$1"
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
		fail "$where: exit status $rc: $1"
		show_err
	elif [ ! -s "$tmp/out" ]; then
		fail "$where: printed nothing in 3 s: $1"
		show_err
	else
		return 0
	fi
	return 1
}

act_tty() {
	local env
	if ! command -v script >/dev/null; then
		echo "skip: $where: script(1) is not installed: $1"
		return 0
	fi
	mapfile -t env < <(setup_env "$2")
	# --foreground: the command owns the terminal (it would stop on
	# SIGTTOU in timeout's own process group); bash -c execs it, so
	# the command itself gets the signal.
	printf 'timeout --foreground -k 2 3 bash -c %q\necho $? >%q\n' "$1" "$tmp/rc" \
		>"$tmp/cmd.sh"
	rm -f "$tmp/rc"
	(cd "$work" && env "${env[@]}" TERM=xterm HOME="$tmp/home" timeout -k 5 20 \
		script -qec "bash $tmp/cmd.sh" /dev/null </dev/null >"$tmp/out" 2>&1)
	rc=$(cat "$tmp/rc" 2>/dev/null || echo none)
	if [ "$rc" != 124 ]; then
		fail "$where: did not keep running on a terminal (exit status $rc): $1"
		tr -d '\033' <"$tmp/out" | tail -c 600 | sed 's/^/    /'
		return 1
	fi
}

act_args() {
	local as=()
	if [ "$(id -u)" -eq 0 ]; then
		if ! command -v setpriv >/dev/null; then
			echo "skip: $where: $3 (and no setpriv to run it as nobody): $1"
			return 0
		fi
		as=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
		# A checkout under a directory only root may enter (mktemp -d
		# makes them 0700) is out of nobody's reach: say so, not fail.
		if ! (cd "$work" && "${as[@]}" test -x "$tool_probe") 2>/dev/null; then
			echo "skip: $where: $3 (user nobody cannot reach $tool_probe, a parent directory is closed to others): $1"
			return 0
		fi
	fi
	printf '%s\n' "$1" >"$tmp/cmd.sh"
	rc=0
	(cd "$work" && "${as[@]}" env PATH="$PATH" HOME=/nonexistent timeout -k 5 20 \
		bash -o pipefail "$tmp/cmd.sh" </dev/null >"$tmp/out" 2>"$tmp/err") || rc=$?
	if [ "$rc" -eq 2 ] || [ "$rc" -ge 124 ]; then
		fail "$where: exit status $rc (usage, or it hung) where the arguments should be accepted: $1"
		show_err
		return 1
	fi
	echo "not run: $where: $3; arguments accepted (exit status $rc: $(head -n1 "$tmp/err")): $4"
}

# agent-stop: the shell's job that is the agent gets SIGTERM and must exit 0.
act_agent_stop() {
	local status=0
	if [ -z "$agent_pgid" ]; then
		fail "$where: no agent is running for: $1"
		return 1
	fi
	kill -TERM "$agent_pgid"
	wait "$agent_pgid" || status=$?
	agent_pgid=
	agent_port=
	if [ "$status" -ne 0 ]; then
		fail "$where: the agent exited with status $status on SIGTERM: $1"
		sed 's/^/    /' "$tmp/agent.err" | tail -n 10
		return 1
	fi
}

act_agent() {
	local c=${1%&} env
	c=${c%"${c##*[![:space:]]}"}
	if [[ $c =~ --listen[=\ ][^\ ]+ ]]; then
		c=${c/"${BASH_REMATCH[0]}"/--listen 127.0.0.1:0}
	else
		c+=" --listen 127.0.0.1:0"
	fi
	mapfile -t env < <(setup_env "$2")
	printf 'exec %s\n' "$c" >"$tmp/agent.sh"
	(cd "$work" && exec setsid env "${env[@]}" HOME="$tmp/home" \
		bash "$tmp/agent.sh" </dev/null >"$tmp/agent.out" 2>"$tmp/agent.err") &
	agent_pgid=$!
	for _ in $(seq 100); do
		agent_port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' \
			"$tmp/agent.err" 2>/dev/null)
		[ -n "$agent_port" ] && break
		kill -0 "$agent_pgid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$agent_port" ]; then
		fail "$where: the agent did not start: $1"
		sed 's/^/    /' "$tmp/agent.err" | head -20
		return 1
	fi
}

act_curl() {
	local codes bad g
	if [ -z "$agent_port" ]; then
		fail "$where: no agent is running for: $1"
		return 1
	fi
	execute 30 "$2" "$1"
	if [[ $1 =~ \&[[:space:]]*(#.*)?$ ]]; then
		# In the background: wait for its responses; the process
		# group it registered (the reply's pgid) is ours to stop.
		for _ in $(seq 100); do
			grep -q '^readme-http-status ' "$tmp/err" && break
			sleep 0.1
		done
		sleep 0.2
		for g in $(grep -o '"pgid": *[0-9][0-9]*' "$tmp/out" | grep -o '[0-9]*$'); do
			# only a group this command started (its leader's
			# working directory is ours)
			[ "$g" -gt 1 ] && [ "$(readlink "/proc/$g/cwd")" = "$work" ] &&
				bg_pgids+=" $g"
		done
	fi
	codes=$(sed -n 's/^readme-http-status //p' "$tmp/err" | tr '\n' ' ')
	bad=$(sed -n 's/^readme-http-status //p' "$tmp/err" | grep -v '^2' | head -n1)
	if [ "$rc" -ne 0 ] || [ -z "$codes" ] || [ -n "$bad" ]; then
		fail "$where: exit status $rc, HTTP status ${codes:-none}: $1"
		show_err
		sed 's/^/    /' "$tmp/out" | head -5
		return 1
	fi
	echo "HTTP status ${codes% }: $where"
}

# a tool name where a command starts: after |, ;, &, (, $(, sudo or env
bare_re='(^|[|;&(]|\$\(|sudo|env)[[:space:]]*(cohete|pepita)([[:space:]]|$)'
for k in "${!cmds[@]}"; do
	cmd=${cmds[k]}
	where="${readme##*/}:${lines[k]}"
	flat=${cmd//$'\\\n'/ }
	flat=$(printf '%s' "${flat//$'\n'/ }" | sed 's/  */ /g; s/ *$//')

	# `make run` builds the tools in ./build/cli; nothing puts them on PATH.
	if [[ $flat =~ $bare_re ]]; then
		fail "$where: runs '${BASH_REMATCH[2]}' from PATH, which make run does not set up (./build/cli/${BASH_REMATCH[2]}): $flat"
		continue
	fi

	action=
	for ((r = 0; r < ${#rules[@]}; r += 3)); do
		if [[ $flat =~ ${rules[r]} ]]; then
			action=${rules[r + 1]}
			set_up=${rules[r + 2]}
			break
		fi
	done
	if [ -z "$action" ]; then
		fail "README command not covered by tests/readme.sh ($where): $flat"
		continue
	fi
	for tool in jq curl python3; do
		tool_re="(^|[ |(\"'])$tool( |\$)"
		if [[ $flat =~ $tool_re ]] && ! command -v "$tool" >/dev/null; then
			action="skip:$tool is not installed"
		fi
	done
	if [ "$set_up" = jetson ] && ! command -v python3 >/dev/null; then
		action="skip:python3 (the Jetson simulators' interpreter) is not installed"
	fi

	run=$(normalise "$cmd")
	ok=
	case $action in
	run) act_run "$run" "$set_up" exact "${shown[k]}" && ok=1 ;;
	fails) act_run "$run" "$set_up" exact "${shown[k]}" 1 && ok=1 ;;
	host:*) act_run "$run" "$set_up" host "" && ok=1 ;;
	live:*) act_live "$run" "$set_up" && ok=1 ;;
	tty:*) act_tty "$run" "$set_up" && ok=1 ;;
	args:*) act_args "$run" "$set_up" "${action#args:}" "$flat" ;;
	agent) act_agent "$run" "$set_up" && ok=1 ;;
	agent-stop) act_agent_stop "$run" && ok=1 ;;
	curl) act_curl "$run" "$set_up" && ok=1 ;;
	skip:*) echo "skip: $where: ${action#skip:}: $flat" ;;
	*) echo "readme.sh: bad action '$action' in the table" >&2; exit 99 ;;
	esac
	[ -n "$ok" ] && echo "ok: $where ($action): $flat"
done

if [ -n "$agent_pgid" ]; then
	kill -TERM -- "-$agent_pgid" 2>/dev/null
	wait "$agent_pgid" 2>/dev/null
	agent_pgid=
fi

if [ "$failures" -gt 0 ]; then
	echo "$failures README command(s) failed"
	exit 1
fi
echo "every README command covered (${#cmds[@]})"
exit 0
