#!/usr/bin/env bash
# soak.sh: CYCLES create/delete cycles (default 200) through a real lxcprovd, then checks that
# nothing grew: the daemon's fds and threads, its RSS (after a warm-up, beyond what the database's
# growth explains), and on the host the veths, lxc.payload cgroups, mounts, lxcpath directories,
# nftables forwards, nginx routes and state rows.
# Prints the figures and exits 1 on a leak, 2 on a usage or set-up error.
#
# Usage: scripts/soak.sh [CYCLES]      (run as root; LXCPROV_BUILD_DIR, default build/test)
#
# A world of its own, named after this script's pid, removed on exit: a bridge and /24, an
# lxcpath with the busybox template, a private nginx, an nftables table (forwards on the bridge's
# gateway address only), the daemon from the build dir on its own socket and database. The
# cycles talk to the daemon's socket with lxcprov-shell, as sshd's ForceCommand does. Run it
# under the integration lock on a shared machine:
#   flock -o /tmp/lxcprov-integration.lock scripts/soak.sh 200
set -euo pipefail

cycles=${1:-200}
case "$cycles" in '' | *[!0-9]*) echo "usage: soak.sh [CYCLES]" >&2; exit 2 ;; esac
[ "$cycles" -ge 2 ] || { echo "soak.sh: CYCLES must be at least 2" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "soak.sh: run as root" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
build=${LXCPROV_BUILD_DIR:-$here/build/test}
for bin in daemon/lxcprovd helpers/lxcprov-shell helpers/lxcprovctl; do
  [ -x "$build/$bin" ] || { echo "soak.sh: $build/$bin is not built" >&2; exit 2; }
done
# RSS is compared from this cycle on: the first creates grow the heap, sqlite's page cache and
# liblxc's and libnftables' state to their working size, and each of the daemon's 4 job threads
# its own malloc arena at the first job it runs (measured, cycles 0-40: +3.6, +1.6, 0, +1.2 MB at
# cycles 1-4, then +0.5 MB over the next 36 with the database).
warm=$((cycles / 10 > 20 ? 20 : cycles / 10))
[ "$warm" -ge 5 ] || warm=5
[ "$warm" -lt "$cycles" ] || warm=$((cycles - 1))
# RSS may grow with the state database (jobs and their logs are kept) as far as SQLite's page
# cache goes (its default, 2000 KiB per connection; measured: RSS levels off at 22.6 MB once the
# database passes 2 MB, near cycle 600), plus this much for everything else.
page_cache_kb=2048
rss_slack_kb=${LXCPROV_SOAK_RSS_SLACK_KB:-1024}
every=${LXCPROV_SOAK_EVERY:-50}  # a line of figures every this many cycles

id=$(($$ % 100000))
W=$(mktemp -d /tmp/lxcprov-soak.XXXXXX)  # not a predictable name: root runs a daemon on what is in it
bridge=lxsk$id
net=10.49.$(($$ % 250))
gw=$net.1
table=lxsk$id
names=sk$$-
cfg=$W/lxcprovd.json
sock=$W/lxcprovd.sock
ctl() { "$build/helpers/lxcprovctl" --config "$cfg" "$@"; }
daemon=

cleanup() {
  set +e
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
    kill "$daemon"
    for _ in $(seq 150); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$daemon" 2>/dev/null
  fi
  [ -f "$W/nginx/nginx.conf" ] && nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -s stop 2>/dev/null
  if [ -d "$W/lxc" ]; then
    for n in $(lxc-ls -P "$W/lxc" -1 2>/dev/null | grep -v '^tpl-'); do lxc-destroy -f -P "$W/lxc" -n "$n" >/dev/null 2>&1; done
    for n in $(lxc-ls -P "$W/lxc" -1 2>/dev/null); do lxc-destroy -f -P "$W/lxc" -n "$n" >/dev/null 2>&1; done
  fi
  nft delete table inet "$table" 2>/dev/null
  "$here/scripts/setup-host.sh" --remove --bridge "$bridge" >/dev/null 2>&1 || ip link delete "$bridge" 2>/dev/null
  rm -rf -- "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$W/state" "$W/nginx/logs" "$W/audit"
chmod 0755 "$W"
"$here/scripts/setup-host.sh" --bridge "$bridge" --address "$gw/24" >/dev/null
"$here/scripts/build-template.sh" --lxcpath "$W/lxc" --name tpl-busybox >/dev/null

http_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$W/nginx/nginx.conf" <<CONF
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log;
worker_processes 1;
events {}
http {
  access_log off;
  include $W/nginx/routes.conf;
}
CONF
: > "$W/nginx/routes.conf"
nginx -p "$W/nginx" -c "$W/nginx/nginx.conf"

cat > "$cfg" <<JSON
{
  "socket": "$sock", "database": "$W/state/state.db", "lxcpath": "$W/lxc",
  "passwd_file": "$W/passwd", "audit_log": "$W/audit/audit.log",
  "keys_file": "$W/keys", "authorized_keys_dir": "$W/authorized_keys", "shell_path": "$build/helpers/lxcprov-shell",
  "network": {"bridge": "$bridge", "subnet": "$net.0/24", "gateway": "$gw", "first": "$net.10", "last": "$net.254"},
  "distributions": {"busybox": {"template": "tpl-busybox"}},
  "public_host": "127.0.0.1",
  "ports": {"enabled": true, "table": "$table", "public_address": "$gw", "ssh_pool": [44000, 44099],
            "extra_pool": [44100, 44199], "catalog": "$here/config/protocols.json"},
  "http": {"enabled": true, "domain": "soak.test", "listen_address": "127.0.0.1", "listen_port": $http_port,
           "include_file": "$W/nginx/routes.conf", "nginx_conf": "$W/nginx/nginx.conf", "nginx_prefix": "$W/nginx"},
  "isolation": {"enabled": false}
}
JSON
password=soak-$$-$RANDOM$RANDOM
printf '%s\n' "$password" | ctl user add soak --password-stdin >/dev/null

"$build/daemon/lxcprovd" --config "$cfg" 2>>"$W/lxcprovd.log" </dev/null >/dev/null &
daemon=$!
for _ in $(seq 150); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "soak.sh: lxcprovd did not start:" >&2; cat "$W/lxcprovd.log" >&2; exit 2; }
ctl template seal tpl-busybox >/dev/null

# One line of figures: name=value pairs, in a fixed order.
measure() {
  local fds threads rss db veths cgroups mounts dmounts dirs forwards routes rows
  fds=$(ls "/proc/$daemon/fd" | wc -l)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$daemon/status")
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$daemon/status")
  # Jobs and their logs are kept, so the database grows, and SQLite's page cache (2 MiB per
  # connection by default) with it: the figure that explains a slow RSS rise. The main file only:
  # the WAL is reused in place after each checkpoint.
  db=$(du -k "$W/state/state.db" | cut -f1)
  veths=$(ip -o link show | grep -c ": vlp$(printf '%02x%02x%02x' ${net//./ })" || true)
  cgroups=$(find /sys/fs/cgroup -maxdepth 2 -type d -name "lxc.payload.$names*" | wc -l)
  # Only this world's: other people's containers come and go on a shared host.
  mounts=$(grep -c -e "$W" -e "$names" /proc/self/mountinfo || true)
  dmounts=$(grep -c -e "$W" -e "$names" "/proc/$daemon/mountinfo" || true)
  dirs=$(find "$W/lxc" -mindepth 1 -maxdepth 1 -type d ! -name 'tpl-*' | wc -l)
  # Elements of the forwards maps, and entries of nginx's $host map (one per route).
  forwards=$(nft list table inet "$table" 2>/dev/null | { grep -oE '[0-9]+ comment "[^"]*" : [0-9.]+ \. [0-9]+' || true; } | wc -l)
  routes=$(grep -cE '^  [^ ]+\.soak\.test [0-9.]+:[0-9]+;$' "$W/nginx/routes.conf" || true)
  rows=$(ctl containers | tail -n +2 | wc -l)
  echo "fds=$fds threads=$threads rss_kb=$rss db_kb=$db veths=$veths cgroups=$cgroups host_mounts=$mounts" \
    "daemon_mounts=$dmounts lxc_dirs=$dirs forwards=$forwards routes=$routes rows=$rows"
}
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }

shell_op() {
  env -u SSH_ORIGINAL_COMMAND PROXMOX_USERNAME=soak PROXMOX_PASSWORD="$password" CONTAINER_NAME="$2" \
    LINUX_DISTRIBUTION=busybox HTTP_PORT=8080 "$build/helpers/lxcprov-shell" --socket "$sock" "$1"
}

start=$(measure)
echo "soak: $cycles cycles on $bridge ($net.0/24), daemon pid $daemon"
label() { printf 'cycle %*d: ' "${#cycles}" "$1"; }
echo "$(label 0)$start"
t0=$(date +%s.%N)
for i in $(seq 1 "$cycles"); do
  name=$names$i
  if ! out=$(shell_op create "$name" 2>&1); then
    echo "soak.sh: create $name failed in cycle $i:" >&2; echo "$out" >&2; exit 1
  fi
  if ! out=$(shell_op delete "$name" 2>&1); then
    echo "soak.sh: delete $name failed in cycle $i:" >&2; echo "$out" >&2; exit 1
  fi
  if [ "$i" = "$warm" ]; then warmed=$(measure); echo "$(label "$i")$warmed"; fi
  if [ $((i % every)) = 0 ] && [ "$i" != "$cycles" ] && [ "$i" != "$warm" ]; then echo "$(label "$i")$(measure)"; fi
done
t1=$(date +%s.%N)
end=$(measure)
echo "$(label "$cycles")$end"
awk -v a="$t0" -v b="$t1" -v n="$cycles" 'BEGIN { printf "soak: %d cycles in %.1f s (%.2f s per create+delete)\n", n, b - a, (b - a) / n }'

leak=0
# Host objects: exactly what there was before the first create.
for f in veths cgroups host_mounts daemon_mounts lxc_dirs forwards routes rows; do
  if [ "$(field $f "$end")" != "$(field $f "$start")" ]; then
    echo "LEAK: $f was $(field $f "$start") before cycle 1, $(field $f "$end") after cycle $cycles" >&2; leak=1
  fi
done
# The daemon: fds and threads as after the warm-up (pools and caches are open by then).
for f in fds threads; do
  if [ "$(field $f "$end")" -gt "$(field $f "$warmed")" ]; then
    echo "LEAK: $f was $(field $f "$warmed") after cycle $warm, $(field $f "$end") after cycle $cycles" >&2; leak=1
  fi
done
rss_warm=$(field rss_kb "$warmed")
rss_end=$(field rss_kb "$end")
db_growth=$(($(field db_kb "$end") - $(field db_kb "$warmed")))
allowed=$(((db_growth < page_cache_kb ? db_growth : page_cache_kb) + rss_slack_kb))
echo "soak: RSS $rss_warm kB after cycle $warm, $rss_end kB after cycle $cycles ($((rss_end - rss_warm)) kB;" \
  "allowed $allowed kB: the database grew $db_growth kB, page cache up to $page_cache_kb kB, slack $rss_slack_kb kB)"
if [ "$rss_end" -gt $((rss_warm + allowed)) ]; then
  echo "LEAK: RSS grew by $((rss_end - rss_warm)) kB from cycle $warm to cycle $cycles (allowed $allowed kB)" >&2
  leak=1
fi
[ "$leak" = 0 ] && echo "soak: no leak"
exit "$leak"
