#!/bin/bash
# bench/fleet: the wall time to put one model on N devices and have it
# answer, N = 1, 2, 4, 8 "Jetsons" in network namespaces (sshd, a models
# tmpfs and `cohete agent --engines` each; tests/e2e/fleet-ns.sh), with a
# real llama-server (scripts/build-llama-server.sh).
#
#   ours:   cohete deploy (the build cached beforehand: copy, start, probe
#           on every device, side by side)
#   anchor: what a shell script does, one device after the other: scp the
#           file, ssh to start llama-server in the background, then poll
#           its /health from here until it answers
#
# Each N is run REPS times (default 3) on fresh devices; the medians and
# their ratio (anchor / ours) are printed. Never a pass/fail on time.
#
#   bench/fleet/fleet-bench.sh COHETE_BIN [N...]
set -u

COHETE_BIN=${1:?usage: fleet-bench.sh COHETE_BIN [N...]}
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 2 4 8)
reps=${REPS:-3}
here=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: network namespaces, mounts and sshd need root"
	exit 0
fi
llama=${COHETE_LLAMA_SERVER_DIR:-$("$here/scripts/build-llama-server.sh" --where 2>/dev/null)}
if [ -z "$llama" ] || [ ! -x "$llama/bin/llama-server" ]; then
	echo "SKIP: no llama-server built (scripts/build-llama-server.sh)"
	exit 0
fi
trees=$here/tests/fixtures/sysroots
tmp=$(mktemp -d) || exit 1
chmod 755 "$tmp"
mkdir -p "$tmp/models"
FLEET_TMP=$tmp FLEET_TAG=fb$$ FLEET_MODELS=$tmp/models
. "$here/tests/e2e/fleet-ns.sh"
trap 'fleet_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
export NO_COLOR=1 COHETE_REMOTE_COHETE=$COHETE_BIN
unset COHETE_CONFIG

model=$tmp/tiny-f16.gguf
/usr/bin/python3 "$here/tests/tools/tiny-gguf.py" "$model" --layers 4 --embd 512 \
	--ff 1536 --heads 8 --type f16 --llama-dir "$llama" >/dev/null || exit 1
fleet_keys || exit 1

config() {		# config N: the fleet file for devices 41..40+N
	local n
	{
		echo 'version: "1.0"'
		echo 'fleet:'
		echo '  devices:'
		for n in $(seq 41 $((40 + $1))); do
			printf '    - id: d%s\n      host: 10.78.%s.2\n      user: root\n' "$n" "$n"
			printf '      module: p3767-0005\n      memory_budget_mb: 2000\n'
		done
		printf 'models:\n  - name: tiny\n    source: %s\n    quantization: Q4_0\n' "$model"
		printf '    context_length: 512\n    devices: all\n'
		printf 'inference:\n  port: 8080\n  engine_path: %s\n  threads: 1\n' "$llama/bin/llama-server"
		printf 'storage:\n  models_dir: %s\n' "$tmp/models"
	} >"$tmp/fleet.yaml"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The anchor on devices 41..40+N, one after the other.
anchor() {
	local n art=$1 t0 ssh_o=(-o BatchMode=yes -i "$tmp/user_key" -o IdentitiesOnly=yes
		-o "UserKnownHostsFile=$tmp/known_hosts" -o GlobalKnownHostsFile=/dev/null)
	t0=$(now_ms)
	for n in $(seq 41 $((40 + $2))); do
		scp -q "${ssh_o[@]}" "$art" "root@10.78.$n.2:$tmp/models/anchor.gguf" || return 1
		ssh "${ssh_o[@]}" "root@10.78.$n.2" \
			"nohup $llama/bin/llama-server -m $tmp/models/anchor.gguf --host 0.0.0.0 --port 8080 -c 512 -np 1 -t 1 >$tmp/models/anchor.log 2>&1 </dev/null &" || return 1
		until curl -sf -m 2 "http://10.78.$n.2:8080/health" >/dev/null; do
			sleep 0.05
		done
	done
	echo $(($(now_ms) - t0))
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "bench/fleet: one model (Q4_0 of a 4-layer, 512-wide random model) to N devices, until it answers"
printf '%-4s %12s %14s %8s\n' N "cohete (ms)" "scp+ssh (ms)" ratio
for N in "${sizes[@]}"; do
	config "$N"
	# The artifact, built once and cached: only copying and starting is timed.
	"$COHETE_BIN" deploy --config "$tmp/fleet.yaml" --build-only >/dev/null 2>&1 || exit 1
	art=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["built_path"])' \
		< <("$COHETE_BIN" deploy --config "$tmp/fleet.yaml" --build-only --json)) || exit 1
	ours=() theirs=()
	for _ in $(seq 1 "$reps"); do
		for n in $(seq 41 $((40 + N))); do
			fleet_device "$n" "$trees/orin-nano-8gb-super-r36" 256m || exit 1
		done
		fleet_wait $(seq 41 $((40 + N))) || { echo "devices did not come up"; exit 1; }
		t=$(anchor "$art" "$N") || { echo "the anchor failed (scp or ssh)"; exit 1; }
		theirs+=("$t")
		for n in $(seq 41 $((40 + N))); do
			fleet_in "$n" sh -c "pkill -f anchor.gguf; rm -f $tmp/models/anchor.gguf" 2>/dev/null
		done
		t0=$(now_ms)
		"$COHETE_BIN" deploy --config "$tmp/fleet.yaml" "${fleet_ssh_opts[@]}" \
			--transport stream >"$tmp/deploy.out" 2>&1 || { cat "$tmp/deploy.out"; exit 1; }
		ours+=($(($(now_ms) - t0)))
		fleet_cleanup; fleet_pids=(); fleet_devpid=()
	done
	[ ${#ours[@]} -gt 0 ] || continue
	mo=$(median "${ours[@]}") mt=$(median "${theirs[@]}")
	printf '%-4s %12s %14s %8s\n' "$N" "$mo" "$mt" "$(awk -v a="$mt" -v b="$mo" 'BEGIN {printf "%.2fx", a / b}')"
done
