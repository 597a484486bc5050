#!/usr/bin/env bash
# Builds the libFuzzer targets of the core (native/test/fuzz, clang with -fsanitize=fuzzer,address,
# undefined) and runs each for a bounded time. CI runs it briefly; longer runs are the same script
# with more seconds:
#   scripts/fuzz.sh [seconds-per-target] [target...]      (default: 30 s, every target)
# Environment: FUZZ_BUILD (build dir, default build-fuzz), FUZZ_JOBS (parallel fuzzers, default 1),
# CXX (default clang++). The corpus of each target persists in $FUZZ_BUILD/corpus/<target> (so a
# later run starts where this one stopped) and crashing inputs land in $FUZZ_BUILD/crashes/<target>.
# Prints per target: inputs executed, seconds, corpus entries added (new coverage) and crashes;
# exits non-zero when any target crashed or failed a property. $FUZZ_BUILD/logs/history.tsv keeps
# one line per target run (time, target, inputs, seconds, new coverage, crashes).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}

cmake -S . -B "$build" -DDPFL_FUZZ=ON -DCMAKE_CXX_COMPILER="${CXX:-clang++}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# Every target listed in native/test/fuzz/CMakeLists.txt unless some are named.
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(sed -n 's/^dpfl_add_fuzz_target(\([a-z0-9_]*\) .*/\1/p' native/test/fuzz/CMakeLists.txt)
fi
cmake --build "$build" -j "${BUILD_JOBS:-2}" --target "${targets[@]}"

# One fuzzer per target; FUZZ_JOBS of them at once.
run_one() {
  local t=$1
  mkdir -p "$build/corpus/$t" "$build/crashes/$t" "$build/logs"
  local before
  before=$(find "$build/crashes/$t" -type f | wc -l)
  local start=$SECONDS rc=0
  "$build/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=30 \
    -artifact_prefix="$build/crashes/$t/" "$build/corpus/$t" >"$build/logs/$t.log" 2>&1 || rc=$?
  local after execs added
  after=$(find "$build/crashes/$t" -type f | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/logs/$t.log" | tail -n 1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$build/logs/$t.log" | tail -n 1)
  printf '%-20s %12s execs %6ss %8s new %4s crashes%s\n' "$t" "${execs:-?}" "$((SECONDS - start))" "${added:-?}" \
    "$((after - before))" "$([ "$rc" -ne 0 ] && echo "   FAILED (exit $rc, log $build/logs/$t.log)")" \
    >"$build/logs/$t.summary"
  # Every run appends to a history, so fuzz-hours and inputs tried add up across runs.
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "${execs:-0}" "$((SECONDS - start))" \
    "${added:-0}" "$((after - before))" >>"$build/logs/history.tsv"
  if [ "$rc" -ne 0 ]; then
    grep -m 3 -E 'property failed|ERROR:|runtime error' "$build/logs/$t.log" >>"$build/logs/$t.summary" || true
  fi
  return "$rc"
}

failed=0
pids=()
names=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    cat "$build/logs/${names[0]}.summary"
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed=1
  cat "$build/logs/${names[$i]}.summary"
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target crashed or failed a property; reproduce with $build/fuzz/<target> <crash file>" >&2
  exit 1
fi
