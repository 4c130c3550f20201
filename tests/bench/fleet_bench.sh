#!/usr/bin/env bash
# Fleet figures (issue 13): the create a user waits for through the fleet's entry against the
# single-host daemon of the same run, and creates per second through the entry with one, two and
# three nodes. Runs the integration binary's fleet suite with its benchmark on: three nodes (own
# lxcprovd, bridge, subnet, lxcpath, sshd) on one PostgreSQL, all on this machine, so the nodes
# share its CPUs. Needs root and a built tree (scripts/test.sh builds build/test).
#
#   tests/bench/fleet_bench.sh [BUILD_DIR]      LXCPROV_FLEET_BENCH_ROUNDS=N (default 9)
set -euo pipefail
build=${1:-build/test}
export LXCPROV_FLEET_BENCH=1
exec flock /tmp/lxcprov-integration.lock "$build/tests/lxcprov_integration_tests" \
  --gtest_filter='FleetTest.BenchCreateLatencyAndThroughput'
