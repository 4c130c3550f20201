// Placement of a container on a fleet node (see placement.hpp).

#include "fleet/placement.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace lxcprov::fleet {

std::string liveness(const state::NodeRecord& node, int64_t now_s, int64_t down_after_s) {
  if (node.seen_at == 0) return "never seen";
  if (now_s - node.seen_at > down_after_s) return fmt::format("down (last seen {} s ago)", now_s - node.seen_at);
  return "";
}

std::string unavailability(const state::NodeRecord& node, std::string_view distribution, int64_t now_s,
                           int64_t down_after_s) {
  if (node.draining) return "draining";
  if (auto down = liveness(node, now_s, down_after_s); !down.empty()) return down;
  if (std::find(node.templates.begin(), node.templates.end(), distribution) == node.templates.end())
    return fmt::format("has no {} template", distribution);
  return "";
}

Result<std::string> place(const std::vector<state::NodeRecord>& nodes, std::string_view distribution, int64_t now_s,
                          int64_t down_after_s) {
  const state::NodeRecord* best = nullptr;
  auto load = [](const state::NodeRecord& n) {
    return std::tuple(n.containers, -n.memory_available_kb, std::string_view(n.name));
  };
  std::string why;
  for (const auto& n : nodes) {
    const std::string reason = unavailability(n, distribution, now_s, down_after_s);
    if (!reason.empty()) {
      why += fmt::format("{}{} {}", why.empty() ? "" : "; ", n.name, reason);
      continue;
    }
    if (best == nullptr || load(n) < load(*best)) best = &n;
  }
  if (best != nullptr) return best->name;
  if (nodes.empty()) return make_error(Errc::unavailable, "no node is in the fleet: add one with lxcprovctl node add");
  return make_error(Errc::unavailable, fmt::format("no node can take a {} container: {}", distribution, why));
}

Status may_take_here(const std::vector<state::NodeRecord>& nodes, std::string_view self, std::string_view subnet) {
  for (const auto& n : nodes) {
    if (n.name != self) continue;
    if (n.subnet != subnet)
      return make_error(Errc::unavailable,
                        fmt::format("node {} is registered with subnet {} but its bridge subnet is {}: an admin "
                                    "fixes the registration or the config",
                                    self, n.subnet, subnet));
    if (n.draining)
      return make_error(Errc::unavailable,
                        fmt::format("node {} is draining: it takes no new containers; ask another node", self));
    return {};
  }
  return make_error(
      Errc::unavailable,
      fmt::format("node {} is not in the fleet's registry: an admin adds it with lxcprovctl node add {}", self, self));
}

}  // namespace lxcprov::fleet
