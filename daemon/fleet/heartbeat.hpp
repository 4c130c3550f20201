#pragma once
// What a fleet node reports about itself every few seconds (NodeRegistry::node_seen), read from
// /proc/meminfo, and the check that the node registered under this daemon's name is the one it
// runs as. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "state/node_registry.hpp"

namespace lxcprov::fleet {

struct Memory {
  int64_t total_kb = 0;
  int64_t available_kb = 0;
};

/// MemTotal and MemAvailable of /proc/meminfo's text; nullopt when either is missing.
std::optional<Memory> parse_meminfo(std::string_view text);

/// "" when `registered` matches this daemon (its bridge subnet, CIDR as configured); else what
/// differs, for a warning: addresses would be given from one subnet while routes lead to another.
std::string registration_mismatch(const state::NodeRecord& registered, std::string_view subnet);

}  // namespace lxcprov::fleet
