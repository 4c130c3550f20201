# The Debian package (docs/operations.md, "Install from a .deb"): `cpack -G DEB` in a build tree
# makes lxcprov_<version>_<arch>.deb from what the install rules below put under /usr and /etc.
# Why CPack and not a debian/ directory: docs/operations.md says it; in short, the .deb is built
# from the tree CI already compiled (no second compile on a 2-core machine), dpkg-shlibdeps still
# computes the library dependencies, and the maintainer scripts are plain files here.

include(GNUInstallDirs)

# cpack (and `make install`) package what is built, instead of first building every target,
# tests included: build lxcprovd, lxcprovctl and lxcprov-shell before `cpack -G DEB`.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

# Scripts the maintainer scripts and units run, and the template builder lxcprovctl runs.
install(PROGRAMS ${CMAKE_SOURCE_DIR}/scripts/build-template.sh ${CMAKE_SOURCE_DIR}/scripts/setup-host.sh
                 ${CMAKE_SOURCE_DIR}/scripts/setup-sshd.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/lxcprov)
install(FILES ${CMAKE_SOURCE_DIR}/docs/operations.md ${CMAKE_SOURCE_DIR}/docs/security.md
              ${CMAKE_SOURCE_DIR}/docs/protocol.md ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The units name /usr/local (scripts/run.sh installs there); installed, they name the prefix the
# files really are under (/usr in the package).
foreach(unit lxcprovd.service lxcprovd.socket lxcprov-sshd.service lxcprov-nginx.service)
  install(CODE "
    file(READ \"${CMAKE_SOURCE_DIR}/systemd/${unit}\" text)
    string(REPLACE \"/usr/local/\" \"\${CMAKE_INSTALL_PREFIX}/\" text \"\${text}\")
    file(WRITE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/${unit}\" \"\${text}\")
    message(STATUS \"Installing: \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/${unit}\")")
endforeach()

# Configuration: conffiles (dpkg keeps an admin's edits across upgrades and asks on conflicts).
# lxcprovd.json may hold an LDAP bind password or API credentials: never world-readable, not even
# between unpack and postinst.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/lxcprovd.json PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
        DESTINATION /etc/lxcprov)
install(FILES ${CMAKE_SOURCE_DIR}/config/protocols.json
              ${CMAKE_SOURCE_DIR}/config/runtimes.json ${CMAKE_SOURCE_DIR}/config/services.json
        DESTINATION /etc/lxcprov)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/nginx.conf DESTINATION /etc/lxcprov/nginx)
install(FILES ${CMAKE_SOURCE_DIR}/config/templates/nslcd.conf ${CMAKE_SOURCE_DIR}/config/templates/sssd.conf
              ${CMAKE_SOURCE_DIR}/config/templates/wazuh-agent.conf DESTINATION /etc/lxcprov/templates)
# sshd takes its PAM service name from argv[0]: this link runs it as lxcprov-sshd (setup-sshd.sh).
install(CODE "
  file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/sbin\")
  file(CREATE_LINK /usr/sbin/sshd \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/sbin/lxcprov-sshd\" SYMBOLIC)")
install(FILES ${CMAKE_CURRENT_LIST_DIR}/default RENAME lxcprov DESTINATION /etc/default)

set(LXCPROV_DEB_VERSION "${PROJECT_VERSION}" CACHE STRING "Version of the .deb (cpack -G DEB)")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lxcprov)
set(CPACK_PACKAGE_VERSION "${LXCPROV_DEB_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "lxcprov maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "LXC containers on request over ssh forced commands")
set(CPACK_PACKAGE_DESCRIPTION "lxcprovd creates, configures and deletes LXC containers and deploys apps into
them for people who reach it through OpenSSH forced commands (its own sshd instance), with
authentication, audit trail, port forwards, HTTP routes and isolation.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
# What the binaries run (nft, nginx, sshd, git, setpriv, ip, sysctl) and what the templates are
# built from (busybox-static, debootstrap); the libraries come from dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "lxc, nftables, nginx-light | nginx, openssh-server, openssh-client, iproute2, procps, passwd, git, util-linux, busybox-static, debootstrap, ca-certificates, init-system-helpers")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/deb/conffiles ${CMAKE_CURRENT_LIST_DIR}/deb/postinst
    ${CMAKE_CURRENT_LIST_DIR}/deb/prerm ${CMAKE_CURRENT_LIST_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
