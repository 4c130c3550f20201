#!/usr/bin/env bash
# Deployment figures (issue 10): ssh -> the Node sample answering through nginx, the same with a
# service (python-redis, redis installed from the Debian mirror), an update round trip, and a
# restart, taken from the deploy integration tests' own figure lines over RUNS runs (default 3).
# Prints medians and ratios measured in the same runs. Root, from a built tree (build/test), with
# the Debian mirror reachable; holds the integration lock while it runs.
#   tests/bench/deploy_bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
bin=build/test/tests/lxcprov_integration_tests
[ -x "$bin" ] || { echo "deploy_bench: build first (cmake --build build/test)" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for i in $(seq "$runs"); do
  echo "run $i/$runs ..." >&2
  flock -o /tmp/lxcprov-integration.lock "$bin" \
    --gtest_filter='Deploy.NodeAppCreatedUpdatedAndRestarted:Deploy.PythonAppWithRedisService' --gtest_brief=1 |
    grep '^\[ figures  \] [^ ]' >> "$out" || { echo "deploy_bench: run $i failed" >&2; exit 1; }
done
python3 - "$out" "$runs" <<'PY'
import re, statistics, sys, platform, os
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"\[ figures  \] (.*): (\d+) ms$", line.strip())
    if m:
        rows.setdefault(m.group(1), []).append(int(m.group(2)))
def med(k):
    return statistics.median(rows[k]) if k in rows else None
node_k = "create with deploy of node-hello main"
redis_k = "create with deploy of python-redis (redis from the mirror)"
node, redis = med(node_k), med(redis_k)
print(f"deploy bench: {sys.argv[2]} runs, {os.cpu_count()} CPUs, kernel {platform.release()}, "
      f"load {os.getloadavg()[0]:.2f}")
print("| what | median | min-max | ratio |")
print("|---|---|---|---|")
for label, key, ratio in (
        ("ssh create -> node-hello answering through nginx", node_k, None),
        ("ssh create -> python-redis (redis service) answering", redis_k, "the Node create"),
        ("ssh update -> the new commit answering", "update to v2", "the Node create"),
        ("container restart -> the app answering again", "restart until the app answers again", None)):
    if key not in rows:
        continue
    v = med(key)
    r = f"{v / node:.2f}x {ratio}" if ratio and node else ""
    print(f"| {label} | {v / 1000:.1f} s | {min(rows[key]) / 1000:.1f}-{max(rows[key]) / 1000:.1f} s | {r} |")
PY
