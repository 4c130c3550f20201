#!/bin/sh
# setup-host.sh: prepares the host for lxcprov containers. Idempotent: every step checks first.
#   - a Linux bridge for the containers' veth pairs (no DHCP: containers get static IPs from
#     their LXC config), with the gateway address on it;
#   - net.ipv4.ip_forward=1 (containers route through the host);
#   - fs.inotify.max_user_instances >= 1024 (privileged systemd containers all count against
#     root's limit; at 128 about 1 in 10 of 30 Debian containers fails to boot);
#   - cgroups mounted the way LXC needs them, and overlayfs available (snapshot clones);
#   - the system user the repository check runs git as (deploy.git.check_user; never root).
# Usage: setup-host.sh [--bridge NAME] [--address CIDR] [--git-user NAME] [--remove]
set -eu

bridge=lxcprov0
address=10.47.0.1/24
remove=0
git_user=lxcprov-git

usage() {
  echo "usage: $0 [--bridge NAME] [--address A.B.C.D/N] [--git-user NAME] [--remove]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --bridge) [ $# -ge 2 ] || usage; bridge=$2; shift 2 ;;
    --address) [ $# -ge 2 ] || usage; address=$2; shift 2 ;;
    --git-user) [ $# -ge 2 ] || usage; git_user=$2; shift 2 ;;
    --remove) remove=1; shift ;;
    -h|--help) usage ;;
    *) usage ;;
  esac
done

# IFNAMSIZ is 16 including the NUL; keep the name to characters ip(8) accepts without quoting.
case "$bridge" in
  ''|*[!A-Za-z0-9_.-]*) echo "setup-host: bad bridge name: $bridge" >&2; exit 2 ;;
esac
if [ ${#bridge} -gt 15 ]; then
  echo "setup-host: bridge name longer than 15 characters: $bridge" >&2
  exit 2
fi

case "$git_user" in
  ''|root|[!a-z_]*|*[!a-z0-9_-]*) echo "setup-host: bad git user name: $git_user" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host: must run as root" >&2
  exit 1
fi

if [ "$remove" -eq 1 ]; then
  if ip link show dev "$bridge" >/dev/null 2>&1; then
    ip link delete dev "$bridge" type bridge
    echo "setup-host: removed bridge $bridge"
  fi
  exit 0
fi

case "$address" in
  */*) ;;
  *) echo "setup-host: --address needs a prefix length, e.g. 10.47.0.1/24" >&2; exit 2 ;;
esac

# Bridge. "ip link add" fails if it exists, so check first (idempotence).
if ! ip link show dev "$bridge" >/dev/null 2>&1; then
  ip link add name "$bridge" type bridge
  echo "setup-host: created bridge $bridge"
fi
if ! ip -4 -o addr show dev "$bridge" | awk '{print $4}' | grep -qx "$address"; then
  ip addr add "$address" dev "$bridge"
fi
ip link set dev "$bridge" up

# Sysctls: only ever raise the inotify limit, never lower what an operator set.
sysctl -q -w net.ipv4.ip_forward=1
cur=$(sysctl -n fs.inotify.max_user_instances)
if [ "$cur" -lt 1024 ]; then
  sysctl -q -w fs.inotify.max_user_instances=1024
fi

# cgroups: LXC needs either a cgroup2 mount or v1 hierarchies under /sys/fs/cgroup. PID 1 is
# not always systemd here, so nothing may have mounted them.
if ! grep -qE '^[^ ]+ /sys/fs/cgroup(/[^ ]*)? cgroup2? ' /proc/mounts; then
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
  echo "setup-host: mounted cgroup2 on /sys/fs/cgroup"
fi

# overlayfs backs the snapshot clones.
if ! grep -qw overlay /proc/filesystems; then
  modprobe overlay 2>/dev/null || true
  if ! grep -qw overlay /proc/filesystems; then
    echo "setup-host: the kernel has no overlayfs; snapshot clones cannot work" >&2
    exit 1
  fi
fi

# The repository check (docs/security.md, "Repositories") runs git as this user: no home, no
# login shell, no password; it owns only the check's temporary directories while they exist.
if ! getent passwd "$git_user" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$git_user"
  echo "setup-host: created user $git_user"
fi

# The daemon socket's group (config socket_group; the socket is 0660 root:lxcprov): setup-sshd.sh
# makes the ssh accounts its members.
getent group lxcprov >/dev/null || groupadd --system lxcprov

echo "setup-host: ok bridge=$bridge address=$address git-user=$git_user"
