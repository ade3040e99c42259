#!/bin/bash
# Timed libFuzzer runs: builds the fuzz targets with clang (-fsanitize=fuzzer,address,undefined)
# in their own build directory and runs each for SECONDS (default 30) on a scratch copy of its
# corpus (the committed corpus is not touched), seeded also from its fixtures directory
# (tests/fixtures/<dir>, read only: libFuzzer writes new inputs to the first directory alone). Fails on the first crash, leak or timeout; the
# reproducer is left in $BUILD/artifacts/<target>/ (replay it: $BUILD/tests/fuzz/fuzz_<target> FILE).
#
#   tests/fuzz/run.sh [SECONDS]        env: HOSTFLOW_FUZZ_BUILD (default build-fuzz), JOBS (2: the
#                                      build's jobs and the targets fuzzed at once)
set -euo pipefail

secs=${1:-30}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${HOSTFLOW_FUZZ_BUILD:-$root/build-fuzz}
# Every target has a corpus directory: the list is the directory listing.
targets=()
for d in "$root"/tests/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
# FUZZ_TARGETS="a b" runs only those.
if [[ -n "${FUZZ_TARGETS:-}" ]]; then read -r -a targets <<<"$FUZZ_TARGETS"; fi

# -O1 -gline-tables-only: libFuzzer's and OSS-Fuzz's flags (a crash still names file:line); about
# a fifth less build time than -O2 -g.
fuzz_flags="-O1 -gline-tables-only -DNDEBUG"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DHOSTFLOW_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$fuzz_flags" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="$fuzz_flags" >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target "${targets[@]/#/fuzz_}"

# Each target's seed directories (tests/fuzz/CMakeLists.txt): corpus/<target>, then its fixtures.
declare -A fixtures
while read -r t _ rest; do fixtures[$t]=$rest; done <"$build/tests/fuzz/seed_dirs.txt"

# One target's timed run; its summary is printed once it ends (two run at once: JOBS).
fuzz_one() {
  local t=$1 work
  work=$(mktemp -d "${TMPDIR:-/tmp}/hostflow-fuzz-$t.XXXXXX")
  cp -r "$root/tests/fuzz/corpus/$t/." "$work/"
  read -r -a extra <<<"${fixtures[$t]:-}"
  mkdir -p "$build/artifacts/$t"
  local rc=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" "$work" ${extra[@]+"${extra[@]}"} \
    >"$build/artifacts/$t/log" 2>&1 || rc=$?
  # One write per target, so two targets' lines do not interleave.
  printf '%s\n%s\n' "== fuzz_$t for ${secs}s (corpus: $(ls "$work" | wc -l) seeds; fixtures: ${extra[*]:-none})" \
    "$(grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$build/artifacts/$t/log" || true)"
  if [ "$rc" -ne 0 ]; then
    echo "!! fuzz_$t failed; see $build/artifacts/$t/log" >&2
    grep -E "ERROR|SUMMARY|Test unit written" "$build/artifacts/$t/log" >&2 || true
  fi
  rm -rf "$work"
  echo "$rc" >"$build/artifacts/$t/rc"
}
for t in "${targets[@]}"; do rm -f "$build/artifacts/$t/rc"; done
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "${JOBS:-2}" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
# Each run's result from its own file (a job's status can be reaped before anyone asks for it).
status=0
for t in "${targets[@]}"; do
  [ "$(cat "$build/artifacts/$t/rc" 2>/dev/null)" = 0 ] || status=1
done
exit $status
