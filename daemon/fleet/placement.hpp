#pragma once
// Where a fleet puts a new container (docs/architecture.md, "Fleet"), decided from the nodes'
// records alone. Pure: no I/O, no clock (the caller passes now), so every rule has a table test.
//
// A node can take a container when it is not draining, its last heartbeat is recent, and it has
// the distribution's template. Of those, the least loaded wins: the fewest containers, then the
// most memory available, then the name, so the choice is deterministic for equal loads.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "state/node_registry.hpp"

namespace lxcprov::fleet {

/// Whether `node` is up at `now_s`: "" when its last heartbeat is at most `down_after_s` old, else
/// "never seen" or "down (last seen N s ago)".
std::string liveness(const state::NodeRecord& node, int64_t now_s, int64_t down_after_s);

/// Why `node` cannot take a `distribution` container at `now_s` ("" when it can): "draining", what
/// liveness() says, "has no DISTRIBUTION template".
std::string unavailability(const state::NodeRecord& node, std::string_view distribution, int64_t now_s,
                           int64_t down_after_s);

/// The node for a new `distribution` container. Errc::unavailable when none can take it, naming
/// each node and why ("no node can take a debian container: hv1 draining; hv2 down (...)").
Result<std::string> place(const std::vector<state::NodeRecord>& nodes, std::string_view distribution, int64_t now_s,
                          int64_t down_after_s);

/// Whether the node `self` (this daemon, bridge subnet `subnet`) may take a new container itself:
/// it must be registered, with that subnet, and not draining. Errc::unavailable saying which, for
/// a create asked of this node directly.
Status may_take_here(const std::vector<state::NodeRecord>& nodes, std::string_view self, std::string_view subnet);

}  // namespace lxcprov::fleet
