#pragma once
// The parts of the Wazuh manager REST API (port 55000) lxcprov uses, as Wazuh documents them:
//   POST /security/user/authenticate      basic auth -> {"data": {"token": "<JWT>"}, "error": 0}
//   GET  /agents?name=<name>&select=id,name  -> {"data": {"affected_items": [{"id": "007", "name": ...}]}}
//   DELETE /agents?agents_list=<id>&status=all&older_than=0s   (Bearer token)
//        -> {"data": {"affected_items": ["007"], "failed_items": [...]}, "error": 0|1|2}
// older_than must be 0s: its default (7d) would spare an agent enrolled minutes ago. Pure: the
// HTTPS exchange is wazuh/wazuh_client.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"

namespace lxcprov::wazuh {

struct AgentRef {
  std::string id;
  std::string name;
};

/// Manager API error code for "Agent does not exist" (a delete of an absent agent is done).
inline constexpr int agent_does_not_exist = 1701;

/// The JWT of an authenticate answer: three base64url parts. Errc::unavailable when malformed.
Result<Secret> parse_token(std::string_view body);
/// The agents of a GET /agents answer (ids digits, names valid agent names).
Result<std::vector<AgentRef>> parse_agents(std::string_view body);
/// Success when `id` was deleted or does not exist; Errc::unavailable with the manager's reason else.
Status parse_delete(std::string_view body, std::string_view id);

/// Request targets (path and query).
std::string find_target(std::string_view name);
std::string delete_target(std::string_view id);

/// A short, printable reason from an error body ({"title", "detail"} or {"message"}), for logs.
std::string error_reason(std::string_view body);

}  // namespace lxcprov::wazuh
