#include "state/pg_listener.hpp"

#include <thread>

#include <fmt/format.h>

namespace lxcprov::state {

Result<std::unique_ptr<PgListener>> PgListener::open(const std::string& conninfo) {
  auto c = PgConnection::open(conninfo);
  if (!c) return c.error();
  std::unique_ptr<PgListener> l(new PgListener(std::move(*c)));
  if (auto r = l->c_->exec(fmt::format("LISTEN {}", kStateChannel)); !r.ok()) return r.error("listen for changes");
  return l;
}

bool PgListener::listen() { return c_->exec(fmt::format("LISTEN {}", kStateChannel)).ok(); }

bool PgListener::wait(std::chrono::milliseconds timeout) {
  switch (c_->recover()) {
    case PgConnection::Recovered::ok:
      break;
    case PgConnection::Recovered::reconnected:
      // A new session listens to nothing; what changed meanwhile was missed, so say "changed".
      if (listen()) return true;
      [[fallthrough]];
    case PgConnection::Recovered::broken:
      std::this_thread::sleep_for(timeout);
      return false;
  }
  return c_->wait_notify(timeout);
}

}  // namespace lxcprov::state
