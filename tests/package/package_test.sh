#!/usr/bin/env bash
# The Debian package, end to end (docs/operations.md, "Install from a .deb"):
#   1. builds lxcprov_<v1>_<arch>.deb and a bumped lxcprov_<v2>_<arch>.deb from BUILD_DIR (cpack);
#   2. makes a clean Debian 12 root from the debootstrap tarball scripts/build-template.sh caches
#      in /var/cache/lxcprov (no second download), and installs v1 with apt (dependencies from the
#      Debian mirror);
#   3. in a network namespace of its own (its bridge, nft tables, nginx port 80 and sshd port are
#      the namespace's, not the host's), with no systemd: runs the installed units' ExecStartPre/
#      ExecStart lines (nginx, lxcprovd, the lxcprov sshd), builds and seals the busybox template,
#      adds a login and creates a busybox container through the package's sshd on 127.0.0.1;
#   4. edits a conffile, upgrades to v2 with apt: the edit, the container's row and the login are
#      kept, and the upgraded daemon still knows the container (container-exists answers 2);
#   5. apt remove: state and conffiles stay; apt purge: both gone.
# Every mount and process lives in a private mount + pid namespace per step, so nothing is left
# behind when a step ends, even on failure; the root itself is deleted on exit.
# Usage: package_test.sh BUILD_DIR. Needs root; run it under /tmp/lxcprov-integration.lock like
# the integration tests (it starts lxcprovd, sshd, nginx and a container).
set -euo pipefail

build=$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" = 0 ] || { echo "package_test: run as root" >&2; exit 1; }
start=$(date +%s)
step() { echo "[package] $(( $(date +%s) - start ))s: $*"; }
fail() { echo "[package] FAIL: $*" >&2; exit 1; }

tarball() { ls -S -r /var/cache/lxcprov/debootstrap-bookworm-*.tar 2>/dev/null | head -1 || true; }
if [ -z "$(tarball)" ]; then
  # A fresh machine: build-template.sh makes and caches the debootstrap (about 90 s from the
  # mirror); the template it also builds is thrown away.
  step "no cached debootstrap of bookworm: building one"
  scratch=$(mktemp -d /tmp/lxcprov-pkg-tpl.XXXXXX)
  "$(dirname "$0")/../../scripts/build-template.sh" --lxcpath "$scratch" --name tpl-debian --distro debian >/dev/null ||
    { rm -rf -- "$scratch"; fail "could not build the debootstrap of bookworm"; }
  rm -rf -- "$scratch"
fi
tarball=$(tarball)
[ -n "$tarball" ] || fail "no debootstrap of bookworm in /var/cache/lxcprov"

work=$(mktemp -d /tmp/lxcprov-pkg.XXXXXX)
root=$work/root
cleanup() {
  # The steps' namespaces took their mounts with them; this is only in case one survived.
  if grep -q " $root/" /proc/mounts; then
    awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l || true
  fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# --- 1. the packages -----------------------------------------------------------------------------
base=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake" | head -1)
[ -n "$base" ] || fail "no CPACK_PACKAGE_VERSION in $build/CPackConfig.cmake" 
v1="$base~pkgtest1" v2="$base~pkgtest2"
for v in "$v1" "$v2"; do
  (cd "$work" && cpack --config "$build/CPackConfig.cmake" -B "$work/deb-$v" -D CPACK_PACKAGE_VERSION="$v" \
    >"$work/cpack-$v.log" 2>&1) || { cat "$work/cpack-$v.log" >&2; fail "cpack $v"; }
done
deb1=$(ls "$work/deb-$v1"/lxcprov_*.deb) deb2=$(ls "$work/deb-$v2"/lxcprov_*.deb)
step "built $(basename "$deb1") and $(basename "$deb2")"
dpkg-deb -f "$deb1" Depends | grep >/dev/null 'liblxc' || fail "Depends lacks the shared libraries (dpkg-shlibdeps)"
dpkg-deb -c "$deb1" | grep >/dev/null ' ./etc/lxcprov/lxcprovd.json$' || fail "no /etc/lxcprov/lxcprovd.json in the package"
dpkg-deb -I "$deb1" conffiles | grep -x >/dev/null /etc/lxcprov/lxcprovd.json || fail "lxcprovd.json is not a conffile"

# --- 2. a clean Debian 12 root --------------------------------------------------------------------
mkdir -p "$root"
tar --numeric-owner -xpf "$tarball" -C "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No service may start from a maintainer script in the chroot (nginx's would take the host's port
# 80): what Debian's own chroot tools do.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp "$deb1" "$deb2" "$root/tmp/"
step "root from $(basename "$tarball")"

# Runs a bash script in the root, in a new mount and pid namespace (with --net: a new network
# namespace too) with /proc, /sys, cgroup2, /dev and a fresh /run: when it ends, every process it
# started (daemons, containers) and every mount goes with it. pivot_root, not chroot: the kernel
# refuses a new user namespace (every container, and lxc-usernsexec) to a chrooted process.
in_root() {
  local net=()
  if [ "$1" = --net ]; then net=(--net); shift; fi
  unshare --mount --propagation private --pid --fork "${net[@]}" -- env ROOT="$root" SCRIPT="$1" bash -c '
    set -e
    mount --bind "$ROOT" "$ROOT"
    mount -t proc proc "$ROOT/proc"
    mount -t sysfs sysfs "$ROOT/sys"
    mount -t cgroup2 cgroup2 "$ROOT/sys/fs/cgroup"
    mount --rbind /dev "$ROOT/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$ROOT/run"
    mkdir -p "$ROOT/.oldroot"
    cd "$ROOT"
    pivot_root . .oldroot
    cd /
    umount -l /.oldroot
    rmdir /.oldroot
    exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c "$SCRIPT"'
}

in_root 'apt-get -q update >/tmp/apt.log 2>&1 && apt-get -q -y install --no-install-recommends /tmp/'"$(basename "$deb1")"' \
  >>/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }' || fail "apt install of $v1"
step "installed $v1 with apt"
for u in create-container container-exists delete-container update-container; do
  chroot "$root" id -nG "$u" | tr ' ' '\n' | grep -qx lxcprov || fail "account $u missing or not in group lxcprov"
done
[ -f "$root/etc/lxcprov/sshd/sshd_config" ] || fail "no sshd config"
[ -L "$root/etc/systemd/system/multi-user.target.wants/lxcprovd.service" ] || fail "lxcprovd.service not enabled"
[ -L "$root/etc/systemd/system/sockets.target.wants/lxcprovd.socket" ] || fail "lxcprovd.socket not enabled"
[ -L "$root/etc/systemd/system/multi-user.target.wants/lxcprov-sshd.service" ] || fail "lxcprov-sshd.service not enabled"

# --- 3. run it and create a container through its sshd -----------------------------------------
name=pkg$$
# What systemd would do for the units (RuntimeDirectory=, the ExecStartPre/ExecStart lines), with
# the daemon's log to stderr (no journald here).
run_units='
ip link set lo up
. /etc/default/lxcprov
units=/usr/lib/systemd/system
execs() { sed -n "s/^$2=[-+]*//p" "$units/$1"; }
install -d -m 0755 /run/lxcprov /run/sshd
while read -r cmd; do eval "$cmd"; done < <(execs lxcprov-nginx.service ExecStartPre; execs lxcprov-nginx.service ExecStart)
while read -r cmd; do eval "$cmd" >/tmp/setup-host.log; done < <(execs lxcprovd.service ExecStartPre)
daemon=$(execs lxcprovd.service ExecStart)
eval "${daemon/--log journald/--log stderr}" >>/var/log/lxcprov/lxcprovd.log 2>&1 &
for _ in $(seq 200); do [ -S /run/lxcprov/lxcprovd.sock ] && break; sleep 0.1; done
[ -S /run/lxcprov/lxcprovd.sock ] || { echo "lxcprovd did not start:"; tail -20 /var/log/lxcprov/lxcprovd.log; exit 1; }
eval "$(execs lxcprov-sshd.service ExecStartPre)"
sshd=$(execs lxcprov-sshd.service ExecStart)
eval "$sshd" 2>/tmp/sshd.log &
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$LXCPROV_SSH_PORT") 2>/dev/null && break; sleep 0.1; done
ssh_op() {  # ssh_op ACCOUNT: the account over the package sshd, password flow, no prompts
  ssh -p "$LXCPROV_SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    -o PasswordAuthentication=no -o SendEnv="PROXMOX_USERNAME PROXMOX_PASSWORD CONTAINER_NAME LINUX_DISTRIBUTION" \
    "$1@127.0.0.1" </dev/null
}
export PROXMOX_USERNAME=pkguser PROXMOX_PASSWORD=Pkg-test-pw-4821x CONTAINER_NAME='"$name"' LINUX_DISTRIBUTION=busybox
stop_all() {
  for c in $(lxc-ls -P /var/lib/lxcprov/lxc --running 2>/dev/null); do lxc-stop -P /var/lib/lxcprov/lxc -n "$c" -k || true; done
  pkill -TERM -x lxcprovd || true
  for _ in $(seq 100); do pgrep -x lxcprovd >/dev/null || break; sleep 0.1; done
}
trap stop_all EXIT
'
in_root --net "$run_units"'
lxcprovctl template build tpl-busybox --distro busybox >/tmp/template.log 2>&1 || { tail -20 /tmp/template.log; exit 1; }
printf "%s\n" "$PROXMOX_PASSWORD" | lxcprovctl user add pkguser --password-stdin
set +e
ssh_op create-container >/tmp/create.out 2>&1
code=$?
set -e
cat /tmp/create.out | tail -15
[ "$code" = 0 ] || { echo "create exited $code"; tail -30 /var/log/lxcprov/lxcprovd.log; tail /tmp/sshd.log; exit 1; }
lxc-ls -P /var/lib/lxcprov/lxc --running | tr " " "\n" | grep -qx "$CONTAINER_NAME" || { echo "container not running"; exit 1; }
' || fail "create through the installed package"
step "created container $name through the package's sshd, lxcprovd and units"
rows() { sqlite3 "$root/var/lib/lxcprov/state.db" "SELECT name || ' ' || owner FROM containers"; }
[ "$(rows)" = "$name pkguser" ] || fail "state row: '$(rows)'"

# --- 4. upgrade ----------------------------------------------------------------------------------
# An admin's edit to a conffile (the package's own version of it is unchanged in v2): kept silently.
sed -i 's/^{$/{\n  "workers": 3,/' "$root/etc/lxcprov/lxcprovd.json"
grep -q '"workers": 3' "$root/etc/lxcprov/lxcprovd.json" || fail "could not edit the conffile"
in_root 'apt-get -q -y install --no-install-recommends /tmp/'"$(basename "$deb2")"' >/tmp/apt.log 2>&1 ||
  { tail -30 /tmp/apt.log; exit 1; }' || fail "apt upgrade to $v2"
[ "$(chroot "$root" dpkg-query -W -f='${Version}' lxcprov)" = "$v2" ] || fail "not upgraded to $v2"
grep -q '"workers": 3' "$root/etc/lxcprov/lxcprovd.json" || fail "the conffile edit was lost by the upgrade"
[ "$(rows)" = "$name pkguser" ] || fail "state row after the upgrade: '$(rows)'"
chroot "$root" grep -q '^pkguser:' /etc/lxcprov/passwd || fail "the login was lost by the upgrade"
in_root --net "$run_units"'
set +e
ssh_op container-exists >/tmp/exists.out 2>&1
code=$?
set -e
[ "$code" = 2 ] || { echo "container-exists exited $code (2: exists and yours)"; cat /tmp/exists.out; exit 1; }
' || fail "the upgraded daemon does not know the container"
step "upgraded to $v2: conffile edit, state row, login kept; container-exists answers 2"

# --- 5. remove, purge ----------------------------------------------------------------------------
in_root 'apt-get -q -y remove lxcprov >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }' || fail "apt remove"
[ ! -e "$root/usr/sbin/lxcprovd" ] || fail "lxcprovd still installed after remove"
[ "$(rows)" = "$name pkguser" ] || fail "remove lost the state"
[ -f "$root/etc/lxcprov/lxcprovd.json" ] || fail "remove deleted a conffile"
[ -d "$root/var/lib/lxcprov/lxc/$name" ] || fail "remove deleted the container"
step "removed: state, container and conffiles kept"
in_root 'apt-get -q -y purge lxcprov >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }' || fail "apt purge"
for gone in /var/lib/lxcprov /var/log/lxcprov /etc/lxcprov /etc/pam.d/lxcprov-sshd; do
  [ ! -e "$root$gone" ] || fail "purge left $gone"
done
step "purged: state and config gone"
echo "[package] PASS in $(( $(date +%s) - start ))s"
