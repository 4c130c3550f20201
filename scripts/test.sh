#!/usr/bin/env bash
# Runs the whole test suite on this machine, as root: installs what it needs, builds, checks the
# systemd unit, runs unit and component tests under ASan/UBSan, then every test (unit, component,
# integration with real LXC containers, sshd and journald) on the normal build.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (integration tests drive LXC and sshd)" >&2; exit 1; }

scripts/install-deps.sh
jobs=$(nproc)

scripts/format.sh --check
echo "format: ok"

cmake -S . -B build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLXCPROV_WERROR=ON >/dev/null
cmake --build build/test -j"$jobs"

# systemd-analyze needs the commands the units run to exist: check copies pointing at the build
# and the tree (every unit in systemd/).
unitdir=$(mktemp -d)
trap 'rm -rf "$unitdir"' EXIT
for unit in systemd/*.service systemd/*.socket; do
  sed -e "s|/usr/local/sbin/lxcprovd|$here/build/test/daemon/lxcprovd|" \
      -e "s|/usr/local/sbin/lxcprov-sshd|/usr/sbin/sshd|" \
      -e "s|/usr/local/share/lxcprov/|$here/scripts/|" "$unit" > "$unitdir/$(basename "$unit")"
done
systemd-analyze verify "$unitdir"/*
# The sandboxing must not quietly weaken: exposure 6.5 (docs/security.md "The systemd unit") at most.
for unit in "$unitdir"/*.service; do
  systemd-analyze security --offline=true --threshold=65 "$unit" >/dev/null ||
    { systemd-analyze security --offline=true "$unit" | tail -1; echo "systemd unit $(basename "$unit"): exposure above 6.5"; exit 1; }
done
echo "systemd units: ok"

if [ "${LXCPROV_SKIP_SANITIZE:-0}" != 1 ]; then
  cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DLXCPROV_SANITIZE=ON -DLXCPROV_WERROR=ON >/dev/null
  cmake --build build/asan -j"$jobs" --target lxcprov_unit_tests lxcprov_component_tests
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/asan/tests/lxcprov_unit_tests --gtest_brief=1
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/asan/tests/lxcprov_component_tests --gtest_brief=1
fi

# The libFuzzer smoke run: every target 5 s from its seeds (clang build in build/fuzz). A crash
# fails the run. LXCPROV_FUZZ_SMOKE=0 skips it locally; the long runs are scripts/fuzz.sh TARGET MIN.
if [ "${LXCPROV_FUZZ_SMOKE:-1}" != 0 ]; then
  scripts/fuzz.sh --smoke "${LXCPROV_FUZZ_SECONDS:-5}"
fi

ctest --test-dir build/test --output-on-failure --timeout 600 "$@"

# A short soak (docs/operations.md, "Soak"): 20 create/delete cycles through a real lxcprovd leave
# no fd, thread, veth, cgroup, mount, directory, forward, route or row behind (10-25 s).
if [ "${LXCPROV_SKIP_SOAK:-0}" != 1 ]; then
  scripts/soak.sh 20
fi
