#include "state/pg_listener.hpp"

#include <thread>

#include <fmt/format.h>

namespace lxcprov::state {

Result<std::unique_ptr<PgListener>> PgListener::open(const std::string& conninfo) {
  auto c = PgConnection::open(conninfo);
  if (!c) return c.error();
  std::unique_ptr<PgListener> l(new PgListener(std::move(*c)));
  if (auto r = l->listen(); !r.ok()) return r.error("listen for changes");
  return l;
}

PgResult PgListener::listen() { return c_->exec(fmt::format("LISTEN {}", kStateChannel)); }

bool PgListener::wait(std::chrono::milliseconds timeout) {
  const auto now = std::chrono::steady_clock::now();
  if (now < retry_at_) {
    std::this_thread::sleep_for(timeout);
    return false;
  }
  const auto recovered = c_->recover();
  if (recovered == PgConnection::Recovered::broken) {
    retry_at_ = now + std::chrono::seconds(5);
    std::this_thread::sleep_for(timeout);
    return false;
  }
  if (recovered == PgConnection::Recovered::reconnected) listening_ = false;
  if (!listening_) {
    // A new session listens to nothing; what changed meanwhile was missed, so say "changed".
    listening_ = listen().ok();
    if (listening_) return true;
    retry_at_ = now + std::chrono::seconds(5);
    std::this_thread::sleep_for(timeout);
    return false;
  }
  return c_->wait_notify(timeout);
}

}  // namespace lxcprov::state
