#!/usr/bin/env bash
# genre-guess benchmark, in one run: cold-process wall time and peak RSS for one 30-s
# clip (medians of 5), throughput over ../shared/data/gtzan (1 job = per core, and all
# cores), and peak RSS on a 60-minute file built here with sox; with a BASELINE binary
# (another build of genre-guess, e.g. the last one on libtorch), the same for it on the
# same model, and the ratios.
#
#   bench/bench_guess.sh MODEL [build/genre-guess] [../shared/data] [BASELINE_GENRE_GUESS]
set -eu
model=$1
bin=${2:-build/genre-guess}
shared=${3:-../shared/data}
baseline=${4:-}
[ -d "$shared/gtzan" ] || { echo "bench_guess: $shared/gtzan not found" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clip=$(ls "$shared"/gtzan/blues/*.flac | head -1)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
files=()
for i in $(seq 1 120); do files+=("$clip"); done
sox "${files[@]}" "$tmp/60min.flac"
audio_s=$(soxi -D "$shared"/gtzan/*/*.flac | awk '{s+=$1} END {printf "%.0f", s}')
n=$(ls "$shared"/gtzan/*/*.flac | wc -l)

# bench GENRE_GUESS NAME: prints its figures and keeps cold / per-core / RSS in $tmp/NAME.
bench() {
  local bin=$1 name=$2 m=$model
  cat "$shared"/gtzan/*/* "$m" "$bin" >/dev/null  # warm page cache
  echo "$name: $bin links $(ldd "$bin" | grep -c '=>') shared libraries ($(ldd "$bin" | grep -c torch) of libtorch)"
  for i in 1 2 3 4 5; do
    /usr/bin/time -f "%e %M" -o "$tmp/t$i" "$bin" -m "$m" "$clip" --format csv >/dev/null
  done
  cold=$(cut -d' ' -f1 "$tmp"/t? | sort -n | sed -n 3p)
  cold_rss=$(cut -d' ' -f2 "$tmp"/t? | sort -n | sed -n 3p)
  echo "$name: cold process, one 30-s clip (median of 5):   ${cold} s, peak RSS $((cold_rss / 1024)) MB"
  for j in 1 $(nproc); do
    /usr/bin/time -f "%e %M" -o "$tmp/tp" "$bin" -m "$m" "$shared/gtzan" --format csv -j "$j" >/dev/null
    read -r secs rss <"$tmp/tp"
    awk -v a="$audio_s" -v s="$secs" -v j="$j" -v n="$n" -v r="$rss" -v name="$name" \
      'BEGIN {printf "%s: gtzan, %d files, -j %d:  %6.2f s  = %5.0fx real time (%5.0fx per job), peak RSS %d MB\n", name, n, j, s, a/s, a/s/j, r/1024}'
    [ "$j" = "$(nproc)" ] && per_core=$(awk -v a="$audio_s" -v s="$secs" -v j="$j" 'BEGIN {print a/s/j}')
  done
  /usr/bin/time -f "%e %M" -o "$tmp/long" "$bin" -m "$m" "$tmp/60min.flac" --format csv >/dev/null
  read -r secs rss <"$tmp/long"
  echo "$name: 60-minute file ($(soxi -D "$tmp/60min.flac" | cut -d. -f1) s): ${secs} s, peak RSS $((rss / 1024)) MB"
  echo "$cold $per_core $rss $cold_rss" >"$tmp/$name"
}

bench "$bin" genre-guess
if [ -n "$baseline" ]; then
  bench "$baseline" baseline
  read -r c1 p1 r1 cr1 <"$tmp/genre-guess"
  read -r c0 p0 r0 cr0 <"$tmp/baseline"
  awk -v c1="$c1" -v c0="$c0" -v p1="$p1" -v p0="$p0" -v r1="$r1" -v r0="$r0" -v cr1="$cr1" -v cr0="$cr0" \
    'BEGIN {printf "genre-guess / baseline: cold start %.2fx (%.1fx faster), cold peak RSS %.2fx, throughput per core (-j all) %.2fx, 60-min peak RSS %.2fx\n", c1/c0, c0/c1, cr1/cr0, p1/p0, r1/r0}'
  # The same answers: every file's top genre from both.
  "$bin" -m "$model" "$shared/gtzan" --format csv -j "$(nproc)" | cut -d, -f1,5 | sort >"$tmp/top1"
  "$baseline" -m "$model" "$shared/gtzan" --format csv -j "$(nproc)" | cut -d, -f1,5 | sort >"$tmp/top0"
  echo "top genre the same on $(comm -12 "$tmp/top1" "$tmp/top0" | grep -c .) of $(grep -c . "$tmp/top1") lines"
fi
