#!/usr/bin/env bash
# CLI tests for genre-train train / eval / cv / search on a tiny dataset: a model
# comes out and loads, a killed run resumes to the same weights, hostile setups
# give one line and the documented exit code, nothing is overwritten.
# Usage: genre_train_model_test.sh PATH/TO/genre-train tests/data
set -u
bin=$1
data=$(cd "$2" && pwd)
in=$data/inputs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"

# Three genres, two clips each.
tiny_dataset "$in" "$tmp/ds"
small=(--channels 4,8 --hidden 8 --window 43 --windows-per-track 2 --valid 0 --test 0 -j 1 --log-format json)

# --- a tiny run yields a loadable model ---------------------------------------------
expect train 0 "" -- train "$tmp/ds" -o "$tmp/m.gmdl" --epochs 2 "${small[@]}"
has train-epoch-json "$tmp/out" '^\{"best":(true|false),"epoch":1,"epochs":2,'
has train-done "$tmp/out" '"event":"done"'
whole=$(grep '"event":"done"' "$tmp/out" | sed 's/.*"weights_hash":"\([0-9a-f]*\)".*/\1/')
[ -s "$tmp/m.gmdl" ] && ok || bad "train: no model file"
for f in split.csv history.csv curves.svg checkpoints/last.ckpt checkpoints/best.ckpt features.h5; do
  [ -s "$tmp/m.gmdl.run/$f" ] && ok || bad "train: run file $f missing"
done
has history-header "$tmp/m.gmdl.run/history.csv" '^epoch,train_loss,train_accuracy,valid_loss,'
[ "$(grep -c '' "$tmp/m.gmdl.run/history.csv")" -eq 3 ] && ok || bad "history: 2 epochs expected"
expect eval 0 "" -- eval "$tmp/m.gmdl" "$tmp/ds" -j 1 --out-dir "$tmp/ev"
has eval-accuracy "$tmp/out" '^.*m\.gmdl on 6 tracks: track accuracy [0-9.]+, macro-F1 [0-9.]+ \(6 tracks\)'
has eval-confusion "$tmp/out" '^true\\pred +blues +classical +metal$'
for f in metrics.json confusion.txt confusion.csv report.txt; do
  [ -s "$tmp/ev/$f" ] && ok || bad "eval: $f missing"
done

# --- stopped, then really killed, then resumed: the same weights ----------------------
expect stop-after 0 "" -- train "$tmp/ds" -o "$tmp/r.gmdl" --epochs 2 "${small[@]}" --stop-after 1
[ ! -e "$tmp/r.gmdl" ] && ok || bad "stop-after: a model was written"
expect resume 0 "" -- train "$tmp/ds" -o "$tmp/r.gmdl" --epochs 2 "${small[@]}" --resume
resumed=$(grep '"event":"done"' "$tmp/out" | sed 's/.*"weights_hash":"\([0-9a-f]*\)".*/\1/')
[ -n "$whole" ] && [ "$whole" = "$resumed" ] && ok || bad "resume: weights $resumed != uninterrupted $whole"
# A real SIGKILL once the first checkpoint exists, then --resume to 6 epochs; compare
# with an uninterrupted 6-epoch run.
expect long 0 "" -- train "$tmp/ds" -o "$tmp/long.gmdl" --epochs 6 "${small[@]}"
long=$(grep '"event":"done"' "$tmp/out" | sed 's/.*"weights_hash":"\([0-9a-f]*\)".*/\1/')
"$bin" train "$tmp/ds" -o "$tmp/k.gmdl" --epochs 6 "${small[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ -e "$tmp/k.gmdl.run/checkpoints/last.ckpt" ] && break; sleep 0.05; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
expect killed-resume 0 "" -- train "$tmp/ds" -o "$tmp/k.gmdl" --epochs 6 "${small[@]}" --resume
killed=$(grep '"event":"done"' "$tmp/out" | sed 's/.*"weights_hash":"\([0-9a-f]*\)".*/\1/')
[ -n "$long" ] && [ "$long" = "$killed" ] && ok || bad "kill -9 + resume: weights $killed != uninterrupted $long"

# --- cv and search ---------------------------------------------------------------------
expect cv 0 "" -- cv "$tmp/ds" --folds 2 --epochs 1 --channels 4,8 --hidden 8 --window 43 --windows-per-track 2 -j 1 --out-dir "$tmp/cv"
has cv-summary "$tmp/out" '^track accuracy [0-9.]+ ± [0-9.]+, macro-F1 [0-9.]+ ± [0-9.]+$'
has cv-folds "$tmp/out" '^  fold 2: track accuracy '
[ -s "$tmp/cv/cv.json" ] && ok || bad "cv: cv.json missing"
# Held-out predictions: one line per track, probabilities summing to 1.
sums=$(tail -n +2 "$tmp/cv/predictions.csv" | awk -F, '{ s = 0; for (k = 5; k <= NF; k++) s += $k; printf "%.4f ", s }')
[ "$sums" = "1.0000 1.0000 1.0000 1.0000 1.0000 1.0000 " ] && ok || bad "cv: predictions.csv: $(cat "$tmp/cv/predictions.csv")"
has cv-predictions-header "$tmp/cv/predictions.csv" '^path,label,group,fold,[a-z]+,[a-z]+'
# Folds from a file: the same recordings held out whatever the run; unlisted tracks left out.
find "$tmp/ds" -name '*.*' | sort | awk 'BEGIN { print "path,fold" } NR > 1 { print $0 "," (NR % 2) }' >"$tmp/folds.csv"
expect cv-folds-from 0 "^genre-train: note: 1 tracks have no fold in $tmp/folds.csv and are left out of the CV$" -- \
  cv "$tmp/ds" --folds-from "$tmp/folds.csv" --epochs 1 --channels 4,8 --hidden 8 --window 43 --windows-per-track 2 -j 1 --out-dir "$tmp/cvf"
diff <(tail -n +2 "$tmp/folds.csv" | sort) <(tail -n +2 "$tmp/cvf/predictions.csv" | cut -d, -f1,4 | sort) \
  && ok || bad "cv --folds-from: held-out folds differ from the file"
expect cv-folds-from-k 2 "^genre-train: --folds 3 but $tmp/folds.csv holds 2 folds$" -- \
  cv "$tmp/ds" --folds-from "$tmp/folds.csv" --folds 3 --epochs 1 -j 1
expect search 0 "" -- search "$tmp/ds" --folds 2 --epochs 1 --channels 4,8 --hidden 8 --window 43 --windows-per-track 2 -j 1 --grid-lr 1e-3,1e-4 --grid-dropout 0.3 --out-dir "$tmp/search"
has search-ranked "$tmp/out" '^   1  +[0-9.e-]+ +32 +0\.30 '
has search-ranked-2 "$tmp/out" '^   2  +[0-9.e-]+ +32 +0\.30 '

# --- hostile input: one line, documented exit code, nothing overwritten ----------------
mkdir -p "$tmp/empty/rock" "$tmp/one/rock"
: >"$tmp/empty/rock/notes.txt"
ln -s "$in/blues.00000.flac" "$tmp/one/rock/rock.00000.flac"
ln -s "$in/metal.00002.flac" "$tmp/one/rock/rock.00001.flac"
expect empty-dataset 5 "^genre-train: $tmp/empty: no audio files " -- train "$tmp/empty" -o "$tmp/e.gmdl" "${small[@]}"
expect single-class 5 "^genre-train: the dataset has 1 class\(es\) with usable tracks; a classifier needs at least 2$" -- train "$tmp/one" -o "$tmp/e.gmdl" "${small[@]}"
[ ! -e "$tmp/e.gmdl" ] && ok || bad "hostile: a model was written"
cp "$tmp/m.gmdl" "$tmp/m.before"
expect resume-other-arch 3 "^genre-train: $tmp/m.gmdl.run/checkpoints/last.ckpt: cannot resume: the checkpoint has another architecture or input$" -- train "$tmp/ds" -o "$tmp/m.gmdl" --epochs 3 "${small[@]}" --hidden 16 --resume
mkdir -p "$tmp/ds2/jazz" "$tmp/ds2/rock"
ln -s "$in/blues.00000.flac" "$tmp/ds2/jazz/jazz.00000.flac"
ln -s "$in/metal.00002.flac" "$tmp/ds2/rock/rock.00000.flac"
expect resume-other-classes 3 "^genre-train: .*last.ckpt: cannot resume: the checkpoint has classes \[blues,classical,metal\], this run other classes$" -- train "$tmp/ds2" -o "$tmp/m.gmdl" --run-dir "$tmp/m.gmdl.run" --epochs 3 "${small[@]}" --resume
cmp -s "$tmp/m.gmdl" "$tmp/m.before" && ok || bad "failed resume overwrote the model"
head -c 300 "$tmp/m.gmdl.run/checkpoints/last.ckpt" >"$tmp/cut.ckpt"
cp "$tmp/cut.ckpt" "$tmp/m.gmdl.run/checkpoints/last.ckpt"
expect truncated-checkpoint 3 "^genre-train: $tmp/m.gmdl.run/checkpoints/last.ckpt: truncated or corrupt checkpoint$" -- train "$tmp/ds" -o "$tmp/m.gmdl" --epochs 3 "${small[@]}" --resume
cmp -s "$tmp/m.gmdl" "$tmp/m.before" && ok || bad "failed resume overwrote the model"
head -c 1000 "$tmp/m.gmdl" >"$tmp/cut.gmdl"
expect truncated-model 3 "^genre-train: $tmp/cut.gmdl: truncated model file \(1000 bytes\)$" -- eval "$tmp/cut.gmdl" "$tmp/ds"
expect not-a-model 3 "^genre-train: $in/short_0.3s.wav: not a genre model file$" -- eval "$in/short_0.3s.wav" "$tmp/ds"
expect resume-nothing 3 "^genre-train: $tmp/none.gmdl.run/checkpoints/last.ckpt: no checkpoint to resume from$" -- train "$tmp/ds" -o "$tmp/none.gmdl" "${small[@]}" --resume
expect bad-lr 2 "^genre-train: lr must be > 0, got -1.000000$" -- train "$tmp/ds" -o "$tmp/e.gmdl" --lr -1
expect bad-arch 2 "^genre-train: .*--arch" -- train "$tmp/ds" -o "$tmp/e.gmdl" --arch resnet
# Every option is checked before any data is read (issue 14, defect 3): a dataset that
# does not exist would be exit 5, so exit 2 proves the order.
expect bad-dropout 2 "^genre-train: dropout must be in \[0, 1\), got 1.5$" -- train "$tmp/none" -o "$tmp/opt.gmdl" --dropout 1.5
expect bad-channels 2 "^genre-train: channels must be in \[1, 1024\], got 0$" -- train "$tmp/none" -o "$tmp/opt.gmdl" --channels 0
expect bad-hidden 2 "^genre-train: hidden must be in \[1, 8192\], got -3$" -- train "$tmp/none" -o "$tmp/opt.gmdl" --hidden -3
expect small-window 2 "^genre-train: window must be >= 2\^blocks \(16\) for cnn2d, got 8$" -- train "$tmp/none" -o "$tmp/opt.gmdl" --window 8
expect cv-bad-dropout 2 "^genre-train: dropout must be in \[0, 1\), got 1.5$" -- cv "$tmp/none" --dropout 1.5
expect search-bad-grid 2 "^genre-train: dropout must be in \[0, 1\), got 1.5$" -- search "$tmp/none" --grid-dropout 0.3,1.5
expect search-bad-lr 2 "^genre-train: lr must be > 0, got 0.000000$" -- search "$tmp/none" --grid-lr 1e-3,0
[ ! -e "$tmp/opt.gmdl.run" ] && ok || bad "a refused option still made the run folder"


# --- feature tables: mlp on the GTZAN vector, evaluated on table rows and on audio ----
table=$data/gtzan-table
printf 'blues/blues.00003.wav\n' >"$tmp/test.txt"
expect table-train 0 "" -- train "$table/sample.csv" --arch mlp -o "$tmp/t.gmdl" --epochs 5 --test-list "$tmp/test.txt" --test 0 -j 1
has table-train-line "$tmp/out" '^training mlp \([0-9]+ parameters\) on [0-9]+ tracks, validating on [0-9]+, testing on 1;'
grep -aq '"kind": "gtzan"' "$tmp/t.gmdl" && ok || bad "table model card lacks input kind gtzan"
grep -q "sample.csv#blues.00003.wav,blues,blues.00003,test" "$tmp/t.gmdl.run/split.csv" && ok || bad "split.csv lacks the listed table row: $(head -3 "$tmp/t.gmdl.run/split.csv")"
expect table-eval-rows 0 "" -- eval "$tmp/t.gmdl" "$table/rows.csv"
has table-eval-rows-line "$tmp/out" "on 3 tracks: track accuracy"
# The same three clips from audio: the vector computed in C++ gives the same predictions.
mkdir -p "$tmp/clips/blues" "$tmp/clips/classical" "$tmp/clips/metal"
ln -s "$in/blues.00000.flac" "$tmp/clips/blues/"
ln -s "$in/classical.00001.flac" "$tmp/clips/classical/"
ln -s "$in/metal.00002.flac" "$tmp/clips/metal/"
grep -A 20 '^true' "$tmp/out" >"$tmp/rows.confusion"
expect table-eval-audio 0 "" -- eval "$tmp/t.gmdl" "$tmp/clips"
grep -A 20 '^true' "$tmp/out" | cmp -s - "$tmp/rows.confusion" && ok || bad "audio and table rows disagree: $(cat "$tmp/out")"
expect table-eval-split 0 "" -- eval "$tmp/t.gmdl" "$tmp/t.gmdl.run/split.csv" --split test
has table-eval-split-line "$tmp/out" "on 1 tracks: track accuracy"
expect table-cnn2d 2 "^genre-train: --arch cnn2d cannot read gtzan input \(it reads logmel\)$" -- train "$table/sample.csv" -o "$tmp/x.gmdl"
expect table-sr 2 "^genre-train: the GTZAN vector is defined at 22050 Hz; --sr does not apply$" -- train "$table/sample.csv" --arch mlp --sr 16000 -o "$tmp/x.gmdl"
expect table-cv 0 "" -- cv "$table/sample.csv" --arch mlp --folds 3 --epochs 3 -j 1
has table-cv-line "$tmp/out" '^track accuracy [0-9.]+ ± [0-9.]+, macro-F1'
expect audio-gtzan 0 "" -- train "$tmp/clips" --arch mlp --input gtzan -o "$tmp/a.gmdl" --epochs 2 --valid 0 --test 0 -j 1

# --- convert: a format_version 1 file (libtorch archive) re-saved as 2, the same weights ---
v1=$data/models/mlp-v1.gmdl
expect convert 0 "" -- convert "$v1" "$tmp/v2.gmdl"
has convert-line "$tmp/out" "^converted $v1 \(format_version 1\) -> $tmp/v2.gmdl \(format_version 2, weights [0-9a-f]{16}\)$"
[ "$(head -c 12 "$tmp/v2.gmdl" | tail -c 4 | od -An -tu4 | tr -d ' ')" = 2 ] && ok || bad "convert: not version 2"
expect convert-again 0 "" -- convert "$tmp/v2.gmdl" "$tmp/v2b.gmdl"
cmp -s "$tmp/v2.gmdl" "$tmp/v2b.gmdl" && ok || bad "convert: a version 2 file converted again differs"
expect convert-missing 3 "^genre-train: $tmp/none.gmdl: cannot open" -- convert "$tmp/none.gmdl" "$tmp/x.gmdl"
expect convert-not-model 3 "^genre-train: $in/short_0.3s.wav: not a genre model file$" -- convert "$in/short_0.3s.wav" "$tmp/x.gmdl"
[ ! -e "$tmp/x.gmdl" ] && ok || bad "convert: a failed convert wrote its output"
expect convert-usage 2 "" -- convert "$v1"

echo "genre-train model CLI: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
