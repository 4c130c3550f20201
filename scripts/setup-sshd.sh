#!/usr/bin/env bash
# Renders lxcprov's sshd configuration and (with --start) runs an sshd with it.
#
#   setup-sshd.sh --dir DIR --port PORT --shell PATH --socket PATH [--listen ADDR]
#                 [--authorized-keys-dir DIR] [--login-grace S] [--per-source N] [--max-startups N]
#                 [--sshd-link PATH] [--fleet-entry-key FILE] [--start]
#
# - Creates the ssh accounts create-container, container-exists and delete-container (system users,
#   password '*' so that no password ever matches and sshd's "none" method fails; no home directory
#   contents that ssh would read), all members of the group lxcprov, the group of the daemon's
#   socket (0660; config socket_group).
# - Limits before authentication, matching the daemon's (docs/security.md, "Denial of service
#   before authentication"): LoginGraceTime = auth_timeout_s (--login-grace, 30),
#   PerSourceMaxStartups = max_unauthenticated_per_source (--per-source, 32) per
#   PerSourceNetBlockSize 32:64, MaxStartups full at max_sessions - reserved_sessions
#   (--max-startups, 224).
# - Authentication (docs/security.md, "How a session authenticates"): AuthenticationMethods
#   "publickey keyboard-interactive" (either). A key from the root-owned authorized_keys binds the
#   session to the key's owner; anyone else gets keyboard-interactive, which sshd answers through
#   the PAM service lxcprov-sshd (pam_permit for these three accounts only, no prompt), and the
#   forced command then asks for the person's lxcprov password itself. sshd takes its PAM service
#   name from argv[0], so it runs as the link /usr/local/sbin/lxcprov-sshd -> /usr/sbin/sshd
#   (--sshd-link: the Debian package's is /usr/sbin/lxcprov-sshd, a file of the package).
#   OpenSSH clients turn keyboard-interactive off under BatchMode=yes: without a registered key,
#   leave BatchMode out (the server asks nothing, so nothing can wait for an answer).
# - Writes DIR/sshd_config: one Match block per account with ForceCommand, the exact AcceptEnv
#   names of its operation (no wildcards), and every kind of forwarding, user rc and user
#   environment off.
# - --fleet-entry-key FILE (a fleet node, docs/operations.md "A fleet"): also the account
#   lxcprov-fleet, which only the entry's key (FILE, its public key) logs in to, by publickey alone,
#   and whose forced command relays the entry's session to the daemon
#   (lxcprov-shell --relay). The daemon believes the identity such a session asserts
#   (fleet.relay_account), and no other peer's.
# - Public keys are read only from --authorized-keys-dir/<account> (default /etc/lxcprov/authorized_keys):
#   root-owned files that `lxcprovctl key add|del` renders (restrict,pty,command=...); the accounts'
#   home directories are never consulted, so neither users nor the accounts can add a key.
set -euo pipefail

dir= port=2222 shell= socket=/run/lxcprov/lxcprovd.sock listen=127.0.0.1 start=0
keys_dir=/etc/lxcprov/authorized_keys login_grace=30 per_source=32 max_startups=224
sshd_bin=/usr/local/sbin/lxcprov-sshd fleet_key=
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --shell) shell=$2; shift 2 ;;
    --socket) socket=$2; shift 2 ;;
    --listen) listen=$2; shift 2 ;;
    --authorized-keys-dir) keys_dir=$2; shift 2 ;;
    --login-grace) login_grace=$2; shift 2 ;;
    --per-source) per_source=$2; shift 2 ;;
    --max-startups) max_startups=$2; shift 2 ;;
    --sshd-link) sshd_bin=$2; shift 2 ;;
    --fleet-entry-key) fleet_key=$2; shift 2 ;;
    --start) start=1; shift ;;
    *) echo "setup-sshd.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$dir" ] && [ -n "$shell" ] || { echo "setup-sshd.sh: --dir and --shell are required" >&2; exit 2; }

# The environment variables each operation reads (mirrors request::accepted_env).
common="PROXMOX_USERNAME PROXMOX_PASSWORD GH_ACTION"
create_env="$common CONTAINER_NAME LINUX_DISTRIBUTION HTTP_PORT PUBLIC_KEY SSH_KEY_FP CONTAINER_PASSWORD \
DEPLOY_ON_START PROJECT_REPOSITORY PROJECT_BRANCH PROJECT_ROOT REQUIRE_ENV_VARS CONTAINER_ENV_VARS \
INSTALL_COMMAND BUILD_COMMAND START_COMMAND RUNTIME_LANGUAGE SERVICES REQUIRE_SERVICES CUSTOM_SERVICES \
MULTI_COMPONENT ROOT_START_COMMAND GITHUB_PAT SELF_HOSTED_RUNNER VERSIONS_DICT EXTRA_PROTOCOLS PROJECT_TOKEN"
exists_env="$common CONTAINER_NAME PROJECT_REPOSITORY DEPLOY_ON_START"
delete_env="$common CONTAINER_NAME PROJECT_REPOSITORY GITHUB_PAT"
update_env="$common CONTAINER_NAME PROJECT_BRANCH PROJECT_ROOT PROJECT_REPOSITORY INSTALL_COMMAND BUILD_COMMAND \
START_COMMAND RUNTIME_LANGUAGE MULTI_COMPONENT ROOT_START_COMMAND DEPLOY_ON_START SERVICES CUSTOM_SERVICES \
REQUIRE_SERVICES LINUX_DISTRIBUTION HTTP_PORT CONTAINER_ENV_VARS REQUIRE_ENV_VARS GITHUB_PAT PROJECT_TOKEN"

# The socket's group: root and these accounts may connect (SO_PEERCRED still decides who is served).
getent group lxcprov >/dev/null || groupadd --system lxcprov

accounts="create-container container-exists delete-container update-container"
[ -z "$fleet_key" ] || accounts="$accounts lxcprov-fleet"
for account in $accounts; do
  # Home "/": it exists (a missing home makes sshd print "Could not chdir to home directory" into
  # every session's stderr, which the forced command's output must not carry) and is root's, so
  # nothing there is the account's to write. usermod repairs accounts made by older versions.
  if ! id "$account" >/dev/null 2>&1; then
    useradd --system --shell /bin/sh --home-dir / --no-create-home "$account"
  elif [ "$(getent passwd "$account" | cut -d: -f6)" != / ]; then
    usermod --home / "$account"
  fi
  usermod -p '*' "$account"   # not empty: "none" must fail so that clients go on to publickey
  id -nG "$account" | tr ' ' '\n' | grep -qx lxcprov || usermod -aG lxcprov "$account"
done

# sshd names its PAM service after argv[0]: this link runs it as the service lxcprov-sshd, whose
# auth stack lets exactly the four accounts through without a prompt (AllowUsers in the config
# admits no one else either) and whose password stack refuses any change.
[ "$(readlink "$sshd_bin" 2>/dev/null)" = /usr/sbin/sshd ] || ln -sfn /usr/sbin/sshd "$sshd_bin"
cat > /etc/pam.d/lxcprov-sshd.new <<'PAM'
# Generated by lxcprov scripts/setup-sshd.sh for the sshd it runs as /usr/local/sbin/lxcprov-sshd:
# keyboard-interactive succeeds without a question for the lxcprov ssh accounts (their forced
# command authenticates the person itself) and for no other account.
auth     required pam_succeed_if.so quiet user in create-container:container-exists:delete-container:update-container
auth     required pam_permit.so
account  required pam_succeed_if.so quiet user in create-container:container-exists:delete-container:update-container:lxcprov-fleet
account  required pam_permit.so
session  required pam_permit.so
password required pam_deny.so
PAM
mv /etc/pam.d/lxcprov-sshd.new /etc/pam.d/lxcprov-sshd

mkdir -p "$dir" /run/sshd
# sshd (StrictModes) refuses key files in a directory anyone but root may write.
install -d -m 0755 -o root -g root "$keys_dir"
chmod 755 "$dir"
[ -f "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key"
allow_users="create-container container-exists delete-container update-container"
fleet_match=
if [ -n "$fleet_key" ]; then
  key_line=$(grep -m1 -E '^(ssh-ed25519|ecdsa-sha2-[a-z0-9]+|ssh-rsa) [A-Za-z0-9+/=]+' "$fleet_key") ||
    { echo "setup-sshd.sh: $fleet_key holds no public key" >&2; exit 2; }
  printf 'restrict %s\n' "$key_line" > "$keys_dir/lxcprov-fleet.new"
  chmod 0644 "$keys_dir/lxcprov-fleet.new"
  mv "$keys_dir/lxcprov-fleet.new" "$keys_dir/lxcprov-fleet"
  allow_users="$allow_users lxcprov-fleet"
  fleet_match="
Match User lxcprov-fleet
  AuthenticationMethods publickey
  # The entry keeps one connection per node and opens every relayed session in it.
  MaxSessions $max_startups
  PermitTTY no
  ForceCommand $shell --socket $socket --relay"
fi

cat > "$dir/sshd_config.new" <<CONF
# Generated by lxcprov scripts/setup-sshd.sh: do not edit, re-run the script.
Port $port
ListenAddress $listen
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
UsePAM yes
PermitRootLogin no
AllowUsers $allow_users
# Either a registered key or keyboard-interactive (PAM lxcprov-sshd: no prompt); never "none".
AuthenticationMethods publickey keyboard-interactive
PubkeyAuthentication yes
AuthorizedKeysFile $keys_dir/%u
AuthorizedPrincipalsFile none
AuthorizedKeysCommand none
HostbasedAuthentication no
GSSAPIAuthentication no
PasswordAuthentication no
PermitEmptyPasswords no
KbdInteractiveAuthentication yes
DisableForwarding yes
AllowAgentForwarding no
AllowTcpForwarding no
AllowStreamLocalForwarding no
X11Forwarding no
PermitTunnel no
PermitUserRC no
PermitUserEnvironment no
ExposeAuthInfo yes
StrictModes yes
# Each unregistered key a client offers counts; clients with a few keys must still reach
# keyboard-interactive. Nothing is guessed here (the daemon throttles password failures).
MaxAuthTries 10
# Before authentication, matching lxcprovd (docs/security.md, "Denial of service before
# authentication"): one address may hold $per_source connections that have not authenticated
# (enough for automation that opens a burst of sessions at once from one address; 10 dropped
# 20 parallel creates)
# (an IPv6 /64 counts as one address), all together at most $max_startups (automation opens many
# sessions at once: random early drop only from half of that), each for $login_grace s.
MaxStartups $((max_startups / 2)):30:$max_startups
PerSourceMaxStartups $per_source
PerSourceNetBlockSize 32:64
LoginGraceTime $login_grace
ClientAliveInterval 30

Match User create-container
  PermitTTY yes
  ForceCommand $shell --socket $socket create
  AcceptEnv $create_env

Match User container-exists
  PermitTTY yes
  ForceCommand $shell --socket $socket exists
  AcceptEnv $exists_env

Match User delete-container
  PermitTTY yes
  ForceCommand $shell --socket $socket delete
  AcceptEnv $delete_env

Match User update-container
  PermitTTY yes
  ForceCommand $shell --socket $socket update
  AcceptEnv $update_env
$fleet_match
CONF
$sshd_bin -t -f "$dir/sshd_config.new"
mv "$dir/sshd_config.new" "$dir/sshd_config"

if [ "$start" = 1 ]; then
  running=
  if [ -f "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; then running=$(cat "$dir/sshd.pid"); fi
  # The listener's title ("lxcprov-sshd: /usr/local/sbin/lxcprov-sshd -f ...") names its argv[0].
  title=$( [ -z "$running" ] || tr '\0' ' ' < /proc/"$running"/cmdline)
  if [ -n "$running" ] && [[ "$title" == "lxcprov-sshd: $sshd_bin "* ]]; then
    kill -HUP "$running"   # re-read the config (the re-exec keeps argv[0], so the PAM service)
  else
    # Not running, or started as /usr/sbin/sshd by an older version (PAM service "sshd", whose
    # pam_unix would ask for the accounts' password): start it afresh under the link.
    if [ -n "$running" ]; then
      kill "$running"
      for _ in $(seq 50); do kill -0 "$running" 2>/dev/null || break; sleep 0.1; done
    fi
    "$sshd_bin" -f "$dir/sshd_config" -E "$dir/sshd.log"
  fi
fi
