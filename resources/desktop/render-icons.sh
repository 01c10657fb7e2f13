#!/usr/bin/env bash
# Renders the icon's PNG sizes from the SVG (needs rsvg-convert, Debian's librsvg2-bin).
# The PNGs are committed; run this after editing the SVG.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
svg="$here/icons/io.github.droplora.Workbench.svg"
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$here/icons/$size"
  rsvg-convert -w "$size" -h "$size" -o "$here/icons/$size/io.github.droplora.Workbench.png" "$svg"
done
