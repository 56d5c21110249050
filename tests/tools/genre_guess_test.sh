#!/usr/bin/env bash
# CLI tests for genre-guess: every output format, stdin, --files-from -, folders,
# input order under -j, exit codes, probabilities summing to 1, hostile inputs in a batch.
# Usage: genre_guess_test.sh PATH/TO/genre-guess PATH/TO/genre-train tests/data
set -u
bin=$1
train=$2
data=$(cd "$3" && pwd)
in=$data/inputs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"
unset GENRE_MODEL

# A tiny model trained here (64 bands, 16 kHz: served with exactly those options).
for g in blues classical metal; do mkdir -p "$tmp/ds/$g"; done
ln -s "$in/blues.00000.flac" "$tmp/ds/blues/blues.00000.flac"
ln -s "$in/classical.00001.flac" "$tmp/ds/classical/classical.00001.flac"
ln -s "$in/metal.00002.flac" "$tmp/ds/metal/metal.00002.flac"
"$train" train "$tmp/ds" -o "$tmp/m.gmdl" --epochs 2 --channels 4,8 --hidden 8 --window 43 --n-mels 64 --sr 16000 \
  --valid 0 --test 0 -j 1 --log-format json >/dev/null 2>&1 || { echo "FAIL: could not train the test model"; exit 1; }
m=(-m "$tmp/m.gmdl")

# --- model handling -----------------------------------------------------------------
expect help 0 "" -- --help
has help-exit-codes "$tmp/out" "Exit codes: 0 all inputs classified; 1 some inputs failed"
expect list-genres 0 "" -- "${m[@]}" --list-genres
[ "$(tr '\n' ' ' <"$tmp/out")" = "blues classical metal " ] && ok || bad "list-genres: $(cat "$tmp/out")"
expect model-info 0 "" -- "${m[@]}" --model-info
has model-info-mels "$tmp/out" '"n_mels": 64'
has model-info-sr "$tmp/out" '"sample_rate": 16000'
# A copy with no model beside it (the build folder's finds share/genre/models/default.gmdl).
mkdir -p "$tmp/bin" && cp "$bin" "$tmp/bin/genre-guess"
bin_in_tree=$bin
bin=$tmp/bin/genre-guess
expect no-model 3 "^genre-guess: no model: give --model PATH or set GENRE_MODEL \(no default model at $tmp/bin/share/genre/models/default.gmdl, $tmp/share/genre/models/default.gmdl\)$" -- "$in/short_0.3s.wav"
bin=$bin_in_tree
GENRE_MODEL="$tmp/m.gmdl" "$bin" "$in/blues.00000.flac" --format jsonl >"$tmp/out" 2>"$tmp/err" && ok || bad "GENRE_MODEL not used"
head -c 500 "$tmp/m.gmdl" >"$tmp/cut.gmdl"
expect truncated-model 3 "^genre-guess: $tmp/cut.gmdl: truncated model file" -- -m "$tmp/cut.gmdl" "$in/blues.00000.flac"
# A format_version 1 file (libtorch weights): one line saying how to convert it.
expect v1-model 3 "^genre-guess: $data/models/mlp-v1.gmdl: model format_version 1 holds libtorch weights, which inference does not read; convert the file with 'genre-train convert OLD.gmdl NEW.gmdl'$" -- -m "$data/models/mlp-v1.gmdl" "$in/blues.00000.flac"
expect bad-format 2 "^genre-guess: .*--format" -- "${m[@]}" "$in/blues.00000.flac" --format xml
expect no-inputs 2 "^genre-guess: no inputs" -- "${m[@]}"
expect stdin-twice 2 "^genre-guess: standard input can be read once" -- "${m[@]}" - -

# --- formats ------------------------------------------------------------------------
expect table 0 "" -- "${m[@]}" "$in/blues.00000.flac" --top 2
has table-head "$tmp/out" "^$in/blues.00000.flac  \(30.0 s, [0-9]+ windows, model m\)$"
has table-rank "$tmp/out" '^     1  [a-z]+ +[0-9.]+ %'
[ "$(grep -c '^     [0-9]  ' "$tmp/out")" -eq 2 ] && ok || bad "table: --top 2 shows 2 rows"
expect jsonl 0 "" -- "${m[@]}" "$in/blues.00000.flac" "$in/metal.00002.flac" --format jsonl
[ "$(grep -c '' "$tmp/out")" -eq 2 ] && ok || bad "jsonl: 2 lines"
# Probabilities over all classes sum to 1.
sum=$(head -1 "$tmp/out" | sed 's/.*"probabilities":{\([^}]*\)}.*/\1/' | tr ',' '\n' | cut -d: -f2 | awk '{s+=$1} END {printf "%.4f", s}')
[ "$sum" = "1.0000" ] && ok || bad "probabilities sum to $sum"
expect json 0 "" -- "${m[@]}" "$in/blues.00000.flac" --format json --timeline
has json-array "$tmp/out" '^\[$'
has json-timeline "$tmp/out" '"timeline": \['
expect csv 0 "" -- "${m[@]}" "$in/blues.00000.flac" --format csv
has csv-header "$tmp/out" '^path,status,duration_s,windows,top_genre,top_confidence,blues,classical,metal,error$'
has csv-row "$tmp/out" "^$in/blues.00000.flac,ok,30.0[0-9]*,[0-9]+,[a-z]+,0\.[0-9]+,"
expect tsv 0 "" -- "${m[@]}" "$in/blues.00000.flac" --format tsv
has tsv-header "$tmp/out" $'^path\tstatus\tduration_s'

# --- inputs: stdin, --files-from -, folders, order under -j --------------------------------
"$bin" "${m[@]}" - --format csv <"$in/metal.00002.flac" >"$tmp/out" 2>"$tmp/err" && ok || bad "stdin: $(cat "$tmp/err")"
has stdin-row "$tmp/out" '^-,ok,30\.0'
printf '%s\n%s\n' "$in/classical.00001.flac" "$in/blues.00000.flac" | "$bin" "${m[@]}" --files-from - --format csv >"$tmp/out" 2>"$tmp/err" && ok || bad "files-from: $(cat "$tmp/err")"
[ "$(cut -d, -f1 "$tmp/out" | tail -n +2 | tr '\n' ' ')" = "$in/classical.00001.flac $in/blues.00000.flac " ] && ok || bad "files-from order: $(cat "$tmp/out")"
expect folder 0 "" -- "${m[@]}" "$tmp/ds" --format csv
[ "$(tail -n +2 "$tmp/out" | wc -l)" -eq 3 ] && ok || bad "folder: 3 files expected"
list=("$in/metal.00002.flac" "$in/short_0.3s.wav" "$in/blues.00000.flac" "$in/classical.00001.flac" "$in/synth_8k_mono.wav" "$in/silence_3s.wav")
expect order-j4 0 "" -- "${m[@]}" "${list[@]}" --format csv -j 4
[ "$(cut -d, -f1 "$tmp/out" | tail -n +2 | tr '\n' ' ')" = "${list[*]} " ] && ok || bad "-j 4 changed the order"
cp "$tmp/out" "$tmp/j4.csv"
expect order-j1 0 "" -- "${m[@]}" "${list[@]}" --format csv -j 1
cmp -s "$tmp/out" "$tmp/j4.csv" && ok || bad "-j 1 and -j 4 differ"

# --- hostile inputs inside a batch: reported, the batch goes on, exit 1 ----------------------
: >"$tmp/empty.wav"
head -c 4000 /dev/urandom >"$tmp/random.flac"
head -c 20000 "$in/blues.00000.flac" >"$tmp/truncated.flac"
expect batch 1 "" -- "${m[@]}" "$in/blues.00000.flac" "$tmp/missing.wav" "$tmp/empty.wav" "$tmp/random.flac" "$tmp/truncated.flac" "$in" "$in/metal.00002.flac" --format jsonl -j 2
has batch-first-ok "$tmp/out" "\"path\":\"$in/blues.00000.flac\".*\"status\":\"ok\""
has batch-last-ok "$tmp/out" "\"path\":\"$in/metal.00002.flac\".*\"status\":\"ok\""
has batch-missing "$tmp/err" "^genre-guess: $tmp/missing.wav: cannot open: No such file or directory$"
has batch-empty "$tmp/err" "^genre-guess: $tmp/empty.wav: "
has batch-random "$tmp/err" "^genre-guess: $tmp/random.flac: "
has batch-truncated "$tmp/err" "^genre-guess: $tmp/truncated.flac: "
[ "$(grep -c '"status":"error"' "$tmp/out")" -ge 4 ] && ok || bad "batch: 4 error records expected"

# --- samples that are not numbers (issue 14, defect 2): an error record naming the time ----
float_wav "$tmp/nan.wav" 16000 8000 16000 '\x00\x00\xc0\x7f'
float_wav "$tmp/inf.wav" 16000 24000 50 '\x00\x00\x80\xff'
float_wav "$tmp/huge.wav" 16000 16000 4 '\x00\x00\x80\x7e'
expect non-finite 1 "" -- "${m[@]}" "$tmp/nan.wav" "$in/blues.00000.flac" "$tmp/inf.wav" "$tmp/huge.wav" --format jsonl
has nan-line "$tmp/err" "^genre-guess: $tmp/nan.wav: non-finite sample \(NaN\) at 0.5 s$"
has inf-line "$tmp/err" "^genre-guess: $tmp/inf.wav: non-finite sample \(-Inf\) at 1.5 s$"
has huge-line "$tmp/err" "^genre-guess: $tmp/huge.wav: sample value 8.50706e\+37 at 1 s is beyond \+-10000 \(full scale is \+-1\)$"
[ "$(grep -c '' "$tmp/err")" -eq 3 ] && ok || bad "non-finite: 3 lines expected on stderr: $(cat "$tmp/err")"
has nan-record "$tmp/out" "\"path\":\"$tmp/nan.wav\",\"status\":\"error\""
has nan-batch-goes-on "$tmp/out" "\"path\":\"$in/blues.00000.flac\".*\"status\":\"ok\""
grep -qE '"(confidence|blues|classical|metal)":null' "$tmp/out" && bad "non-finite: a null value in the output: $(cat "$tmp/out")" || ok

# --- silence (defect 5): no genre named, in every format ---------------------------------
float_wav "$tmp/zero.wav" 16000 48000 0 ''
float_wav "$tmp/quiet.wav" 16000 48000 1 '\x00\x00\x80\x38'  # one sample of 2^-14: -84 dBFS
expect silent-json 0 "" -- "${m[@]}" "$tmp/zero.wav" "$tmp/quiet.wav" "$in/blues.00000.flac" --format jsonl
has silent-zero "$tmp/out" "^\{.*\"path\":\"$tmp/zero.wav\",\"peak_dbfs\":null,\"probabilities\":\{\},\"silent\":true,\"status\":\"ok\",\"top\":\[\]"
has silent-quiet "$tmp/out" "\"path\":\"$tmp/quiet.wav\",\"peak_dbfs\":-84\.2[0-9]*,.*\"silent\":true,.*\"top\":\[\]"
has not-silent "$tmp/out" "\"path\":\"$in/blues.00000.flac\",\"peak_dbfs\":-[0-9.]+,\"probabilities\":\{\"blues\".*\"silent\":false"
expect silent-table 0 "" -- "${m[@]}" "$tmp/zero.wav" "$tmp/quiet.wav"
has silent-table-zero "$tmp/out" "^  silent: every sample is zero: no genre named$"
has silent-table-quiet "$tmp/out" "^  silent: the loudest sample is -84\.3 dBFS, below -70 dBFS: no genre named$"
grep -q "rank" "$tmp/out" && bad "silent-table: a genre table for a silent song" || ok
expect silent-csv 0 "" -- "${m[@]}" "$tmp/zero.wav" --format csv
has silent-csv-row "$tmp/out" "^$tmp/zero.wav,ok,3\.000,[0-9]+,,,,,,silent$"
expect silence-floor 0 "" -- "${m[@]}" "$tmp/quiet.wav" --silence -90 --format jsonl
has silence-floor-classified "$tmp/out" "\"silent\":false,\"status\":\"ok\",\"top\":\[\{"

# --- invalid options (defect 4): exit 2 before any work, naming the field and its range ----
expect offset-negative 2 "^genre-guess: offset must be >= 0 seconds, got -1$" -- "${m[@]}" "$tmp/missing.wav" --offset -1
expect duration-zero 2 "^genre-guess: duration must be > 0 seconds \(< 0: to the end\), got 0$" -- "${m[@]}" "$tmp/missing.wav" --duration 0
expect hop-zero 2 "^genre-guess: --hop must be > 0 seconds, got 0$" -- "${m[@]}" "$tmp/missing.wav" --hop 0
expect silence-positive 2 "^genre-guess: silence must be in \[-200, 0\] dBFS, got 3$" -- "${m[@]}" "$tmp/missing.wav" --silence 3
expect offset-bad-model 2 "^genre-guess: offset must be >= 0 seconds, got -1$" -- -m "$tmp/cut.gmdl" "$in/blues.00000.flac" --offset -1

# --- MSD track files, for a model trained on MSD features ------------------------------
msd=$data/msd
"$train" train "$msd/TRAAABD128F429CF47.h5" "$msd/TRAAADZ128F9348C2E.h5" --labels "$msd/tagtraum_sample.cls" \
  --labels "$msd/topmagd_sample.cls" --arch mlp --hidden 8 -o "$tmp/msd.gmdl" --epochs 2 --valid 0 --test 0 -j 1 \
  --log-format json >/dev/null 2>&1 && ok || bad "could not train the MSD test model"
expect msd-track 0 "" -- -m "$tmp/msd.gmdl" "$msd/TRAAADZ128F9348C2E.h5" --format csv
has msd-row "$tmp/out" "^$msd/TRAAADZ128F9348C2E.h5,ok,177\.475,1,(Country|Pop_Rock),"
# A file that crashes libhdf5 itself (fuzz/third-party) costs one line; the batch goes on.
segv=$(cd "$data/../../fuzz/third-party" && pwd)/hdf5-compound-conversion-segv.h5
overlap=$(cd "$data/../../fuzz/third-party" && pwd)/hdf5-global-heap-memcpy-overlap.h5
expect msd-libhdf5-crash 1 "" -- -m "$tmp/msd.gmdl" "$segv" "$overlap" "$msd/TRAAADZ128F9348C2E.h5" --format csv
[ "$(grep -c '' "$tmp/err")" -eq 2 ] && ok || bad "msd-libhdf5-crash: not one line a file: $(cat "$tmp/err")"
has msd-crash-line "$tmp/err" "^genre-guess: $segv: libhdf5 (crashed|ended while) reading it"
has msd-crash-line-2 "$tmp/err" "^genre-guess: $overlap: libhdf5 crashed reading it \(Segmentation fault\)$"
has msd-after-crash "$tmp/out" "^$msd/TRAAADZ128F9348C2E.h5,ok,177\.475,1,"
has msd-crash-row "$tmp/out" "^$segv,error,"
has msd-crash-row-2 "$tmp/out" "^$overlap,error,"


# --- a model trained on the GTZAN feature table classifies audio through the vector ------
"$train" train "$data/gtzan-table/sample.csv" --arch mlp -o "$tmp/table.gmdl" --epochs 30 --valid 0.2 --test 0 -j 1 \
  --log-format json >/dev/null 2>&1 && ok || bad "could not train the table model"
expect table-model 0 "" -- -m "$tmp/table.gmdl" "$in/blues.00000.flac" "$in/metal.00002.flac" --format csv --top 10
has table-blues "$tmp/out" "^$in/blues.00000.flac,ok,30\.01[0-9]*,1,[a-z]+,"
has table-metal "$tmp/out" "^$in/metal.00002.flac,ok,30\.0[0-9]*,1,[a-z]+,"
# All ten genres of the table are the model's classes: one probability column each.
[ "$(head -1 "$tmp/out" | tr ',' '\n' | grep -cE '^(blues|classical|country|disco|hiphop|jazz|metal|pop|reggae|rock)$')" -eq 10 ] \
  && ok || bad "table model: not 10 genres: $(head -1 "$tmp/out")"
expect table-model-short 1 "^genre-guess: $in/short_0.3s.wav: .*" -- -m "$tmp/table.gmdl" "$in/short_0.3s.wav" --duration 0.05

# --- an ensemble file (genre-train ensemble) is served like any other model --------------
"$train" train "$tmp/ds" --arch mlp --input gtzan --hidden 8 -o "$tmp/vec.gmdl" --epochs 5 --valid 0 --test 0 -j 1 \
  --log-format json >/dev/null 2>&1 && ok || bad "could not train the vector test model"
"$train" ensemble "$tmp/m.gmdl" "$tmp/vec.gmdl" -o "$tmp/ens.gmdl" >"$tmp/out" 2>"$tmp/err" && ok || bad "ensemble: $(cat "$tmp/err")"
has ensemble-made "$tmp/out" "^$tmp/ens.gmdl: ensemble of 2 models \(3 genres\)$"
expect ensemble-list 0 "" -- -m "$tmp/ens.gmdl" --list-genres
[ "$(tr '\n' ' ' <"$tmp/out")" = "blues classical metal " ] && ok || bad "ensemble genres: $(cat "$tmp/out")"
expect ensemble-info 0 "" -- -m "$tmp/ens.gmdl" --model-info
has ensemble-info-kind "$tmp/out" '"kind": "ensemble"'
has ensemble-info-member "$tmp/out" '"command": "genre-train train .*--arch mlp --input gtzan'
for f in m vec ens; do
  "$bin" -m "$tmp/$f.gmdl" "$in/metal.00002.flac" - --format csv <"$in/blues.00000.flac" >"$tmp/$f.csv" 2>"$tmp/err" \
    && ok || bad "$f: $(cat "$tmp/err")"
done
# Each probability of the ensemble is the mean of its members' (file and standard input).
mean_ok=$(paste -d, "$tmp/m.csv" "$tmp/vec.csv" "$tmp/ens.csv" | tail -n +2 | awk -F, '{
  for (k = 7; k <= 9; k++) { d = ($k + $(k + 10)) / 2 - $(k + 20); if (d > 1e-5 || d < -1e-5) bad++ } }
  END { print bad ? "no" : "yes" }')
[ "$mean_ok" = yes ] && ok || bad "ensemble is not the mean of its members: $(cat "$tmp/m.csv" "$tmp/vec.csv" "$tmp/ens.csv")"
has ensemble-windows "$tmp/ens.csv" "^$in/metal.00002.flac,ok,30\.0[0-9]*,$(sed -n 2p "$tmp/m.csv" | cut -d, -f4),"
expect ensemble-timeline 0 "" -- -m "$tmp/ens.gmdl" "$in/blues.00000.flac" --timeline --hop 10
[ "$(grep -cE '^ +[0-9.]+ s  [a-z]+ +[0-9.]+ %$' "$tmp/out")" -eq 4 ] && ok || bad "ensemble timeline, hop 10 s (0, 10, 20, last flush): $(cat "$tmp/out")"
head -c 3000 "$tmp/ens.gmdl" >"$tmp/ens-cut.gmdl"
expect ensemble-truncated 3 "^genre-guess: $tmp/ens-cut.gmdl: truncated model file" -- -m "$tmp/ens-cut.gmdl" "$in/blues.00000.flac"
# What genre-train ensemble refuses: other genres, an ensemble inside, one member, a member that is no model.
bin=$train
expect ensemble-genres 3 "^genre-train: $tmp/table.gmdl: its genres differ from those of $tmp/m.gmdl$" -- \
  ensemble "$tmp/m.gmdl" "$tmp/table.gmdl" -o "$tmp/x.gmdl"
expect ensemble-nested 3 "^genre-train: $tmp/ens.gmdl: an ensemble cannot hold an ensemble$" -- \
  ensemble "$tmp/m.gmdl" "$tmp/ens.gmdl" -o "$tmp/x.gmdl"
expect ensemble-one 2 "^genre-train: an ensemble needs at least 2 member models$" -- ensemble "$tmp/m.gmdl" -o "$tmp/x.gmdl"
expect ensemble-not-model 3 "^genre-train: $in/short_0.3s.wav: not a genre model file$" -- \
  ensemble "$tmp/m.gmdl" "$in/short_0.3s.wav" -o "$tmp/x.gmdl"
[ ! -e "$tmp/x.gmdl" ] && ok || bad "a refused ensemble left a file"
# genre-train eval serves it song by song.
expect ensemble-eval 0 "" -- eval "$tmp/ens.gmdl" "$tmp/ds" -j 1
has ensemble-eval-line "$tmp/out" "^$tmp/ens.gmdl on 3 tracks: track accuracy [0-9.]+, macro-F1 [0-9.]+ \(3 tracks\)$"

echo "genre-guess CLI: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
