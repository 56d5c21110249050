#!/usr/bin/env bash
# The MSD convnet from the command line: genre-features --kind msd-convnet / msd-tags /
# msd-table with the bundled backbone, heads trained on its features (from a table it
# wrote and from audio through --backbone), attached and served by genre-guess;
# import-keras and attach refuse what they cannot use with one line.
# Usage: msd_convnet_test.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
in=$src/tests/data/inputs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"
unset GENRE_MODEL

# --- genre-features ----------------------------------------------------------------
bin=$build/genre-features
expect tags 0 "" -- --kind msd-tags "$in/blues.00000.flac" --format csv
has tags-header "$tmp/out" '^path,frame,time_s,rock,pop,alternative,indie,electronic,female vocalists,'
[ "$(grep -c '' "$tmp/out")" -eq 2 ] && ok || bad "msd-tags: one row per song expected: $(cat "$tmp/out")"
expect convnet 0 "" -- --kind msd-convnet "$in/blues.00000.flac" "$in/metal.00002.flac" --format csv
has convnet-header "$tmp/out" '^path,frame,time_s,elu1_0,elu1_1,.*,elu5_31$'
[ "$(head -1 "$tmp/out" | tr ',' '\n' | grep -c '^elu')" -eq 160 ] && ok || bad "msd-convnet: 160 columns expected"
[ "$(grep -c '' "$tmp/out")" -eq 3 ] && ok || bad "msd-convnet: one row per song expected"
# 90 s = windows at 0, 29 and 58 s (the 3-s tail joins the last); per window or the mean.
sox "$in/blues.00000.flac" "$in/classical.00001.flac" "$in/metal.00002.flac" "$tmp/long.flac"
expect per-window 0 "" -- --kind msd-convnet "$tmp/long.flac" --per-window --format csv
awk -F, 'NR > 1 { print $2 "," $3 }' "$tmp/out" >"$tmp/times"
[ "$(tr '\n' ' ' <"$tmp/times")" = "0,0.000000 1,29.000000 2,58.000000 " ] && ok || bad "per-window: $(cat "$tmp/times")"
expect window-hop 0 "" -- --kind msd-convnet "$tmp/long.flac" --per-window --window-hop 14.5 --format json
has window-hop-shape "$tmp/out" '"shape":\[160,5\]'
expect window-hop-big 2 "^genre-features: --window-hop must be at most the window \(29 s\)$" -- \
  --kind msd-convnet "$tmp/long.flac" --window-hop 30
expect msd-sr 2 "^genre-features: --kind msd-convnet reads audio at the model's rate \(12 kHz\); --sr does not apply$" -- \
  --kind msd-convnet "$in/blues.00000.flac" --sr 16000
expect msd-h5 0 "" -- --kind msd-tags "$in/blues.00000.flac" -o "$tmp/tags.h5"
[ -s "$tmp/tags.h5" ] && ok || bad "msd-tags h5 not written"
# A 0.3-s file is one (padded) window; a file that is not audio fails alone.
expect msd-bad-input 1 "^genre-features: $src/README.md: " -- --kind msd-convnet "$in/short_0.3s.wav" "$src/README.md" --format csv
has msd-short-ok "$tmp/out" "^$in/short_0.3s.wav,0,0.000000,"
expect no-backbone 3 "^genre-features: .*/nothing.gmdl: cannot open" -- --kind msd-convnet "$in/blues.00000.flac" -m "$tmp/nothing.gmdl"
# msd-table: Choi et al.'s columns; a folder labels its files by genre folder.
for g in blues classical metal; do mkdir -p "$tmp/ds/$g"; done
ln -s "$in/blues.00000.flac" "$tmp/ds/blues/blues.00000.flac"
ln -s "$in/synth_44k_stereo.flac" "$tmp/ds/blues/blues.00099.flac"
ln -s "$in/classical.00001.flac" "$tmp/ds/classical/classical.00001.flac"
ln -s "$in/synth_8k_mono.wav" "$tmp/ds/classical/classical.00099.wav"
ln -s "$in/metal.00002.flac" "$tmp/ds/metal/metal.00002.flac"
ln -s "$in/synth_48k_24bit_stereo.wav" "$tmp/ds/metal/metal.00099.wav"
expect table 0 "" -- --kind msd-table "$tmp/ds" -o "$tmp/table.csv" -j 2
[ "$(head -1 "$tmp/table.csv")" = "$(head -1 "$src/tests/data/msd-convnet/published.csv" | tr -d '\r')" ] && ok \
  || bad "msd-table header differs from the published layout"
[ "$(grep -c '' "$tmp/table.csv")" -eq 7 ] && ok || bad "msd-table: 6 rows expected"
has table-row "$tmp/table.csv" '^metal.00002.flac,metal,'
# Our row of blues.00000 (its first 29 s, as the published one) against the published row:
# correlation of the 160 convnet features (libsoxr, not the authors' resampler: measured 0.99912).
expect table-29s 0 "" -- --kind msd-table "$in/blues.00000.flac" --duration 29 -o "$tmp/b.csv"
paste -d'\n' <(sed -n 2p "$tmp/b.csv" | cut -d, -f123-) \
  <(grep '^blues.00000' "$src/tests/data/msd-convnet/published.csv" | tr -d '\r' | cut -d, -f123-) |
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) a[i] = $i; n = NF }
           NR == 2 { for (i = 1; i <= n; i++) { x = a[i]; y = $i; sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y }
                     r = (n * sxy - sx * sy) / sqrt((n * sxx - sx * sx) * (n * syy - sy * sy)); print (r > 0.998 ? "close" : "far " r) }' \
  >"$tmp/far"
[ "$(cat "$tmp/far")" = close ] && ok || bad "msd-table: blues.00000 is $(cat "$tmp/far") from the published row"

# --- heads: from the table, from audio through the backbone; attached; served ----------
bin=$build/genre-train
head_opts=(--arch mlp --hidden 0 --dropout 0 --epochs 30 --valid 0 --test 0 -j 1)
expect head-table 0 "" -- train "$tmp/table.csv" -o "$tmp/head.gmdl" "${head_opts[@]}"
has head-table-input "$tmp/head.gmdl.run/split.csv" 'table.csv#metal.00002.flac'
expect head-audio 0 "" -- train "$tmp/ds" --input msd-convnet --backbone "$src/models/msd-convnet.gmdl" \
  -o "$tmp/head2.gmdl" "${head_opts[@]}"
# Augmented variants: computed once into the run's cache (the song, then its variants).
expect head-augment 0 "" -- train "$tmp/ds" --input msd-convnet --backbone "$src/models/msd-convnet.gmdl" \
  --augment-variants 2 -o "$tmp/head3.gmdl" "${head_opts[@]}"
h5ls -r "$tmp/head3.gmdl.run/features.h5" >"$tmp/h5ls" 2>&1
[ "$(grep -c 'vector *Dataset {160, 3}' "$tmp/h5ls")" -eq 6 ] && ok || bad "augment: 6 cached [160, 3] vectors expected: $(cat "$tmp/h5ls")"
expect head-augment-again 0 "" -- train "$tmp/ds" --input msd-convnet --backbone "$src/models/msd-convnet.gmdl" \
  --augment-variants 2 -o "$tmp/head4.gmdl" "${head_opts[@]}" --cache "$tmp/head3.gmdl.run/features.h5"
expect augment-no-backbone 2 "^genre-train: --augment-variants needs --backbone" -- \
  train "$tmp/table.csv" --arch mlp --augment-variants 2 -o "$tmp/x.gmdl"
expect augment-bad 2 "^genre-train: augment pitch_semitones must be in \[0, 12\], got -1" -- \
  train "$tmp/ds" --arch mlp --input msd-convnet --backbone "$src/models/msd-convnet.gmdl" --augment-variants 1 --augment-pitch -1 -o "$tmp/x.gmdl"
expect backbone-logmel 2 "^genre-train: --backbone serves msd-convnet input only, not logmel$" -- \
  train "$tmp/ds" --backbone "$src/models/msd-convnet.gmdl" -o "$tmp/x.gmdl"
expect attach 0 "" -- attach "$src/models/msd-convnet.gmdl" "$tmp/head2.gmdl" -o "$tmp/model.gmdl"
has attach-says "$tmp/out" '^attached .*head2.gmdl to .*msd-convnet.gmdl -> .*model.gmdl \(3 genres, '
expect attach-not-mlp 3 "^genre-train: the head must be an mlp on the backbone's 160 msd-convnet features" -- \
  attach "$src/models/msd-convnet.gmdl" "$src/models/msd-convnet.gmdl" -o "$tmp/y.gmdl"
expect attach-no-backbone 3 "^genre-train: .*: not a genre model file$" -- attach "$src/README.md" "$tmp/head2.gmdl" -o "$tmp/y.gmdl"
expect attach-unwritable 4 "^genre-train: " -- attach "$src/models/msd-convnet.gmdl" "$tmp/head2.gmdl" -o "$tmp/no/such/dir/m.gmdl"
bin=$build/genre-guess
expect guess 0 "" -- -m "$tmp/model.gmdl" "$in/metal.00002.flac" "$tmp/long.flac" --format csv --timeline
has guess-header "$tmp/out" '^path,status,duration_s,windows,top_genre,top_confidence,blues,classical,metal,error$'
has guess-long "$tmp/out" "^$tmp/long.flac,ok,90.0[0-9]*,3,"
expect guess-card 0 "" -- -m "$tmp/model.gmdl" --model-info
has card-arch "$tmp/out" '"kind": "msd-convnet"'
has card-provenance "$tmp/out" '"source_repository": "keunwoochoi/transfer_learning_music"'
has card-license "$tmp/out" 'MIT'

# A temperature from genre-train calibrate: in the card, applied to the song probabilities.
echo '{"temperature": 3.0, "tracks": 6}' >"$tmp/calibration.json"
bin=$build/genre-train
expect attach-calibrated 0 "" -- attach "$src/models/msd-convnet.gmdl" "$tmp/head2.gmdl" -o "$tmp/warm.gmdl" \
  --calibration "$tmp/calibration.json"
echo '{"tracks": 6}' >"$tmp/nocal.json"
expect attach-bad-calibration 5 "^genre-train: $tmp/nocal.json: not a calibration file" -- \
  attach "$src/models/msd-convnet.gmdl" "$tmp/head2.gmdl" -o "$tmp/x.gmdl" --calibration "$tmp/nocal.json"
bin=$build/genre-guess
expect warm-card 0 "" -- -m "$tmp/warm.gmdl" --model-info
has warm-temperature "$tmp/out" '"temperature": 3.0'
"$bin" -m "$tmp/model.gmdl" "$in/metal.00002.flac" --format csv | sed -n 2p | cut -d, -f5,6 >"$tmp/cold.top"
"$bin" -m "$tmp/warm.gmdl" "$in/metal.00002.flac" --format csv | sed -n 2p | cut -d, -f5,6 >"$tmp/warm.top"
[ "$(cut -d, -f1 "$tmp/cold.top")" = "$(cut -d, -f1 "$tmp/warm.top")" ] && ok || bad "calibration moved the top genre"
awk -F, -v w="$(cut -d, -f2 "$tmp/warm.top")" '{ exit !(w < $2 || $2 <= 0.34) }' "$tmp/cold.top" && ok \
  || bad "T = 3 should flatten: $(cat "$tmp/cold.top") vs $(cat "$tmp/warm.top")"

# --- a head on the convnet's features and the GTZAN vector (joined tables) -----------
# scripts/join_tables.sh joins what genre-features writes; rows in one table only, or
# labelled differently, are left out and counted.
bin=$build/genre-features
expect gtzan-table 0 "" -- --kind gtzan-vector "$tmp/ds" -o "$tmp/gtzan.csv" -j 2
join=$src/scripts/join_tables.sh
"$join" "$tmp/table.csv" "$tmp/gtzan.csv" >"$tmp/joined.csv" 2>"$tmp/err" && ok || bad "join failed: $(cat "$tmp/err")"
has join-says "$tmp/err" '^joined 6 rows; left out 0 without a GTZAN row, 0 labelled differently$'
[ "$(awk -F, '{ print NF }' "$tmp/joined.csv" | sort -u)" = 340 ] && ok || bad "joined: 340 columns expected"
[ "$(head -1 "$tmp/joined.csv" | cut -d, -f1-3,283-285)" = "filename,label,mfcc_mean_0,length,chroma_stft_mean,chroma_stft_var" ] \
  && ok || bad "joined header: $(head -1 "$tmp/joined.csv" | cut -d, -f1-3,283-285)"
sed '2d; s/^\(metal.00002.flac,.*\),metal$/\1,blues/' "$tmp/gtzan.csv" >"$tmp/gtzan2.csv"
"$join" "$tmp/table.csv" "$tmp/gtzan2.csv" >"$tmp/joined2.csv" 2>"$tmp/err"
has join-left-out "$tmp/err" '^joined 4 rows; left out 1 without a GTZAN row, 1 labelled differently$'
"$join" "$tmp/table.csv" "$tmp/none.csv" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] && [ "$(grep -c '' "$tmp/err")" -eq 1 ] && ok || bad "join of a missing file: exit $code, $(cat "$tmp/err")"
"$join" "$tmp/gtzan.csv" "$tmp/table.csv" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] && grep -q "not a GTZAN feature table" "$tmp/err" && ok || bad "join of swapped tables: exit $code, $(cat "$tmp/err")"
bin=$build/genre-train
expect joined-head 0 "" -- train "$tmp/joined.csv" -o "$tmp/joined-head.gmdl" "${head_opts[@]}"
has joined-head-input "$tmp/joined-head.gmdl.run/split.csv" 'joined.csv#metal.00002.flac'
expect fused-head 0 "" -- train "$src/tests/data/msd-convnet/joined.csv" -o "$tmp/fused-head.gmdl" "${head_opts[@]}"
has fused-input "$tmp/fused-head.gmdl.run/split.csv" 'joined.csv#metal.00002.wav'
expect fused-attach 0 "" -- attach "$src/models/msd-convnet.gmdl" "$tmp/fused-head.gmdl" -o "$tmp/fused.gmdl"
expect fused-wrong-input 2 "^genre-train: --arch cnn2d cannot read msd-convnet\+gtzan input" -- \
  train "$src/tests/data/msd-convnet/joined.csv" --arch cnn2d -o "$tmp/x.gmdl"
bin=$build/genre-guess
expect fused-guess 0 "" -- -m "$tmp/fused.gmdl" "$in/metal.00002.flac" "$tmp/long.flac" --format csv
has fused-header "$tmp/out" '^path,status,duration_s,windows,top_genre,top_confidence,blues,classical,metal,error$'
has fused-long "$tmp/out" "^$tmp/long.flac,ok,90.0[0-9]*,3,"  # three GTZAN clips of 30 s
expect fused-card 0 "" -- -m "$tmp/fused.gmdl" --model-info
has fused-card-input "$tmp/out" '"kind": "waveform\+gtzan"'
has fused-card-head "$tmp/out" '"head": "features\+gtzan"'
# An unattached head reads tables only: one line, exit 1 for the file.
expect fused-head-audio 1 "^genre-guess: $in/metal.00002.flac: msd-convnet\+gtzan input is read from joined feature tables only" -- \
  -m "$tmp/fused-head.gmdl" "$in/metal.00002.flac"

# --- finetune: the last blocks of an attached model on audio ------------------------
bin=$build/genre-train
{ echo "path,label"; for g in blues classical metal; do ls "$in"/$g.*.flac | sed "s/\$/,$g/"; done; } >"$tmp/ft.csv"
expect finetune 0 "" -- finetune "$tmp/model.gmdl" "$tmp/ft.csv" -o "$tmp/tuned.gmdl" --epochs 2 --valid 0 --test 0 \
  --lr 1e-3 -j 1 --cache "$tmp/prefix.h5"
has finetune-says "$tmp/out" '^fine-tuning the last 2 blocks and the head of .*model.gmdl on 3 songs'
has finetune-epoch "$tmp/out" '^epoch 2: train loss [0-9.]+'
[ -s "$tmp/prefix.h5" ] && ok || bad "finetune: no prefix cache"
# The cached prefixes serve another run (the front end and first blocks are the same).
expect finetune-again 0 "" -- finetune "$tmp/tuned.gmdl" "$tmp/ft.csv" -o "$tmp/tuned2.gmdl" --epochs 1 --valid 0 \
  --test 0 -j 1 --cache "$tmp/prefix.h5"
bin=$build/genre-guess
expect finetune-card 0 "" -- -m "$tmp/tuned.gmdl" --model-info
has finetune-record "$tmp/out" '"fine_tune": \{'
has finetune-blocks "$tmp/out" '"blocks": 2'
expect finetune-guess 0 "" -- -m "$tmp/tuned.gmdl" "$in/metal.00002.flac" --format json
bin=$build/genre-train
expect finetune-tagger 2 "^genre-train: fine-tuning needs an msd-convnet with a genre head on its features alone" -- \
  finetune "$src/models/msd-convnet.gmdl" "$tmp/ft.csv" -o "$tmp/x.gmdl"
expect finetune-fused 2 "with a head on the GTZAN vector too$" -- finetune "$tmp/fused.gmdl" "$tmp/ft.csv" -o "$tmp/x.gmdl"
expect finetune-blocks 2 "^genre-train: blocks to fine-tune must be in \[1, 4\], got 5$" -- \
  finetune "$tmp/model.gmdl" "$tmp/ft.csv" -o "$tmp/x.gmdl" --blocks 5
expect finetune-lr 2 "^genre-train: learning rate must be > 0, got " -- \
  finetune "$tmp/model.gmdl" "$tmp/ft.csv" -o "$tmp/x.gmdl" --lr 0
expect finetune-no-model 3 "^genre-train: $tmp/none.gmdl: cannot open" -- finetune "$tmp/none.gmdl" "$tmp/ft.csv" -o "$tmp/x.gmdl"
expect finetune-no-data 5 "^genre-train: " -- finetune "$tmp/model.gmdl" "$tmp/nothing" -o "$tmp/x.gmdl"
expect finetune-unwritable 4 "^genre-train: " -- finetune "$tmp/model.gmdl" "$tmp/ft.csv" -o "$tmp/no/such/dir/m.gmdl" \
  --epochs 1 --valid 0 --test 0 -j 1 --cache "$tmp/prefix.h5"
[ ! -e "$tmp/x.gmdl" ] && ok || bad "finetune wrote a model after an error"

# --- import-keras refuses what it cannot read ----------------------------------------
bin=$build/genre-train
expect import-missing 3 "^genre-train: $tmp/none.hdf5: " -- import-keras "$tmp/none.hdf5" -o "$tmp/b.gmdl"
expect import-not-keras 3 "^genre-train: .*tags.h5: not a Keras model file \(no model_config attribute\)$" -- \
  import-keras "$tmp/tags.h5" -o "$tmp/b.gmdl"
[ ! -e "$tmp/b.gmdl" ] && ok || bad "import-keras wrote a model from a bad file"

echo "msd convnet CLI: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
