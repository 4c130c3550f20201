#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ (clang from Debian, ASan + UBSan), building them in
# build/fuzz when needed.
#   scripts/fuzz.sh TARGET MINUTES   run one target (e.g. frame, dialogue) for MINUTES minutes
#   scripts/fuzz.sh --smoke [SECS]   run every target SECS seconds (default 20) from its seeds
#   scripts/fuzz.sh --list           the targets
# FUZZ_JOBS (default 2) is the build's -j.
# New inputs go to build/fuzz/corpus/TARGET (the seeds in tests/fuzz/corpus/TARGET stay as they
# are); a crash is written to build/fuzz/crashes/TARGET/ and makes the script exit 1.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
build=${LXCPROV_FUZZ_BUILD:-build/fuzz}  # another tree, e.g. to time a clean build
targets=(frame messages dialogue validators config catalog merge git_remote ssh_key wazuh renderers)

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

build_targets() {
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DLXCPROV_FUZZ=ON >/dev/null
  fi
  cmake --build "$build" -j"${FUZZ_JOBS:-2}" --target "${@/#/fuzz_}" >/dev/null
}

# Runs target $1 for $2 seconds; prints one summary line; returns 1 on a crash.
run_target() {
  local t=$1 secs=$2 log rc=0 started=$SECONDS
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  log=$build/logs/$t.log
  mkdir -p "$build/logs"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/crashes/$t/" "$build/corpus/$t" "tests/fuzz/corpus/$t" \
    >"$log" 2>&1 || rc=$?
  local last execs speed
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  printf '%-11s %5ss  execs %-10s exec/s %-7s %s\n' "$t" "$((SECONDS - started))" "${execs:-?}" "${speed:-?}" \
    "$(grep -oE 'cov: [0-9]+ ft: [0-9]+' <<<"$last" || echo 'cov: ?')"
  if [ "$rc" != 0 ]; then
    echo "  CRASH (exit $rc): $(ls "$build/crashes/$t" | tr '\n' ' ')  log: $log" >&2
    grep -m3 -E 'ERROR: |runtime error|SUMMARY' "$log" | sed 's/^/  /' >&2 || true
    return 1
  fi
}

case "${1:-}" in
  --list) printf '%s\n' "${targets[@]}" ;;
  --smoke)
    secs=${2:-20}
    build_targets "${targets[@]}"
    failed=0
    for t in "${targets[@]}"; do run_target "$t" "$secs" || failed=1; done
    exit $failed
    ;;
  "" | -*) usage ;;
  *)
    t=$1 minutes=${2:-}
    [[ " ${targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target $t (see --list)" >&2; exit 2; }
    [[ "$minutes" =~ ^[0-9]+$ ]] || usage
    build_targets "$t"
    run_target "$t" $((minutes * 60))
    ;;
esac
