#!/usr/bin/env bash
# Feature-cache benchmark: build the cache from nothing for ../shared/data/gtzan +
# gtzan-excerpts, then rerun with nothing changed, then touch one file's content.
# Prints wall seconds and peak RSS of each run (GNU time), in one run of this script.
#
#   bench/bench_cache.sh [build/genre-train] [../shared/data] [threads]
set -eu
bin=${1:-build/genre-train}
shared=${2:-../shared/data}
threads=${3:-0}
[ -d "$shared/gtzan" ] || { echo "bench_cache: $shared/gtzan not found" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sources=("$shared/gtzan" "$shared/gtzan-excerpts")
jobs=()
[ "$threads" -gt 0 ] && jobs=(-j "$threads")

run() {
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin" data cache "$@" --cache "$tmp/cache.h5" -q "${jobs[@]}" >"$tmp/out"
  read -r secs rss <"$tmp/time"
  printf '%-32s %7.2f s  %6.0f MB peak RSS   %s\n' "$label" "$secs" "$((rss / 1024))" "$(cat "$tmp/out")"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# Page cache warm for every run, so the runs differ only in work done.
cat "${sources[0]}"/*/* "${sources[1]}"/*/* >/dev/null
run "build from nothing (510 files)" "${sources[@]}"
run "rerun, nothing changed" "${sources[@]}"
# One changed file: the excerpts copied elsewhere (new paths, same content) with one of
# them re-encoded 1 dB quieter (new content): 1 extraction, 509 entries copied.
cp -r "${sources[1]}" "$tmp/excerpts"
first=$(ls "$tmp/excerpts/blues" | head -1)
sox "${sources[1]}/blues/$first" "$tmp/excerpts/blues/$first" gain -1
run "new paths, 1 file changed" "${sources[0]}" "$tmp/excerpts"
ls -l "$tmp/cache.h5" | awk '{printf "cache file: %.1f MB\n", $5 / 1e6}'
