#!/bin/bash
# bench/run: 2000 trivial jobs (`true`), 2 at a time, through `pepita run`,
# GNU parallel and `xargs -P 2`, in one run; the median of 5 repetitions
# each, alternating. Prints jobs/s with the ratio to each anchor.
#   bench/run/run-bench.sh PEPITA_BIN
set -u
pepita=${1:?usage: run-bench.sh PEPITA_BIN}
jobs=${BENCH_JOBS:-2000}
reps=5

seq 1 "$jobs" >"${TMPDIR:-/tmp}/bench-run-args.$$"
args="${TMPDIR:-/tmp}/bench-run-args.$$"
trap 'rm -f "$args"' EXIT

secs() {	# COMMAND...: wall seconds
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

have_parallel=0
parallel --version 2>/dev/null | grep -q 'GNU parallel' && have_parallel=1
: >"$args.ours"; : >"$args.par"; : >"$args.xargs"
for _ in $(seq 1 "$reps"); do
	secs "$pepita" run --no-bar -j 2 -a "$args" true >>"$args.ours"
	[ "$have_parallel" = 1 ] &&
		secs parallel --will-cite -j 2 -a "$args" true >>"$args.par"
	secs xargs -P 2 -n 1 -a "$args" true >>"$args.xargs"
done
ours=$(median <"$args.ours")
line() {	# ANCHOR SECONDS
	awk -v n="$jobs" -v o="$ours" -v a="$2" -v name="$1" 'BEGIN {
		printf "BENCH run/true-%d-j2 jobs/s ours=%.0f %s=%.0f speedup=%.2f\n",
			n, n / o, name, n / a, a / o }'
}
if [ "$have_parallel" = 1 ]; then
	line gnu-parallel "$(median <"$args.par")"
else
	echo "# gnu-parallel: not installed (apt-get install parallel)"
	echo "BENCH run/true-$jobs-j2 jobs/s ours=$(awk -v n="$jobs" -v o="$ours" 'BEGIN{printf "%.0f", n/o}') gnu-parallel=na speedup=na"
fi
line xargs "$(median <"$args.xargs")"
rm -f "$args.ours" "$args.par" "$args.xargs"
