#pragma once
// The one loop that talks to a child process lxcprov started, on this host (LocalHost::run) or in
// a container (LiblxcRuntime::run, through liblxc attach): it writes the input to the child's
// stdin, collects what the child writes to its stdout/stderr pipe up to a bound (optionally
// handing each chunk on as it arrives, for output streamed to a user), and waits for the child
// to exit, everything before one deadline. Blocks the calling thread; no state of its own.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/fd.hpp"

namespace lxcprov::host {

struct PumpOptions {
  std::string_view input;  ///< written to stdin, then stdin is closed
  std::chrono::steady_clock::time_point deadline;
  std::size_t max_output = 64 * 1024;               ///< output beyond this is dropped (truncated)
  std::function<void(std::string_view)> on_output;  ///< each chunk as read; may be empty
  bool kill_group = true;  ///< at the deadline also kill the child's process group (it leads one)
};

struct PumpResult {
  std::optional<int> wait_status;  ///< waitpid() status; nullopt when it timed out or was unknown
  bool timed_out = false;          ///< the child was killed at the deadline
  std::string output;
  bool truncated = false;
};

/// `pid` must be a child of this process (or cloned with CLONE_PARENT by liblxc): it is reaped
/// here. `stdin_write` and `output_read` are the parent's ends of the child's pipes (the child's
/// ends already closed here). SIGPIPE from a child that stops reading is never raised in the
/// daemon, whatever its disposition.
PumpResult pump_child(pid_t pid, Fd stdin_write, Fd output_read, const PumpOptions& options);

/// 128+N for a child killed by signal N, the exit code otherwise, -1 for an unknown status.
int exit_status_of(std::optional<int> wait_status);

}  // namespace lxcprov::host
