#pragma once
// SshHost: the Host of another machine (host/host.hpp), reached over SSH with libssh, for an nginx
// that runs elsewhere. What it trusts and sends:
//   1. the private key is read by us (a regular file, owned by the daemon's user, no group/other
//      bits, never through a symlink);
//   2. the server's host key must match the configured SHA256 pin before anything else is sent
//      (no known_hosts, no ssh_config, no agent);
//   3. public key authentication;
//   4. fixed commands (host/ssh_commands.hpp), built only from checked paths and argv words; file
//      contents travel on stdin.
// One connection, opened on first use and kept; a call that finds it broken reconnects once.
// Every call is bounded by `timeout` (connect, key exchange, auth and the command together).
// Calls are serialized by a mutex.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "host/host.hpp"

namespace lxcprov::host {

struct SshHostSettings {
  std::string host;
  uint16_t port = 22;
  std::string user = "root";
  std::string private_key_file;
  std::string host_key_sha256;  ///< "SHA256:..." (valid_host_key_pin)
  std::chrono::milliseconds timeout{30000};
};

class SshHost final : public Host {
 public:
  /// The settings must have passed config validation.
  explicit SshHost(SshHostSettings settings);
  ~SshHost() override;

  /// Errc::not_found when the file does not exist (or is not a regular file).
  Result<std::string> read_file(const std::string& path) override;
  Status replace_file(const std::string& path, std::string_view content, const FileMode& mode) override;
  /// Every word of argv must be shell-safe (ssh_commands.hpp): the remote account's shell reads it.
  Result<ProcessResult> run(const std::vector<std::string>& argv, std::string_view input,
                            std::chrono::milliseconds timeout) override;
  /// Refused (Errc::internal): environment entries would have to travel in the command line.
  Result<ProcessResult> run_as(const std::vector<std::string>& argv, const RunAsOptions& options) override;

  /// Errc::permission_denied: wrong host key or key refused (nothing was sent);
  /// Errc::unavailable: unreachable; Errc::timeout. Messages are for users (no paths, no keys).
  Status connect_now();

  static constexpr std::size_t max_output = 64 * 1024;

 private:
  struct Session;
  // Both with mutex_ held.
  Status connect_locked();
  Result<ProcessResult> exec(const std::string& command, std::string_view input, std::chrono::milliseconds timeout);

  SshHostSettings s_;
  std::mutex mutex_;
  std::unique_ptr<Session> session_;
};

}  // namespace lxcprov::host
