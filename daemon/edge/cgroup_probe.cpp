#include "edge/cgroup_probe.hpp"

#include <fstream>
#include <sstream>

namespace lxcprov::edge {

config::CgroupVersion probe_cgroup_version() {
  std::ifstream in("/sys/fs/cgroup/cgroup.controllers");
  if (!in) return config::CgroupVersion::v1;
  std::string word;
  while (in >> word)
    if (word == "memory") return config::CgroupVersion::v2;
  return config::CgroupVersion::v1;
}

}  // namespace lxcprov::edge
