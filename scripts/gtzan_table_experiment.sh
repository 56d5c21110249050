#!/usr/bin/env bash
# The GTZAN feature table experiments of the README, measured end to end:
#   1. 10-fold grouped cross-validation of the mlp on the 900-row table
#      (exact repeats in the table share a group, so a fold never splits them);
#   2. an mlp trained on the table WITHOUT the rows of the clips in
#      SHARED/gtzan (they are the test split; the other rows train and validate),
#      then evaluated twice on those clips: on their table rows, and from their
#      audio through the C++ GTZAN vector (genre-train eval on the folder).
# Usage: scripts/gtzan_table_experiment.sh [BUILD_DIR] [SHARED_DATA] [OUT_DIR]
set -euo pipefail
build=${1:-build}
shared=${2:-../shared/data}
out=${3:-/tmp/gtzan-table-experiment}
table=$shared/gtzan-meta/features_30_sec.csv
[ -f "$table" ] || { echo "no $table: this experiment needs ../shared/data" >&2; exit 77; }
mkdir -p "$out"
train=(--arch mlp --epochs 100 --patience 15)

echo "== 1. 10-fold grouped CV, mlp, $(($(wc -l <"$table") - 1)) rows"
start=$(date +%s)
"$build/genre-train" cv "$table" "${train[@]}" --folds 10 --out-dir "$out/cv" >"$out/cv.log"
grep -E '^track accuracy|^  fold [0-9]+:' "$out/cv.log" || true
echo "($(($(date +%s) - start)) s)"

echo "== 2. table minus the rows of the clips in $shared/gtzan, then those clips"
(cd "$shared/gtzan" && ls -- */*) >"$out/held_out.txt"
echo "held out: $(wc -l <"$out/held_out.txt") clips"
"$build/genre-train" train "$table" "${train[@]}" --test-list "$out/held_out.txt" --test 0 \
  -o "$out/table-mlp.gmdl" >"$out/train.log"
grep -E '^(training|stopped)' "$out/train.log" || true
echo "-- on their table rows:"
"$build/genre-train" eval "$out/table-mlp.gmdl" "$out/table-mlp.gmdl.run/split.csv" --split test \
  --out-dir "$out/eval-rows" | tee "$out/eval-rows.txt" | head -1
echo "-- from their audio (C++ GTZAN vector):"
start=$(date +%s)
"$build/genre-train" eval "$out/table-mlp.gmdl" "$shared/gtzan" --out-dir "$out/eval-audio" \
  | tee "$out/eval-audio.txt"
echo "($(($(date +%s) - start)) s)"
if diff <(sed -n '/^true/,$p' "$out/eval-rows.txt") <(sed -n '/^true/,$p' "$out/eval-audio.txt") >/dev/null; then
  echo "confusion matrices from table rows and from audio: identical"
else
  echo "confusion matrices from table rows and from audio: DIFFERENT"
fi
