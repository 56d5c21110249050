#!/usr/bin/env bash
# Data-parallel training benchmark: `genre-train launch --nproc N -- train` for N = 1, 2, 4 on a
# synthetic MSD-layout set (build/bench/make_synthetic_msd, 10 genres, ~80 segments a song), a
# small cnn1d on segments, 2 epochs, one thread per worker. For each N it prints the seconds of
# epoch 1 and epoch 2, the training throughput of epoch 2, speedup T1/TN and scaling efficiency
# T1/(N*TN) of epoch 2, whether every rank ended with the same weights, the peak RSS of the largest
# worker and the wall time (startup, data preparation, validation and saving included).
#
#   bench/bench_distributed.sh [BUILD=build] [TRACKS=200000] [OUT=a temp folder] [extra genre-train train options]
#
# The set is generated into OUT/data (OUT/data.params records how) unless it is already there
# with TRACKS tracks; models, logs and run folders go to OUT/mN.*. Environment:
#   HALF=1            also train N=1 on a second set of TRACKS/2 tracks (OUT/data-half) and print
#                     both peaks: whether memory per worker stays flat as the data set doubles
#   NPROCS="1 2 4"    the worker counts (the first is the base of speedup and efficiency)
#   WINDOW_MB=64      --window-mb: the most MB of training inputs a worker holds at once; memory
#                     can only stay flat once the inputs (about half the size of OUT/data) exceed it
#
# Example (small, minutes on 2 cores): HALF=1 bench/bench_distributed.sh build 3000 /tmp/bd
set -eu
build=${1:-build}
tracks=${2:-200000}
out=${3:-$(mktemp -d)}
shift $(($# < 3 ? $# : 3))
nprocs=${NPROCS:-1 2 4}
half=${HALF:-0}
window_mb=${WINDOW_MB:-64}
cores=$(nproc)
gen=$build/bench/make_synthetic_msd
[ -x "$gen" ] || { echo "bench_distributed: $gen not found (cmake --build $build --target make_synthetic_msd)" >&2; exit 1; }
[ -x "$build/genre-train" ] || { echo "bench_distributed: $build/genre-train not found" >&2; exit 1; }
case $tracks in '' | *[!0-9]*) echo "bench_distributed: TRACKS must be a number, got '$tracks'" >&2; exit 2 ;; esac
mkdir -p "$out"
echo "machine: $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# generate DIR TRACKS: the synthetic set, unless DIR already holds it.
generate() {
  local dir=$1 n=$2 params="tracks=$2 per_file=10000 segments=80 seed=1"
  if [ -f "$dir.params" ] && [ "$(cat "$dir.params")" = "$params" ]; then
    echo "data: $dir, $n tracks (already there: $(du -shL "$dir" | cut -f1))"
    return
  fi
  rm -f "$dir.params"
  /usr/bin/time -f "%e %M" -o "$dir.time" "$gen" "$dir" "$n" --per-file 10000 --segments 80 --seed 1 >"$dir.log"
  echo "$params" >"$dir.params"
  local secs rss
  read -r secs rss <"$dir.time"
  echo "data: $dir, $n tracks, generated in $secs s (peak RSS $((rss / 1024)) MB): $(tail -1 "$dir.log")"
}

# field LINE NAME: a number of a JSON log line ("" when absent).
field() { echo "$1" | sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p"; }

# train N DATA NAME [options]: one launch; leaves OUT/NAME.jsonl, .err and .time.
train() {
  local n=$1 data=$2 name=$3 rc=0
  shift 3
  rm -rf "$out/$name.gmdl" "$out/$name.gmdl.run"
  /usr/bin/time -f "%e %M" -o "$out/$name.time" "$build/genre-train" launch --nproc "$n" -- train "$data" \
    -o "$out/$name.gmdl" --arch cnn1d --input segments --channels 16,32 --hidden 32 --windows-per-track 1 \
    --epochs 2 --valid 0.02 --test 0 --patience 100 --log-format json -j 1 --window-mb "$window_mb" "$@" \
    >"$out/$name.jsonl" 2>"$out/$name.err" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "bench_distributed: $n workers on $data failed (exit $rc); the end of $out/$name.err:" >&2
    tail -5 "$out/$name.err" >&2
    exit 1
  fi
}

generate "$out/data" "$tracks"
echo "command: $build/genre-train launch --nproc N -- train $out/data -o $out/mN.gmdl --arch cnn1d --input segments" \
  "--channels 16,32 --hidden 32 --windows-per-track 1 --epochs 2 --valid 0.02 --test 0 --patience 100" \
  "--log-format json -j 1 --window-mb $window_mb${*:+ $*}"
rows=()
base=
for n in $nprocs; do
  train "$n" "$out/data" "m$n" "$@"
  read -r wall rss <"$out/m$n.time"
  e1=$(field "$(grep '"event":"epoch"' "$out/m$n.jsonl" | grep '"epoch":1,' || true)" seconds)
  line2=$(grep '"event":"epoch"' "$out/m$n.jsonl" | grep '"epoch":2,' || true)
  e2=$(field "$line2" seconds)
  wps=$(field "$line2" windows_per_second)
  hashes=$(sed -n 's/.*"event":"done".*"weights_hash":"\([0-9a-f]*\)".*/\1/p' "$out/m$n.jsonl")
  done_lines=$(echo "$hashes" | grep -c . || true)
  distinct=$(echo "$hashes" | sort -u | grep -c . || true)
  same=no
  [ "$done_lines" = "$n" ] && [ "$distinct" = 1 ] && same=yes
  echo "weights identical on $n ranks: $same ($done_lines done lines, weights_hash $(echo "$hashes" | sort -u | paste -sd,))"
  [ -z "$base" ] && base="$n ${e2:-}"
  rows+=("$n|${e1:-}|${e2:-}|${wps:-}|$base|$((rss / 1024))|$wall")
done

echo
echo "workers | epoch 1 s | epoch 2 s | windows/s | speedup | efficiency | peak RSS per worker MB | wall s | outside epochs s"
for row in "${rows[@]}"; do
  echo "$row" | awk -F'|' '{
    split($5, b, " "); n = $1; e1 = $2; e2 = $3
    if (e2 != "" && b[2] != "") { sp = sprintf("%.2f", b[2] / e2); ef = sprintf("%.2f", b[2] * b[1] / (n * e2)) }
    else { sp = "n/a"; ef = "n/a" }
    printf "%7d | %9s | %9s | %9s | %7s | %10s | %22d | %6.1f | %16.1f\n",
      n, e1 == "" ? "n/a" : sprintf("%.2f", e1), e2 == "" ? "n/a" : sprintf("%.2f", e2),
      $4 == "" ? "n/a" : sprintf("%.0f", $4), sp, ef, $6, $7, $7 - e1 - e2
  }'
done
read -r base_n _ <<<"$base"
echo "speedup and efficiency: of epoch 2, against the $base_n-worker run; windows/s: the whole job's, of epoch 2."
echo "peak RSS: /usr/bin/time's %M of the launcher, which waits for its workers: the largest single process"
echo "  of the job (normally a worker), not their sum."
echo "outside epochs: wall - epoch 1 - epoch 2 (startup, reading and preparing the data, validation, saving)."
for n in $nprocs; do
  if [ "$n" -gt "$cores" ]; then
    echo "note: $cores cores here: with more workers than cores the workers share cores, so the rows with" \
      "N > $cores measure the overhead of data parallelism, not its speedup."
    break
  fi
done

if [ "$half" = 1 ]; then
  htracks=$((tracks / 2))
  echo
  generate "$out/data-half" "$htracks"
  train 1 "$out/data-half" m1-half "$@"
  read -r hwall hrss <"$out/m1-half.time"
  full_rss=
  [ -f "$out/m1.time" ] && read -r _ full_rss <"$out/m1.time"
  echo "peak RSS, 1 worker, --window-mb $window_mb: $htracks tracks $((hrss / 1024)) MB (wall $hwall s)" \
    "${full_rss:+| $tracks tracks $((full_rss / 1024)) MB}"
fi
echo "files: $out"
