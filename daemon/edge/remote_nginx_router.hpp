#pragma once
// RemoteNginxRouter: the RouteInstaller for an nginx on another host, reached over SSH with libssh.
// One connection per install (measured: connect + key exchange + auth is a few ms on a LAN, far
// below nginx's own test + reload, and a fresh connection has no state to go stale):
//   1. the private key is read (regular file, owned by the daemon's user, no group/other bits);
//   2. connect; the server's host key must match the configured SHA256 pin before anything else
//      is sent (no known_hosts, no ssh_config, no agent);
//   3. public key auth;
//   4. fixed commands (network/remote_commands.hpp), built only from validated config values: the
//      file goes up on stdin and replaces the include atomically (old one kept aside), then the
//      test command; on a refusal the old file is put back; then the reload command (the old file
//      comes back if that fails too).
// The whole install is bounded by `timeout`. Serialized by a mutex.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "network/edges.hpp"
#include "network/remote_commands.hpp"

namespace lxcprov::edge {

struct RemoteNginxSettings {
  std::string host;
  uint16_t port = 22;
  std::string user = "root";
  std::string private_key_file;
  std::string host_key_sha256;  ///< "SHA256:..." (network::valid_host_key_pin)
  std::string include_file;     ///< on the remote host (network::safe_absolute_path)
  std::vector<std::string> test_command{"/usr/sbin/nginx", "-t", "-q"};
  std::vector<std::string> reload_command{"/usr/sbin/nginx", "-s", "reload"};
  std::chrono::milliseconds timeout{30000};
};

/// Where the time of the last install went (for the log and for measurements).
struct RemoteTimings {
  double connect_ms = 0;  ///< TCP + key exchange + host key check + auth
  double total_ms = 0;
};

class RemoteNginxRouter : public network::RouteInstaller {
 public:
  /// The settings must have passed config validation (the commands are built from them once here).
  explicit RemoteNginxRouter(RemoteNginxSettings settings);
  /// Errc::permission_denied: wrong host key or key refused (nothing was sent);
  /// Errc::unavailable: host unreachable, or nginx refused the file / could not reload (the old
  /// file is back); Errc::timeout: past `timeout`; Errc::io: the file could not be written there.
  /// Messages are for users; the details (nginx's message, fingerprints) go to the log.
  Status install(const std::string& routes) override;
  RemoteTimings last_timings() const;

 private:
  RemoteNginxSettings s_;
  network::RemoteNginxCommands commands_;
  mutable std::mutex mutex_;
  /// The text last installed and reloaded; an equal one is skipped. Reset by any failure after the
  /// upload started, since the remote file may then differ from what nginx runs.
  std::optional<std::string> installed_;
  RemoteTimings timings_;
};

}  // namespace lxcprov::edge
