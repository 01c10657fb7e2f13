#!/usr/bin/env bash
# Installs the Debian 12 packages DropLoRA Workbench builds, tests, packages and runs with.
# Idempotent: when every package is already present it only checks (a second or two).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-openmp libgloo-dev  # libgloo-dev: the Gloo headers c10d includes (train/distributed.cpp)
  qt6-base-dev libqcustomplot-dev libgl-dev
  libyaml-cpp-dev libsentencepiece-dev sentencepiece nlohmann-json3-dev
  libpcre2-dev libicu-dev
  xvfb xauth
  clang libclang-rt-14-dev  # the libFuzzer targets (packaging/fuzz.sh)
  debhelper dpkg-dev lintian desktop-file-utils appstream
)
# --reference: the Python tools that regenerate the golden test fixtures
# (tests/reference/); CI does not need them, the goldens are committed.
if [ "${1:-}" = "--reference" ]; then
  packages+=(python3-torch python3-sentencepiece python3-numpy)
fi

# Node.js and npm run the test references (packaging/test-refs-*.sh). A machine
# whose Node.js comes from elsewhere (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package) keeps it; Debian's are installed only
# when no node/npm is on PATH.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
