#include "wazuh/api.hpp"
#include "common/bytes.hpp"

#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "wazuh/enrollment.hpp"

namespace lxcprov::wazuh {
namespace {

using nlohmann::json;

Error malformed(std::string_view what) {
  return make_error(Errc::unavailable, fmt::format("the Wazuh API's answer is malformed ({})", what));
}

bool digits(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  for (unsigned char ch : bytes(s))
    if (!std::isdigit(ch)) return false;
  return true;
}

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char ch : bytes(s.substr(0, 200))) out += (ch >= 0x20 && ch < 0x7f) ? static_cast<char>(ch) : '?';
  return out;
}

const json* data_of(const json& j) {
  if (!j.is_object()) return nullptr;
  auto it = j.find("data");
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

}  // namespace

Result<Secret> parse_token(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  const json* data = data_of(j);
  if (!data) return malformed("no data object");
  auto it = data->find("token");
  if (it == data->end() || !it->is_string()) return malformed("no token");
  const auto& t = it->get_ref<const std::string&>();
  int dots = 0;
  for (unsigned char ch : bytes(t)) {
    if (ch == '.')
      ++dots;
    else if (!std::isalnum(ch) && ch != '-' && ch != '_')
      return malformed("token is not a JWT");
  }
  if (dots != 2 || t.size() > 8192) return malformed("token is not a JWT");
  return Secret(t);
}

Result<std::vector<AgentRef>> parse_agents(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  const json* data = data_of(j);
  if (!data) return malformed("no data object");
  auto it = data->find("affected_items");
  if (it == data->end() || !it->is_array()) return malformed("no affected_items");
  std::vector<AgentRef> out;
  for (const auto& a : *it) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_string() || !a.contains("name") || !a["name"].is_string())
      return malformed("agent without id and name");
    AgentRef ref{a["id"].get<std::string>(), a["name"].get<std::string>()};
    if (!digits(ref.id) || !valid_agent_name(ref.name)) return malformed("agent id or name");
    out.push_back(std::move(ref));
  }
  return out;
}

Status parse_delete(std::string_view body, std::string_view id) {
  json j = json::parse(body, nullptr, false);
  const json* data = data_of(j);
  if (!data) return malformed("no data object");
  if (auto it = data->find("affected_items"); it != data->end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string() && a.get_ref<const std::string&>() == id) return {};
  // failed_items: [{"error": {"code": 1701, "message": ...}, "id": ["007"]}]
  if (auto it = data->find("failed_items"); it != data->end() && it->is_array()) {
    for (const auto& f : *it) {
      if (!f.is_object()) continue;
      bool ours = false;
      if (auto ids = f.find("id"); ids != f.end() && ids->is_array())
        for (const auto& x : *ids) ours = ours || (x.is_string() && x.get_ref<const std::string&>() == id);
      if (!ours) continue;
      // Every member's type is checked: json::value() throws when a member is there with another
      // type, and this body comes from the network.
      std::string why = "unknown";
      if (auto err = f.find("error"); err != f.end() && err->is_object()) {
        if (auto code = err->find("code");
            code != err->end() && code->is_number_integer() && code->get<int64_t>() == agent_does_not_exist)
          return {};
        if (auto message = err->find("message"); message != err->end() && message->is_string())
          why = message->get<std::string>();
      }
      return make_error(Errc::unavailable, "the Wazuh API did not delete the agent: " + printable(why));
    }
  }
  return make_error(Errc::unavailable, "the Wazuh API did not report the agent as deleted");
}

std::string find_target(std::string_view name) {
  // Agent names are [A-Za-z0-9._-] (valid_agent_name): nothing to percent-encode.
  return fmt::format("/agents?name={}&select=id,name", name);
}

std::string delete_target(std::string_view id) {
  return fmt::format("/agents?agents_list={}&status=all&older_than=0s", id);
}

std::string error_reason(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    for (const char* key : {"detail", "message", "title"})
      if (auto it = j.find(key); it != j.end() && it->is_string()) return printable(it->get_ref<const std::string&>());
  }
  return printable(body.substr(0, 80));
}

}  // namespace lxcprov::wazuh
