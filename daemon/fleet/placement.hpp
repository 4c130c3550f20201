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

/// How long after its last heartbeat a node still counts as up.
inline constexpr int64_t kNodeAliveSeconds = 30;

/// Why `node` cannot take a `distribution` container at `now_s` ("" when it can): "draining",
/// "never seen", "down (last seen N s ago)", "has no DISTRIBUTION template".
std::string unavailability(const state::NodeRecord& node, std::string_view distribution, int64_t now_s);

/// The node for a new `distribution` container. Errc::unavailable when none can take it, naming
/// each node and why ("no node can take a debian container: hv1 draining; hv2 down (...)").
Result<std::string> place(const std::vector<state::NodeRecord>& nodes, std::string_view distribution, int64_t now_s);

/// Whether the node `self` (this daemon, bridge subnet `subnet`) may take a new container itself:
/// it must be registered, with that subnet, and not draining. Errc::unavailable saying which, for
/// a create asked of this node directly.
Status may_take_here(const std::vector<state::NodeRecord>& nodes, std::string_view self, std::string_view subnet);

}  // namespace lxcprov::fleet
