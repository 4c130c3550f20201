#!/usr/bin/env bash
# seal_bench.sh: what the per-create seal check costs, for the busybox and the Debian template,
# against a create measured in the same run (docs/benchmarks.md, "Sealed templates"). Self-
# contained: its own lxcpath, state database and bridge under a temp dir, all removed at the end;
# nothing of an installed lxcprov is touched. Run as root from a built tree:
#
#   sudo tests/bench/seal_bench.sh [--runs 9] [--verify-runs 3] [--build-dir build] [--debian DIR|--no-debian]
#
# The busybox template is built with scripts/build-template.sh through `lxcprovctl template build`
# (a few seconds). The Debian template is copied from DIR (a template directory holding config and
# rootfs), else from the integration tests' cache (/var/cache/lxcprov-test) or an installed
# /var/lib/lxcprov/lxc/tpl-debian, else built with debootstrap (1-2 minutes, needs the mirror).
# Medians are over --runs rounds after one warm-up round, with a warm page cache.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
runs=9
verify_runs=3
build=$here/build
debian=auto

usage() {
  echo "usage: $0 [--runs N] [--verify-runs N] [--build-dir DIR] [--debian DIR|--no-debian]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    --verify-runs) [ $# -ge 2 ] || usage; verify_runs=$2; shift 2 ;;
    --build-dir) [ $# -ge 2 ] || usage; build=$(cd "$2" && pwd); shift 2 ;;
    --debian) [ $# -ge 2 ] || usage; debian=$2; shift 2 ;;
    --no-debian) debian=none; shift ;;
    *) usage ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "seal_bench.sh: run as root (LXC)" >&2; exit 1; }

cmake --build "$build" --target lxcprov_bench_seal lxcprovctl >/dev/null
bench=$build/tests/lxcprov_bench_seal
ctl=$build/helpers/lxcprovctl

tmp=$(mktemp -d /tmp/lxcprov-sealbench-XXXXXX)
chmod 755 "$tmp"
lxcpath=$tmp/lxc
bridge=lxsb$(($$ % 100000))
net=10.49.$(($$ % 250))
cleanup() {
  if [ -d "$lxcpath" ]; then
    # Clones first: a template with snapshot clones cannot be destroyed.
    for n in $(lxc-ls -P "$lxcpath" -1 2>/dev/null | grep -v '^tpl-'); do lxc-destroy -f -P "$lxcpath" -n "$n" >/dev/null 2>&1; done
    for n in $(lxc-ls -P "$lxcpath" -1 2>/dev/null); do lxc-destroy -f -P "$lxcpath" -n "$n" >/dev/null 2>&1; done
  fi
  "$here/scripts/setup-host.sh" --remove --bridge "$bridge" >/dev/null 2>&1 || true
  rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

"$here/scripts/setup-host.sh" --bridge "$bridge" --address "$net.1/24" >/dev/null
mkdir -p "$lxcpath" "$tmp/state"
chmod 700 "$tmp/state"
cat >"$tmp/lxcprovd.json" <<EOF
{"lxcpath": "$lxcpath", "database": "$tmp/state/state.db", "network": {"bridge": "$bridge"},
 "templates": {"build_script": "$here/scripts/build-template.sh"}}
EOF
ctl() { "$ctl" --config "$tmp/lxcprovd.json" "$@"; }

echo "## seal (content walk, then a fingerprint walk that must agree)" >&2
ctl template build tpl-busybox --distro busybox >&2
templates=tpl-busybox

if [ "$debian" = auto ]; then
  debian=
  for d in /var/cache/lxcprov-test/debian-*/tpl-debian /var/lib/lxcprov/lxc/tpl-debian; do
    if [ -f "$d/config" ] && [ -d "$d/rootfs" ]; then debian=$d; break; fi
  done
  [ -n "$debian" ] || debian=build
fi
case "$debian" in
  none) ;;
  build)
    ctl template build tpl-debian --distro debian >&2
    templates="$templates tpl-debian" ;;
  *)
    # The integration tests replace their cache when the build script changes: copy under their lock.
    lock=/dev/null
    case "$debian" in /var/cache/lxcprov-test/*) lock=/var/cache/lxcprov-test/.lock ;; esac
    (
      flock -w 900 9 || exit 1
      cp -a "$debian" "$lxcpath/tpl-debian"
    ) 9>>"$lock"
    rm -f "$lxcpath/tpl-debian/lxc_snapshots"
    sed -i "s|^lxc.rootfs.path = .*|lxc.rootfs.path = dir:$lxcpath/tpl-debian/rootfs|" "$lxcpath/tpl-debian/config"
    ctl template seal tpl-debian >&2
    templates="$templates tpl-debian" ;;
esac

echo
echo "| template | entries | per-create seal check (lookup + fingerprint walk) | fingerprint walk alone | in-process create (clone + start + attach) | check / create | full verify (content walk) |"
echo "|---|---|---|---|---|---|---|"
for t in $templates; do
  "$bench" "$lxcpath" "$tmp/state/state.db" "$t" "$bridge" "$net" "$runs" "$verify_runs"
done
echo
echo "Medians (min–max) over $runs rounds after a warm-up round; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)."
