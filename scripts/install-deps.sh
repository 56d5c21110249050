#!/usr/bin/env bash
# Installs every Debian 12 package that genre's build, tests and benchmarks need, and the
# browser test's one npm package (tests/browser: playwright-core, from its committed
# lockfile; it drives Debian's chromium). Idempotent: what is present is left alone and
# nothing is fetched then. `--build-only` leaves out what only the browser test needs
# (chromium, Node.js, playwright-core): scripts/quickstart.sh uses it.
# Run as root (or with sudo available) on a fresh Debian 12 machine.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libsndfile1-dev libsoxr-dev libfftw3-dev
  libhdf5-dev hdf5-tools
  libtorch-dev libdnnl-dev libgloo-dev
  libcli11-dev nlohmann-json3-dev catch2
  libcpp-httplib-dev
  libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  sox
  gnuplot-nox zlib1g-dev
)

build_only=0
[ "${1:-}" = --build-only ] && build_only=1
if [ "$build_only" = 0 ]; then
  packages+=(chromium)
  # Node.js for the browser test: Debian's, unless a node is already installed.
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

browser_deps() {
  [ "$build_only" = 1 ] && return 0
  local dir
  dir="$(dirname "$0")/../tests/browser"
  if [ -d "$dir/node_modules/playwright-core" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  echo "install-deps: npm ci in tests/browser (playwright-core)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  browser_deps
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
browser_deps
