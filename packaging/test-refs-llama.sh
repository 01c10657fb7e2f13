#!/usr/bin/env bash
# Installs llama.cpp for the GGUF tests (tests/test_gguf.cpp): the npm package
# node-llama-cpp, pinned, whose Linux x64 CPU build arrives as a prebuilt binary.
# Target: ${XDG_CACHE_HOME:-$HOME/.cache}/droplora-test-npm/llama (the tests look
# there, or at $DROPLORA_LLAMA_NPM). Idempotent: a complete install is kept.
set -euo pipefail
version=3.21.1
dir=${DROPLORA_LLAMA_NPM:-${XDG_CACHE_HOME:-$HOME/.cache}/droplora-test-npm/llama}
stamp="$dir/.droplora-node-llama-cpp-$version"
if [[ -f "$stamp" && -d "$dir/node_modules/node-llama-cpp" ]]; then
  echo "node-llama-cpp $version already in $dir"
  exit 0
fi
command -v npm >/dev/null || { echo "test-refs-llama.sh: npm not found (packaging/install-deps.sh installs nodejs/npm)" >&2; exit 1; }
mkdir -p "$dir"
[[ -f "$dir/package.json" ]] || echo '{"name": "droplora-test-llama", "private": true}' > "$dir/package.json"
# Only this machine's prebuilt CPU binary (the optional CUDA/Vulkan/ARM builds are ~650 MB),
# and no postinstall download or build: nothing is compiled here.
case "$(uname -m)" in
  x86_64) platform=linux-x64 ;;
  aarch64) platform=linux-arm64 ;;
  *) echo "test-refs-llama.sh: no prebuilt node-llama-cpp for $(uname -m)" >&2; exit 1 ;;
esac
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --prefix "$dir" --no-audit --no-fund --omit=optional -E \
  "node-llama-cpp@$version" "@node-llama-cpp/$platform@$version"
touch "$stamp"
echo "node-llama-cpp $version installed in $dir"
