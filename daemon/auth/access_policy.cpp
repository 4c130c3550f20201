#include "auth/access_policy.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace lxcprov::auth {

std::vector<std::string> groups_of(const config::Access& access, const std::string& user,
                                   const std::vector<std::string>& directory_groups) {
  std::set<std::string> out(directory_groups.begin(), directory_groups.end());
  for (const auto& [group, members] : access.groups)
    if (std::find(members.begin(), members.end(), user) != members.end()) out.insert(group);
  return {out.begin(), out.end()};
}

bool is_admin(const config::Access& access, const std::string& user, const std::vector<std::string>& groups) {
  if (std::find(access.admins.begin(), access.admins.end(), user) != access.admins.end()) return true;
  for (const auto& g : access.admin_groups)
    if (std::find(groups.begin(), groups.end(), g) != groups.end()) return true;
  return false;
}

bool needs_groups(const config::Access& access) {
  return !access.admin_groups.empty() || !access.group_distributions.empty();
}

Status may_create(const config::Access& access, const std::string& user, const std::vector<std::string>& groups,
                  bool admin, size_t owned, const std::string& distribution) {
  (void)user;
  if (admin) return {};
  if (access.quota_per_user > 0 && owned >= static_cast<size_t>(access.quota_per_user))
    return make_error(Errc::permission_denied,
                      fmt::format("quota: you already own {} container{} and the limit is {}; delete one first", owned,
                                  owned == 1 ? "" : "s", access.quota_per_user));
  std::set<std::string> allowed;
  bool restricted = false;
  for (const auto& g : groups) {
    auto it = access.group_distributions.find(g);
    if (it == access.group_distributions.end()) continue;
    restricted = true;
    allowed.insert(it->second.begin(), it->second.end());
  }
  if (restricted && !allowed.count(distribution)) {
    std::string list;
    for (const auto& d : allowed) list += (list.empty() ? "" : ", ") + d;
    return make_error(Errc::permission_denied,
                      fmt::format("LINUX_DISTRIBUTION: {} is not allowed for your groups; allowed: {}", distribution,
                                  list.empty() ? "none" : list));
  }
  return {};
}

}  // namespace lxcprov::auth
