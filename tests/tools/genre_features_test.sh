#!/usr/bin/env bash
# CLI tests for genre-features: outputs, stdin, exit codes and the exact error lines.
# Usage: genre_features_test.sh PATH/TO/genre-features tests/data
set -u
bin=$1
data=$2
in=$data/inputs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"

# --- help and usage ---------------------------------------------------------
expect help 0 "" -- --help
grep -q "Exit codes: 0 all inputs written" "$tmp/out" && ok || bad "help lacks exit codes"
expect no-args 2 '^genre-features: .*files is required' --
expect bad-kind 2 '^genre-features: .*--kind' -- "$in/short_0.3s.wav" --kind nope
expect h5-needs-out 2 '^genre-features: --format h5 needs --out FILE$' -- "$in/short_0.3s.wav" --format h5

# --- invalid options: exit 2, one line naming option and value ---------------
expect n-fft-0 2 '^genre-features: n_fft must be in \[2, 1048576\], got 0$' -- "$in/short_0.3s.wav" --n-fft 0
expect hop-0 2 '^genre-features: hop_length must be in \[1, n_fft = 2048\], got 0$' -- "$in/short_0.3s.wav" --hop 0
expect hop-big 2 '^genre-features: hop_length must be in \[1, n_fft = 2048\], got 4096$' -- "$in/short_0.3s.wav" --hop 4096
expect fmax 2 '^genre-features: fmax must be in \(0, sample_rate / 2 = 11025\] Hz, got 20000$' -- "$in/short_0.3s.wav" --fmax 20000
expect n-mels-0 2 '^genre-features: n_mels must be in \[1, 4096\], got 0$' -- "$in/short_0.3s.wav" --n-mels 0
expect offset-neg 2 '^genre-features: offset must be >= 0 s, got -1 s$' -- "$in/short_0.3s.wav" --offset -1
expect pad-mode 2 "^genre-features: pad_mode must be one of constant, reflect, edge; got 'wrap'$" -- "$in/short_0.3s.wav" --pad-mode wrap

# --- hostile inputs: exit 1, one line naming the file ------------------------
: >"$tmp/empty.wav"
head -c 4000 /dev/urandom >"$tmp/random.flac"
head -c 6000 "$in/short_0.3s.wav" >"$tmp/cut.wav"
head -c 400000 "$in/blues.00000.flac" >"$tmp/cut.flac"
head -c 44 "$in/short_0.3s.wav" >"$tmp/zero.wav"
printf '\0\0\0\0' | dd of="$tmp/zero.wav" bs=1 seek=40 conv=notrunc status=none  # data size 0
mkdir "$tmp/dir.wav"
expect missing 1 "^genre-features: $tmp/missing.wav: cannot open: No such file or directory$" -- "$tmp/missing.wav" --format csv
expect directory 1 "^genre-features: $tmp/dir.wav: is a directory, not an audio file$" -- "$tmp/dir.wav" --format csv
expect empty 1 "^genre-features: $tmp/empty.wav: empty file \(0 bytes\)$" -- "$tmp/empty.wav" --format csv
expect random 1 "^genre-features: $tmp/random.flac: not a readable audio file \(" -- "$tmp/random.flac" --format csv
expect cut-wav 1 "^genre-features: $tmp/cut.wav: truncated file: header declares more audio data than the file holds$" -- "$tmp/cut.wav" --format csv
expect cut-flac 1 "^genre-features: $tmp/cut.flac: (decode error|truncated file)" -- "$tmp/cut.flac" --format csv
expect zero-length 1 "^genre-features: $tmp/zero.wav: no audio samples \(0 frames\)$" -- "$tmp/zero.wav" --format csv
expect too-short 1 "^genre-features: $in/short_0.3s.wav: signal of 1102 samples \(0.0499773 s at 22050 Hz\) is shorter than one FFT frame \(n_fft = 2048\)$" -- "$in/short_0.3s.wav" --duration 0.05 --format csv
float_wav "$tmp/nan.wav" 22050 22050 10 '\x00\x00\xc0\x7f'
expect nan 1 "^genre-features: $tmp/nan.wav: non-finite sample \(NaN\) at 1 s$" -- "$tmp/nan.wav" --format csv
expect nan-vector 1 "^genre-features: $tmp/nan.wav: non-finite sample \(NaN\) at 1 s$" -- "$tmp/nan.wav" --kind gtzan-vector
expect past-end 1 "^genre-features: $in/short_0.3s.wav: offset 1 s is past the end of the audio \(0.3 s\)$" -- "$in/short_0.3s.wav" --offset 1 --format csv

# --- a batch goes on past bad files -------------------------------------------
"$bin" "$in/short_0.3s.wav" "$tmp/missing.wav" "$in/silence_3s.wav" --kind rms --format csv >"$tmp/batch.csv" 2>"$tmp/err"
code=$?
[ $code -eq 1 ] && ok || bad "batch exit $code, expected 1"
[ "$(grep -c '' "$tmp/err")" -eq 1 ] && ok || bad "batch stderr: $(cat "$tmp/err")"
[ "$(grep -c "short_0.3s.wav" "$tmp/batch.csv")" -eq 13 ] && ok || bad "batch lacks short_0.3s frames"
[ "$(grep -c "silence_3s.wav" "$tmp/batch.csv")" -eq 130 ] && ok || bad "batch lacks silence_3s frames"

# --- formats --------------------------------------------------------------------
expect csv 0 "" -- "$in/short_0.3s.wav" --kind mfcc --format csv
[ "$(head -1 "$tmp/out" | cut -d, -f1-5)" = "path,frame,time_s,mfcc_0,mfcc_1" ] && ok || bad "csv header: $(head -1 "$tmp/out")"
[ "$(grep -c '' "$tmp/out")" -eq 14 ] && ok || bad "csv rows: $(grep -c '' "$tmp/out"), expected 1 + 13 frames"
[ "$(head -1 "$tmp/out" | tr ',' '\n' | grep -c mfcc_)" -eq 20 ] && ok || bad "csv columns"

expect json 1 "" -- "$in/short_0.3s.wav" "$tmp/missing.wav" --kind logmel --format json -q
grep -q '"shape":\[128,13\]' "$tmp/out" && ok || bad "json shape"
grep -q '"status":"error"' "$tmp/out" && ok || bad "json error record"
grep -q '"n_fft":2048' "$tmp/out" && ok || bad "json options"

expect h5 0 "" -- "$in/short_0.3s.wav" "$in/synth_8k_mono.wav" --kind logmel --out "$tmp/f.h5"
if command -v h5dump >/dev/null; then
  h5dump -H "$tmp/f.h5" | grep -q 'DATASET "short_0.3s.wav"' && ok || bad "h5 dataset name"
  h5dump -H -d /short_0.3s.wav "$tmp/f.h5" | grep -q 'SIMPLE { ( 128, 13 )' && ok || bad "h5 shape"
  h5dump -H -d /synth_8k_mono.wav "$tmp/f.h5" | grep -q 'SIMPLE { ( 128, 216 )' && ok || bad "h5 resampled shape"
  h5dump -a /short_0.3s.wav/n_mels "$tmp/f.h5" | grep -q '(0): 128' && ok || bad "h5 attribute"
  h5dump -a /short_0.3s.wav/kind "$tmp/f.h5" | grep -q '"logmel"' && ok || bad "h5 kind attribute"
else
  bad "h5dump missing (install hdf5-tools): cannot check the HDF5 output"
fi
ls "$tmp" | grep -q '\.tmp\.' && bad "temporary output left behind" || ok

# --- standard input equals the file -----------------------------------------------
"$bin" "$in/synth_44k_stereo.flac" --kind mfcc --format csv | cut -d, -f2- >"$tmp/file.csv"
cat "$in/synth_44k_stereo.flac" | "$bin" - --kind mfcc --format csv >"$tmp/stdin.csv"
code=$?
[ $code -eq 0 ] && ok || bad "stdin exit $code"
cut -d, -f1 "$tmp/stdin.csv" | sed -n 2p | grep -qx -- '-' && ok || bad "stdin path column"
cut -d, -f2- "$tmp/stdin.csv" | cmp -s - "$tmp/file.csv" && ok || bad "stdin output differs from file output"
: | "$bin" - --format csv >/dev/null 2>"$tmp/err"
code=$?
[ $code -eq 1 ] && grep -qx 'genre-features: -: empty input (0 bytes)' "$tmp/err" && ok || bad "empty stdin: $code $(cat "$tmp/err")"


# --- gtzan-vector: the GTZAN feature table's columns, folders, labels, batches -----
table=$data/gtzan-table/rows.csv
mkdir -p "$tmp/music/blues" "$tmp/music/metal/live"
cp "$in/blues.00000.flac" "$tmp/music/blues/"
cp "$in/metal.00002.flac" "$tmp/music/metal/live/"
echo "not audio" >"$tmp/music/notes.txt"
expect gv-folder 0 "" -- --kind gtzan-vector "$tmp/music" -j 2
head -1 "$tmp/out" | cmp -s - <(head -1 "$table") && ok || bad "gtzan-vector header differs from the table's"
[ "$(grep -c '' "$tmp/out")" -eq 3 ] && ok || bad "gtzan-vector rows: $(cat "$tmp/out")"
has gv-blues "$tmp/out" '^blues\.00000\.flac,661794,.*,123\.046875,.*,blues$'
has gv-metal "$tmp/out" '^metal\.00002\.flac,661504,.*,metal$'
# The values are the table's: chroma_stft_mean of blues.00000 within 1e-6 relative.
want=$(grep '^blues.00000' "$table" | cut -d, -f3)
got=$(grep '^blues.00000' "$tmp/out" | cut -d, -f3)
awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-6 * b) }' && ok || bad "chroma_stft_mean $got vs table $want"
expect gv-genre-folder 0 "" -- --kind gtzan-vector "$tmp/music/blues"
has gv-own-name "$tmp/out" ',blues$'
expect gv-label 0 "" -- --kind gtzan-vector "$in/blues.00000.flac" --label jazz
has gv-label-set "$tmp/out" '^blues\.00000\.flac,661794,.*,jazz$'
expect gv-file-unlabelled 0 "" -- --kind gtzan-vector "$in/blues.00000.flac"
has gv-no-label "$tmp/out" ',$'
cat "$in/blues.00000.flac" | "$bin" --kind gtzan-vector - >"$tmp/stdin.csv" 2>"$tmp/err"
[ $? -eq 0 ] && ok || bad "gtzan-vector stdin: $(cat "$tmp/err")"
diff <(cut -d, -f2- "$tmp/stdin.csv" | tail -1) <(grep '^blues' "$tmp/out" | cut -d, -f2-) >/dev/null && ok || bad "stdin vector differs from the file's"
has gv-stdin-name "$tmp/stdin.csv" '^stdin,661794,'
expect gv-batch 1 "^genre-features: $tmp/missing.wav: cannot open: No such file or directory$" -- --kind gtzan-vector "$tmp/missing.wav" "$in/silence_3s.wav"
[ "$(grep -c '' "$tmp/out")" -eq 2 ] && has gv-batch-rest "$tmp/out" '^silence_3s\.wav,66150,'
expect gv-too-short 1 "^genre-features: $in/short_0.3s.wav: signal of 1102 samples is shorter than one 2048-sample frame" -- --kind gtzan-vector "$in/short_0.3s.wav" --duration 0.05
mkdir "$tmp/quiet"
expect gv-empty-folder 1 "^genre-features: $tmp/quiet: no audio files in this folder$" -- --kind gtzan-vector "$tmp/quiet"
expect gv-json 0 "" -- --kind gtzan-vector "$in/blues.00000.flac" --format json
grep -q '"tempo":123.046875' "$tmp/out" && grep -q '"kind":"gtzan-vector"' "$tmp/out" && ok || bad "gtzan-vector json"
expect gv-h5 2 '^genre-features: --kind gtzan-vector writes csv or json, not h5$' -- --kind gtzan-vector "$in/blues.00000.flac" --out "$tmp/v.h5"
expect gv-sr 2 '^genre-features: --kind gtzan-vector is defined at 22050 Hz; --sr does not apply$' -- --kind gtzan-vector "$in/blues.00000.flac" --sr 16000
expect gv-out 0 "" -- --kind gtzan-vector "$tmp/music" --out "$tmp/table.csv"
[ "$(grep -c '' "$tmp/table.csv")" -eq 3 ] && ok || bad "gtzan-vector --out"

# --- output that cannot be written: exit 4 --------------------------------------------
expect unwritable 4 "^genre-features: $tmp/no/such/dir/f.h5" -- "$in/short_0.3s.wav" --out "$tmp/no/such/dir/f.h5"

echo "genre-features CLI: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
