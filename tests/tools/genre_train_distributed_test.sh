#!/usr/bin/env bash
# Data-parallel genre-train over loopback: `genre-train launch --nproc N -- train ...` on
# small real datasets (rows of the GTZAN feature table; GTZAN clips through the feature
# cache, streamed). Every rank ends with the same weights; 1 and 2 workers with the same
# global batch reach the same validation accuracy within a tolerance; a killed, a hung and
# a missing worker end the job in time with one line and exit 6; a distributed run resumes
# from its checkpoint to the very weights of an uninterrupted one; the model is served by
# genre-guess; signals are forwarded.
# Usage: genre_train_distributed_test.sh PATH/TO/genre-train PATH/TO/genre-guess tests/data
set -u
bin=$1
guess=$2
data=$(cd "$3" && pwd)
in=$data/inputs
table=$data/gtzan-table/sample.csv
tmp=$(mktemp -d)
trap 'pkill -KILL -f "$tmp/" 2>/dev/null; rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_lib.sh"

# The weights hash of each rank's "done" line, sorted.
hashes() { grep '"event":"done"' "$1" | sed 's/.*"weights_hash":"\([0-9a-f]*\)".*/\1/' | sort; }
ranks_agree() {  # NAME FILE N: N done lines, one hash
  local n
  n=$(hashes "$2" | grep -c '')
  [ "$n" -eq "$3" ] && [ "$(hashes "$2" | uniq | grep -c '')" -eq 1 ] && ok || bad "$1: $n done lines, hashes: $(hashes "$2" | tr '\n' ' ')"
}
last_epoch() { grep '"event":"epoch"' "$1" | tail -1; }
field() { sed "s/.*\"$2\":\([0-9.e-]*\).*/\1/" <<<"$1"; }

# --- 1, 2, 3 workers on 92 real GTZAN feature rows (mlp), global batch 12 -----------------
mlp=(--arch mlp --epochs 40 --batch 12 --valid 0.3 --test 0 --patience 100 --log-format json -j 1)
for n in 1 2 3; do
  expect "launch-$n" 0 "" -- launch --nproc "$n" -- train "$table" -o "$tmp/g$n.gmdl" "${mlp[@]}"
  cp "$tmp/out" "$tmp/g$n.log"
  ranks_agree "identical-weights-$n" "$tmp/g$n.log" "$n"
done
# Only rank 0 writes the model and the run folder; the card records the workers.
[ -s "$tmp/g2.gmdl" ] && [ -s "$tmp/g2.gmdl.run/checkpoints/last.ckpt" ] && [ -s "$tmp/g2.gmdl.run/split.csv" ] && ok ||
  bad "2 workers: model or run files missing"
grep -aEq "\"workers\": ?2" "$tmp/g2.gmdl" && ok || bad "2 workers: the card does not say so"
# ... and the data it was trained on (counted before the examples went to their splits).
grep -aEq "\"tracks\": ?92([^0-9]|$)" "$tmp/g2.gmdl" && grep -aq '"per_class"' "$tmp/g2.gmdl" && ok ||
  bad "2 workers: the card's data record does not count the 92 tracks"
# The same global batch: the validation accuracy of 1 and 2 workers within 0.15 (28
# validation tracks; 0.15 is 4 tracks), the validation loss within 0.3.
a1=$(field "$(last_epoch "$tmp/g1.log")" valid_accuracy)
a2=$(field "$(last_epoch "$tmp/g2.log")" valid_accuracy)
l1=$(field "$(last_epoch "$tmp/g1.log")" valid_loss)
l2=$(field "$(last_epoch "$tmp/g2.log")" valid_loss)
awk -v a="$a1" -v b="$a2" -v l="$l1" -v m="$l2" 'BEGIN { d = a - b; e = l - m; exit !(d < 0.15 && -d < 0.15 && e < 0.3 && -e < 0.3 && a > 0.3) }' &&
  ok || bad "1 vs 2 workers: valid accuracy $a1 vs $a2, loss $l1 vs $l2"
# Every worker refuses (a line each, and the launcher's line per worker).
expect batch-divides 2 "" -- \
  launch --nproc 2 -- train "$table" -o "$tmp/b.gmdl" --arch mlp --epochs 1 --batch 13 -j 1 --log-format json
has batch-divides-line "$tmp/err" "^genre-train: --batch must be a multiple of the workers \(2\), got 13"
expect launch-not-train 2 "^genre-train: launch runs \`train\` only" -- launch --nproc 2 -- cv "$table"
expect launch-bad-nproc 2 "nproc must be in \[1, 1024\], got 0" -- launch --nproc 0 -- train "$table" -o "$tmp/x.gmdl"

# --- GTZAN clips through the feature cache, streamed (a 1-MB window), cnn2d -------------
tiny_dataset "$in" "$tmp/ds"
small=(--channels 4,8 --hidden 8 --window 43 --windows-per-track 2 --valid 0 --test 0 -j 1 --log-format json --window-mb 1)
expect cnn-3 0 "" -- launch --nproc 3 -- train "$tmp/ds" -o "$tmp/c.gmdl" --epochs 3 --batch 6 "${small[@]}"
ranks_agree identical-weights-cnn "$tmp/out" 3
"$guess" "$tmp/ds/metal/metal.00002.flac" -m "$tmp/c.gmdl" --format json >"$tmp/guess" 2>"$tmp/guess.err" &&
  grep -q '"probabilities"' "$tmp/guess" && ok || bad "genre-guess on the 3-worker model: $(cat "$tmp/guess.err")"

# --- stopped and resumed = uninterrupted, with 2 workers ---------------------------------
expect whole 0 "" -- launch --nproc 2 -- train "$tmp/ds" -o "$tmp/w.gmdl" --epochs 4 --batch 4 "${small[@]}"
whole=$(hashes "$tmp/out" | uniq)
expect stop-after 0 "" -- launch --nproc 2 -- train "$tmp/ds" -o "$tmp/s.gmdl" --epochs 4 --batch 4 "${small[@]}" --stop-after 2
[ ! -e "$tmp/s.gmdl" ] && ok || bad "stop-after: a model was written"
expect resume 0 "" -- launch --nproc 2 -- train "$tmp/ds" -o "$tmp/s.gmdl" --epochs 4 --batch 4 "${small[@]}" --resume
resumed=$(hashes "$tmp/out" | uniq)
[ -n "$whole" ] && [ "$whole" = "$resumed" ] && ok || bad "resume: weights $resumed != uninterrupted $whole"

# --- faults: a worker killed, a worker hung, a worker alone --------------------------------
long=(--epochs 100000 --patience 100000 --plateau-patience 100000 --batch 4 "${small[@]}")
run_killed() {  # SIGNAL: start a long 2-worker run, send SIGNAL to rank 1 once a checkpoint exists
  rm -rf "$tmp/k.gmdl.run"
  "$bin" launch --nproc 2 --grace 5 -- train "$tmp/ds" -o "$tmp/k.gmdl" "${long[@]}" --group-timeout 8 \
    >"$tmp/k.out" 2>"$tmp/k.err" &
  local launcher=$! i
  for i in $(seq 1 600); do [ -s "$tmp/k.gmdl.run/checkpoints/last.ckpt" ] && break; sleep 0.1; done
  local rank1
  rank1=$(pgrep -f -- "train $tmp/ds -o $tmp/k.gmdl" | while read -r p; do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'RANK=1' && echo "$p"; done | head -1)
  start=$(date +%s.%N)
  kill "-$1" "$rank1"
  wait "$launcher"
  code=$?
  took=$(echo "$(date +%s.%N) - $start" | bc)
}
run_killed KILL
[ "$code" -eq 6 ] && ok || bad "killed worker: launch exit $code, expected 6 ($(cat "$tmp/k.err"))"
awk -v t="$took" 'BEGIN { exit !(t < 8) }' && ok || bad "killed worker: the job took $took s to end (timeout 8 s)"
has killed-line "$tmp/k.err" '^genre-train: rank 0 of 2: lost the group during .*: .*Connection (closed|reset) by peer'
has killed-launcher "$tmp/k.err" '^genre-train launch: rank 1 ended by signal 9 \(Killed\)$'
# The last checkpoint is whole: the run resumes from it and finishes.
done_epochs=$(grep -c '"event":"epoch"' "$tmp/k.out")
expect killed-resume 0 "" -- launch --nproc 2 -- train "$tmp/ds" -o "$tmp/k.gmdl" --batch 4 "${small[@]}" \
  --epochs $((done_epochs + 2)) --resume
ranks_agree killed-resume-weights "$tmp/out" 2
[ -s "$tmp/k.gmdl" ] && ok || bad "killed, resumed: no model"

run_killed STOP  # hung: its peer waits out the timeout (8 s), the launcher ends it after the grace
[ "$code" -eq 6 ] && ok || bad "hung worker: launch exit $code, expected 6 ($(cat "$tmp/k.err"))"
awk -v t="$took" 'BEGIN { exit !(t < 8 + 5 + 10 + 5) }' && ok || bad "hung worker: the job took $took s to end"
has hung-line "$tmp/k.err" '^genre-train: rank 0 of 2: lost the group during '

port=$((20000 + RANDOM % 20000))
start=$(date +%s.%N)
WORLD_SIZE=2 RANK=1 LOCAL_RANK=1 MASTER_PORT=$port expect alone 6 \
  "^genre-train: rank 1 of 2: cannot join the group at 127.0.0.1:$port within 2 s: " -- \
  train "$tmp/ds" -o "$tmp/a.gmdl" --epochs 1 "${small[@]}" --group-timeout 2
took=$(echo "$(date +%s.%N) - $start" | bc)
awk -v t="$took" 'BEGIN { exit !(t < 20) }' && ok || bad "a worker alone took $took s to give up (timeout 2 s)"

# --- signals reach the workers; the launcher exits 128 + N -------------------------------
"$bin" launch --nproc 2 -- train "$tmp/ds" -o "$tmp/i.gmdl" "${long[@]}" >"$tmp/i.out" 2>"$tmp/i.err" &
launcher=$!
for i in $(seq 1 600); do [ -s "$tmp/i.gmdl.run/checkpoints/last.ckpt" ] && break; sleep 0.1; done
kill -TERM "$launcher"
wait "$launcher"
code=$?
[ "$code" -eq 143 ] && ok || bad "SIGTERM to launch: exit $code, expected 143"
sleep 0.5
pgrep -f -- "train $tmp/ds -o $tmp/i.gmdl" >/dev/null && bad "SIGTERM to launch: workers still running" || ok

echo "genre-train distributed: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
