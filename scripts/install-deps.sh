#!/usr/bin/env bash
# Installs every build, run and test dependency from Debian packages. Idempotent: when every
# package is already installed it returns without touching apt.
set -euo pipefail

packages=(
  # build
  g++ cmake make pkg-config
  lxc-dev libssh-dev libboost-dev libboost-filesystem-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libsqlite3-dev libssl-dev
  libsystemd-dev libldap-dev
  # run
  lxc busybox-static debootstrap openssh-server openssh-client nftables iproute2 systemd sqlite3
  # test
  curl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
