#!/bin/sh
# The ublk targets through their block devices, served by `pepita ublk add`
# (suite vm; tests/vm/run --smp 4 ublk-targets.sh). For each target:
#   null  writes succeed and vanish, reads return zeros; discard and flush
#         complete
#   ram   random writes read back as written (ublk-io), a discarded range
#         reads back zeros and the rest keeps its data, flush completes;
#         mkfs.ext2, mount, files, umount, e2fsck -fn, and the files intact
#         after a second mount
#   loop  the same, on a file in /tmp (tmpfs); the device and the file hold
#         the same bytes; a new server on the file serves the same files
#   zram  4 KiB logical blocks; the ram checks (LZ4), random I/O again
#         with zstd
# and multiqueue: 4 queues of depth 64 under 64 threads pinned over the
# vCPUs: every I/O completes in time with the right data, and the server
# counted no tag collision.
# Exit: 0 pass, 1 a check failed (each says which), 77 no ublk driver.
# shellcheck disable=SC2317 # test_* and reset are called indirectly
set -u

SCRIPT=ublk-targets
OUT=/tmp/ublk-targets.out
ERR=/tmp/ublk-targets.err
MNT=/tmp/ublk-mnt
LOOP_FILE=/tmp/ublk-loop.img
SIZE_BYTES=67108864			# 64 MiB per device
IO_LIMIT=300				# seconds for one ublk-io run
status=0
failed=0

# shellcheck source=tests/vm/ublk-lib.sh
. "$(dirname "$0")/ublk-lib.sh"

# Remove whatever a failed step left: the mount, servers, devices (servers
# first: a hung one can block DEL_DEV).
reset() {
	umount "$MNT" 2>/dev/null
	for pid in $(server_pids); do
		kill -9 "$pid" 2>/dev/null
	done
	limit 60 pepita ublk del --all >/dev/null 2>&1
}
cleanup() {
	reset
	rm -f "$LOOP_FILE"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# add with the size check: every device here is SIZE_BYTES.
add_dev() {
	add "$@" || return 1
	size=$(blockdev --getsize64 "$dev")
	if [ "$size" != "$SIZE_BYTES" ]; then
		fail "$dev: $size bytes, expected $SIZE_BYTES"; return 1
	fi
	say "add $* -> $dev (server pid $dev_pid)"
}

# io DEVICE ARGS...: random I/O checked by tests/pepita/ublk-io.c; its own
# timeout names a lost request before the time limit around it hits.
io() {
	limit "$IO_LIMIT" ublk-io "$@" --timeout $((IO_LIMIT - 10))
	[ "$rc" = 0 ] && return 0
	fail "ublk-io $*: exit $rc: wrong data, an I/O error or a hang (above)"
	return 1
}

# The flush path: sync(2), then fsync(2) of the device (dd writes nothing
# and fsyncs its output). The kernel sends the server a FLUSH only when the
# device has a volatile write cache: what it has is printed.
flush() {
	limit 60 sync
	[ "$rc" = 0 ] || { fail "sync: exit $rc"; return 1; }
	limit 60 dd if=/dev/zero of="$1" bs=512 count=0 conv=notrunc,fsync 2>"$ERR"
	[ "$rc" = 0 ] || { fail "$1: fsync: exit $rc"; show_err; return 1; }
	say "$1: sync and fsync complete (write cache: $(cat "/sys/block/${1#/dev/}/queue/write_cache"))"
}

# blkdiscard of the whole device: it must complete, and the device must
# then read as zeros.
discard_all() {
	limit 120 blkdiscard "$1" 2>"$ERR"
	[ "$rc" = 0 ] || { fail "blkdiscard $1: exit $rc"; show_err; return 1; }
	limit "$IO_LIMIT" ublk-io "$1" --zeros --ops 0 --threads 4 >/dev/null
	[ "$rc" = 0 ] || { fail "$1: not all zeros after blkdiscard of the whole device"; return 1; }
	say "$1: blkdiscard of the whole device, then all zeros"
}

# mkfs.ext2, mount, write files, umount, e2fsck -fn, mount again and
# compare the files' checksums. e2fsprogs' tools: mkfs.ext2, because for
# "mke2fs" busybox sh would run its own applet.
ext2() {
	for tool in mkfs.ext2 e2fsck; do
		command -v "$tool" >/dev/null && continue
		fail "no $tool in the VM: install e2fsprogs (scripts/deps.sh --vm), rebuild"
		return 1
	done
	limit 120 mkfs.ext2 -q -F "$1" >"$ERR" 2>&1
	[ "$rc" = 0 ] || { fail "mkfs.ext2 $1: exit $rc"; show_err; return 1; }
	mkdir -p "$MNT"
	limit 60 mount -t ext2 "$1" "$MNT" 2>"$ERR"
	[ "$rc" = 0 ] || { fail "mount -t ext2 $1: exit $rc"; show_err; return 1; }
	mkdir "$MNT/dir"
	for i in 1 2 3 4 5 6 7 8; do
		limit 60 dd if=/dev/urandom of="$MNT/dir/file$i" bs=4096 \
			count=$((i * 97)) 2>"$ERR"
		[ "$rc" = 0 ] || { fail "writing $MNT/dir/file$i: exit $rc"; show_err; return 1; }
	done
	(cd "$MNT/dir" && sha256sum file*) >/tmp/ublk-sums
	limit 120 umount "$MNT" 2>"$ERR"
	[ "$rc" = 0 ] || { fail "umount of the ext2 on $1: exit $rc"; show_err; return 1; }
	# e2fsck and the next mount read what the server holds, not the cache.
	blockdev --flushbufs "$1"
	limit 120 e2fsck -fn "$1" >"$ERR" 2>&1
	[ "$rc" = 0 ] || { fail "e2fsck -fn $1: exit $rc"; show_err; return 1; }
	ext2_verify "$1" || return 1
	say "$1: mkfs.ext2, 8 files written, e2fsck -fn clean, files intact after a remount"
}

# The files written by ext2() still have their checksums.
ext2_verify() {
	limit 60 mount -t ext2 -o ro "$1" "$MNT" 2>"$ERR"
	[ "$rc" = 0 ] || { fail "mount -o ro $1: exit $rc"; show_err; return 1; }
	if ! (cd "$MNT/dir" && limit 60 sha256sum -c -s /tmp/ublk-sums); then
		fail "files on the ext2 on $1 differ after umount and mount"
		umount "$MNT"
		return 1
	fi
	limit 60 umount "$MNT"
}

test_null() {
	add_dev -t null --size 64M || return 1
	io "$dev" --zeros --discard --threads 4 --ops 32 --seed 11 || return 1
	limit 120 blkdiscard "$dev" 2>"$ERR"
	[ "$rc" = 0 ] || { fail "blkdiscard $dev: exit $rc"; show_err; return 1; }
	flush "$dev" || return 1
	del "$dev_id" || return 1
	nothing_behind "null: del"
}

test_ram() {
	add_dev -t ram --size 64M || return 1
	io "$dev" --discard --threads 4 --ops 32 --seed 12 || return 1
	flush "$dev" || return 1
	discard_all "$dev" || return 1
	ext2 "$dev" || return 1
	del "$dev_id" || return 1
	nothing_behind "ram: del"
}

test_loop() {
	rm -f "$LOOP_FILE"
	truncate -s "$SIZE_BYTES" "$LOOP_FILE"
	# No --size: the file's.
	add_dev -t loop --file "$LOOP_FILE" || return 1
	io "$dev" --discard --threads 4 --ops 32 --seed 13 || return 1
	flush "$dev" || return 1
	blockdev --flushbufs "$dev"
	limit 120 cmp "$dev" "$LOOP_FILE" 2>"$ERR"
	[ "$rc" = 0 ] || { fail "$dev and its file $LOOP_FILE differ after the writes"; show_err; return 1; }
	say "$dev: the device and $LOOP_FILE hold the same bytes"
	discard_all "$dev" || return 1
	ext2 "$dev" || return 1
	del "$dev_id" || return 1
	nothing_behind "loop: del" || return 1
	limit 120 e2fsck -fn "$LOOP_FILE" >"$ERR" 2>&1
	[ "$rc" = 0 ] || { fail "e2fsck -fn of $LOOP_FILE after del: exit $rc"; show_err; return 1; }
	# A new server on the same file serves the same file system.
	add_dev -t loop --file "$LOOP_FILE" || return 1
	ext2_verify "$dev" || return 1
	say "$dev: a new loop server on $LOOP_FILE serves the same files"
	del "$dev_id" || return 1
	nothing_behind "loop: del"
}

# The server publishes its store's statistics: pepita ublk list --json
# shows the data held after the writes (the state refreshes twice a second).
zram_stats_seen() {
	i=0
	while [ "$i" -lt 10 ]; do
		json=$(dev_json "$1")
		orig=$(json_num "$json" orig_data_bytes)
		if [ -n "$orig" ] && [ "$orig" -gt 0 ]; then
			say "device $1: the store holds $orig bytes in $(json_num "$json" mem_used_total_bytes)"
			return 0
		fi
		i=$((i + 1))
		sleep 1
	done
	fail "device $1: no zram statistics in pepita ublk list --json: $json"
	return 1
}

test_zram() {
	add_dev -t zram --size 64M --queues 2 || return 1
	lbs=$(cat "/sys/block/${dev#/dev/}/queue/logical_block_size")
	[ "$lbs" = 4096 ] || { fail "$dev: logical block $lbs, expected 4096"; return 1; }
	io "$dev" --discard --threads 4 --ops 32 --seed 15 || return 1
	zram_stats_seen "$dev_id" || return 1
	flush "$dev" || return 1
	discard_all "$dev" || return 1
	ext2 "$dev" || return 1
	del "$dev_id" || return 1
	nothing_behind "zram: del" || return 1
	add_dev -t zram --size 64M --comp zstd || return 1
	io "$dev" --discard --threads 4 --ops 32 --seed 16 || return 1
	del "$dev_id" || return 1
	nothing_behind "zram zstd: del"
}

# stat_of ID KEY: a number the server reports for device ID in `pepita
# ublk list --json` (its counters: request_count, error_count,
# tag_collision_count).
stat_of() {
	json_num "$(dev_json "$1")" "$2"
}

# The server's own counters after the I/O. It publishes them on a timer:
# wait until its request count is non-zero and has stopped moving (1 s),
# so the figures are the final ones and not a start-up snapshot. Then no
# tag may have been handed out twice and no request may have failed.
server_counts_clean() {
	i=0 last=''
	while :; do
		now=$(stat_of "$1" request_count)
		[ -n "$now" ] && [ "$now" != 0 ] && [ "$now" = "$last" ] && break
		i=$((i + 1))
		if [ "$i" -ge 10 ]; then
			fail "device $1: no settled request count in pepita ublk list --json: $(dev_json "$1")"
			return 1
		fi
		last=$now
		sleep 1
	done
	json=$(dev_json "$1")
	for key in tag_collision_count error_count; do
		n=$(json_num "$json" "$key")
		[ -n "$n" ] || { fail "device $1: pepita ublk list --json has no $key: $json"; return 1; }
		[ "$n" = 0 ] || { fail "device $1: the server counted $n $key: $json"; return 1; }
	done
	say "$dev: the server served $now requests, no tag collision, no error"
}

# 4 queues x depth 64 under 64 threads pinned over the vCPUs: a lost
# request hangs ublk-io (caught by its time limit), a mixed-up tag serves
# another request's data (caught by the comparison), and the server counts
# tag collisions itself.
test_multiqueue() {
	add_dev -t ram --size 64M --queues 4 --depth 64 || return 1
	name=${dev#/dev/}
	nq=0
	for q in /sys/block/"$name"/mq/*; do
		[ -d "$q" ] && nq=$((nq + 1))
	done
	tags=$(cat /sys/block/"$name"/mq/0/nr_tags 2>/dev/null)
	if [ "$nq" != 4 ] || [ "$tags" != 64 ]; then
		fail "$dev: $nq hardware queues of ${tags:-?} tags, asked for 4 of 64"
		return 1
	fi
	say "$dev: $nq hardware queues of $tags tags, $(nproc) vCPUs"
	io "$dev" --threads 64 --ops 16 --max-kib 256 --seed 14 || return 1
	server_counts_clean "$dev_id" || return 1
	del "$dev_id" || return 1
	nothing_behind "multiqueue: del"
}

require_clean_ublk
run_steps null ram loop zram multiqueue
exit "$status"
