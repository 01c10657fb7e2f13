#!/usr/bin/env bash
# Rebuilds the embedded demo from text, deterministically, on a Debian 12 machine:
#
#   resources/datasets/        the sample instruction datasets (make_data.py datasets)
#   resources/models/demo-base the demo base model, pretrained by our own engine:
#     1. a corpus: /usr/share/common-licenses (base-files, on every Debian
#        system) + generated alpaca examples of tasks that are NOT the demo tasks
#     2. a sentencepiece BPE tokenizer trained on it (spm_train, package `sentencepiece`)
#     3. a randomly initialised LLaMA (make_data.py init-model)
#     4. full-parameter training with `droplora train` (resources/demo/pretrain.yaml)
#     5. `droplora export --format merged` into resources/models/demo-base
#   resources/demo/pretrain.log the training's console output
#
# usage: resources/demo/make_demo.sh [--datasets-only]
# environment: DROPLORA (default build/bin/droplora), DEMO_WORK (scratch folder,
# default /tmp/droplora-demo; the corpus and the run's checkpoints go there).
# Pretraining runs on one thread (OMP_NUM_THREADS=1, which OpenBLAS honours
# too): the order of the sums inside matrix products depends on the thread
# count, and one thread makes the model reproducible bit for bit on any
# x86-64 machine with Debian's LibTorch and OpenBLAS. About 10 minutes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
droplora=${DROPLORA:-$root/build/bin/droplora}
work=${DEMO_WORK:-/tmp/droplora-demo}
py=/usr/bin/python3

"$py" "$here/make_data.py" datasets --out-dir "$root/resources/datasets"
[ "${1:-}" = "--datasets-only" ] && exit 0

[ -x "$droplora" ] || { echo "make_demo.sh: $droplora not found (build the project, or set DROPLORA)" >&2; exit 1; }
if ! command -v spm_train >/dev/null; then
    echo "make_demo.sh: spm_train not found (apt-get install sentencepiece)" >&2
    exit 1
fi
# Debian's reference BLAS (libblas3 alone) makes LibTorch's matrix products
# about 10x slower than OpenBLAS; the run still works, only slowly.
if ldd "$droplora" | grep -q "libblas.so.3 => .*/blas/libblas.so.3"; then
    echo "make_demo.sh: warning: LibTorch uses Debian's reference BLAS;" \
        "apt-get install libopenblas0-openmp makes training ~10x faster" >&2
fi

rm -rf "$work"
mkdir -p "$work"
"$py" "$here/make_data.py" corpus --out-dir "$work" --examples 10000 --drills 12000 --seed 1
# LLaMA's recipe: BPE with byte fallback, unk 0, bos 1, eos 2, no pad, digits split,
# no normalisation (newlines reach the model as the byte piece <0x0A>).
# Relative paths: the trainer spec stored in tokenizer.model records them.
(cd "$work" && spm_train --input=spm_input.txt --model_prefix=tokenizer --vocab_size=3000 --model_type=bpe \
    --byte_fallback=true --character_coverage=1.0 --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
    --split_digits=true --allow_whitespace_only_pieces=true --remove_extra_whitespaces=false \
    --normalization_rule_name=identity --num_threads=1 --minloglevel=2)
"$py" "$here/make_data.py" init-model --out-dir "$work/init" --tokenizer "$work/tokenizer.model" --seed 1

cp "$here/pretrain.yaml" "$work/pretrain.yaml"
OMP_NUM_THREADS=1 "$droplora" train --config "$work/pretrain.yaml" 2>&1 | tee "$work/pretrain.log"
sed "s#$work/##g" "$work/pretrain.log" > "$here/pretrain.log"

out="$root/resources/models/demo-base"
rm -rf "$out"
"$droplora" export --run "$work/run" --format merged --out "$out"
echo "make_demo.sh: demo base model in $out"
