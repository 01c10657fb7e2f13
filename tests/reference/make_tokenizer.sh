#!/usr/bin/env bash
# Trains the tests' sentencepiece tokenizer (LLaMA's recipe: BPE with byte
# fallback, unk=0 bos=1 eos=2, no pad) on license texts that every Debian
# machine ships. Output: tests/data/tokenizer/tokenizer.model (+ .vocab).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../data/tokenizer"
mkdir -p "$out"
corpus=$(mktemp)
cat /usr/share/common-licenses/GPL-3 /usr/share/common-licenses/Apache-2.0 /usr/share/common-licenses/MPL-2.0 > "$corpus"
spm_train --input="$corpus" --model_prefix="$out/tokenizer" --vocab_size=1000 --model_type=bpe \
  --byte_fallback=true --character_coverage=1.0 --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --split_digits=true --allow_whitespace_only_pieces=true --remove_extra_whitespaces=false \
  --normalization_rule_name=identity --num_threads=2 --minloglevel=2
rm -f "$corpus"
