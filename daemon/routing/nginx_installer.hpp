#pragma once
// NginxInstaller: puts the rendered routes (routing/nginx_routes.hpp) in front of nginx, on this
// machine or another one: the same steps over whichever Host it is given (LocalHost, SshHost).
//   1. the current include file is read (absent: empty);
//   2. the new one replaces it durably (Host::replace_file);
//   3. the test command checks nginx's whole configuration; if it refuses, the previous file is
//      put back, so nginx's next start or reload still gets a configuration that worked;
//   4. the reload command; if that fails, the previous file is put back too.
// The text last installed while nginx was known to run it is remembered, and the same text again
// touches nothing. Serialized by a mutex. Messages are for users: nginx's own words (with host
// paths) go to the daemon log.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "host/host.hpp"
#include "routing/route_installer.hpp"

namespace lxcprov::routing {

struct NginxInstallerSettings {
  std::string include_file;                  ///< the file lxcprovd owns, included by nginx's config
  std::vector<std::string> test_command;     ///< e.g. {"/usr/sbin/nginx", "-t", "-q"}
  std::vector<std::string> reload_command;   ///< e.g. {"/usr/sbin/nginx", "-s", "reload"}
  std::chrono::milliseconds timeout{30000};  ///< per command
  /// The local nginx only: its pid file (nginx_pid_path, routing/nginx_routes.hpp). The reload then sends SIGHUP to the
  /// master it names, as `nginx -s reload` would, without starting another nginx (which loads OpenSSL and parses the
  /// whole configuration again, a few ms per route change). When the file names no live nginx
  /// master, the reload command runs instead. "": always the command (a remote nginx).
  std::string pid_file;
};

class NginxInstaller final : public routing::RouteInstaller {
 public:
  NginxInstaller(host::Host& host, NginxInstallerSettings settings) : host_(host), s_(std::move(settings)) {}

  /// Errc::unavailable when nginx refuses the file or cannot reload (the old file is back),
  /// Errc::io when the file cannot be written, or what the Host answered (unreachable, timeout,
  /// a refused host key).
  Status install(const std::string& routes) override;

 private:
  void restore(const std::string& previous);
  Result<host::ProcessResult> reload();
  /// Sends SIGHUP to the nginx master named by settings.pid_file, when it is one: false (nothing
  /// sent) otherwise.
  bool signal_master();

  host::Host& host_;
  NginxInstallerSettings s_;
  std::mutex mutex_;
  /// What nginx is known to run; reset by any failure after the file changed.
  std::optional<std::string> installed_;
};

/// The local nginx's commands: `nginx [-p prefix] -c conf` with `-t -q` or `-s reload`.
NginxInstallerSettings local_nginx_settings(const std::string& nginx, const std::string& prefix,
                                            const std::string& conf, const std::string& include_file,
                                            std::chrono::milliseconds timeout);

}  // namespace lxcprov::routing
