#!/usr/bin/env bash
# Two builds of a Google Benchmark program in one run: alternates whole runs of OLD and NEW
# ROUNDS times (the VM's speed drifts by tens of percent over minutes, so alternating is
# what makes the ratio fair) and prints, per benchmark, each one's median and minimum and
# the ratio of the medians.
#
#   bench/compare_bench.sh OLD_BIN NEW_BIN [FILTER] [ROUNDS]
#   e.g. (front end, issue 15): git worktree add /tmp/old REV; build bench_frontend there;
#   bench/compare_bench.sh /tmp/old/build/bench/bench_frontend build/bench/bench_frontend \
#     'Decode_22k|StftMel|Mfcc|Pipeline' 9
set -eu
old=$1
new=$2
filter=${3:-.}
rounds=${4:-7}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for _ in $(seq "$rounds"); do
  for x in old new; do
    bin=$old
    [ "$x" = new ] && bin=$new
    "$bin" --benchmark_filter="$filter" --benchmark_min_time=0.2 2>/dev/null |
      awk -v x="$x" '/^BM_/ {t = $2; if ($3 == "us") t /= 1000; if ($3 == "ns") t /= 1e6; print x, $1, t}' >>"$tmp"
  done
done
echo "medians of $rounds alternating runs (ms): old $old, new $new"
for bm in $(awk '{print $2}' "$tmp" | sort -u); do
  o=$(awk -v b="$bm" '$1 == "old" && $2 == b {print $3}' "$tmp" | sort -g | awk '{v[NR] = $1} END {if (NR) printf "%.3f %.3f", v[int((NR + 1) / 2)], v[1]}')
  n=$(awk -v b="$bm" '$1 == "new" && $2 == b {print $3}' "$tmp" | sort -g | awk '{v[NR] = $1} END {if (NR) printf "%.3f %.3f", v[int((NR + 1) / 2)], v[1]}')
  echo "$bm ${o:-- -} ${n:-- -}" | awk '{r = ($2 != "-" && $4 != "-") ? sprintf("%.2fx", $4 / $2) : "-";
    printf "%-40s old %8s (min %8s)   new %8s (min %8s)   new/old %s\n", $1, $2, $3, $4, $5, r}'
done
