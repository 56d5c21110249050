#!/usr/bin/env bash
# A build folder anywhere finds the bundled model: the build lays it out as
# <build>/share/genre/models/ (kept equal to models/), and genre-guess looks in
# <exe dir>/share/genre/models, then <exe dir>/../share/genre/models (installed).
# A copy of the built genre-guess with its share/ layout, moved to a folder outside
# the source tree, classifies a bundled sample with no --model and no GENRE_MODEL.
# Usage: build_folder_test.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"
unset GENRE_MODEL

case "$tmp/" in "$src"/*) bad "the temporary folder $tmp is inside the source tree $src" ;; *) ok ;; esac
for f in default.gmdl default.json; do
  cmp -s "$build/share/genre/models/$f" "$src/models/$f" && ok || bad "build share/genre/models/$f differs from models/$f"
done

# The build folder as a user would lay it out elsewhere: ~/builds/genre/{genre-guess,share/...}.
moved=$tmp/builds/genre
mkdir -p "$moved" && cp "$build/genre-guess" "$moved/" && cp -r "$build/share" "$moved/" && ok || bad "copy"
bin=$moved/genre-guess
sample=$src/data/jazz.00004.excerpt.flac
expect moved-build 0 "" -- "$sample" --format csv
want=$(basename "$sample" | cut -d. -f1)
top=$(sed -n 2p "$tmp/out" | cut -d, -f5)
[ "$top" = "$want" ] && ok || bad "moved build: top genre '$top', expected $want: $(cat "$tmp/out")"
# --model-info with no model named is the bundled model's card.
cmp -s <(cd / && "$bin" --model-info) <("$build/genre-guess" -m "$src/models/default.gmdl" --model-info) && ok \
  || bad "moved build: --model-info is not the bundled model's card"
# The same answer as the build folder's own genre-guess with the model named.
"$build/genre-guess" -m "$src/models/default.gmdl" "$sample" --format csv >"$tmp/tree.csv" 2>"$tmp/tree.err"
cmp -s <(cut -d, -f1-6 "$tmp/out") <(cut -d, -f1-6 "$tmp/tree.csv") && ok || bad "answers differ: $(cat "$tmp/out" "$tmp/tree.csv")"

# Nested build folders (build/release/) and the installed layout (bin/ beside share/).
mkdir -p "$tmp/prefix/bin" && cp "$build/genre-guess" "$tmp/prefix/bin/" && cp -r "$build/share" "$tmp/prefix/"
bin=$tmp/prefix/bin/genre-guess
expect installed-layout 0 "" -- "$sample" --format csv

# Without share/ the message lists both places it looked.
mkdir -p "$tmp/bare" && cp "$build/genre-guess" "$tmp/bare/"
bin=$tmp/bare/genre-guess
expect no-model 3 "^genre-guess: no model: give --model PATH or set GENRE_MODEL \(no default model at $tmp/bare/share/genre/models/default.gmdl, $tmp/share/genre/models/default.gmdl\)$" -- "$sample"

echo "build folder: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
