#pragma once
// NginxRouter: the local RouteInstaller. Replaces the include file atomically (temp file, fsync,
// rename, fsync of the directory), checks the whole configuration with `nginx -t`, then reloads
// (`nginx -s reload`, which signals the master named in the config's pid file). If the test or the
// reload fails, the previous file is put back, so nginx's next start or reload still gets a
// configuration that worked. Serialized by a mutex.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "network/edges.hpp"

namespace lxcprov::edge {

struct NginxSettings {
  std::string nginx = "/usr/sbin/nginx";
  std::string conf;          ///< main config (-c) that includes `include_file`
  std::string prefix;        ///< -p; "" = nginx's default
  std::string include_file;  ///< the file lxcprovd owns
  std::chrono::milliseconds timeout{30000};
};

class NginxRouter : public network::RouteInstaller {
 public:
  explicit NginxRouter(NginxSettings settings) : s_(std::move(settings)) {}
  /// Errc::unavailable when nginx refuses the file or cannot reload (the old file is back),
  /// Errc::io when the file cannot be written. Details go to the log.
  Status install(const std::string& routes) override;

 private:
  std::vector<std::string> nginx_argv(std::initializer_list<std::string> extra) const;
  Status restore(const std::optional<std::string>& previous);

  NginxSettings s_;
  std::mutex mutex_;
  /// The file on disk is known to be what nginx runs. Until the first successful install (and
  /// after a failed reload) an unchanged file is tested and reloaded anyway: a crash between
  /// writing and reloading leaves the two apart.
  bool in_sync_ = false;
};

}  // namespace lxcprov::edge
