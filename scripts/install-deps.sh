#!/usr/bin/env bash
# Installs every Debian 12 package that genre's build, tests and benchmarks need.
# Idempotent: packages already present are left alone and nothing is fetched then.
# Run as root (or with sudo available) on a fresh Debian 12 machine.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libsndfile1-dev libsoxr-dev libfftw3-dev
  libhdf5-dev hdf5-tools
  libtorch-dev libdnnl-dev
  libcli11-dev nlohmann-json3-dev catch2
  libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  sox
  gnuplot-nox zlib1g-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  sudo="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
