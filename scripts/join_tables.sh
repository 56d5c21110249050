#!/usr/bin/env bash
# Joins an MSD-convnet feature table (Choi et al.'s gtzan_features.csv layout:
# filename,label,<280 values>) and a GTZAN feature table (features_30_sec.csv layout:
# filename,length,<57 values>,label) on `filename` into the joined layout genre-train
# reads as msd-convnet+gtzan input: filename,label,<the 280>,length,<the 57>.
# Rows in one table only, or labelled differently in the two, are left out and
# counted on stderr.
# Usage: scripts/join_tables.sh MSD_TABLE GTZAN_TABLE > joined.csv
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 MSD_TABLE GTZAN_TABLE > joined.csv" >&2; exit 2; }
for f in "$@"; do [ -r "$f" ] || { echo "$0: $f: cannot read" >&2; exit 2; }; done
awk -F, -v OFS=, '
  FNR == 1 { sub(/\r$/, "") }
  FNR > 1 { sub(/\r$/, "") }
  NR == FNR {
    if (FNR == 1) { if ($1 != "filename" || $NF != "label") { print FILENAME ": not a GTZAN feature table" > "/dev/stderr"; bad = 1; exit 2 }
                    gh = $2; for (i = 3; i < NF; i++) gh = gh OFS $i; next }
    v = $2; for (i = 3; i < NF; i++) v = v OFS $i
    g[$1] = v; gl[$1] = $NF; next
  }
  FNR == 1 { if ($1 != "filename" || $2 != "label") { print FILENAME ": not an MSD-convnet feature table" > "/dev/stderr"; bad = 1; exit 2 }
             print $0, gh; next }
  !($1 in g) { missing++; next }
  gl[$1] != $2 { differ++; next }
  { print $0, g[$1]; joined++ }
  END { if (bad) exit 2
        printf "joined %d rows; left out %d without a GTZAN row, %d labelled differently\n", joined, missing, differ > "/dev/stderr" }
' "$2" "$1"
