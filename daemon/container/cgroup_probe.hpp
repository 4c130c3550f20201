#pragma once
// Which cgroup layout this host has, for the keys that carry resource limits (config/limits.hpp).

#include "container/limits.hpp"

namespace lxcprov::container {

/// v2 when /sys/fs/cgroup is a cgroup2 mount whose root offers the memory controller (a pure v2
/// host); else v1, which includes the v1+v2 "hybrid" layout, where the controllers are in v1.
container::CgroupVersion probe_cgroup_version();

}  // namespace lxcprov::container
