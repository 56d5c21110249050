#!/usr/bin/env bash
# How models/default.gmdl is chosen and made, from ../shared/data only.
#
# Candidates: cnn2d on audio (the full GTZAN clips + the 2-3 s excerpts, class
# weights balance the genres), mlp on the GTZAN feature table, and their
# ensemble (mean of the two members' probabilities).
#
# Stages (each reads what the earlier ones wrote under OUT_DIR):
#   folds    two fold files over every recording of the three sources:
#            folds5.csv  5 grouped folds, stratified by genre (seed 42); a
#                        clip, its excerpt and its table row are one group, and so
#                        are the table's exact repeats;
#            artist3.csv the published artist-filtered split of Kereliuk & Sturm
#                        (train / valid / test lists) as 3 folds: no artist is on
#                        both sides; recordings absent from the lists (the faults
#                        the lists filter out) are left out.
#   cv       each candidate's CV on both fold files; predictions.csv per run
#   combine  every candidate measured on the same held-out full clips
#            (genre-train combine): cnn2d, mlp, ensemble
#   train    the members on all the data but the bundled samples (data/)
#   bundle   the ensemble file with its CV figures, into models/ with its card
# Usage: scripts/default_model.sh [BUILD_DIR] [SHARED_DATA] [OUT_DIR] [STAGE...]
#        from the repository root; OUT_DIR defaults to build/default-model. The model
#        cards record the commands as run, so relative paths keep them meaningful
#        on other machines.
#        (FOLDS="artist3" limits the cv stage to one fold file)
set -euo pipefail
build=${1:-build}
shared=${2:-../shared/data}
out=${3:-build/default-model}
shift $(($# < 3 ? $# : 3))
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(folds cv combine train bundle)

table=$shared/gtzan-meta/features_30_sec.csv
clips=$shared/gtzan
excerpts=$shared/gtzan-excerpts
lists=$shared/gtzan-meta/splits-fault-filtered
[ -f "$table" ] && [ -d "$clips" ] || { echo "no $shared/gtzan*: this needs ../shared/data" >&2; exit 77; }
mkdir -p "$out"
mlp=(--arch mlp --epochs 100 --patience 15 --seed 42)
cnn=(--arch cnn2d --seed 42)

run() { echo "+ $*" >&2; "$@"; }
has() { local s; for s in "${stages[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

if has folds; then
  run "$build/genre-train" data split "$table" "$clips" "$excerpts" --folds 5 --seed 42 -o "$out/folds5.csv" >/dev/null
  { echo "path,split"
    for s in train valid test; do tr -d '\r' <"$lists/${s}_filtered.txt" | sed "/^$/d; s/\$/,$s/"; done
  } >"$out/artist3.csv"
fi

if has cv; then
  for folds in ${FOLDS:-artist3 folds5}; do
    run "$build/genre-train" cv "$table" "${mlp[@]}" --folds-from "$out/$folds.csv" \
      --out-dir "$out/cv-$folds-mlp" >"$out/cv-$folds-mlp.log"
    tail -n 1 "$out/cv-$folds-mlp/confusion.txt" >/dev/null
    grep -E '^track accuracy' "$out/cv-$folds-mlp.log"
    start=$(date +%s)
    run "$build/genre-train" cv "$clips" "$excerpts" "${cnn[@]}" --folds-from "$out/$folds.csv" \
      --cache "$out/logmel.h5" --out-dir "$out/cv-$folds-cnn2d" >"$out/cv-$folds-cnn2d.log"
    grep -E '^track accuracy' "$out/cv-$folds-cnn2d.log"
    echo "($(($(date +%s) - start)) s)"
  done
fi

if has combine; then
  # The full clips only: what genre-guess meets (the excerpts' table rows are whole clips).
  for folds in artist3 folds5; do
    [ -f "$out/cv-$folds-cnn2d/predictions.csv" ] || continue
    { head -n 1 "$out/cv-$folds-cnn2d/predictions.csv"
      grep -F "$clips/" "$out/cv-$folds-cnn2d/predictions.csv" || true
    } >"$out/cv-$folds-cnn2d/clips.csv"
    run "$build/genre-train" combine "$out/cv-$folds-cnn2d/clips.csv" "$out/cv-$folds-mlp/predictions.csv" \
      --names cnn2d,mlp --out-dir "$out/combine-$folds" | tee "$out/combine-$folds.txt" | sed -n '1,7p'
  done
fi

if has train; then
  # The bundled samples (data/*.flac, 10 s of three clips) are held out of training:
  # each run's test split, so the quick start classifies songs the model never saw.
  repo=${GENRE_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
  for f in "$repo"/data/*.excerpt.flac; do
    [ -f "$f" ] || { echo "no samples in $repo/data" >&2; exit 1; }
    id=$(basename "$f" .excerpt.flac)
    echo "${id%%.*}/$id.wav"
  done >"$out/samples.txt"
  # Its own copy of the log-mel cache: a CV may be reading the other one (HDF5 locks files).
  [ -f "$out/logmel-train.h5" ] || cp "$out/logmel.h5" "$out/logmel-train.h5"
  run "$build/genre-train" train "$clips" "$excerpts" "${cnn[@]}" --cache "$out/logmel-train.h5" --test-list "$out/samples.txt" --test 0 \
    -o "$out/cnn2d.gmdl" >"$out/train-cnn2d.log"
  tail -n 3 "$out/train-cnn2d.log"
  run "$build/genre-train" train "$table" "${mlp[@]}" --test-list "$out/samples.txt" --test 0 \
    -o "$out/mlp.gmdl" >"$out/train-mlp.log"
  tail -n 3 "$out/train-mlp.log"
fi

if has bundle; then
  # The chosen model (see README, "Accuracy") and its card, into models/.
  repo=${GENRE_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
  cvs=()
  for folds in artist3 folds5; do
    [ -f "$out/combine-$folds/cv.json" ] && cvs+=(--cv "$out/combine-$folds/cv.json")
  done
  run "$build/genre-train" ensemble "$out/cnn2d.gmdl" "$out/mlp.gmdl" -o "$out/default.gmdl" \
    --name genre-default-1 "${cvs[@]}"
  cp "$out/default.gmdl" "$repo/models/default.gmdl"
  GENRE_MODEL= "$build/genre-guess" -m "$repo/models/default.gmdl" --model-info >"$repo/models/default.json"
fi
