#!/usr/bin/env bash
# The README's quick start: genre-guess with no --model finds the bundled model
# (laid out by the build as share/genre/models/default.gmdl beside genre-guess) and names the bundled samples.
# Usage: quickstart_test.sh PATH/TO/genre-guess SOURCE_DIR
set -u
bin=$1
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"
unset GENRE_MODEL

[ -f "$src/models/default.gmdl" ] && ok || bad "no bundled model at $src/models/default.gmdl"
[ "$(stat -c %s "$src/models/default.gmdl")" -le 20000000 ] && ok || bad "the bundled model is over 20 MB"
expect card 0 "" -- --model-info
has card-name "$tmp/out" '"name": "genre-default-2"'
samples=("$src"/data/*.flac)
[ "${#samples[@]}" -ge 2 ] && ok || bad "fewer than 2 bundled samples in $src/data"
expect quickstart 0 "" -- "${samples[@]}" --top 5
[ "$(grep -cE '^ +[1-5]  [a-z]+ +[0-9.]+ %' "$tmp/out")" -eq $((5 * ${#samples[@]})) ] && ok \
  || bad "quick start: 5 genres per sample expected: $(cat "$tmp/out")"
# Each sample (held out of the model's training) is named after its genre: <genre>.<id>.excerpt.flac.
expect samples-csv 0 "" -- "${samples[@]}" --format csv
while IFS=, read -r path status _ _ top _; do
  want=$(basename "$path" | cut -d. -f1)
  [ "$status" = ok ] && [ "$top" = "$want" ] && ok || bad "$path: top genre $top, expected $want"
done < <(tail -n +2 "$tmp/out")

echo "quick start: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
