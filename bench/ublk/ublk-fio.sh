#!/bin/sh
# bench/ublk, inside the test VM (run by bench/ublk/run): fio with the
# io_uring engine, 4 KiB random reads and writes at iodepth 64, on pepita's
# ublk null and ram targets with 1 and 2 queues (one fio job per queue),
# and the same fio on the kernel's own loop device over a tmpfs file in the
# same VM, the anchor. Prints BENCH lines: IOPS with the ratio to loop,
# and p50/p99 completion latency in microseconds.
set -u
SIZE=${BENCH_SIZE:-256M}
RUNTIME=${BENCH_RUNTIME:-5}

command -v fio >/dev/null 2>&1 || { echo "SKIP: no fio in the VM (apt-get install fio)"; exit 77; }
command -v pepita >/dev/null 2>&1 || { echo "SKIP: no pepita in the VM"; exit 77; }

# fio DEV RW JOBS -> "iops p50 p99" (terse v3: read stats in fields 8 and
# 18-37, write stats in 49 and 59-78; percentiles as "50.000000%=N" in us)
measure() {
	fio --name=bench --filename="$1" --ioengine=io_uring --direct=1 \
		--rw="$2" --bs=4k --iodepth=64 --numjobs="$3" --size="$SIZE" \
		--runtime="$RUNTIME" --time_based --group_reporting \
		--output-format=terse --terse-version=3 2>/dev/null |
	awk -F';' -v rw="$2" '{
		iops = (rw == "randread") ? $8 : $49
		first = (rw == "randread") ? 18 : 59
		for (i = first; i < first + 20; i++) {
			split($i, kv, "=")
			if (kv[1] == "50.000000%") p50 = kv[2]
			if (kv[1] == "99.000000%") p99 = kv[2]
		}
		print iops, p50, p99
	}'
}

bench_line() {	# NAME OURS ANCHOR
	awk -v n="$1" -v o="$2" -v a="$3" 'BEGIN {
		split(o, x, " "); split(a, y, " ")
		printf "BENCH ublk/%s iops ours=%d loop-tmpfs=%d speedup=%.2f\n", n, x[1], y[1], (y[1] > 0 ? x[1] / y[1] : 0)
		printf "BENCH ublk/%s p50-us ours=%d loop-tmpfs=%d speedup=%.2f\n", n, x[2], y[2], (x[2] > 0 ? y[2] / x[2] : 0)
		printf "BENCH ublk/%s p99-us ours=%d loop-tmpfs=%d speedup=%.2f\n", n, x[3], y[3], (x[3] > 0 ? y[3] / x[3] : 0)
	}'
}

# The anchor: the kernel's loop driver over a file in tmpfs.
mkdir -p /tmp/anchor
dd if=/dev/zero of=/tmp/anchor/file bs=1M count="${SIZE%M}" 2>/dev/null
loopdev=$(losetup -f)
losetup "$loopdev" /tmp/anchor/file || { echo "losetup failed"; exit 1; }
trap 'losetup -d "$loopdev" 2>/dev/null; pepita ublk del --all >/dev/null 2>&1' EXIT

rc=0
for q in 1 2; do
	for rw in randread randwrite; do
		anchor=$(measure "$loopdev" "$rw" "$q")
		for target in null ram; do
			dev=$(pepita ublk add -t "$target" --size "$SIZE" --queues "$q" \
				--depth 64) || { echo "ublk add -t $target failed"; rc=1; continue; }
			ours=$(measure "$dev" "$rw" "$q")
			bench_line "$target-$rw-4k-q$q" "$ours" "$anchor"
			pepita ublk del "${dev#/dev/ublkb}" >/dev/null
		done
	done
done
exit $rc
