#!/usr/bin/env bash
# Whole-process ingestion benchmark: `fabsync ingest` against kubectl-slice on the same input,
# run in turn (A B A B ...), as BENCHMARKS.md reports it. Public tools only: bash, awk, GNU time.
#
#   KUBECTL_SLICE=/path/to/kubectl-slice [CASES="hhf hhf1"] scripts/bench-ingest.sh [RUNS]
#
# kubectl-slice is built from its public source (github.com/patrickdappollonio/kubectl-slice,
# `go build -o kubectl-slice .` in a clone; the module proxy does not serve it) and never
# committed. SHARED_TESTDATA names the folder holding hedgehog/ (the real wiring samples);
# BENCH_DIR (default /dev/shm/fabsync-bench, tmpfs) holds the generated input and the copies
# each run works on. Every run of either side first copies its input to a fresh folder (the
# copy is timed for both), then:
#   one:  fabsync ingest DIR                    kubectl-slice -f raw/file-000.yaml -o OUT
#   many: fabsync ingest DIR                    kubectl-slice -f F -o OUT, for each raw file F
#   hhf:  fabsync ingest --disable ... DIR...   kubectl-slice -d DIR -r -o OUT
#   hhf1: the same                              kubectl-slice -d F/raw -o F/out, for each fabric F
#   base: fabsync ingest --disable ... DIR      kubectl-slice -f raw/FILE -o OUT, for one real
#         wiring file of 17 KB: what each process costs in any case (its peak is the baseline
#         that "a single file costs at most 2x its size" is measured above)
# (kubectl-slice run the way it is fastest for each case: per file for many, where -d takes
# 3x as long; in one process for hhf, where 480 processes take 6x as long. In one process it
# writes 121 files, the 80 copies' documents appended to the same names; hhf1 writes every
# fabric's files, as fabsync does.) CASES (default: base one many hhf hhf1) picks the cases.
set -euo pipefail
runs=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
ks=${KUBECTL_SLICE:?set KUBECTL_SLICE to a kubectl-slice binary built from its source}
shared=${SHARED_TESTDATA:-$here/../shared/testdata}
dir=${BENCH_DIR:-/dev/shm/fabsync-bench}
timebin=$(command -v /usr/bin/time || true)
[ -x "$timebin" ] || { echo "bench-ingest: needs GNU time (/usr/bin/time; Debian package time)" >&2; exit 1; }

mkdir -p "$dir"
(cd "$here" && go build -o "$dir/fabsync" ./cmd/fabsync && go build -o "$dir/gen" ./internal/benchdata/gen)
[ -d "$dir/one" ] || "$dir/gen" -out "$dir/one" -files 1 -docs 10000
[ -d "$dir/many" ] || "$dir/gen" -out "$dir/many" -files 100 -docs 1000
if [ ! -d "$dir/base" ]; then
	mkdir -p "$dir/base/raw" && cp "$shared/hedgehog/lab-ci_env-ci-1_wiring.yaml" "$dir/base/raw/"
fi
if [ ! -d "$dir/hhf" ]; then
	for k in $(seq -w 0 79); do
		for f in "$shared"/hedgehog/*.yaml; do
			d="$dir/hhf/c$k-$(basename "$f" .yaml)"
			mkdir -p "$d/raw" && cp "$f" "$d/raw/"
		done
	done
fi

side() { # side a|b CASE: one timed run
	local w="$dir/work.$1.$2" o="$dir/out.$1.$2"
	rm -rf "$w" "$o"
	# The kernel frees removed files' inodes and dentries a moment later (RCU), on whatever
	# runs then: without a pause, the next timed run pays for the last run's clean-up (12,000
	# files after fabsync's hhf, 600 after kubectl-slice's), as system time.
	sleep 0.5
	local cmd
	if [ "$1" = a ]; then
		case $2 in
		hhf | hhf1) cmd="cp -a $dir/hhf $w && $dir/fabsync ingest --disable vpcpeering-unknown-vpc,externalpeering-unknown-vpc $w/* >/dev/null" ;;
		base) cmd="cp -a $dir/base $w && $dir/fabsync ingest --disable vpcpeering-unknown-vpc,externalpeering-unknown-vpc $w >/dev/null" ;;
		*) cmd="cp -a $dir/$2 $w && $dir/fabsync ingest $w >/dev/null" ;;
		esac
	else
		case $2 in
		one) cmd="cp -a $dir/one $w && $ks -q -f $w/raw/file-000.yaml -o $o" ;;
		many) cmd="cp -a $dir/many $w && for f in $w/raw/*.yaml; do $ks -q -f \$f -o $o || exit 1; done" ;;
		hhf) cmd="cp -a $dir/hhf $w && $ks -q -d $w -r -o $o" ;;
		hhf1) cmd="cp -a $dir/hhf $w && for f in $w/*; do $ks -q -d \$f/raw -o \$f/out || exit 1; done" ;;
		base) cmd="cp -a $dir/base $w && $ks -q -f $w/raw/lab-ci_env-ci-1_wiring.yaml -o $o" ;;
		esac
	fi
	"$timebin" -f "%e %U %S %M" -o "$dir/time.$1" sh -c "$cmd"
	cat "$dir/time.$1"
}

for c in ${CASES:-base one many hhf hhf1}; do
	side a "$c" >/dev/null && side b "$c" >/dev/null # warm-up
	for _ in $(seq "$runs"); do
		echo "$(side a "$c") $(side b "$c")"
	done | awk -v c="$c" -v ld="$(cut -d' ' -f1-3 /proc/loadavg)" '
		function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
			return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
		{ n++; aw[n]=$1; ac[n]=$2+$3; am[n]=$4/1024; bw[n]=$5; bc[n]=$6+$7; bm[n]=$8/1024; rw[n]=$5>0?$1/$5:0; rc[n]=$6+$7>0?($2+$3)/($6+$7):0 } # 0: too short to tell (base)
		END { printf "%-5s fabsync wall %.3f s cpu %.3f s peak %.0f MiB | kubectl-slice wall %.3f s cpu %.3f s peak %.0f MiB | ratio wall %.2f cpu %.2f (medians of %d; load %s)\n",
			c, med(aw,n), med(ac,n), med(am,n), med(bw,n), med(bc,n), med(bm,n), med(rw,n), med(rc,n), n, ld }'
done
rm -rf "$dir"/work.* "$dir"/out.* "$dir"/time.*
