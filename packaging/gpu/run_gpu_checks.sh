#!/usr/bin/env bash
# One prepared script for a lent GPU machine (PyTorch 2.x wheel with LibTorch
# inside, CUDA, no Qt): builds the engine and CLI against the wheel's LibTorch,
# compares with transformers, and prints the bench figures. Debian .deb files of
# yaml-cpp / sentencepiece / nlohmann-json travel in .debs/ (see docs/architecture.md, "Hazards"):
#   apt-get download libyaml-cpp-dev libyaml-cpp0.7 libsentencepiece-dev libsentencepiece0 nlohmann-json3-dev
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p /tmp/debroot
for f in .debs/*.deb; do dpkg -x "$f" /tmp/debroot; done
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
export PKG_CONFIG_PATH=/tmp/debroot/usr/lib/x86_64-linux-gnu/pkgconfig
export LD_LIBRARY_PATH=/tmp/debroot/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
cmake -S . -B build-gpu -G Ninja -DDROPLORA_BUILD_GUI=OFF -DDROPLORA_BUILD_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$prefix;/tmp/debroot/usr" -DCMAKE_BUILD_TYPE=Release
cmake --build build-gpu -j16
python3 packaging/gpu/check_against_transformers.py
build-gpu/bin/droplora bench --preset 1b --seq 1024 --batch 8 --steps 10 --device cuda
# Data-parallel on the one GPU: two processes sharing cuda:0 through Gloo (NCCL is not built in;
# docs/distributed.md), against one process alone.
build-gpu/bin/droplora bench --preset tiny --seq 256 --batch 8 --steps 10 --device cuda:0 --only lora --nproc-per-node 2
