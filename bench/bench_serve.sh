#!/usr/bin/env bash
# genre-serve load benchmark, loopback only, bounded: a 30-s clip uploaded back to back by
# 1, 2 and 8 concurrent clients (each level: at most REQUESTS requests or SECONDS seconds);
# prints requests per second and latency p50 / p99 (ms, answered requests), and the
# server's peak RSS; and, as the baseline in the same run, a cold `genre-guess` process per
# clip (20 in a row, and 2 at a time), which is what a script without the server pays. The clip: the first GTZAN blues clip of ../shared/data, else the three
# bundled 10-s samples joined by sox.
#
#   bench/bench_serve.sh [build] [MODEL] [REQUESTS=60] [SECONDS=60] [JOBS=0 (all cores)]
set -eu
build=${1:-build}
model=${2:-models/default.gmdl}
requests=${3:-60}
seconds=${4:-60}
jobs=${5:-0}
tmp=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && pkill -P "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
clip=$(ls ../shared/data/gtzan/blues/*.flac 2>/dev/null | head -1 || true)
if [ -z "$clip" ]; then
  sox data/disco.00001.excerpt.flac data/jazz.00004.excerpt.flac data/metal.00007.excerpt.flac "$tmp/clip.flac"
  clip=$tmp/clip.flac
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "clip: $clip ($(soxi -D "$clip") s, $(stat -c %s "$clip") bytes); model $model; genre-serve -j $jobs"
/usr/bin/time -f "%M" -o "$tmp/rss" "$build/genre-serve" -m "$model" --port 0 -j "$jobs" -q >"$tmp/out" &
server=$!
for _ in $(seq 100); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's#.*127.0.0.1:\([0-9]*\).*#\1#p' "$tmp/out")
[ -n "$port" ] || { echo "bench_serve: genre-serve did not start" >&2; exit 1; }
"$build/bench/serve_load" "$port" "$clip" 1 3 60 >/dev/null  # warm up
echo "clients  requests     200    503  failed    req/s   p50 ms    p99 ms"
for c in 1 2 8; do
  "$build/bench/serve_load" "$port" "$clip" "$c" "$requests" "$seconds"
done
pkill -INT -P "$server"  # genre-serve, under /usr/bin/time
wait "$server" || true
server=
echo "server peak RSS: $(($(cat "$tmp/rss") / 1024)) MB"
# Baseline: one genre-guess process per clip.
for c in 1 2; do
  start=$(date +%s.%N)
  seq 20 | xargs -P "$c" -I{} "$build/genre-guess" -m "$model" "$clip" --format csv >/dev/null
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v c="$c" \
    'BEGIN {printf "baseline: genre-guess, one cold process per clip, %d at a time: %6.2f clips/s (%.0f ms each)\n", c, 20/(e-s), (e-s)*1000*c/20}'
done
