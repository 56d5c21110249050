#!/usr/bin/env bash
# bench/fuzz.sh SECONDS [BUILD_DIR [HARNESS...]]: builds the libFuzzer harnesses of fuzz/ (clang,
# -fsanitize=fuzzer,address,undefined; BUILD_DIR defaults to build-fuzz), replays the
# committed corpus and regression inputs of every harness, then runs each harness (or those
# named) for SECONDS on a copy of its
# committed corpus (with its dictionary) and prints one line per harness: executions,
# seconds, executions per second, and any crash (the input is kept, its path printed).
# FUZZ_RUNS=N also stops each harness after N executions (whichever comes first).
# FUZZ_FORK=N fuzzes in libFuzzer's fork mode with N jobs at once (one run: the executions of
# all jobs count), going on past crashes, hangs and running out of memory; each input saved
# is then replayed alone and counted as third-party (below), genre's (exit 1) or not
# reproduced. For fuzz_msd, whose plain runs libhdf5 stops within minutes.
# Exit status: 0 no crash, 1 a crash or a failed regression input, 2 usage.
# CI fuzzes all but msd for 20 s each (scripts/test.sh): libhdf5 itself crashes, hangs or
# exhausts memory on some damaged files within a minute (fuzz/third-party/), which would make
# CI a lottery; msd's corpus and regressions are replayed there. The README records longer runs.
set -uo pipefail
secs=${1:-}
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
  echo "usage: bench/fuzz.sh SECONDS [BUILD_DIR [HARNESS...]]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${2:-$root/build-fuzz}")
harnesses=(audio model msd tables frontend)
[ $# -gt 2 ] && harnesses=("${@:3}")  # some of them only
declare -A max_len=([audio]=8192 [model]=20000 [msd]=32768 [tables]=12000 [frontend]=16384)
# An execution takes milliseconds; libhdf5's hangs are endless loops, and in fork mode each
# costs a job its timeout.
declare -A timeout=([audio]=20 [model]=20 [msd]=5 [tables]=20 [frontend]=20)

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DGENRE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
  exit 1
cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 || { tail -30 "$build/build.log"; exit 1; }

work=$(mktemp -d /tmp/genre-fuzz.XXXXXX)
# Leaks inside libvorbis and libhdf5 on malformed files are theirs (fuzz/lsan.supp).
export LSAN_OPTIONS=suppressions=$root/fuzz/lsan.supp:print_suppressions=0
# A C library asking malloc for more than 1 GB (libhdf5 does, for a damaged size field: a
# terabyte, or 1.9 GB for a variable-length string that it then zeroes for seconds) gets
# NULL, as from a machine with less memory, and reports an error; genre's own allocations
# go through new, whose failure is reported as a crash with genre's stack.
export ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=1024
big=(-malloc_limit_mb=1073741824)
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
fork=()
if [ -n "${FUZZ_FORK:-}" ]; then
  [[ "$FUZZ_FORK" =~ ^[1-9][0-9]*$ ]] || { echo "bench/fuzz.sh: FUZZ_FORK must be a number of jobs" >&2; exit 2; }
  fork=(-fork="$FUZZ_FORK" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi

# third_party LOG: whether the hang, crash or out-of-memory a log reports is libhdf5's
# (fuzz/third-party/README.md): its innermost frame (below the sanitizer's, its interceptors',
# the alarm's and libc's own) is in libhdf5, and so is the allocation of the memory it names,
# if any (freed or overflowed). Our own misuse would show genre's frames innermost, or our
# buffer's allocation (libhdf5 writing past a buffer genre sized too small is genre's).
third_party() {
  local own='AlarmCallback|PrintStackTrace|__sanitizer|__interceptor|__asan|[^a-z](malloc|calloc|realloc|free|mem(move|cpy|set|cmp)|str(n?dup|n?len|n?cpy|n?cmp|chr)) |libc\.so|sysdeps/'
  grep -qE "ERROR: libFuzzer: (timeout|out-of-memory)|ERROR: AddressSanitizer: (SEGV|FPE|heap-use-after-free|heap-buffer-overflow|memcpy-param-overlap)" "$1" &&
    grep -E '^ +#[0-9]+ ' "$1" | grep -v -E "$own" | head -1 | grep -q libhdf5 &&
    { ! grep -q "allocated by thread" "$1" ||
      sed -n '/allocated by thread/,$p' "$1" | grep -E '^ +#[0-9]+ ' | grep -v -E "$own" |
        head -1 | grep -q libhdf5; }
}
status=0
# Every harness, whichever are fuzzed: its committed corpus and regression inputs (crashes
# found and fixed) must run clean.
for h in audio model msd tables frontend; do
  inputs=("$root/fuzz/corpus/$h"/*)
  [ -d "$root/fuzz/regressions/$h" ] && inputs+=("$root/fuzz/regressions/$h"/*)
  if ! "$build/fuzz/fuzz_$h" -rss_limit_mb=2048 "${big[@]}" "${inputs[@]}" >"$work/regressions-$h.log" 2>&1; then
    echo "fuzz_$h: a regression input fails again:"
    tail -20 "$work/regressions-$h.log"
    status=1
  fi
done

printf '%-14s %12s %8s %10s  %s\n' harness executions seconds "exec/s" result
for h in "${harnesses[@]}"; do
  mkdir -p "$work/$h"
  cp "$root/fuzz/corpus/$h/"* "$work/$h/" 2>/dev/null
  dict=()
  [ -f "$root/fuzz/$h.dict" ] && dict=(-dict="$root/fuzz/$h.dict")
  start=$(date +%s%N)
  (cd "$work" && "$build/fuzz/fuzz_$h" "$work/$h" "${dict[@]}" -max_total_time="$secs" "${runs[@]}" "${fork[@]}" \
    -max_len="${max_len[$h]}" -timeout="${timeout[$h]}" -rss_limit_mb=2048 "${big[@]}" -print_final_stats=1 \
    -artifact_prefix="$work/$h-" >"$work/$h.log" 2>&1)
  rc=$?
  took=$(( ($(date +%s%N) - start) / 1000000 ))  # ms
  if [ ${#fork[@]} -gt 0 ]; then  # the fork mode's last "#N: cov: ..." line
    execs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$work/$h.log" | tail -1)
  else
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log" | tail -1)
  fi
  execs=${execs:-0}
  result=ok
  if [ ${#fork[@]} -gt 0 ]; then
    theirs=0 ours=0 gone=0
    for input in "$work/$h-"*; do
      [ -f "$input" ] || continue
      if (cd "$work" && "$build/fuzz/fuzz_$h" -timeout="${timeout[$h]}" -rss_limit_mb=2048 "${big[@]}" "$input" >"$input.log" 2>&1); then
        gone=$((gone + 1))
      elif third_party "$input.log"; then
        theirs=$((theirs + 1))
      else
        ours=$((ours + 1))
        status=1
        echo "fuzz_$h: CRASH of genre's: $input (log $input.log)"
        grep -m3 -E "ERROR: (AddressSanitizer|libFuzzer)|runtime error|genre-fuzz:|terminate called" "$input.log" | sed 's/^/    /'
      fi
    done
    result="ok: $theirs inputs that crash, hang or exhaust libhdf5 (third-party), $gone not reproduced alone"
    [ $((theirs + gone)) -eq 0 ] && result="ok: no input saved (no crash, hang or running out of memory)"
    [ "$ours" -gt 0 ] && result="CRASH: $ours inputs crash genre (above), $theirs third-party, $gone not reproduced"
    # Its exit status is the last failed job's, whatever was ignored: a run that ended
    # normally says "INFO: exiting:".
    grep -q '^INFO: exiting:' "$work/$h.log" ||
      { result="fork mode failed (exit $rc); log $work/$h.log"; status=1; }
  elif [ "$rc" -ne 0 ] && third_party "$work/$h.log"; then
    result="stopped: a hang or crash inside libhdf5 (third-party, see fuzz/third-party/README.md)"
    cp "$(ls "$work/$h-"* 2>/dev/null | head -1)" "$work/third-party-$h" 2>/dev/null
  elif [ "$rc" -ne 0 ]; then
    status=1
    crash=$(ls "$work/$h-"* 2>/dev/null | head -1)
    result="CRASH (exit $rc): ${crash:-no input saved}; log $work/$h.log"
    grep -m3 -E "ERROR: (AddressSanitizer|libFuzzer)|runtime error|genre-fuzz:|terminate called" "$work/$h.log" | sed 's/^/    /'
  fi
  printf '%-14s %12s %8.0f %10.0f  %s\n' "fuzz_$h" "$execs" "$(awk "BEGIN{print $took / 1000}")" \
    "$(awk "BEGIN{print $execs * 1000 / ($took + 1)}")" "$result"
done
[ "$status" -eq 0 ] && rm -rf "$work"
exit "$status"
