#!/usr/bin/env bash
# CLI tests for `genre-train data ...`: output, exit codes and the exact error lines.
# Usage: genre_train_test.sh PATH/TO/genre-train tests/data
set -u
bin=$1
data=$(cd "$2" && pwd)  # absolute: symlinks below point into it
in=$data/inputs
msd=$data/msd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"

# A small genre tree: two good clips, a corrupt file, a loose file.
mkdir -p "$tmp/ds/blues" "$tmp/ds/metal" "$tmp/ds2/blues"
ln -s "$in/blues.00000.flac" "$tmp/ds/blues/blues.00000.flac"
ln -s "$in/metal.00002.flac" "$tmp/ds/metal/metal.00002.flac"
ln -s "$in/short_0.3s.wav" "$tmp/ds2/blues/blues.00000.wav"
printf 'RIFF\x10\x00\x00\x00WAVEjunkjunkjunk' >"$tmp/ds/metal/metal.00003.wav"

# --- help and usage -------------------------------------------------------------
expect help 0 "" -- --help
has help-exit-codes "$tmp/out" "Exit codes: 0 done; 1 done, some files skipped"
expect data-help 0 "" -- data --help
has data-help-lists "$tmp/out" "to-msd"
expect no-subcommand 2 '^genre-train: .*subcommand' --
expect bad-conflicts 2 '^genre-train: .*--conflicts' -- data summary "$tmp/ds" --conflicts vote
expect bad-valid 2 '^genre-train: split.valid \+ split.test must be < 1, got 1.000000$' -- data summary "$tmp/ds" --valid 0.5 --test 0.5
expect bad-features 2 "^genre-train: unknown feature 'chroma' \(one of power, mel, " -- data cache "$tmp/ds" --cache "$tmp/c.h5" --features chroma

# --- inspect ----------------------------------------------------------------------
expect inspect 0 "" -- data inspect "$msd/TRAAABD128F429CF47.h5"
has inspect-songs "$tmp/out" '^  /analysis/songs  compound\{31\} \[1\] max \[inf\]'
has inspect-field "$tmp/out" '^      \.track_id  string\[32\]$'
has inspect-timbre "$tmp/out" '^  /analysis/segments_timbre  float64 \[550, 12\] max \[inf, 12\]'
expect inspect-not-h5 1 "^genre-train: $in/short_0.3s.wav: not an HDF5 file$" -- data inspect "$in/short_0.3s.wav"
# Files that crash libhdf5 itself (fuzz/third-party): one line each, never a signal.
segv=$(cd "$data/../../fuzz/third-party" && pwd)/hdf5-compound-conversion-segv.h5
expect summary-libhdf5-crash 1 "^genre-train: skipped $segv: libhdf5 (crashed|ended while) reading it" -- data summary "$segv" "$msd/TRAAABD128F429CF47.h5" --labels "$msd/tagtraum_sample.cls"
has summary-after-crash "$tmp/out" '^Pop_Rock +1 +148\.0'

# --- summary ----------------------------------------------------------------------
expect summary-corrupt 1 "^genre-train: skipped $tmp/ds/metal/metal.00003.wav: " -- data summary "$tmp/ds" "$tmp/ds2"
has summary-header "$tmp/out" '^label +train +seconds +valid +seconds +test +seconds +all +seconds$'
has summary-blues "$tmp/out" '^blues +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +2 +30\.[0-9]$'
has summary-total "$tmp/out" '^total .* 3 +60\.[0-9]$'
has summary-skipped "$tmp/out" '^skipped: 1 file\(s\)$'
has summary-skipped-once "$tmp/out" "^  $tmp/ds/metal/metal.00003.wav: [a-z]"  # the path once (issue 14, defect 7)
expect summary-json 1 "" -- data summary "$tmp/ds" "$tmp/ds2" --format json --folds 2
has summary-json-total "$tmp/out" '"classes": \['
expect summary-msd 1 "^genre-train: skipped $msd/TRAAADZ128F9348C2E.h5: no label for track TRAAADZ128F9348C2E$" -- data summary "$msd/TRAAABD128F429CF47.h5" "$msd/TRAAADZ128F9348C2E.h5" --labels "$msd/tagtraum_sample.cls"
has summary-msd-label "$tmp/out" '^Pop_Rock +1 +148\.0'
has summary-msd-notes "$tmp/out" "^  $msd/tagtraum_sample.cls:6: 'not-a-track-id' is not an MSD track id \(line skipped\)$"
expect summary-two-label-files 0 "" -- data summary "$msd/TRAAABD128F429CF47.h5" "$msd/TRAAADZ128F9348C2E.h5" --labels "$msd/tagtraum_sample.cls" --labels "$msd/topmagd_sample.cls"
has summary-country "$tmp/out" '^Country +1 +177\.5'

# --- hostile datasets: exit 5, one line ----------------------------------------------
mkdir -p "$tmp/empty/rock"
: >"$tmp/empty/rock/readme.txt"
expect empty-root 5 "^genre-train: $tmp/empty: no audio files \(\.wav " -- data summary "$tmp/empty"
expect missing-root 5 "^genre-train: $tmp/nope: cannot open: No such file or directory$" -- data summary "$tmp/nope"
expect not-msd 5 "^genre-train: no usable tracks in the dataset \(1 files skipped; first: $data/librosa-0.10.2/short_0.3s.h5: not MSD layout: no dataset '/analysis/songs'\)$" -- data summary "$data/librosa-0.10.2/short_0.3s.h5"
printf 'path,label\n../x.wav,\n' >"$tmp/bad.csv"
expect bad-manifest 5 "^genre-train: $tmp/bad.csv: no usable lines" -- data summary "$tmp/bad.csv"

# --- split ---------------------------------------------------------------------------
expect split 1 "" -- data split "$tmp/ds" "$tmp/ds2" -o "$tmp/split.csv" --seed 7 --folds 2
has split-header "$tmp/split.csv" '^path,label,group,split,fold$'
has split-row "$tmp/split.csv" '^(\.\./)*.*ds2/blues/blues\.00000\.wav,blues,blues\.00000,(train|valid|test),[01]$'
[ "$(grep -c blues.00000 "$tmp/split.csv")" -eq 2 ] && ok || bad "split: both blues.00000 tracks listed"
[ "$(grep blues.00000 "$tmp/split.csv" | cut -d, -f4 | sort -u | wc -l)" -eq 1 ] && ok || bad "split: group blues.00000 crosses splits"
cp "$tmp/split.csv" "$tmp/split1.csv"
expect split-again 1 "" -- data split "$tmp/ds" "$tmp/ds2" -o "$tmp/split.csv" --seed 7 --folds 2
cmp -s "$tmp/split.csv" "$tmp/split1.csv" && ok || bad "split: same seed, other split"
expect split-read-back 0 "" -- data summary "$tmp/split.csv"

# --- cache -------------------------------------------------------------------------
expect cache 1 "^genre-train: skipped $tmp/ds/metal/metal.00003.wav: " -- data cache "$tmp/ds" --cache "$tmp/c.h5" -j 2
has cache-report "$tmp/out" "^$tmp/c.h5: 3 files: 2 extracted, 0 reused, 1 failed; written in "
expect cache-again 1 "" -- data cache "$tmp/ds" --cache "$tmp/c.h5"
has cache-again-report "$tmp/out" "^$tmp/c.h5: 3 files: 0 extracted, 2 reused, 1 failed; up to date, not rewritten in "
expect cache-other-options 1 "" -- data cache "$tmp/ds" --cache "$tmp/c.h5" --n-mels 64
has cache-rebuilt "$tmp/err" "^genre-train: previous cache not used: built with other options$"
expect summary-from-cache 1 "" -- data summary "$tmp/ds" --cache "$tmp/c.h5"
has summary-cache-skipped "$tmp/out" "^  $tmp/ds/metal/metal.00003.wav: "
mkdir -p "$tmp/allbad/rock"
printf 'junk' >"$tmp/allbad/rock/a.wav"
expect cache-nothing-usable 5 "" -- data cache "$tmp/allbad" --cache "$tmp/bad.h5"
has cache-nothing-usable-msg "$tmp/err" "^genre-train: no usable audio: all 1 files failed$"
[ ! -e "$tmp/bad.h5" ] && ok || bad "cache: file written although nothing was usable"
expect cache-unwritable 4 "" -- data cache "$tmp/ds" --cache "$tmp/no/dir/c.h5"
has cache-unwritable-msg "$tmp/err" "^genre-train: $tmp/no/dir/c.h5.tmp.[0-9]+: cannot create HDF5 file"

# --- to-msd ------------------------------------------------------------------------
expect to-msd 1 "^genre-train: skipped $tmp/ds/metal/metal.00003.wav: " -- data to-msd "$tmp/ds" "$tmp/msd-out" -q
has to-msd-report "$tmp/out" "^$tmp/msd-out: 2 MSD-layout files written, 1 failed$"
[ -f "$tmp/msd-out/blues/blues.00000.h5" ] && ok || bad "to-msd: blues file missing"
expect to-msd-readback 0 "" -- data summary "$tmp/msd-out"
has to-msd-labels "$tmp/out" '^metal +.* 1 +30\.0$'
expect to-msd-needs-outdir 2 "^genre-train: to-msd needs SOURCE... OUTDIR$" -- data to-msd "$tmp/ds"


# --- a feature table is a dataset ---------------------------------------------------------
expect table-summary 0 "" -- data summary "$data/gtzan-table/sample.csv"
has table-summary-line "$tmp/out" '^dataset: 92 tracks, 10 labels, 46\.1 min;'
printf 'filename,length,chroma_stft_mean\nx.wav,1,2\n' >"$tmp/not-table.csv"
expect table-bad-header 5 "^genre-train: $tmp/not-table.csv: not a GTZAN feature table: column 4 is '\(nothing\)', expected 'chroma_stft_var'$" -- data summary "$tmp/not-table.csv"

# --- combine: candidates on the same held-out recordings, and their mean -------------------
printf 'path,label,group,fold,a,b\nc/a/x.flac,a,x,0,0.9,0.1\nc/b/y.flac,b,y,0,0.6,0.4\nc/b/z.flac,b,z,1,0.2,0.8\nc/a/w.flac,a,w,1,0.5,0.5\n' >"$tmp/p1.csv"
printf 'path,label,group,fold,b,a\nt.csv#x.wav,a,x,0,0.3,0.7\nt.csv#y.wav,b,y,0,0.8,0.2\nt.csv#z.wav,b,z,1,0.6,0.4\n' >"$tmp/p2.csv"
expect combine 0 "" -- combine "$tmp/p1.csv" "$tmp/p2.csv" --names audio,table --out-dir "$tmp/comb"
has combine-count "$tmp/out" '^3 recordings held out by every run, 2 folds$'
has combine-audio "$tmp/out" '^audio +0\.7500 ± 0\.2500 .* 0\.6667 '
has combine-table "$tmp/out" '^table +1\.0000 ± 0\.0000 '
has combine-mean "$tmp/out" '^mean of 2 +1\.0000 ± 0\.0000 '
has combine-json "$tmp/comb/cv.json" '"name": "mean of 2"'
[ "$(tail -n +2 "$tmp/comb/predictions.csv" | wc -l)" -eq 3 ] && ok || bad "combine: predictions.csv"
printf 'path,label,group,fold,a,b\nc/a/x.flac,a,x,1,0.9,0.1\n' >"$tmp/p3.csv"
expect combine-folds 5 "^genre-train: x: .*same --folds-from file\?\)$" -- combine "$tmp/p1.csv" "$tmp/p3.csv"
expect combine-one 2 "^genre-train: combine needs at least 2 prediction files$" -- combine "$tmp/p1.csv"
expect combine-names 2 "^genre-train: --names has 1 names for 2 files$" -- combine "$tmp/p1.csv" "$tmp/p2.csv" --names a
expect combine-missing 5 "^genre-train: $tmp/none.csv: cannot open" -- combine "$tmp/p1.csv" "$tmp/none.csv"

echo "genre-train CLI: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
