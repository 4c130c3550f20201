#pragma once
// The one place lxcprovd is put together: command line, config, logging, the edges (host, state
// store, container runtime, authenticator), the features in the order they run, the provisioner,
// recovery of interrupted jobs, the server. Everything else receives what it needs in its
// constructor. Removing a feature means deleting its folder and its wire_* block here.

#include <functional>

#include "container/runtime.hpp"
#include "state/store.hpp"

namespace lxcprov::wiring {

/// Stand-ins for the edges, for tests only (a fault-injecting store or runtime wrapped around the
/// real one, tests/fakes/): lxcprovd itself passes none. Each gets the real edge and returns the
/// one the daemon uses; what it returns must outlive the daemon's run.
struct EdgeWrappers {
  std::function<state::Store&(state::Store&)> store;
  std::function<container::ContainerRuntime&(container::ContainerRuntime&)> runtime;
};

/// lxcprovd's main: `lxcprovd [--config FILE] [--log stderr|journald] [--debug]`. Returns 0 after
/// SIGTERM/SIGINT, 78 (EX_CONFIG) for a bad config, 1 for other start-up failures.
int run_daemon(int argc, char** argv, const EdgeWrappers& wrappers = {});

}  // namespace lxcprov::wiring
