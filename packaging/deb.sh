#!/usr/bin/env bash
# Builds droplora-workbench_<version>_<arch>.deb with debhelper (packaging/debian/).
#
#   packaging/deb.sh [BUILD_DIR]
#
# BUILD_DIR (default build/) is reused when it is already configured (the test
# command's build: nothing is compiled twice); otherwise it is configured for
# /usr and built. The package's version is the CMake project(VERSION). The .deb
# lands in the repository root (or $DEB_OUT_DIR); lintian then checks it and
# any error fails the script. The last line printed is the .deb's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(realpath -m "${1:-build}")
out=$(realpath -m "${DEB_OUT_DIR:-$root}")

for tool in dpkg-buildpackage dh; do
  command -v "$tool" >/dev/null || bash packaging/install-deps.sh
done
if [ ! -f "$build/CMakeCache.txt" ]; then
  bash packaging/install-deps.sh
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DDROPLORA_BUILD_TESTS=OFF
fi
# Up to date already when the test command built it; only what the package holds.
# DEB_NO_BUILD=1 packages BUILD_DIR exactly as it is.
if [ "${DEB_NO_BUILD:-0}" != 1 ]; then
  targets=(droplora droplora_spm)
  grep -q '^DROPLORA_BUILD_GUI:BOOL=ON' "$build/CMakeCache.txt" && targets+=(droplora-workbench)
  cmake --build "$build" --target "${targets[@]}" -j"$(nproc 2>/dev/null || echo 2)"
fi

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || { echo "deb.sh: $build/CMakeCache.txt: no CMAKE_PROJECT_VERSION" >&2; exit 1; }
arch=$(dpkg --print-architecture)

# dpkg-buildpackage works in a folder that holds debian/; the sources stay where they are.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
src="$stage/droplora-workbench-$version"
mkdir -p "$src"
cp -r packaging/debian "$src/debian"
cat > "$src/debian/changelog" <<CHANGELOG
droplora-workbench ($version) unstable; urgency=medium

  * Built by packaging/deb.sh (CMake project version $version).

 -- DropLoRA Workbench developers <maintainers@droplora-workbench.invalid>  $(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
CHANGELOG

(cd "$src" && DROPLORA_BUILD_DIR="$build" dpkg-buildpackage -b -us -uc --no-pre-clean)
deb="$stage/droplora-workbench_${version}_${arch}.deb"
[ -f "$deb" ] || { echo "deb.sh: dpkg-buildpackage made no $deb" >&2; exit 1; }
mkdir -p "$out"
mv "$deb" "$out/"
deb="$out/$(basename "$deb")"

if command -v lintian >/dev/null; then
  echo "deb.sh: lintian $(basename "$deb")"
  lintian --fail-on error --display-level ">=info" "$deb"
fi
echo "$deb"
