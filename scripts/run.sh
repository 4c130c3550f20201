#!/usr/bin/env bash
# Sets up lxcprov on this machine and runs it on its embedded defaults:
#   ./scripts/run.sh          install deps, build, install, prepare the host (bridge lxcprov0,
#                             the Debian 12 template users get and a busybox one for quick
#                             tries, each built and sealed), create the login "demo", start sshd
#                             on 127.0.0.1:2222 and lxcprovd, and print the ssh command to try.
#   ./scripts/run.sh stop     stop lxcprovd and that sshd (containers and state are kept).
#   ./scripts/run.sh purge    stop, then destroy every lxcprov container, the state and the bridge.
# Running it twice is harmless. LXCPROV_DEMO_PASSWORD sets demo's password (else one is generated
# the first time and printed). The Debian template takes 1-2 min the first time (debootstrap from the
# Debian mirror, cached in /var/cache/lxcprov); LXCPROV_DEBIAN=0 skips it (busybox only).
set -euo pipefail

# The daemons started here outlive this script: they must not keep the caller's descriptors (a
# lock held with flock, a pipe someone waits on) open for ever. 255 is the script bash reads.
for fd in $(ls /proc/$$/fd); do
  if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

here=$(cd "$(dirname "$0")/.." && pwd)
etc=/etc/lxcprov
run=/run/lxcprov
lxcpath=/var/lib/lxcprov/lxc
logdir=/var/log/lxcprov
port=${LXCPROV_SSH_PORT:-2222}

[ "$(id -u)" = 0 ] || { echo "run.sh: run as root" >&2; exit 1; }

stop() {
  if [ -f $run/lxcprovd.pid ] && kill -0 "$(cat $run/lxcprovd.pid)" 2>/dev/null; then
    kill "$(cat $run/lxcprovd.pid)"
    for _ in $(seq 100); do kill -0 "$(cat $run/lxcprovd.pid)" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f $run/lxcprovd.pid
  if [ -f $etc/sshd/sshd.pid ] && kill -0 "$(cat $etc/sshd/sshd.pid)" 2>/dev/null; then
    kill "$(cat $etc/sshd/sshd.pid)"
  fi
  if [ -f $run/nginx.pid ] && kill -0 "$(cat $run/nginx.pid)" 2>/dev/null; then
    nginx -c $etc/nginx/nginx.conf -s quit || true
  fi
  echo "lxcprovd, its sshd and its nginx are stopped."
}

case "${1:-start}" in
  stop) stop; exit 0 ;;
  purge)
    stop
    for c in $(lxc-ls -P $lxcpath 2>/dev/null); do lxc-destroy -P $lxcpath -n "$c" -f >/dev/null 2>&1 || true; done
    rm -rf /var/lib/lxcprov
    # The port forwards live in lxcprov's own nftables table (config ports.table, default lxcprov).
    nft delete table inet lxcprov 2>/dev/null || true
    # The isolation (config isolation.table, default lxcprov_iso): a bridge and an inet table.
    nft delete table bridge lxcprov_iso 2>/dev/null || true
    nft delete table inet lxcprov_iso 2>/dev/null || true
    "$here/scripts/setup-host.sh" --remove || true
    echo "lxcprov state, containers and bridge removed."
    exit 0 ;;
  start) ;;
  *) echo "usage: run.sh [start|stop|purge]" >&2; exit 2 ;;
esac

"$here/scripts/install-deps.sh"

cmake -S "$here" -B "$here/build/release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$here/build/release" -j"$(nproc)" --target lxcprovd lxcprov-shell lxcprovctl
install -m 0755 "$here/build/release/daemon/lxcprovd" /usr/local/sbin/lxcprovd
install -m 0755 "$here/build/release/helpers/lxcprov-shell" /usr/local/bin/lxcprov-shell
install -m 0755 "$here/build/release/helpers/lxcprovctl" /usr/local/sbin/lxcprovctl
# What `lxcprovctl template build` runs (config templates.build_script).
install -d -m 0755 /usr/local/share/lxcprov
install -m 0755 "$here/scripts/build-template.sh" /usr/local/share/lxcprov/build-template.sh
# What systemd/lxcprovd.service runs before the daemon (the bridge, sysctls, accounts).
install -m 0755 "$here/scripts/setup-host.sh" /usr/local/share/lxcprov/setup-host.sh

install -d -m 0755 $etc $run
# Logs and the config are root's: 0640 and a 0750 directory (other local users read neither).
install -d -m 0750 $logdir
# 0711: containers run as the mapped ids (confinement.idmap), which must reach their rootfs in
# $lxcpath; everything else in it is 0600 or the containers' own.
install -d -m 0711 /var/lib/lxcprov
if [ ! -f $etc/lxcprovd.json ]; then
  install -m 0640 "$here/config/lxcprovd.json" $etc/lxcprovd.json
  # Without the Debian template, busybox is what users get.
  [ "${LXCPROV_DEBIAN:-1}" = 1 ] || sed -i 's/"default_distribution": "debian"/"default_distribution": "busybox"/' $etc/lxcprovd.json
fi
chmod 0640 $etc/lxcprovd.json   # also an older install's 0644
[ -f $etc/protocols.json ] || install -m 0644 "$here/config/protocols.json" $etc/protocols.json
# What a deploy may install (config deploy.runtimes_catalog / deploy.services_catalog).
[ -f $etc/runtimes.json ] || install -m 0644 "$here/config/runtimes.json" $etc/runtimes.json
[ -f $etc/services.json ] || install -m 0644 "$here/config/services.json" $etc/services.json

# nginx for the HTTP routes (NAME.<http.domain>): a private instance whose main config includes
# the one file lxcprovd writes. An admin's own nginx.conf is left alone when it exists.
install -d -m 0755 $etc/nginx
if [ ! -f $etc/nginx/nginx.conf ]; then
  cat > $etc/nginx/nginx.conf <<CONF
# nginx for lxcprov (written once by scripts/run.sh; yours to edit). lxcprovd rewrites only
# routes.conf, then runs nginx -t -c $etc/nginx/nginx.conf and sends SIGHUP to the master named
# by the pid line below.
pid $run/nginx.pid;
error_log $logdir/nginx-error.log;
worker_processes auto;
events {}
http {
  access_log $logdir/nginx-access.log;
  include $etc/nginx/routes.conf;
}
CONF
fi
[ -f $etc/nginx/routes.conf ] || : > $etc/nginx/routes.conf
if ! { [ -f $run/nginx.pid ] && kill -0 "$(cat $run/nginx.pid)" 2>/dev/null; }; then
  nginx -c $etc/nginx/nginx.conf || {
    echo "nginx did not start (is port 80 taken? set http.listen_port in $etc/lxcprovd.json)" >&2; exit 1; }
fi

"$here/scripts/setup-host.sh"
# Builds each template once and seals it (again: a rebuilt or unchanged template gets a fresh
# seal; a changed one that clones still depend on is refused). lxcprovd clones only a template
# that matches its seal.
/usr/local/sbin/lxcprovctl template build tpl-busybox --distro busybox
if [ "${LXCPROV_DEBIAN:-1}" = 1 ]; then
  /usr/local/sbin/lxcprovctl template build tpl-debian --distro debian
fi

if ! /usr/local/sbin/lxcprovctl user list | grep -qx demo; then
  password=${LXCPROV_DEMO_PASSWORD:-$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 16)}
  printf '%s\n' "$password" | /usr/local/sbin/lxcprovctl user add demo --password-stdin
  [ -n "${LXCPROV_DEMO_PASSWORD:-}" ] || echo "Created login demo with password: $password"
elif [ -n "${LXCPROV_DEMO_PASSWORD:-}" ]; then
  printf '%s\n' "$LXCPROV_DEMO_PASSWORD" | /usr/local/sbin/lxcprovctl user passwd demo --password-stdin
fi

"$here/scripts/setup-sshd.sh" --dir $etc/sshd --port "$port" --shell /usr/local/bin/lxcprov-shell \
  --socket $run/lxcprovd.sock --authorized-keys-dir $etc/authorized_keys --start
# Renders the accounts' root-owned authorized_keys from the key registry (empty at first).
/usr/local/sbin/lxcprovctl key sync

if ! { [ -f $run/lxcprovd.pid ] && kill -0 "$(cat $run/lxcprovd.pid)" 2>/dev/null; }; then
  touch $logdir/lxcprovd.log && chmod 0640 $logdir/lxcprovd.log
  setsid /usr/local/sbin/lxcprovd --config $etc/lxcprovd.json >>$logdir/lxcprovd.log 2>&1 </dev/null &
  echo $! > $run/lxcprovd.pid
  for _ in $(seq 100); do [ -S $run/lxcprovd.sock ] && break; sleep 0.05; done
  [ -S $run/lxcprovd.sock ] || { echo "lxcprovd did not start; see $logdir/lxcprovd.log" >&2; exit 1; }
fi

cat <<MSG

lxcprov is running (log: $logdir/lxcprovd.log). Try it:

  ssh -t -p $port create-container@127.0.0.1                   # asks for demo's password, a name, ...

  ssh -p $port -o SendEnv='PROXMOX_USERNAME PROXMOX_PASSWORD CONTAINER_NAME' create-container@127.0.0.1
      # with PROXMOX_USERNAME=demo PROXMOX_PASSWORD=... CONTAINER_NAME=web-1 exported: no prompts

  ssh -p $port -o SendEnv='PROXMOX_USERNAME PROXMOX_PASSWORD CONTAINER_NAME' container-exists@127.0.0.1
  ssh -p $port -o SendEnv='PROXMOX_USERNAME PROXMOX_PASSWORD CONTAINER_NAME' delete-container@127.0.0.1

  sshd itself asks nothing (keyboard-interactive with no prompt). In scripts, do not pass
  -o BatchMode=yes without a registered key: it turns keyboard-interactive off and sshd then
  refuses the login. Use -o PasswordAuthentication=no instead.

Log in by key instead of password (the key names the user; no password is asked):

  lxcprovctl key add demo < ~/.ssh/id_ed25519.pub
  ssh -t -p $port -i ~/.ssh/id_ed25519 create-container@127.0.0.1
  ssh -p $port -o BatchMode=yes -o IdentitiesOnly=yes -i ~/.ssh/id_ed25519 \
      -o SendEnv=CONTAINER_NAME container-exists@127.0.0.1     # with a key, BatchMode is fine

Stop it with: ./scripts/run.sh stop
MSG
