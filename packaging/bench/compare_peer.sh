#!/usr/bin/env bash
# `droplora bench` against its PyTorch-eager peer (peer_eager.py), side by side and
# interleaved: each round runs every contender once, in the same order, so a slow
# spell of the machine lands on all of them; the table gives the median round and
# the spread. Contenders: the peer in fp32, droplora in fp32 and in bf16, and
# (--baseline BIN) another droplora build in fp32, e.g. an older commit's.
#
#   bash packaging/bench/compare_peer.sh --shape demo  --rounds 3
#   bash packaging/bench/compare_peer.sh --shape small --rounds 3 --baseline /path/to/old/droplora
#
# Shapes: demo = resources/models/demo-base, seq 128, batch 8, rank 8;
#         small = bench preset small (134M, random weights), seq 256, batch 4, rank 16.
# Needs python3-torch (Debian); installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

shape=demo rounds=3 steps=5 baseline="" droplora=build/bin/droplora
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shape) shape=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --droplora) droplora=$2; shift 2 ;;
    *) echo "compare_peer.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3
"$python" -c "import torch" 2>/dev/null || { echo "compare_peer.sh: needs python3-torch (apt-get install python3-torch)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$shape" in
  demo)
    ours=(--model resources/models/demo-base --seq 128 --batch 8 --rank 8)
    peer=(--model resources/models/demo-base --seq 128 --batch 8 --rank 8 --alpha 16) ;;
  small)
    "$droplora" bench --preset small --print-config > "$tmp/small.json"
    ours=(--preset small --seq 256 --batch 4 --rank 16)
    peer=(--config-json "$tmp/small.json" --seq 256 --batch 4 --rank 16 --alpha 32) ;;
  *) echo "compare_peer.sh: --shape is demo or small" >&2; exit 2 ;;
esac
# One timed round per call, after 2 warm-up steps (droplora bench also runs one untimed round first).
common=(--steps "$steps" --warmup 2 --rounds 1)
results="$tmp/results.jsonl"
for ((r = 1; r <= rounds; ++r)); do
  echo "round $r of $rounds" >&2
  "$python" packaging/bench/peer_eager.py "${peer[@]}" "${common[@]}" --dtype fp32 |
    sed 's/^{/{"who": "pytorch-eager fp32", /' >> "$results"
  for precision in fp32 bf16; do
    "$droplora" bench "${ours[@]}" "${common[@]}" --only lora --stats-every 0 --precision "$precision" --json |
      awk '/^{/ && !seen { print; seen = 1 }' | sed "s/^{/{\"who\": \"droplora $precision\", /" >> "$results"
  done
  if [[ -n "$baseline" ]]; then
    "$baseline" bench "${ours[@]}" "${common[@]}" --only lora --precision fp32 --json |
      awk '/^{/ && !seen { print; seen = 1 }' | sed 's/^{/{"who": "baseline fp32", /' >> "$results"
  fi
done
"$python" - "$results" "$shape" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
order = []
for r in rows:
    if r["who"] not in order:
        order.append(r["who"])
peer = statistics.median(r["tokens_per_sec"] for r in rows if r["who"] == "pytorch-eager fp32")
print(f"shape {sys.argv[2]}: median of {len(rows) // len(order)} interleaved rounds")
print(f"{'who':22} {'tokens/s':>10} {'GFLOP/s':>9} {'spread':>8} {'memory MiB':>11} {'vs peer':>8}")
for who in order:
    mine = [r for r in rows if r["who"] == who]
    tps = [r["tokens_per_sec"] for r in mine]
    med = statistics.median(tps)
    gf = statistics.median(r["gflops_per_sec"] for r in mine)
    mem = max(r.get("peak_memory_mb", r["memory_mb"]) for r in mine)
    spread = 100 * (max(tps) - min(tps)) / med
    print(f"{who:22} {med:10.0f} {gf:9.1f} {spread:7.1f}% {mem:11.0f} {med / peer:7.2f}x")
EOF
