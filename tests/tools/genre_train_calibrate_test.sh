#!/usr/bin/env bash
# CLI tests for `genre-train calibrate`: the fitted temperature, calibration.json,
# exit codes and the error lines.
# Usage: genre_train_calibrate_test.sh PATH/TO/genre-train tests/data
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"

# An over-confident run: 0.95 on every top-1 guess, 8 of 10 right (T > 1 fits).
{
  echo 'path,label,group,fold,a,b'
  for i in 0 1 2 3; do echo "c/a/a$i.flac,a,a$i,$((i % 2)),0.95,0.05"; done
  echo 'c/a/a4.flac,a,a4,0,0.05,0.95'
  for i in 0 1 2 3; do echo "c/b/b$i.flac,b,b$i,$((i % 2)),0.05,0.95"; done
  echo 'c/b/b4.flac,b,b4,1,0.95,0.05'
} >"$tmp/p1.csv"
expect calibrate 0 "" -- calibrate "$tmp/p1.csv" --out-dir "$tmp/cal"
has calibrate-tracks "$tmp/out" '^10 tracks$'
has calibrate-temperature "$tmp/out" '^temperature: [0-9]+\.[0-9]{4}$'
t=$(sed -n 's/^temperature: //p' "$tmp/out")
awk -v t="$t" 'BEGIN { exit !(t > 1.2 && t < 20) }' && ok || bad "calibrate: temperature $t, expected > 1.2"
has calibrate-before "$tmp/out" '^before +0\.[0-9]{4} +[0-9]+\.[0-9]{4} +0\.8000$'
has calibrate-after "$tmp/out" '^after +0\.[0-9]{4} +[0-9]+\.[0-9]{4} +0\.8000$'
j=$tmp/cal/calibration.json
has json-temperature "$j" '^  "temperature": [0-9.]+,?$'
has json-tracks "$j" '^  "tracks": 10,?$'
has json-bins "$j" '^  "bins": 15,?$'
has json-before "$j" '^  "before": \{'
has json-after "$j" '^  "after": \{'
has json-ece "$j" '^    "ece": 0\.[0-9]+'
has json-nll "$j" '^    "nll": [0-9.]+'
has json-accuracy "$j" '^    "accuracy": 0\.8'
has json-predictions "$j" "^  \"predictions\": \"$tmp/p1.csv\",?$"
# 0.95 said, 0.8 right: the T with 19^(1/T) = 4 calibrates exactly, ln 19 / ln 4 = 2.1240.
awk -v t="$t" '
  /^  "(before|after)": \{/ { block = $1 }
  /^    "[a-z]+":/ { key = $1; gsub(/,/, "", $2); v[block key] = $2 + 0 }
  /^  "temperature":/ { gsub(/,/, "", $2); temp = $2 + 0 }
  END {
    d = temp - t; if (d < 0) d = -d
    e = temp - log(19) / log(4); if (e < 0) e = -e
    b = v["\"before\":\"ece\":"] - 0.15; if (b < 0) b = -b
    exit !(d <= 5e-5 && e < 1e-3 && b < 1e-6 && v["\"after\":\"ece\":"] < 1e-4 &&
           v["\"after\":\"nll\":"] < v["\"before\":\"nll\":"] &&
           v["\"after\":\"accuracy\":"] == v["\"before\":\"accuracy\":"])
  }' "$j" && ok || bad "calibration.json: $(cat "$j")"
ls "$tmp/cal" | grep -q tmp && bad "calibrate: a temporary file left in $tmp/cal" || ok

# Several runs (another genre order, a recording only in one): their mean.
{
  echo 'path,label,group,fold,b,a'
  for i in 0 1 2 3; do echo "t.csv#a$i.wav,a,a$i,$((i % 2)),0.2,0.8"; done
  echo 't.csv#a4.wav,a,a4,0,0.6,0.4'
  for i in 0 1 2; do echo "t.csv#b$i.wav,b,b$i,$((i % 2)),0.9,0.1"; done
  echo 't.csv#b4.wav,b,b4,1,0.7,0.3'
} >"$tmp/p2.csv"
expect calibrate-mean 0 "" -- calibrate "$tmp/p1.csv" "$tmp/p2.csv" --out-dir "$tmp/cal2"
has calibrate-mean-tracks "$tmp/out" '^9 tracks, mean of 2 runs$'
has calibrate-mean-temperature "$tmp/out" '^temperature: [0-9]+\.[0-9]{4}$'
has calibrate-mean-json "$tmp/cal2/calibration.json" '^  "tracks": 9,?$'
has calibrate-mean-files "$tmp/cal2/calibration.json" "^    \"$tmp/p2.csv\"$"

# Errors: one line on stderr. ExitFor maps IoError and FormatError to 5 (no usable data).
expect calibrate-none 2 '^genre-train: predictions is required' -- calibrate
expect calibrate-missing 5 "^genre-train: $tmp/none.csv: cannot open" -- calibrate "$tmp/none.csv"
printf 'path,label\nx.wav,a\n' >"$tmp/bad.csv"
expect calibrate-malformed 5 "^genre-train: $tmp/bad.csv: not a predictions file \(header path,label,group,fold,<genres\.\.\.>\)$" -- calibrate "$tmp/bad.csv"
printf 'path,label,group,fold,a,b\nx.wav,a,x,0,0.5,1.5\n' >"$tmp/bad2.csv"
expect calibrate-bad-probability 5 "^genre-train: $tmp/bad2.csv:2: probability '1.5' is not in \[0, 1\]$" -- calibrate "$tmp/bad2.csv"
printf 'path,label,group,fold,a,b\nx.wav,c,x,0,0.5,0.5\n' >"$tmp/bad3.csv"
expect calibrate-unknown-genre 5 "^genre-train: $tmp/bad3.csv: x.wav has genre c, not one of the file's$" -- calibrate "$tmp/bad3.csv"
expect calibrate-unwritable 4 "^genre-train: .*p1\.csv/out" -- calibrate "$tmp/p1.csv" --out-dir "$tmp/p1.csv/out"

echo "genre-train calibrate CLI: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
