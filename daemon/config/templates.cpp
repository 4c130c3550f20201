#include "config/templates.hpp"
#include "common/bytes.hpp"

#include <fmt/format.h>

#include "config/integrations.hpp"

namespace lxcprov::config {
namespace {

bool placeholder_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char ch : n)
    if (!(ch >= 'a' && ch <= 'z') && ch != '_') return false;
  return true;
}

Error refused(std::string_view why) { return make_error(Errc::invalid_argument, fmt::format("template: {}", why)); }

}  // namespace

Result<std::string> render_template(std::string_view text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    for (unsigned char ch : bytes(value))
      if (ch < 0x20 || ch == 0x7f) return refused(fmt::format("the value of {} contains a control character", name));
    if (value.find("{{") != std::string::npos) return refused(fmt::format("the value of {} contains {{{{", name));
  }
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return refused("unterminated {{");
    const std::string name(text.substr(open + 2, close - open - 2));
    if (!placeholder_name(name)) return refused(fmt::format("bad placeholder {{{{{}}}}}", name.substr(0, 40)));
    auto it = values.find(name);
    if (it == values.end()) return refused(fmt::format("unknown placeholder {{{{{}}}}}", name));
    out.append(text.substr(pos, open - pos));
    out += it->second;
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

Result<LdapClientFiles> render_ldap_client(std::string_view client, std::string_view template_text,
                                           std::string_view uri, std::string_view base_dn) {
  const bool ldaps = uri.starts_with("ldaps://");
  if (!ldaps && !uri.starts_with("ldap://")) return refused("the LDAP uri must start with ldap:// or ldaps://");
  // A uri is one token in both files: a space would start another value.
  if (uri.find_first_of(" \t") != std::string_view::npos) return refused("the LDAP uri contains a space");
  if (base_dn.empty()) return refused("the base DN is empty");
  LdapClientFiles f;
  if (client == "sssd") {
    f.config_path = "/etc/sssd/sssd.conf";
    f.ca_path = "/etc/sssd/lxcprov-ldap-ca.pem";
  } else if (client == "nslcd") {
    f.config_path = "/etc/nslcd.conf";
    f.ca_path = "/etc/ldap/lxcprov-ldap-ca.pem";
  } else {
    return refused("the LDAP client must be sssd or nslcd");
  }
  auto text = render_template(template_text, {{"uri", std::string(uri)},
                                              {"base_dn", std::string(base_dn)},
                                              {"ca_file", f.ca_path},
                                              {"starttls", ldaps ? "false" : "true"},
                                              {"nslcd_ssl", ldaps ? "on" : "start_tls"}});
  if (!text) return text.error();
  f.config_text = std::move(*text);
  return f;
}

Result<std::string> render_wazuh_agent_config(std::string_view template_text, std::string_view manager,
                                              uint16_t agent_port, std::string_view agent_name) {
  // Both go into XML unescaped: only host characters and agent-name characters are possible.
  if (!detail::plain_host(manager)) return refused("the manager is not a host name or address");
  for (unsigned char ch : bytes(agent_name))
    if (!std::isalnum(ch) && ch != '-' && ch != '.' && ch != '_') return refused("the agent name has a bad character");
  return render_template(template_text, {{"manager", std::string(manager)},
                                         {"agent_port", std::to_string(agent_port)},
                                         {"agent_name", std::string(agent_name)}});
}

}  // namespace lxcprov::config
