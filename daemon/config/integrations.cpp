#include "config/integrations.hpp"
#include "common/bytes.hpp"

#include <fmt/format.h>

#include "config/json_read.hpp"

namespace lxcprov::config::detail {
namespace {

using nlohmann::json;

Error bad(std::string_view key, std::string_view rule) { return config_error(key, rule); }

// Here "" means "not set" for every text key.
Status read_optional_text(const json& j, const char* key, std::string& out, std::string_view path) {
  return read_text(j, key, out, path, /*allow_empty=*/true);
}

bool absolute_path(std::string_view p) { return !p.empty() && p.front() == '/'; }

// "AB:CD:..." or "abcd..." -> 64 lowercase hex digits; "" when it is not a SHA-256.
std::string normalize_pin(std::string_view pin) {
  std::string out;
  for (char ch : pin) {
    if (ch == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return "";
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out.size() == 64 ? out : "";
}

Status parse_wazuh(const json& w, Config& c) {
  const char* P = "wazuh";
  if (!w.is_object()) return bad(P, "must be an object");
  auto& W = c.wazuh;
  Status s;
  if (!(s = read_bool(w, "enabled", W.enabled, P))) return s;
  for (auto [key, field] : {std::pair{"manager", &W.manager},
                            {"api_url", &W.api_url},
                            {"api_user", &W.api_user},
                            {"api_password_file", &W.api_password_file},
                            {"enrollment_password_file", &W.enrollment_password_file},
                            {"ca_file", &W.ca_file},
                            {"pin_sha256", &W.pin_sha256},
                            {"api_pin_sha256", &W.api_pin_sha256},
                            {"on_unavailable", &W.on_unavailable},
                            {"agent_config_template", &W.agent_config_template}})
    if (!(s = read_optional_text(w, key, *field, P))) return s;
  int64_t port = W.enrollment_port, agent_port = W.agent_port, timeout = W.timeout.count(), attempts = W.retry_attempts,
          interval = W.retry_interval.count();
  if (!(s = read_int(w, "enrollment_port", port, 1, 65535, P))) return s;
  if (!(s = read_int(w, "agent_port", agent_port, 1, 65535, P))) return s;
  if (!(s = read_int(w, "timeout_ms", timeout, 100, 120'000, P))) return s;
  if (!(s = read_int(w, "retry_attempts", attempts, 0, 1000, P))) return s;
  if (!(s = read_int(w, "retry_interval_s", interval, 1, 86'400, P))) return s;
  W.enrollment_port = static_cast<uint16_t>(port);
  W.agent_port = static_cast<uint16_t>(agent_port);
  W.timeout = std::chrono::milliseconds(timeout);
  W.retry_attempts = static_cast<int>(attempts);
  W.retry_interval = std::chrono::seconds(interval);
  if (W.on_unavailable != "fail" && W.on_unavailable != "pending")
    return bad("wazuh.on_unavailable", "must be \"fail\" or \"pending\"");
  for (auto [key, pin] : {std::pair{"wazuh.pin_sha256", &W.pin_sha256}, {"wazuh.api_pin_sha256", &W.api_pin_sha256}}) {
    if (pin->empty()) continue;
    *pin = normalize_pin(*pin);
    if (pin->empty()) return bad(key, "must be a SHA-256 fingerprint: 64 hex digits, colons allowed");
  }
  if (!W.enabled) return {};
  if (!plain_host(W.manager)) return bad("wazuh.manager", "must be a host name or address");
  if (!W.api_url.starts_with("https://") || !plain_host(W.api_url.substr(8, W.api_url.find_first_of(":/", 8) - 8)))
    return bad("wazuh.api_url", "must be https://HOST[:PORT]: the API password never crosses the network in clear");
  if (W.api_user.empty() || !absolute_path(W.api_password_file))
    return bad("wazuh.api_user",
               "api_user and an absolute api_password_file are required (agents are removed on delete)");
  for (auto [key, path] :
       {std::pair{"wazuh.enrollment_password_file", &W.enrollment_password_file}, {"wazuh.ca_file", &W.ca_file}})
    if (!path->empty() && !absolute_path(*path)) return bad(key, "must be an absolute path");
  if (!absolute_path(W.agent_config_template)) return bad("wazuh.agent_config_template", "must be an absolute path");
  return {};
}

Status parse_container_ldap(const json& l, Config& c) {
  const char* P = "container_ldap";
  if (!l.is_object()) return bad(P, "must be an object");
  auto& L = c.container_ldap;
  Status s;
  if (!(s = read_bool(l, "enabled", L.enabled, P))) return s;
  for (auto [key, field] : {std::pair{"uri", &L.uri},
                            {"base_dn", &L.base_dn},
                            {"ca_file", &L.ca_file},
                            {"default_client", &L.default_client},
                            {"template_dir", &L.template_dir}})
    if (!(s = read_optional_text(l, key, *field, P))) return s;
  if (auto it = l.find("clients"); it != l.end()) {
    if (!it->is_object()) return bad("container_ldap.clients", "must be an object distribution -> \"sssd\"|\"nslcd\"");
    for (const auto& [dist, v] : it->items()) {
      if (!v.is_string()) return bad(fmt::format("container_ldap.clients.{}", dist), "must be \"sssd\" or \"nslcd\"");
      L.clients[dist] = v.get<std::string>();
    }
  }
  return {};
}

}  // namespace

bool plain_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (unsigned char ch : bytes(host))
    if (!std::isalnum(ch) && ch != '.' && ch != '-' && ch != ':') return false;
  return host.front() != '-';
}

Status parse_integration_sections(const json& j, Config& c) {
  if (auto it = j.find("wazuh"); it != j.end())
    if (auto s = parse_wazuh(*it, c); !s) return s;
  if (auto it = j.find("container_ldap"); it != j.end())
    if (auto s = parse_container_ldap(*it, c); !s) return s;
  auto& L = c.container_ldap;
  if (!L.enabled) return {};
  // The container logs in against the directory the daemon authenticates with, unless told otherwise.
  if (L.uri.empty()) L.uri = c.auth.ldap.uri;
  if (L.base_dn.empty()) L.base_dn = c.auth.ldap.base_dn;
  if (L.ca_file.empty()) L.ca_file = c.auth.ldap.ca_file;
  if (!L.uri.starts_with("ldaps://") && !L.uri.starts_with("ldap://"))
    return bad("container_ldap.uri", "must start with ldap:// or ldaps:// (or set auth.ldap.uri)");
  if (L.base_dn.empty()) return bad("container_ldap.base_dn", "is required (or set auth.ldap.base_dn)");
  if (L.ca_file.empty() || L.ca_file.front() != '/')
    return bad("container_ldap.ca_file", "an absolute CA path is required: containers verify the directory");
  if (!absolute_path(L.template_dir)) return bad("container_ldap.template_dir", "must be an absolute path");
  for (const auto& client : [&] {
         std::vector<std::pair<std::string, std::string>> v{{"default_client", L.default_client}};
         for (const auto& [d, cl] : L.clients) v.emplace_back("clients." + d, cl);
         return v;
       }())
    if (client.second != "sssd" && client.second != "nslcd")
      return bad(fmt::format("container_ldap.{}", client.first), "must be \"sssd\" or \"nslcd\"");
  for (const auto& [dist, client] : L.clients)
    if (!c.find_distribution(dist))
      return bad(fmt::format("container_ldap.clients.{}", dist), "is not a configured distribution");
  return {};
}

}  // namespace lxcprov::config::detail
