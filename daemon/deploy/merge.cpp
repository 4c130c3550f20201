// INTERIM (wt-engine): see merge.hpp.

#include "deploy/merge.hpp"

#include <algorithm>

namespace lxcprov::deploy {

GivenFields given_by_presence(const DeploySpec& given) {
  GivenFields w;
  w.repository = !given.repository.empty();
  w.branch = !given.branch.empty();
  w.root = !given.root.empty();
  w.components = !given.components.empty();
  w.root_start = !given.root_start.empty();
  w.services = !given.services.empty();
  w.custom_services = !given.custom_services.empty();
  return w;
}

Result<DeploySpec> merge(const DeploySpec& stored, const DeploySpec& given, const GivenFields& which) {
  DeploySpec out = stored;
  const bool new_repository = which.repository && given.repository != stored.repository;
  if (which.repository) out.repository = given.repository;
  if (which.branch)
    out.branch = given.branch;
  else if (new_repository)
    out.branch = "";
  if (which.root) out.root = given.root;
  if (which.components) {
    out.components = given.components;
    out.multi = given.multi;
  }
  if (which.root_start) out.root_start = given.root_start;
  if (which.services)
    for (const auto& s : given.services)
      if (std::find(out.services.begin(), out.services.end(), s) == out.services.end()) out.services.push_back(s);
  if (which.custom_services)
    for (const auto& c : given.custom_services)
      if (std::find(out.custom_services.begin(), out.custom_services.end(), c) == out.custom_services.end())
        out.custom_services.push_back(c);
  out.commit = given.commit;
  if (out.repository.empty()) return make_error(Errc::invalid_argument, "PROJECT_REPOSITORY: required to deploy");
  const bool runs = !out.root_start.empty() || std::any_of(out.components.begin(), out.components.end(),
                                                           [](const Component& c) { return !c.start.empty(); });
  if (!runs) return make_error(Errc::invalid_argument, "START_COMMAND: the deployment has nothing to start");
  return out;
}

}  // namespace lxcprov::deploy
