#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) into
# build-fuzz/ and runs each one. CONTRIBUTING.md, "Fuzzing", explains the targets.
#
# Usage: packaging/fuzz.sh [--smoke | --time SECONDS | --build-only] [target ...]
#   --smoke          each target for FUZZ_SMOKE_RUNS (default 20000) inputs from the fixed
#                    seed 1: a fixed amount of work, and nearly the same inputs on every
#                    machine (libFuzzer's coverage feedback is not bit-exact); CI runs this from
#                    packaging/test.sh
#   --time SECONDS   each target for SECONDS from a random seed (the longer run before a release)
#   --build-only     build, run nothing
# Targets default to all of tests/fuzz/CMakeLists.txt's FUZZ_TARGETS.
# The corpus grows in build-fuzz/corpus/<target> (seeded from tests/fuzz/corpus/<target>);
# an input that crashes is saved as build-fuzz/findings/<target>/crash-* and the script
# exits non-zero. Without clang: an error when CI=true, else a skip with a message.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=""
run=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) shift ;;
    --time) seconds=${2:?--time needs seconds}; shift 2 ;;
    --build-only) run=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

cxx=""
for c in clang++ clang++-14; do
  if command -v "$c" >/dev/null 2>&1; then cxx=$(command -v "$c"); break; fi
done
if [ -z "$cxx" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "fuzz: clang++ not found (packaging/install-deps.sh installs clang and libclang-rt-14-dev)" >&2
    exit 1
  fi
  echo "fuzz: SKIP: clang++ not found; install clang and libclang-rt-14-dev to fuzz"
  exit 0
fi

build="$root/build-fuzz"
CXX="$cxx" cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < "$build/FUZZ_TARGETS.txt"
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" -- "${targets[@]}"
[ "$run" -eq 1 ] || exit 0

scratch=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch=/dev/shm  # fuzz_data_row writes a scratch file per input
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  mkdir -p "$corpus" "$findings"
  log="$build/$t.log"
  if [ -n "$seconds" ]; then
    budget=(-max_total_time="$seconds")
    echo "fuzz: $t for ${seconds}s"
  else
    budget=(-seed=1 -runs="${FUZZ_SMOKE_RUNS:-20000}")
    echo "fuzz: $t, ${FUZZ_SMOKE_RUNS:-20000} inputs from seed 1"
  fi
  start=$(date +%s)
  if ! TMPDIR="$scratch" ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}" \
      "$build/$t" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$findings/" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz: $t FAILED; the log is $log and the input is in $findings/:" >&2
    grep -E "^(fuzz finding|==[0-9]+==ERROR|SUMMARY)|runtime error" "$log" | head -5 >&2 || true
    # The input itself, in hex, so that a finding on a machine whose files are gone (CI) can be replayed.
    for f in "$findings"/*; do
      [ -f "$f" ] || continue
      echo "fuzz: $(basename "$f"), $(stat -c %s "$f") bytes, the first 1024 in hex:" >&2
      od -An -tx1 -v -N 1024 "$f" | tr -d '\n' | tr -s ' ' >&2
      echo >&2
    done
    status=1
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(find "$corpus" -type f | wc -l)
  echo "fuzz: $t ok: ${runs:-?} executions in $(( $(date +%s) - start ))s, ${rate:-?}/s, corpus $units inputs"
done
exit $status
