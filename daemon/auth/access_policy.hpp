#pragma once
// Authorization policy: who is an admin, how many containers a user may own, which distributions
// a user may create. Pure: the caller brings the user's groups (LDAP and/or config) and counts.
// Refusals say which rule applies to the caller, never anything about other users' containers.

#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"

namespace lxcprov::auth {

/// The config's local groups `user` belongs to, merged with `directory_groups` (sorted, unique).
std::vector<std::string> groups_of(const config::Access& access, const std::string& user,
                                   const std::vector<std::string>& directory_groups);
/// Listed in `admins`, or a member of one of `admin_groups`.
bool is_admin(const config::Access& access, const std::string& user, const std::vector<std::string>& groups);
/// True when the policy needs the user's groups (so the backend must be asked).
bool needs_groups(const config::Access& access);

/// May `user` create one more container of `distribution`, owning `owned` already? Admins are
/// exempt from quota and distribution limits.
Status may_create(const config::Access& access, const std::string& user, const std::vector<std::string>& groups,
                  bool admin, size_t owned, const std::string& distribution);

}  // namespace lxcprov::auth
