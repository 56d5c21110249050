#!/usr/bin/env bash
# Training benchmark: a full cnn2d training with default options on
# ../shared/data/gtzan + gtzan-excerpts (510 files), from an empty run folder
# (feature extraction included). Prints the wall time, the training throughput
# (windows per second, median over epochs) and the test-split result.
#
#   bench/bench_train.sh [build/genre-train] [../shared/data] [OUTDIR] [extra genre-train options]
set -eu
bin=${1:-build/genre-train}
shared=${2:-../shared/data}
out=${3:-$(mktemp -d)}
shift $(( $# < 3 ? $# : 3 ))
[ -d "$shared/gtzan" ] || { echo "bench_train: $shared/gtzan not found" >&2; exit 77; }
mkdir -p "$out"
rm -rf "$out/model.gmdl" "$out/model.gmdl.run"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
start=$(date +%s.%N)
/usr/bin/time -f "%e %M" -o "$out/time" "$bin" train "$shared/gtzan" "$shared/gtzan-excerpts" \
  -o "$out/model.gmdl" --log-format json "$@" >"$out/log.jsonl"
read -r secs rss <"$out/time"
epochs=$(grep -c '"event":"epoch"' "$out/log.jsonl")
wps=$(grep '"event":"epoch"' "$out/log.jsonl" | sed 's/.*"windows_per_second":\([0-9.]*\).*/\1/' | sort -n |
      awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
epoch_s=$(grep '"event":"epoch"' "$out/log.jsonl" | sed 's/.*"seconds":\([0-9.]*\).*/\1/' | sort -n |
          awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
done_line=$(grep '"event":"done"' "$out/log.jsonl")
acc=$(echo "$done_line" | sed 's/.*"test":{.*"accuracy":\([0-9.]*\).*/\1/')
f1=$(echo "$done_line" | sed 's/.*"macro_f1":\([0-9.]*\).*/\1/')
reason=$(echo "$done_line" | sed 's/.*"stop_reason":"\([a-z _]*\)".*/\1/')
printf 'full training wall time      %8.1f s  (%d epochs, stopped: %s, peak RSS %d MB)\n' "$secs" "$epochs" "$reason" "$((rss / 1024))"
printf 'training throughput          %8.1f windows/s (median epoch %.1f s)\n' "$wps" "$epoch_s"
printf 'test split (50 tracks)       accuracy %s, macro-F1 %s\n' "$acc" "$f1"
echo "files: $out"
