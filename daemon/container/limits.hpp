#pragma once
// Resource limits (config "limits") as lxc.* config keys. Pure. Which keys depends on the host's
// cgroup layout: on cgroup v1 (including the v1+v2 "hybrid" layout, where the controllers live in
// v1 hierarchies) liblxc takes lxc.cgroup.<controller>.<file>; on a pure v2 host it takes
// lxc.cgroup2.<file>. The layout is probed by an edge (container/cgroup_probe.hpp) when "auto".

#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"

namespace lxcprov::container {

enum class CgroupVersion { v1, v2 };

/// "512M" -> 536870912. Decimal digits with an optional K, M or G (powers of 1024); at least
/// 4 MiB (a container needs that much to start) and at most 1 TiB.
Result<int64_t> parse_memory(std::string_view text);
/// "1" -> 100000, "0.5" -> 50000: the CFS quota in microseconds per 100 ms period. From 0.01 to
/// 1024 CPUs, at most two decimal places.
Result<int64_t> parse_cpu_quota(std::string_view text);

/// Checks every value (the errors name the config key).
Status check_limits(const config::Limits& limits);

/// The lxc keys and values for `limits`, in a fixed order. An empty field gives no key.
Result<std::vector<std::pair<std::string, std::string>>> limit_keys(const config::Limits& limits,
                                                                    CgroupVersion version);

}  // namespace lxcprov::container
