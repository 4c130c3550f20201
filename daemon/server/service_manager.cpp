#include "server/service_manager.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "log/log.hpp"

namespace lxcprov::server {

Result<std::optional<int>> activated_socket(const std::string& path) {
  const int n = sd_listen_fds(/*unset_environment=*/1);
  if (n < 0) return make_error(Errc::io, fmt::format("LISTEN_FDS: {}", std::strerror(-n)));
  if (n == 0) return std::optional<int>{};
  if (n != 1)
    return make_error(Errc::invalid_argument,
                      fmt::format("LISTEN_FDS: {} sockets passed; lxcprovd.socket passes exactly one", n));
  const int fd = SD_LISTEN_FDS_START;
  if (sd_is_socket_unix(fd, SOCK_STREAM, /*listening=*/1, nullptr, 0) <= 0)
    return make_error(Errc::invalid_argument, "LISTEN_FDS: the passed socket is not a listening unix stream socket");
  if (sd_is_socket_unix(fd, SOCK_STREAM, 1, path.c_str(), 0) <= 0)
    return make_error(Errc::invalid_argument,
                      fmt::format("socket: must be the path lxcprovd.socket listens on (ListenStream=), not {}", path));
  return std::optional<int>{fd};
}

void notify_ready() { sd_notify(0, "READY=1\nSTATUS=serving"); }

void notify_stopping() { sd_notify(0, "STOPPING=1\nSTATUS=stopping: running jobs finish first"); }

Watchdog::Watchdog(asio::io_context& io) : timer_(io) {
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process.
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0 && usec > 0)
    interval_ = std::chrono::microseconds(static_cast<int64_t>(usec / 2));
}

Watchdog::~Watchdog() { stop(); }

void Watchdog::start() {
  if (!interval_ || running_) return;
  running_ = true;
  log::info(fmt::format("watchdog: pinging every {} ms", interval_->count() / 1000));
  sd_notify(0, "WATCHDOG=1");
  arm();
}

void Watchdog::stop() {
  running_ = false;
  timer_.cancel();
}

void Watchdog::arm() {
  timer_.expires_after(*interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    sd_notify(0, "WATCHDOG=1");
    arm();
  });
}

}  // namespace lxcprov::server
