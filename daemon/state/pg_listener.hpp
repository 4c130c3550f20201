#pragma once
// Changes to the fleet's state as they happen: a connection that LISTENs on the channel the
// schema's triggers raise when containers, ports or nodes change (pg_schema.cpp, version 2). A
// fleet's entry waits on it between heartbeats, so a container another node made or removed is
// forwarded and routed within a moment, not a beat.

#include <chrono>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "state/pg_connection.hpp"

namespace lxcprov::state {

/// The channel the triggers notify (payload: the table's name).
inline constexpr const char* kStateChannel = "lxcprov_state";

class PgListener {
 public:
  /// Connects and LISTENs. Errc::io naming the failure, never the connection string.
  static Result<std::unique_ptr<PgListener>> open(const std::string& conninfo);

  /// Waits up to `timeout` for a change of the state; true when one or more came. A connection
  /// lost meanwhile is made again, and LISTENs again, at the next call; until it is, this waits
  /// out the timeout and says false. Not thread-safe: one waiter.
  bool wait(std::chrono::milliseconds timeout);

 private:
  explicit PgListener(std::unique_ptr<PgConnection> c) : c_(std::move(c)) {}
  PgResult listen();

  std::unique_ptr<PgConnection> c_;
  bool listening_ = true;  ///< false after a reconnect until LISTEN went through again
  /// While the server is away, a reconnect (which blocks up to libpq's connect_timeout) is tried
  /// at most this often, not on every call.
  std::chrono::steady_clock::time_point retry_at_{};
};

}  // namespace lxcprov::state
