#!/usr/bin/env bash
# genre-guess benchmark, in one run: cold-process wall time for one 30-s clip
# (median of 5), throughput over ../shared/data/gtzan (1 job = per core, and all
# cores), and peak RSS on a 60-minute file built here with sox.
#
#   bench/bench_guess.sh MODEL [build/genre-guess] [../shared/data]
set -eu
model=$1
bin=${2:-build/genre-guess}
shared=${3:-../shared/data}
[ -d "$shared/gtzan" ] || { echo "bench_guess: $shared/gtzan not found" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clip=$(ls "$shared"/gtzan/blues/*.flac | head -1)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
cat "$shared"/gtzan/*/* "$model" >/dev/null  # warm page cache
for i in 1 2 3 4 5; do
  /usr/bin/time -f "%e" -o "$tmp/t$i" "$bin" -m "$model" "$clip" --format csv >/dev/null
done
cold=$(cat "$tmp"/t? | sort -n | sed -n 3p)
echo "cold process, one 30-s clip (median of 5):   ${cold} s"
audio_s=$(soxi -D "$shared"/gtzan/*/*.flac | awk '{s+=$1} END {printf "%.0f", s}')
n=$(ls "$shared"/gtzan/*/*.flac | wc -l)
for j in 1 $(nproc); do
  /usr/bin/time -f "%e %M" -o "$tmp/tp" "$bin" -m "$model" "$shared/gtzan" --format csv -j "$j" >/dev/null
  read -r secs rss <"$tmp/tp"
  awk -v a="$audio_s" -v s="$secs" -v j="$j" -v n="$n" -v r="$rss" \
    'BEGIN {printf "gtzan, %d files, -j %d:  %6.2f s  = %5.0fx real time (%5.0fx per job), peak RSS %d MB\n", n, j, s, a/s, a/s/j, r/1024}'
done
files=()
for i in $(seq 1 120); do files+=("$clip"); done
sox "${files[@]}" "$tmp/60min.flac"
/usr/bin/time -f "%e %M" -o "$tmp/long" "$bin" -m "$model" "$tmp/60min.flac" --format csv >/dev/null
read -r secs rss <"$tmp/long"
echo "60-minute file ($(soxi -D "$tmp/60min.flac" | cut -d. -f1) s): ${secs} s, peak RSS $((rss / 1024)) MB"
