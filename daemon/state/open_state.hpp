#pragma once
// Opens the state the config names: SQLite at Config::database (one host, the default), or the
// fleet's PostgreSQL at fleet.database as node fleet.node. The daemon, lxcprovctl and doctor all
// open it here, so they never disagree about where the state is.

#include <memory>

#include "auth/throttle.hpp"
#include "config/config.hpp"
#include "state/node_registry.hpp"
#include "state/store.hpp"
#include "wazuh/manager.hpp"

namespace lxcprov::state {

struct OpenedState {
  std::unique_ptr<Store> store;
  NodeRegistry* nodes = nullptr;  ///< the store's node registry; nullptr on SQLite (no fleet)
};

/// Opens and migrates the state. Errc::io naming what failed (never the connection string).
Result<OpenedState> open_state(const config::Config& cfg);
/// Each on its own connection to the state open_state() has migrated.
Result<std::unique_ptr<wazuh::AgentRecords>> open_agent_records(const config::Config& cfg);
Result<std::unique_ptr<auth::ThrottleRecords>> open_throttle_records(const config::Config& cfg);

}  // namespace lxcprov::state
