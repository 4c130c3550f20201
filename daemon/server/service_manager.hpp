#pragma once
// The service manager's side of lxcprovd: readiness, watchdog and stopping notices (sd_notify, to
// NOTIFY_SOCKET) and the listening socket systemd may pass (sd_listen_fds, LISTEN_FDS/LISTEN_PID).
// Every call is a no-op when the daemon was not started by systemd (or anything speaking its
// protocol), so the same binary runs under scripts/run.sh, in a chroot, or as a Type=notify unit.

#include <chrono>
#include <optional>
#include <string>

#include "common/asio.hpp"
#include "common/result.hpp"

namespace lxcprov::server {

/// The unix stream socket passed by socket activation and already listening, or nullopt when
/// none was passed. More than one passed fd, one that is not a listening unix stream socket, or
/// one bound to another path than `path` (config `socket`, where lxcprov-shell connects) is an
/// error (lxcprovd.socket passes exactly one). The LISTEN_* variables are removed, so that the
/// helpers lxcprovd starts never believe the socket is theirs.
Result<std::optional<int>> activated_socket(const std::string& path);

/// READY=1: the socket accepts and recovery is done.
void notify_ready();
/// STOPPING=1: no new sessions; running jobs are finishing.
void notify_stopping();

/// WATCHDOG=1 from the io thread, every half of WATCHDOG_USEC. A stuck io loop (the thread every
/// session runs on) stops the pings, and systemd restarts the daemon (WatchdogSec in the unit).
class Watchdog {
 public:
  explicit Watchdog(asio::io_context& io);
  ~Watchdog();
  /// The ping interval, or nullopt when no watchdog was asked for (then start() does nothing).
  std::optional<std::chrono::microseconds> interval() const { return interval_; }
  void start();
  void stop();

 private:
  void arm();

  asio::steady_timer timer_;
  std::optional<std::chrono::microseconds> interval_;
  bool running_ = false;
};

}  // namespace lxcprov::server
