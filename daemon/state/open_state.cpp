// Opening the configured state (see open_state.hpp).

#include "state/open_state.hpp"

#include "state/pg_records.hpp"
#include "state/pg_store.hpp"
#include "state/sqlite_store.hpp"
#include "state/sqlite_throttle_records.hpp"
#include "wazuh/sqlite_agent_records.hpp"

namespace lxcprov::state {

Result<OpenedState> open_state(const config::Config& cfg) {
  OpenedState out;
  if (cfg.fleet.database.empty()) {
    auto s = SqliteStore::open(cfg.database);
    if (!s) return s.error();
    out.store = std::move(*s);
    return out;
  }
  auto s = PgStore::open(cfg.fleet.database, cfg.fleet.node);
  if (!s) return s.error();
  out.nodes = s->get();
  out.store = std::move(*s);
  return out;
}

Result<std::unique_ptr<wazuh::AgentRecords>> open_agent_records(const config::Config& cfg) {
  if (cfg.fleet.database.empty()) {
    auto r = wazuh::SqliteAgentRecords::open(cfg.database);
    if (!r) return r.error();
    return std::unique_ptr<wazuh::AgentRecords>(std::move(*r));
  }
  auto r = PgAgentRecords::open(cfg.fleet.database, cfg.fleet.node);
  if (!r) return r.error();
  return std::unique_ptr<wazuh::AgentRecords>(std::move(*r));
}

Result<std::unique_ptr<auth::ThrottleRecords>> open_throttle_records(const config::Config& cfg) {
  if (cfg.fleet.database.empty()) {
    auto r = SqliteThrottleRecords::open(cfg.database);
    if (!r) return r.error();
    return std::unique_ptr<auth::ThrottleRecords>(std::move(*r));
  }
  auto r = PgThrottleRecords::open(cfg.fleet.database);
  if (!r) return r.error();
  return std::unique_ptr<auth::ThrottleRecords>(std::move(*r));
}

}  // namespace lxcprov::state
