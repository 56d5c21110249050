#!/usr/bin/env bash
# The README's first command: sets up a fresh Debian 12 machine (scripts/install-deps.sh,
# idempotent), builds genre-guess (Release, in build/) and classifies the given files
# with the bundled model (models/default.gmdl); with no files, the bundled samples in
# data/. Options after the files go to genre-guess (default: --top 5). Set-up output
# goes to stderr, genre-guess's to stdout.
#   scripts/quickstart.sh data/jazz.00004.excerpt.flac
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh" --build-only >&2  # no browser: that is for the tests
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$root/build" -j"$(nproc)" --target genre-guess >&2
if [ $# -eq 0 ]; then
  cd "$root"
  set -- data/*.flac
fi
case " $* " in *" --top "* | *" -n "*) ;; *) set -- "$@" --top 5 ;; esac
exec "$root/build/genre-guess" "$@"
