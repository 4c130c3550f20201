#include "container/cgroup_probe.hpp"

#include <fstream>
#include <sstream>

namespace lxcprov::container {

container::CgroupVersion probe_cgroup_version() {
  std::ifstream in("/sys/fs/cgroup/cgroup.controllers");
  if (!in) return container::CgroupVersion::v1;
  std::string word;
  while (in >> word)
    if (word == "memory") return container::CgroupVersion::v2;
  return container::CgroupVersion::v1;
}

}  // namespace lxcprov::container
