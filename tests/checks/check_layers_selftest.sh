#!/usr/bin/env bash
# check_layers.sh must catch what it is for: a tree with one violation of each
# kind fails, with each violation named; the same tree without them passes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t"/backend/{common,io,model,train} "$t"/ui
echo '#include "common/error.h"' >"$t"/backend/io/ok.cpp
echo '#include "io/safetensors.h"' >"$t"/backend/model/ok.cpp
echo '#include "config/run_config.h"' >"$t"/ui/ok.h
bash "$here"/check_layers.sh "$t" >/dev/null || { echo "FAIL: a clean tree was rejected"; exit 1; }
echo '#include "train/trainer.h"' >"$t"/backend/io/up.cpp
echo '#include <ATen/ATen.h>' >"$t"/ui/torch.cpp
echo '#include "model/llama.h"' >"$t"/ui/heavy.h
if out=$(bash "$here"/check_layers.sh "$t"); then echo "FAIL: violations were not detected"; exit 1; fi
for want in "backend/io/up.cpp:1: io/ includes train/" "ui/torch.cpp:1" "ui/heavy.h:1"; do
    grep -qF "$want" <<<"$out" || { echo "FAIL: '$want' not reported in: $out"; exit 1; }
done
echo "check_layers self-test: 3 violations found, clean tree passed"
