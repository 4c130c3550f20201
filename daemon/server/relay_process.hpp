#pragma once
// RelayProcess: the ssh child an entry talks to a node through (fleet::relay_command), with pipes
// to its stdin and from its stdout and stderr. Spawned with fds 0-2 only and a minimal
// environment, so nothing of the daemon's reaches it.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"

namespace lxcprov::server {

struct RelayProcess {
  RelayProcess() = default;
  RelayProcess(RelayProcess&& o) noexcept;
  RelayProcess& operator=(RelayProcess&&) = delete;
  /// A process finish_relay() did not reap (its session ended some other way) is killed and
  /// reaped here.
  ~RelayProcess();
  pid_t pid = -1;
  Fd in, out, err;  ///< its stdin (write), stdout and stderr (read)
};

/// Starts argv[0] (an absolute path). Errc::unavailable when it cannot be started.
Result<RelayProcess> spawn_relay(const std::vector<std::string>& argv);

/// Closes its stdin, waits up to `grace_ms` for it to exit (0: SIGTERM at once, then up to 1 s),
/// then kills it, and reaps it. Returns
/// the last non-empty line of its stderr (ssh's reason when it could not connect), or "".
/// Blocking: call off the io thread.
std::string finish_relay(RelayProcess& p, int grace_ms);

}  // namespace lxcprov::server
