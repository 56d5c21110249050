#!/usr/bin/env bash
# cmake --install into a temporary prefix: the installed genre-guess finds the
# installed default model, genre-train finds its model tool, and a program built
# with find_package(genre) links genre::genre (no libtorch) and classifies like genre-guess.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/prefix/bin/genre-guess
source "$(dirname "$0")/cli_lib.sh"
unset GENRE_MODEL

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 && ok || bad "install: $(tail -5 "$tmp/install.log")"
for f in bin/genre-guess bin/genre-train bin/genre-features libexec/genre/genre-train-model \
         share/genre/models/default.gmdl share/genre/models/default.json lib/cmake/genre/genreConfig.cmake \
         include/genre/model/classifier.h; do
  [ -e "$tmp/prefix/$f" ] && ok || bad "not installed: $f"
done

sample=$(ls "$src"/data/*.flac | head -1)
# The installed genre-guess, from anywhere, uses the installed model.
(cd / && "$bin" "$sample" --format csv --top 5) >"$tmp/installed.csv" 2>"$tmp/err" && ok || bad "installed genre-guess: $(cat "$tmp/err")"
"$build/genre-guess" -m "$src/models/default.gmdl" "$sample" --format csv >"$tmp/tree.csv" 2>&1
cmp -s "$tmp/installed.csv" "$tmp/tree.csv" && ok || bad "installed model differs: $(cat "$tmp/installed.csv" "$tmp/tree.csv")"
expect installed-table 0 "" -- "$sample" --top 5
[ "$(grep -cE '^ +[1-5]  [a-z]+ +[0-9.]+ %' "$tmp/out")" -eq 5 ] && ok || bad "installed genre-guess --top 5: $(cat "$tmp/out")"
"$tmp/prefix/bin/genre-train" cv --help >"$tmp/out" 2>&1 && ok || bad "installed genre-train cv: $(cat "$tmp/out")"

# find_package(genre) from a fresh project.
cmake -S "$src/tests/install" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release \
  >"$tmp/configure.log" 2>&1 && ok || bad "consumer configure: $(tail -20 "$tmp/configure.log")"
cmake --build "$tmp/consumer" -j 2 >"$tmp/build.log" 2>&1 && ok || bad "consumer build: $(tail -20 "$tmp/build.log")"
"$tmp/consumer/consumer" "$sample" >"$tmp/consumer.out" 2>&1 && ok || bad "consumer run: $(cat "$tmp/consumer.out")"
top=$(sed -n 2p "$tmp/tree.csv" | cut -d, -f5,6 | tr ',' ' ')
[ -n "$top" ] && [ "$(cat "$tmp/consumer.out")" = "$top" ] && ok || bad "consumer says '$(cat "$tmp/consumer.out")', genre-guess '$top'"
# genre::genre classifies without libtorch; so do the installed genre-guess and genre-features.
for exe in "$tmp/consumer/consumer" "$bin" "$tmp/prefix/bin/genre-features"; do
  [ "$(ldd "$exe" | grep -c torch)" -eq 0 ] && ok || bad "$exe links libtorch: $(ldd "$exe" | grep torch | head -3)"
done

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
