#!/usr/bin/env bash
# scale_bench.sh: what a create costs lxcprov's own code with 0 to 1000 existing containers, and
# what the whole-table path it replaced costs, in one run (docs/benchmarks.md, "Flat at scale").
# Self-contained: runs lxcprov_bench_scale (tests/bench/scale.cpp) in a network namespace of its
# own, with its own state database, nftables tables and nginx under a temp dir, all removed at the
# end. Run as root from a built tree, under the lock other nft/nginx users take:
#
#   sudo flock -o /tmp/lxcprov-integration.lock tests/bench/scale_bench.sh [--rounds 7] [--sizes 0,250,500,1000] [--build-dir build]
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
rounds=7
sizes=0,250,500,1000
build=$here/build
usage() {
  echo "usage: $0 [--rounds N] [--sizes A,B,...] [--build-dir DIR]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) [ $# -ge 2 ] || usage; rounds=$2; shift 2 ;;
    --sizes) [ $# -ge 2 ] || usage; sizes=$2; shift 2 ;;
    --build-dir) [ $# -ge 2 ] || usage; build=$(cd "$2" && pwd); shift 2 ;;
    *) usage ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "scale_bench.sh: run as root (nft, nginx)" >&2; exit 1; }

cmake --build "$build" --target lxcprov_bench_scale >/dev/null
dir=$(mktemp -d /tmp/lxcprov-scale.XXXXXX)
trap 'nginx -p "$dir" -c "$dir/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$dir"' EXIT

echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -r), $(nft --version), $(nginx -v 2>&1)"
echo "Command: tests/bench/scale_bench.sh --rounds $rounds --sizes $sizes"
echo
echo "| existing containers | create as run, 26 ms start, ms | vs first size | own work: create without a start, steps in sequence, ms | vs first size | create's isolate+ports+route ms | vs first size | delete ms | before: whole nft tables per create, ms | before: nginx server blocks per create, ms | start-up convergence, ms | bench process RSS, MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
# The nginx it starts and the tables it applies live and die with this namespace.
unshare -n sh -c "ip link set lo up && exec '$build/tests/lxcprov_bench_scale' '$dir' '$rounds' '$sizes'"
