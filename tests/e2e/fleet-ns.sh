# Sourced by the deploy suite (tests/e2e/deploy.sh) and the deploy
# benchmark (bench/fleet/fleet-bench.sh): "Jetsons" in network
# namespaces. Device N is a namespace joined to this one by a veth pair
# (10.78.N.1 here, 10.78.N.2 there) running, in its own mount namespace:
# a tmpfs over the models directory (the namespaces share the file system
# otherwise), `cohete agent --engines` on port 9102 (every address of its
# namespace: deploy asks it on loopback, tests from here), and Debian's
# sshd on 10.78.N.2:22 serving a captured tree (COHETE_SYSROOT).
#
# The caller sets: COHETE_BIN, FLEET_TMP (a private directory), FLEET_TAG
# (a short unique prefix for names), FLEET_MODELS (the models directory:
# an empty directory under FLEET_TMP), and traps EXIT to fleet_cleanup.
#
#   fleet_keys                        a user key and authorized_keys
#   fleet_device N TREE DISK          start device N (DISK: the tmpfs size)
#   fleet_wait N...                   until their sshd and agent answer
#   fleet_in N CMD...                 CMD in device N's namespaces
#   fleet_ssh_opts                    the ssh options for cohete (array)
#   fleet_cleanup                     stop everything, remove namespaces

fleet_pids=()
fleet_devpid=()
fleet_sshd=$(command -v sshd || echo /usr/sbin/sshd)
fleet_sftp=/usr/lib/openssh/sftp-server

fleet_keys() {
	ssh-keygen -q -t ed25519 -N '' -f "$FLEET_TMP/user_key" || return 1
	cp "$FLEET_TMP/user_key.pub" "$FLEET_TMP/authorized_keys"
	chmod 600 "$FLEET_TMP/authorized_keys"
	: >"$FLEET_TMP/known_hosts"
	mkdir -p /run/sshd
	fleet_ssh_opts=(--identity "$FLEET_TMP/user_key"
			-o "UserKnownHostsFile=$FLEET_TMP/known_hosts"
			-o IdentitiesOnly=yes -o GlobalKnownHostsFile=/dev/null)
}

fleet_netns() {
	local n=$1 ns=$FLEET_TAG-$1
	ip netns add "$ns" || return 1
	ip link add "${FLEET_TAG}h$n" type veth peer name "${FLEET_TAG}n$n" || return 1
	ip link set "${FLEET_TAG}n$n" netns "$ns" || return 1
	ip addr add "10.78.$n.1/24" dev "${FLEET_TAG}h$n" || return 1
	ip link set "${FLEET_TAG}h$n" up || return 1
	ip -n "$ns" addr add "10.78.$n.2/24" dev "${FLEET_TAG}n$n" || return 1
	ip -n "$ns" link set "${FLEET_TAG}n$n" up || return 1
	ip -n "$ns" link set lo up
}

fleet_device() {
	local n=$1 tree=$2 disk=$3 t=$FLEET_TMP
	fleet_netns "$n" 2>"$t/netns$n.err" || return 1
	# A device started again (the benchmark's repetitions) keeps its key.
	if [ ! -f "$t/host$n" ]; then
		ssh-keygen -q -t ed25519 -N '' -f "$t/host$n" || return 1
		echo "10.78.$n.2 $(cut -d' ' -f1,2 "$t/host$n.pub")" >>"$t/known_hosts"
	fi
	cat >"$t/sshd$n.conf" <<CFG
ListenAddress 10.78.$n.2
Port 22
HostKey $t/host$n
AuthorizedKeysFile $t/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $t/sshd$n.pid
LogLevel ERROR
MaxStartups 64
Subsystem sftp $fleet_sftp
SetEnv COHETE_SYSROOT=$tree
CFG
	ip netns exec "$FLEET_TAG-$n" sh -c '
		mount -t tmpfs -o size="$1",mode=755 tmpfs "$2" || exit 1
		"$3" agent --listen 0.0.0.0:9102 --no-mdns --no-state-dir \
			--sysroot "$5" --engines "$2" >"$6" 2>&1 &
		exec "$7" -D -e -f "$8"' sh "$disk" "$FLEET_MODELS" "$COHETE_BIN" \
		"10.78.$n.2" "$tree" "$t/agent$n.log" "$fleet_sshd" \
		"$t/sshd$n.conf" 2>"$t/sshd$n.log" &
	fleet_pids+=($!)
	fleet_devpid[$n]=$!
}

fleet_wait() {
	local want=$(($# * 2)) up n p
	for _ in $(seq 1 150); do
		up=0
		for n in "$@"; do
			for p in 22 9102; do
				timeout 1 bash -c "exec 3<>/dev/tcp/10.78.$n.2/$p" 2>/dev/null &&
					up=$((up + 1))
			done
		done
		[ "$up" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

fleet_in() {
	local n=$1
	shift
	nsenter -t "${fleet_devpid[$n]}" -m -n "$@"
}

fleet_cleanup() {
	local p n
	for p in "${fleet_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for n in "${!fleet_devpid[@]}"; do
		ip netns pids "$FLEET_TAG-$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	for p in "${fleet_pids[@]}"; do
		{ wait "$p"; } 2>/dev/null	# not bash's "Killed" line
	done
	for n in "${!fleet_devpid[@]}"; do
		ip netns del "$FLEET_TAG-$n" 2>/dev/null
		ip link del "${FLEET_TAG}h$n" 2>/dev/null
	done
}
