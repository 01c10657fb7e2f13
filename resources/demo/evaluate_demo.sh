#!/usr/bin/env bash
# The demo's story in figures (resources/demo/RESULTS.md): exact match of the
# base model on each held-out test file, then DropLoRA (resources/configs/demo.yaml)
# and its LoRA twin (demo-lora.yaml) trained on the demo task with each seed and
# evaluated. With --all-tasks, every other sample dataset is also trained with
# demo.yaml's settings (its data paths overridden) and evaluated.
#
# usage: resources/demo/evaluate_demo.sh [--seeds "42 43 44"] [--all-tasks] [--precision auto|fp32|bf16]
# (--precision sets the runs' `precision` and eval's; default: the configs' auto).
# environment: DROPLORA (default build/bin/droplora). Runs go to runs/ at the top
# of the repository (runs/demo-s42, runs/demo-lora-s42, …, runs/demo-<task>),
# each with its console log beside it (runs/<name>.log).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
droplora=${DROPLORA:-$root/build/bin/droplora}
base="$root/resources/models/demo-base"
data="$root/resources/datasets"
configs="$root/resources/configs"
seeds="42"
all_tasks=0
precision=auto
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds=$2; shift 2 ;;
        --all-tasks) all_tasks=1; shift ;;
        --precision) precision=$2; shift 2 ;;
        *) echo "evaluate_demo.sh: unknown argument '$1' (usage: [--seeds \"42 43\"] [--all-tasks] [--precision P])" >&2; exit 2 ;;
    esac
done
mkdir -p "$root/runs"

evaluate() {  # evaluate LABEL TEST_FILE [ADAPTER]
    local args=(eval --model "$base" --data "$2" --max-new-tokens 32 --precision "$precision")
    [ -n "${3:-}" ] && args+=(--adapter "$3")
    printf '%-40s %s\n' "$1" "$("$droplora" "${args[@]}")"
}

train() {  # train RUN_NAME CONFIG [--set ...]: trains into runs/RUN_NAME, prints the wall time
    local name=$1 config=$2
    shift 2
    rm -rf "${root:?}/runs/$name"
    local start
    start=$(date +%s)
    "$droplora" train --config "$config" --set output="$root/runs/$name" --set precision="$precision" "$@" --quiet \
        > "$root/runs/$name.log" 2>&1
    echo "trained runs/$name in $(( $(date +%s) - start )) s"
}

echo "== the base model on the held-out test files"
for test in "$data"/*-test.jsonl; do
    evaluate "base  $(basename "$test" -test.jsonl)" "$test"
done

echo "== the demo task (extract-year): DropLoRA and LoRA, seeds $seeds"
for seed in $seeds; do
    for run in demo demo-lora; do
        train "$run-s$seed" "$configs/$run.yaml" --set train.seed="$seed"
        evaluate "$run seed $seed  extract-year" "$data/extract-year-test.jsonl" "$root/runs/$run-s$seed/adapter"
    done
done

[ "$all_tasks" = 1 ] || exit 0
echo "== the other tasks with demo.yaml's settings (DropLoRA)"
for task in last-word reverse-words sort-numbers last-word-chat; do
    train "demo-$task" "$configs/demo.yaml" --set data.train="$data/$task-train.jsonl" \
        --set data.val="$data/$task-test.jsonl"
    evaluate "demo  $task" "$data/$task-test.jsonl" "$root/runs/demo-$task/adapter"
done
