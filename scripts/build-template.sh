#!/bin/sh
# build-template.sh: builds a stopped, unprivileged template container that lxcprov snapshot-clones
# (overlayfs). Idempotent: a finished template (marker file) built for the same id mapping and
# package set is left alone; an unfinished one (a build that died half-way) is rebuilt.
#
# Unprivileged: the template's config maps container uid/gid 0..COUNT-1 to host ids FIRST.. (the
# lxcprovd config "confinement.idmap"), and its rootfs is *built for that mapping*: every file is
# written by a process running as the mapped root in a user namespace (lxc-usernsexec), so on disk
# it is owned by FIRST+uid, setuid bits survive, and file capabilities are stored in the
# namespaced (v3) form the kernel honours inside the container. Clones share the template's files
# as their overlay lower layer, so no per-clone shifting is needed: a clone still takes ms.
#
# Self-contained: nothing of the host is bind-mounted into the template or its clones. busybox is
# Debian's busybox-static (a static binary, copied); debian is a debootstrap of bookworm.
#
# The template has no IPv4 address and no veth of its own (lxc.net.0.type = empty): each clone
# gets lxc.net.0.* (bridge, static IP, gateway, MAC) and its confinement keys from lxcprovd. So
# nothing in the rootfs may run a DHCP client or wait for one.
#
# Usage: build-template.sh --lxcpath PATH --name NAME [--distro busybox|debian] [--mirror URL]
#                          [--idmap FIRST:COUNT] [--cache DIR]
# The naming convention is tpl-<distro>. The debootstrap result is cached in DIR (default
# /var/cache/lxcprov) keyed by suite, mirror and package list: later builds take seconds.
set -eu

lxcpath=
name=
distro=busybox
mirror=http://deb.debian.org/debian
suite=bookworm
idmap=100000:65536
cache=/var/cache/lxcprov
marker_name=.lxcprov-template-built
# What the debian template holds: systemd as init, sshd, git/curl/CA certificates for deploying
# apps, and the LDAP login client lxcprov's "ldap-login" step configures (nslcd with its NSS and
# PAM modules). Whatever else a container needs, apt-get installs inside it.
debian_packages=systemd,systemd-sysv,dbus,openssh-server,iproute2,iputils-ping,ca-certificates,procps,less
debian_packages=$debian_packages,git,curl,nslcd,libnss-ldapd,libpam-ldapd
# And the packages of the runtimes in config/runtimes.json, so that a deploy's runtime install is
# a no-op (the engine runs apt only for packages dpkg lacks): npm alone is ~300 packages, about
# 2.5 minutes of apt in every container that deploys a Node app, against once per template build.
# Installed by apt-get after debootstrap (whose own resolver fails to configure npm's tree).
debian_runtime_packages="nodejs npm python3 python3-venv python3-pip"

usage() {
  echo "usage: $0 --lxcpath PATH --name NAME [--distro busybox|debian] [--mirror URL] [--idmap FIRST:COUNT] [--cache DIR]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --lxcpath) [ $# -ge 2 ] || usage; lxcpath=$2; shift 2 ;;
    --name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
    --distro) [ $# -ge 2 ] || usage; distro=$2; shift 2 ;;
    --mirror) [ $# -ge 2 ] || usage; mirror=$2; shift 2 ;;
    --idmap) [ $# -ge 2 ] || usage; idmap=$2; shift 2 ;;
    --cache) [ $# -ge 2 ] || usage; cache=$2; shift 2 ;;
    -h|--help) usage ;;
    *) usage ;;
  esac
done
if [ -z "$lxcpath" ] || [ -z "$name" ]; then usage; fi
case "$name" in
  ''|*[!A-Za-z0-9_.-]*|.*) echo "build-template: bad name: $name" >&2; exit 2 ;;
esac
case "$distro" in
  busybox|debian) ;;
  *) echo "build-template: unknown distro: $distro" >&2; exit 2 ;;
esac
case "$idmap" in
  *[!0-9:]*|:*|*:|*:*:*) echo "build-template: --idmap must be FIRST:COUNT" >&2; exit 2 ;;
  *:*) ;;
  *) echo "build-template: --idmap must be FIRST:COUNT" >&2; exit 2 ;;
esac
first=${idmap%:*}
count=${idmap#*:}
if [ "$first" -lt 65536 ] || [ "$count" -lt 65536 ]; then
  echo "build-template: --idmap FIRST and COUNT must be at least 65536 (FIRST 0 would be root on the host)" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "build-template: must run as root" >&2
  exit 1
fi
command -v lxc-usernsexec >/dev/null || { echo "build-template: lxc-usernsexec is missing (package lxc)" >&2; exit 1; }

dir=$lxcpath/$name
rootfs=$dir/rootfs
marker=$dir/$marker_name
packages=
if [ "$distro" = debian ]; then packages=$debian_packages; fi
want="distro=$distro idmap=$first:$count packages=$packages"

if [ -f "$marker" ]; then
  if [ "$(sed -n 's/^want=//p' "$marker")" = "$want" ]; then
    echo "build-template: $name already built ($(sed -n 's/^built=//p' "$marker"))"
    exit 0
  fi
  # Built by an older version (privileged, another id range or package set). Running containers
  # are snapshot clones of it, so it is replaced only when nothing depends on it.
  if [ -s "$dir/lxc_snapshots" ]; then
    echo "build-template: $name was built differently ($(head -n 1 "$marker")) and containers are clones of it;" \
      "delete them, then run this again" >&2
    exit 1
  fi
  echo "build-template: $name was built differently; rebuilding" >&2
fi
mkdir -p "$lxcpath"
if [ -e "$dir" ]; then
  lxc-destroy -P "$lxcpath" -n "$name" >/dev/null 2>&1 || rm -rf -- "$dir"
fi

# On any failure below, remove the half-built template so the next run starts clean.
cleanup() {
  rc=$?
  if [ "$rc" -ne 0 ] && [ ! -f "$marker" ]; then
    rm -rf -- "$dir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# The template directory is root's (its config is root's to write); the rootfs belongs to the
# container's root. Clones run as the mapped ids and must be able to reach the rootfs, which is
# their overlay's lower layer, so the directory is traversable (o+x) but not writable.
mkdir -p "$rootfs"
chmod 711 "$dir"
chown "$first:$first" "$rootfs"
chmod 755 "$rootfs"

# Runs a shell script in the rootfs as the container's root (uid 0 inside = $first outside). The
# working directory is the rootfs and every path in the scripts is relative: the mapped root may
# not be able to traverse the directories above it, and nothing can escape through an absolute
# path or a symlink pointing at the host.
as_container_root() {
  (cd "$rootfs" && lxc-usernsexec -m "u:0:$first:$count" -m "g:0:$first:$count" -- /bin/sh -euc "$1")
}

# put PATH MODE < CONTENT: a file of the rootfs (PATH relative, a constant of this script), written
# as the container's root.
put() {
  as_container_root "umask 022; mkdir -p '$(dirname "$1")'; cat > '$1'; chmod $2 '$1'"
}

build_busybox() {
  bb=/bin/busybox
  # busybox-static: a static binary, so the rootfs needs no libraries of the host's.
  # Probed by running it in an empty root: a dynamic one finds no loader there.
  probe=$(mktemp -d)
  cp "$bb" "$probe/busybox"
  if ! chroot "$probe" /busybox true 2>/dev/null; then
    rm -rf -- "$probe"
    echo "build-template: $bb is not a static busybox (install busybox-static)" >&2
    exit 1
  fi
  rm -rf -- "$probe"
  as_container_root '
umask 022
mkdir -p bin sbin usr/bin usr/sbin etc/init.d dev proc sys run var/log home root/.ssh tmp
chmod 1777 tmp
chmod 700 root root/.ssh
cat > bin/busybox
chmod 755 bin/busybox
for applet in $(bin/busybox --list-full); do
  [ -e "$applet" ] || [ -L "$applet" ] || ln -s /bin/busybox "$applet"
done

# busybox init: no getty or console shell (nobody logs in on a console), only the boot script.
cat > etc/inittab <<EOF
::sysinit:/etc/init.d/rcS
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
EOF
# The address comes from the LXC config (lxc.net.0.ipv4.*): no DHCP client here.
cat > etc/init.d/rcS <<'"'"'EOF'"'"'
#!/bin/sh
/bin/mount -a 2>/dev/null
/bin/syslogd
/bin/ip link set lo up 2>/dev/null
h=$(/bin/hostname)
/bin/grep -q "[[:space:]]$h\$" /etc/hosts || echo "127.0.1.1	$h" >>/etc/hosts
EOF
chmod 744 etc/init.d/rcS

printf "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" > etc/passwd
printf "root:x:0:\nnogroup:x:65534:\n" > etc/group
# "*": no password can match; passwd -l root (lxcprov locks root) makes it "!*".
printf "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n" > etc/shadow
chmod 644 etc/passwd etc/group
chmod 600 etc/shadow
printf "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" > etc/hosts
: > etc/resolv.conf
: > etc/fstab
' < "$bb"
  printf '%s\n' "$name" | as_container_root 'cat > etc/hostname'
}

# The debootstrap of bookworm with the package set, as a tarball with numeric owners (real ids),
# built once per key. Device nodes are left out: they cannot be made in a user namespace, and LXC
# populates /dev (lxc.autodev) when a container starts.
debian_tarball() {
  key=$(printf '%s %s %s %s\n' "$suite" "$mirror" "$debian_packages" "$debian_runtime_packages" | sha256sum | cut -c1-16)
  tarball=$cache/debootstrap-$suite-$key.tar
  if [ -f "$tarball" ]; then return 0; fi
  command -v debootstrap >/dev/null || {
    echo "build-template: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1
  }
  mkdir -p "$cache"
  chmod 700 "$cache"
  staging=$(mktemp -d "$cache/.debootstrap.XXXXXX")
  if ! debootstrap --variant=minbase --include="$debian_packages" "$suite" "$staging/rootfs" "$mirror" \
      >"$staging/debootstrap.log" 2>&1; then
    echo "build-template: debootstrap failed; last lines:" >&2
    tail -n 20 "$staging/debootstrap.log" >&2
    rm -rf -- "$staging"
    exit 1
  fi
  # debootstrap left the build host's resolv.conf in the tree (replaced below, in build_debian);
  # no service may start in the chroot (policy-rc.d 101).
  printf '#!/bin/sh\nexit 101\n' > "$staging/rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$staging/rootfs/usr/sbin/policy-rc.d"
  # shellcheck disable=SC2086 # a list of package names
  if ! chroot "$staging/rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
      sh -c 'apt-get -q update && apt-get -q -y install --no-install-recommends "$@"' apt $debian_runtime_packages \
      >>"$staging/debootstrap.log" 2>&1; then
    echo "build-template: installing $debian_runtime_packages failed; last lines:" >&2
    tail -n 20 "$staging/debootstrap.log" >&2
    rm -rf -- "$staging"
    exit 1
  fi
  rm -f "$staging/rootfs/usr/sbin/policy-rc.d"
  rm -rf "$staging"/rootfs/var/cache/apt/archives/*.deb "$staging"/rootfs/var/lib/apt/lists/*
  tar --numeric-owner --xattrs --xattrs-include='security.capability' --exclude='./dev/*' \
    -C "$staging/rootfs" -cpf "$staging/rootfs.tar" .
  mv -f "$staging/rootfs.tar" "$tarball"
  rm -rf -- "$staging"
}

build_debian() {
  debian_tarball
  # Extracted by the mapped root: uid N in the tarball becomes $first+N on disk, and a
  # security.capability set inside the namespace is stored with the namespace's root id.
  as_container_root 'tar --numeric-owner --xattrs --xattrs-include=security.capability -xpf - -C .' < "$tarball"
  printf '%s\n' "$name" | put etc/hostname 644
  # Network: LXC sets the address and gateway on eth0 before systemd starts. No ifupdown or
  # networkd DHCP, so nothing waits 60 s for a lease.
  printf 'auto lo\niface lo inet loopback\n\niface eth0 inet manual\n' | put etc/network/interfaces 644
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' | put etc/hosts 644
  # Name servers are written into each container by lxcprovd (network.dns); debootstrap left the
  # build host's here.
  as_container_root 'rm -f etc/resolv.conf'
  # apt's package caches (~80 MB with the runtimes): apt-get update rebuilds them in a container.
  as_container_root 'rm -f var/cache/apt/pkgcache.bin var/cache/apt/srcpkgcache.bin'
  : | put etc/resolv.conf 644
  # Each clone gets its own identity: an empty machine-id (systemd makes one at boot) and no SSH
  # host keys (made at first start, so clones never share a host key).
  : | put etc/machine-id 444
  as_container_root 'rm -f var/lib/dbus/machine-id etc/ssh/ssh_host_*'
  # Only an ed25519 host key: ssh-keygen -A also makes RSA-3072 and ECDSA keys, which took 0.6 s of
  # every boot here (systemd-analyze blame: ssh.service), for keys clients do not need.
  put etc/systemd/system/ssh.service.d/lxcprov-hostkeys.conf 644 <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || exec /usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
ExecStartPre=/usr/sbin/sshd -t
EOF
  echo 'HostKey /etc/ssh/ssh_host_ed25519_key' | put etc/ssh/sshd_config.d/lxcprov-hostkey.conf 644
  # LDAP users resolve through nslcd once lxcprovd has written /etc/nslcd.conf (debconf is not
  # asked under debootstrap, so nsswitch is set here). Local files first: system accounts never
  # wait for the directory. root stays locked (debootstrap leaves "root:*"): access is by key.
  as_container_root '
# Units that cannot work in a container or would wait for hardware.
for unit in systemd-networkd-wait-online.service getty@tty1.service; do
  ln -sf /dev/null "etc/systemd/system/$unit"
done
chmod 700 root
mkdir -p root/.ssh
chmod 700 root/.ssh
for db in passwd group shadow; do
  grep -Eq "^$db:.*[[:space:]]ldap([[:space:]]|\$)" etc/nsswitch.conf ||
    sed -i -E "s/^($db:.*)\$/\1 ldap/" etc/nsswitch.conf
done
'
}

case "$distro" in
  busybox) build_busybox ;;
  debian) build_debian ;;
esac

if [ "$distro" = busybox ]; then
  # busybox init: SIGUSR2 = poweroff (what a container shutdown means), SIGTERM = reboot.
  halt=SIGUSR2
else
  # systemd halts on SIGRTMIN+3 (SIGPWR would reboot it).
  halt=SIGRTMIN+3
fi
umask 077
cat >"$dir/config" <<EOF
# Written by lxcprov's build-template.sh. lxcprovd writes each clone's network and confinement
# keys (lxc.idmap, seccomp, capabilities, devices) itself; these are the template's own.
lxc.arch = $(dpkg --print-architecture 2>/dev/null || uname -m)
lxc.rootfs.path = dir:$rootfs
lxc.uts.name = $name
lxc.net.0.type = empty
lxc.idmap = u 0 $first $count
lxc.idmap = g 0 $first $count
lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed
lxc.autodev = 1
lxc.tty.max = 0
lxc.pty.max = 1024
lxc.signal.halt = $halt
EOF
chmod 640 "$dir/config"

# The template must never carry an address, a host path or a host command of its own.
if grep -qE '^lxc\.(net\.[0-9]+\.ipv4|mount\.entry|include|hook)' "$dir/config"; then
  echo "build-template: template config has an address, a mount entry, an include or a hook; refusing" >&2
  exit 1
fi

printf 'want=%s\nbuilt=%s\n' "$want" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$marker"
echo "build-template: built $name ($distro, ids $first:$count) in $lxcpath"
