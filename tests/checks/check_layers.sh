#!/usr/bin/env bash
# The layer rule of docs/architecture.md, checked on every include line:
#   - a backend/ folder includes only its own folder and the folders below it;
#   - nothing in ui/ includes a LibTorch header (<torch/...>, <ATen/...>, <c10/...>),
#     and ui/ headers include only the torch-free backend headers listed below.
# Prints each violation as file:line and exits 1 when there is any.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
layers=(common io config data model adapters analysis train export)
rank_of() {
    local i
    for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done
    echo -1
}
# Backend headers a ui/ header may include: they pull in no LibTorch header.
ui_header_allowed="config/run_config.h data/dataset.h export/export.h train/metrics_log.h train/observer.h train/run_folder.h analysis/stats_sample.h common/error.h"
status=0
for dir in "$root"/backend/*/; do
    folder=$(basename "$dir")
    own=$(rank_of "$folder")
    if [ "$own" -lt 0 ]; then
        echo "backend/$folder: not in the layer list of tests/checks/check_layers.sh (and docs/architecture.md)"
        status=1
        continue
    fi
    while IFS= read -r hit; do
        [ -n "$hit" ] || continue
        file=${hit%%:*}; rest=${hit#*:}; line=${rest%%:*}
        inc=$(sed -E 's/.*#include "([^"/]+)\/.*/\1/' <<<"$rest")
        r=$(rank_of "$inc")
        [ "$r" -lt 0 ] && continue  # not a backend folder (e.g. a generated header)
        if [ "$r" -gt "$own" ]; then
            echo "${file#"$root"/}:$line: $folder/ includes $inc/, a layer above it"
            status=1
        fi
    done < <(grep -Hn '^#include "[a-z_]*/' "$dir"*.h "$dir"*.cpp 2>/dev/null || true)
done
while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    echo "${hit#"$root"/}: ui/ includes a LibTorch header"
    status=1
done < <(grep -Hn '^#include <\(torch\|ATen\|c10\)/' "$root"/ui/*.h "$root"/ui/*.cpp 2>/dev/null || true)
while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"${hit#*:*:}")
    case "$inc" in */*) ;; *) continue ;; esac
    if ! grep -qw -- "$inc" <<<"$ui_header_allowed"; then
        echo "${hit#"$root"/}: a ui/ header includes $inc, which is not one of the torch-free backend headers"
        status=1
    fi
done < <(grep -Hn '^#include "' "$root"/ui/*.h 2>/dev/null || true)
[ "$status" -eq 0 ] && echo "layers: every include follows the layer order"
exit "$status"
