#!/usr/bin/env bash
# The demo's story in figures (resources/demo/RESULTS.md): exact match of the
# base model on each held-out test file, then DropLoRA (resources/configs/demo.yaml)
# and its LoRA twin (demo-lora.yaml) trained and evaluated on the demo task.
#
# usage: resources/demo/evaluate_demo.sh          (from anywhere; runs go to runs/demo, runs/demo-lora)
# environment: DROPLORA (default build/bin/droplora)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
droplora=${DROPLORA:-$root/build/bin/droplora}
base="$root/resources/models/demo-base"
data="$root/resources/datasets"

evaluate() {  # evaluate LABEL TEST_FILE [ADAPTER] [TEMPLATE]
    local label=$1 file=$2 adapter=${3:-} template=${4:-alpaca}
    local args=(eval --model "$base" --data "$file" --template "$template" --max-new-tokens 32)
    [ -n "$adapter" ] && args+=(--adapter "$adapter")
    printf '%-34s %s\n' "$label" "$("$droplora" "${args[@]}")"
}

echo "== the base model on the held-out test files"
for task in reverse-words sort-numbers extract-year; do
    evaluate "base  $task" "$data/$task-test.jsonl"
done
evaluate "base  last-word-chat" "$data/last-word-chat-test.jsonl"

for run in demo demo-lora; do
    echo "== droplora train --config resources/configs/$run.yaml"
    rm -rf "$root/runs/$run"
    start=$(date +%s)
    "$droplora" train --config "$root/resources/configs/$run.yaml" --quiet > "$root/runs/$run.log" 2>&1
    echo "trained in $(( $(date +%s) - start )) s (log: runs/$run.log)"
    evaluate "$run  reverse-words" "$data/reverse-words-test.jsonl" "$root/runs/$run/adapter"
done
