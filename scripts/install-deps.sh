#!/usr/bin/env bash
# Installs every build, run and test dependency from Debian packages. Idempotent: when every
# package is already installed it returns without touching apt.
set -euo pipefail

packages=(
  # build
  g++ cmake make pkg-config clang-format
  lxc-dev libssh-dev libboost-dev libboost-filesystem-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libsqlite3-dev libssl-dev
  libsystemd-dev libldap-dev libnftables-dev libpq-dev
  # the .deb (cpack -G DEB: dpkg-shlibdeps finds the ELF files with file(1); packaging/package.cmake)
  dpkg-dev file
  # run
  lxc busybox-static debootstrap openssh-server openssh-client nftables iproute2 systemd sqlite3
  nginx-light
  # the repository check: git, run through setpriv and prlimit (util-linux, essential)
  git util-linux
  # test (slapd and ldap-utils: the LDAP tests start their own throwaway slapd on loopback;
  # python3: tests/fixtures/wazuh_test_server.py, the stand-in Wazuh manager and the sample apps;
  # fcgiwrap: tests/fixtures/git_server.cpp serves git over https through nginx + git-http-backend;
  # nodejs: the sample apps' host-side test; sshpass: the deploy tests call update-container
  # the way the old CI client does, `sshpass -p ... ssh`)
  curl slapd ldap-utils openssl python3 fcgiwrap nodejs sshpass
  # postgresql: the fleet's shared state; the store and fleet tests start their own server on a
  # temp dir (tests/fixtures/pg_server.cpp), never the system cluster
  postgresql
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

export DEBIAN_FRONTEND=noninteractive
# slapd's postinst would otherwise ask for a domain and an admin password. The tests never use the
# system instance (they run their own slapd on a temp dir), so it is left unconfigured.
if command -v debconf-set-selections >/dev/null; then
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
