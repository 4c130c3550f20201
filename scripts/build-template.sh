#!/bin/sh
# build-template.sh: builds a stopped template container that lxcprov snapshot-clones (overlayfs).
# Idempotent: a template sealed with the marker file is left alone; an unsealed one (a build that
# died half-way) is destroyed and rebuilt.
#
# The template has no IPv4 address and no veth of its own (lxc.net.0.type = empty): each clone
# gets lxc.net.0.* (bridge, static IP, gateway, MAC) from lxcprovd. So nothing in the rootfs may
# run a DHCP client or wait for one.
#
# Usage: build-template.sh --lxcpath PATH --name NAME [--distro busybox|debian] [--mirror URL]
# The naming convention is tpl-<distro>.
set -eu

lxcpath=
name=
distro=busybox
mirror=http://deb.debian.org/debian
suite=bookworm
marker_name=.lxcprov-template-sealed
# What the debian template holds: systemd as init, sshd, and the LDAP login client lxcprov's
# "ldap-login" step configures (nslcd with its NSS and PAM modules: one small daemon, no caches or
# sub-services to go wrong in a container; lxcprov selects it with container_ldap.clients).
# Nothing is installed in the container at create time, so whatever a container needs is here.
debian_packages=systemd,systemd-sysv,dbus,openssh-server,iproute2,iputils-ping,ca-certificates,procps,less
debian_packages=$debian_packages,nslcd,libnss-ldapd,libpam-ldapd

usage() {
  echo "usage: $0 --lxcpath PATH --name NAME [--distro busybox|debian] [--mirror URL]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --lxcpath) [ $# -ge 2 ] || usage; lxcpath=$2; shift 2 ;;
    --name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
    --distro) [ $# -ge 2 ] || usage; distro=$2; shift 2 ;;
    --mirror) [ $# -ge 2 ] || usage; mirror=$2; shift 2 ;;
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
if [ "$(id -u)" -ne 0 ]; then
  echo "build-template: must run as root" >&2
  exit 1
fi

dir=$lxcpath/$name
rootfs=$dir/rootfs
marker=$dir/$marker_name

if [ -f "$marker" ]; then
  echo "build-template: $name already built ($(cat "$marker"))"
  # Not rebuilt behind the operator's back: running containers are snapshot clones of it.
  if [ "$distro" = debian ] && ! grep -q " packages=$debian_packages\$" "$marker"; then
    echo "build-template: $name was built with another package set; destroy it to rebuild" >&2
  fi
  exit 0
fi
mkdir -p "$lxcpath"
if [ -e "$dir" ]; then
  echo "build-template: $name exists but is not sealed; rebuilding" >&2
  lxc-destroy -P "$lxcpath" -n "$name" >/dev/null 2>&1 || rm -rf -- "$dir"
fi

# On any failure below, remove the half-built template so the next run starts clean.
cleanup() {
  rc=$?
  if [ "$rc" -ne 0 ] && [ ! -f "$marker" ]; then
    lxc-destroy -P "$lxcpath" -n "$name" >/dev/null 2>&1 || rm -rf -- "$dir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# Base config given to lxc-create -f instead of /etc/lxc/default.conf (which puts a veth on
# lxcbr0). "empty" means: own network namespace with only lo, so starting the template by mistake
# neither shares the host's network nor claims an address.
base_conf=$(mktemp)
printf 'lxc.net.0.type = empty\n' >"$base_conf"

build_busybox() {
  lxc-create -P "$lxcpath" -n "$name" -f "$base_conf" -t busybox >/dev/null
  rm -f "$base_conf"

  # rcS as built runs udhcpc in the foreground; with no DHCP server sysinit never finishes and a
  # graceful stop never works. LXC configures eth0 (address, gateway) before init runs.
  cat >"$rootfs/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# lxcprov: the address comes from the LXC config (lxc.net.0.ipv4.*); no DHCP client here.
/bin/mount -a
/bin/syslogd
/bin/ip link set lo up 2>/dev/null
h=$(/bin/hostname)
/bin/grep -q "[[:space:]]$h\$" /etc/hosts || echo "127.0.1.1	$h" >>/etc/hosts
EOF
  chmod 744 "$rootfs/etc/init.d/rcS"

  # The template appends to these files; rewrite them so a rebuild is deterministic.
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:root\n' >"$rootfs/etc/group"
  # shadow as built is empty, so busybox passwd has no root entry to lock. "*" = no password
  # login possible; "passwd -l root" turns it into "!*". Fields: name:hash:lastchg:min:max:warn:::
  printf 'root:*:19000:0:99999:7:::\n' >"$rootfs/etc/shadow"
  chmod 644 "$rootfs/etc/passwd" "$rootfs/etc/group"
  chmod 600 "$rootfs/etc/shadow"
  chown 0:0 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/shadow"

  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
  # LXC's clone rewrites /etc/hostname with the clone's name (only if the file exists).
  printf '%s\n' "$name" >"$rootfs/etc/hostname"
  : >"$rootfs/etc/resolv.conf"

  # Deploy steps write /root/.ssh/authorized_keys.
  chmod 700 "$rootfs/root"
  mkdir -p "$rootfs/root/.ssh"
  chmod 700 "$rootfs/root/.ssh"

  # busybox init: SIGUSR1 = halt, SIGUSR2 = poweroff, SIGTERM = reboot. Poweroff is what a
  # container shutdown means; with a static IP sysinit finishes, so the signal is acted on.
  config=$dir/config
  sed -i -e '/^lxc.signal.halt/d' -e '/^lxc.signal.reboot/d' "$config"
  printf 'lxc.signal.halt = SIGUSR2\nlxc.signal.reboot = SIGTERM\n' >>"$config"
}

build_debian() {
  command -v debootstrap >/dev/null || {
    echo "build-template: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1
  }
  # No lxc-templates package here: lay the container out by hand (config + rootfs).
  mkdir -p "$dir"
  chmod 700 "$dir"
  debootstrap --variant=minbase \
    --include="$debian_packages" \
    "$suite" "$rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 || {
      echo "build-template: debootstrap failed; last lines:" >&2
      tail -n 20 "$dir/debootstrap.log" >&2
      exit 1
    }
  rm -f "$dir/debootstrap.log"

  # Network: LXC sets the address and gateway on eth0 before systemd starts. No ifupdown, no
  # networkd DHCP, so nothing waits 60 s for a lease.
  mkdir -p "$rootfs/etc/network"
  printf 'auto lo\niface lo inet loopback\n\niface eth0 inet manual\n' >"$rootfs/etc/network/interfaces"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
  printf '%s\n' "$name" >"$rootfs/etc/hostname"
  # nameserver: operator's choice; start with the host's if it has a usable one.
  : >"$rootfs/etc/resolv.conf"

  # Each clone must get its own identity: empty machine-id (systemd generates one at boot) and
  # no SSH host keys (generated on first start, so clones never share a host key).
  : >"$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  # Only an ed25519 host key: `ssh-keygen -A` also makes RSA-3072 and ECDSA keys, which took
  # 0.6 s of every Debian boot here (systemd-analyze blame: ssh.service), for keys clients need not.
  mkdir -p "$rootfs/etc/systemd/system/ssh.service.d" "$rootfs/etc/ssh/sshd_config.d"
  printf '%s\n' '[Service]' 'ExecStartPre=' \
    "ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || exec /usr/bin/ssh-keygen -q -t ed25519 -N \"\" -f /etc/ssh/ssh_host_ed25519_key'" \
    'ExecStartPre=/usr/sbin/sshd -t' >"$rootfs/etc/systemd/system/ssh.service.d/lxcprov-hostkeys.conf"
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\n' >"$rootfs/etc/ssh/sshd_config.d/lxcprov-hostkey.conf"
  # Units that cannot work in a container or would wait for hardware.
  for unit in systemd-networkd-wait-online.service getty@tty1.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  chmod 700 "$rootfs/root"
  mkdir -p "$rootfs/root/.ssh"
  chmod 700 "$rootfs/root/.ssh"
  # root stays locked (debootstrap leaves "root:*"); access is by key only.

  # LDAP users resolve through nslcd once lxcprov has written /etc/nslcd.conf (the packages'
  # debconf answers are not asked under debootstrap, so nsswitch is set here). Local files first:
  # system accounts never wait for the directory. The template's own nslcd.conf points at a
  # placeholder server; the ldap-login step replaces it in each container.
  for db in passwd group shadow; do
    grep -Eq "^$db:.*[[:space:]]ldap([[:space:]]|\$)" "$rootfs/etc/nsswitch.conf" ||
      sed -i -E "s/^($db:.*)\$/\1 ldap/" "$rootfs/etc/nsswitch.conf"
  done

  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

  cat >"$dir/config" <<EOF
lxc.include = /usr/share/lxc/config/common.conf
lxc.arch = $(dpkg --print-architecture)
lxc.rootfs.path = dir:$rootfs
lxc.uts.name = $name
lxc.net.0.type = empty
lxc.tty.max = 4
lxc.pty.max = 1024
lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed
# systemd halts on SIGRTMIN+3 (SIGPWR would reboot it).
lxc.signal.halt = SIGRTMIN+3
lxc.autodev = 1
EOF
  rm -f "$base_conf"
}

case "$distro" in
  busybox) build_busybox ;;
  debian) build_debian ;;
esac

# The template must never carry an address of its own.
if grep -qE '^lxc\.net\.[0-9]+\.ipv4' "$dir/config"; then
  echo "build-template: template config has an ipv4 address; refusing" >&2
  exit 1
fi

packages=
if [ "$distro" = debian ]; then packages=" packages=$debian_packages"; fi
printf 'distro=%s built=%s%s\n' "$distro" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$packages" >"$marker"
echo "build-template: built $name ($distro) in $lxcpath"
