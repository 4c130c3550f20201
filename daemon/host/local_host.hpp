#pragma once
// LocalHost: the Host of this machine (host/host.hpp). Files through open/fsync/rename with
// O_NOFOLLOW; programs through posix_spawn (no fork of the threaded daemon), each the leader of
// its own process group so a timeout kills what it started too; another user through setpriv.
// Thread-safe.

#include "host/host.hpp"

namespace lxcprov::host {

class LocalHost final : public Host {
 public:
  /// Output kept from one program run.
  static constexpr std::size_t max_output = 64 * 1024;

  Result<std::string> read_file(const std::string& path) override;
  Status replace_file(const std::string& path, std::string_view content, const FileMode& mode) override;
  Result<ProcessResult> run(const std::vector<std::string>& argv, std::string_view input,
                            std::chrono::milliseconds timeout) override;
  /// Another user through setpriv(1) (util-linux), so the spawn stays a posix_spawn.
  Result<ProcessResult> run_as(const std::vector<std::string>& argv, const RunAsOptions& options) override;
};

}  // namespace lxcprov::host
