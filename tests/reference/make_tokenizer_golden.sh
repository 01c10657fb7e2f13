#!/usr/bin/env bash
# Golden token ids for test_tokenizer: sentencepiece's own command-line encoder
# (Debian package `sentencepiece`), one output line per line of samples.txt
# (an empty line gives an empty line). Output: tests/data/tokenizer/samples.ids.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/../data/tokenizer"
spm_encode --model="$dir/tokenizer.model" --output_format=id < "$dir/samples.txt" > "$dir/samples.ids"
echo "wrote $dir/samples.ids ($(wc -l < "$dir/samples.ids") lines)"
