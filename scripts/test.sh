#!/usr/bin/env bash
# Sets up and runs the whole test suite from a fresh clone on Debian 12:
#   1. installs the Debian packages the build needs (scripts/install-deps.sh, idempotent),
#      and checks that every C++ file is as clang-format (.clang-format) writes it,
#   2. builds (Release) and runs every test (ctest: fast + slow + the page in headless
#      chromium, which must run here: GENRE_REQUIRE_BROWSER=1),
#   3. rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the fast tests,
#   4. builds the libFuzzer harnesses (clang), replays every committed corpus and regression
#      input, and fuzzes each harness but msd for 20 s (bench/fuzz.sh; msd: see there).
# GENRE_SKIP_SANITIZE=1 skips step 3, GENRE_SKIP_FUZZ=1 step 4.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc)

# Formatting: the same command with -i instead of --dry-run --Werror fixes what this finds.
find src include tools tests fuzz bench \( -name '*.cc' -o -name '*.h' \) -print0 |
  xargs -0 clang-format --dry-run --Werror

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
GENRE_REQUIRE_BROWSER=1 ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${GENRE_SKIP_SANITIZE:-0}" != 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGENRE_SANITIZE=ON -DGENRE_BUILD_BENCH=OFF
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L fast --output-on-failure -j"$jobs"
fi

if [ "${GENRE_SKIP_FUZZ:-0}" != 1 ]; then
  bash bench/fuzz.sh 20 build-fuzz audio model tables frontend
fi
