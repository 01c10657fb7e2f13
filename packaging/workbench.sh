#!/usr/bin/env bash
# Installs, builds and opens the workbench on the embedded demo (the README's
# first command). Without a display it runs under Xvfb and saves a screenshot.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash packaging/build.sh
config="$root/resources/configs/demo.yaml"
args=()
[ -f "$config" ] && args+=(--config "$config")
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec build/bin/droplora-workbench "${args[@]}" "$@"
fi
echo "workbench: no display; running under Xvfb and saving build/workbench.png after 20 steps"
exec xvfb-run -a -s "-screen 0 1600x1000x24" build/bin/droplora-workbench "${args[@]}" \
  --screenshot build/workbench.png --screenshot-after-steps 20 "$@"
